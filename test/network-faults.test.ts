/**
 * A served run on loopback driven through the real gRPC client: every kind
 * of bad upload is refused with its own error, the global adapter is
 * exactly what the valid uploads make it, a straggler's late result is
 * refused, and wrong tokens never reach the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsWith } from './helpers/federation-errors.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loraTensors } from '../src/lora/adapter.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { createFedPlora } from '../src/methods/fed-plora.js';
import { decodePayload, encodePayload, type Payload } from '../src/methods/payload.js';
import { runClientJob } from '../src/federation/client-runner.js';
import { sampleClients } from '../src/federation/sampling.js';
import type { TaskReply } from '../src/transport/service.js';
import type { FederationClient } from '../src/transport/grpc-client.js';
import { LOCAL } from './helpers/federation-setup.js';
import { startServedRun, type ServedRun } from './helpers/served-run.js';

type Task = Extract<TaskReply, { status: 'task' }>;

async function fetchTask(c: FederationClient, run: ServedRun, id: number): Promise<Task> {
  for (let i = 0; i < 50; i++) {
    const t = await c.fetchTask({ runId: run.runId, clientId: id, waitSeconds: 1 });
    if (t.status === 'task') return t;
  }
  throw new Error(`client ${id} got no task`);
}

function honestUpdate(run: ServedRun, id: number, task: Task): Payload {
  const message = decodePayload(task.message, 'test message');
  return runClientJob(run.method.client, run.ctx, LOCAL, { round: task.round, client: run.clients[id]!, message }).update;
}

const header = (run: ServedRun, id: number, round: number) => ({
  runId: run.runId,
  round,
  clientId: id,
  trainLoss: 1,
  trainSeconds: 0.1,
  trainableParameters: 10,
});

/** The same payload with one tensor changed. */
function withTensor(p: Payload, name: string, data: Float32Array, shape: number[]): Payload {
  const tensors = new Map(p.tensors);
  tensors.set(name, { data, shape });
  return { tensors, meta: p.meta };
}

test('every bad upload is refused with its own error; the global adapter is what the valid uploads make it', async () => {
  const run = await startServedRun({ ranks: [1, 2, 4, 2], rounds: 3, clientsPerRound: 3, roundTimeoutMs: 4000, maxResultBytes: 16 * 1024 });
  try {
    const conn = new Map([0, 1, 2, 3].map((id) => [id, run.connect(id)]));
    // Wrong credentials never reach the run.
    await rejectsWith(run.connect(0, 'fpl_not-a-token').getRun(0), 'unauthenticated', /does not know this token/);
    await rejectsWith(
      conn.get(1)!.join({ runId: run.runId, clientId: 2, rank: 0, numExamples: 5, modelFingerprint: run.fingerprint }),
      'permission_denied',
      /belongs to client 1, not client 2/,
    );
    await rejectsWith(
      conn.get(1)!.join({ runId: run.runId, clientId: 1, rank: 0, numExamples: 5, modelFingerprint: 'f'.repeat(64) }),
      'failed_precondition',
      /another base model/,
    );
    await rejectsWith(
      conn.get(1)!.join({ runId: run.runId, clientId: 1, rank: 5, numExamples: 5, modelFingerprint: run.fingerprint }),
      'invalid_argument',
      /declares rank 5, outside 1\.\.4/,
    );
    await rejectsWith(
      conn.get(1)!.join({ runId: 'another-run', clientId: 1, rank: 0, numExamples: 5, modelFingerprint: run.fingerprint }),
      'failed_precondition',
      /this server runs run test-run, not another-run/,
    );
    for (const [id, c] of conn)
      await c.join({ runId: run.runId, clientId: id, rank: 0, numExamples: run.clients[id]!.info.numExamples, modelFingerprint: run.fingerprint });
    const valid: { round: number; id: number; payload: Payload }[] = [];
    const submit = (id: number, round: number, p: Payload) => conn.get(id)!.submitResult(header(run, id, round), encodePayload(p));

    // Round 1: one valid, a NaN, a wrong shape; the client not sampled may not submit.
    const s1 = sampleClients(4, 3, run.ctx.seed, 1);
    const t1 = await Promise.all(s1.map((id) => fetchTask(conn.get(id)!, run, id)));
    const idle = [0, 1, 2, 3].find((id) => !s1.includes(id))!;
    assert.equal((await conn.get(idle)!.fetchTask({ runId: run.runId, clientId: idle, waitSeconds: 0 })).status, 'wait');
    const u1 = t1.map((t, i) => honestUpdate(run, s1[i]!, t));
    await rejectsWith(submit(idle, 1, u1[0]!), 'failed_precondition', new RegExp(`client ${idle} was not sampled in round 1`));
    const nan = Float32Array.from(u1[1]!.tensors.get('0.q_proj.A')!.data);
    nan[3] = NaN;
    await rejectsWith(
      submit(s1[1]!, 1, withTensor(u1[1]!, '0.q_proj.A', nan, u1[1]!.tensors.get('0.q_proj.A')!.shape)),
      'invalid_argument',
      /"0\.q_proj\.A" holds a non-finite value \(NaN\) at index 3/,
    );
    const wrong = u1[2]!.tensors.get('1.v_proj.B')!;
    await rejectsWith(
      submit(s1[2]!, 1, withTensor(u1[2]!, '1.v_proj.B', wrong.data.subarray(1), [wrong.data.length - 1])),
      'invalid_argument',
      /"1\.v_proj\.B" has shape/,
    );
    await rejectsWith(submit(s1[1]!, 1, u1[1]!), 'failed_precondition', /already rejected/);
    assert.equal((await submit(s1[0]!, 1, u1[0]!)).accepted, true);
    valid.push({ round: 1, id: s1[0]!, payload: u1[0]! });

    // Round 2: a module id out of range, an oversized payload, a valid one and its replay.
    const s2 = sampleClients(4, 3, run.ctx.seed, 2);
    const t2 = await Promise.all(s2.map((id) => fetchTask(conn.get(id)!, run, id)));
    assert.equal(t2[0]!.round, 2);
    const u2 = t2.map((t, i) => honestUpdate(run, s2[i]!, t));
    const ids = u2[0]!.meta['modules'] as number[];
    await rejectsWith(
      submit(s2[0]!, 2, { tensors: u2[0]!.tensors, meta: { modules: [...ids.slice(0, -1), 7] } }),
      'invalid_argument',
      /module id 7 is outside 0\.\.3/,
    );
    assert.equal((await submit(s2[2]!, 2, u2[2]!)).accepted, true);
    valid.push({ round: 2, id: s2[2]!, payload: u2[2]! });
    await rejectsWith(submit(s2[2]!, 2, u2[2]!), 'already_exists', /already accepted; this copy was ignored/);
    await rejectsWith(
      submit(s2[1]!, 2, withTensor(u2[1]!, 'padding', new Float32Array(8192), [8192])),
      'resource_exhausted',
      /over the (server's )?limit of 16384/,
    );

    // Round 3: one valid result, one in half precision; a straggler answers after the deadline.
    const s3 = sampleClients(4, 3, run.ctx.seed, 3);
    const t3 = await Promise.all(s3.map((id) => fetchTask(conn.get(id)!, run, id)));
    const u3 = t3.map((t, i) => honestUpdate(run, s3[i]!, t));
    const f16 = join(mkdtempSync(join(tmpdir(), 'fedplora-f16-')), 'update.safetensors');
    writeSafetensors(f16, u3[2]!.tensors, { dtype: 'F16', metadata: { meta: JSON.stringify(u3[2]!.meta) } });
    await rejectsWith(conn.get(s3[2]!)!.submitResult(header(run, s3[2]!, 3), readFileSync(f16)), 'invalid_argument', /is stored as F16; expected F32/);
    assert.equal((await submit(s3[0]!, 3, u3[0]!)).accepted, true);
    valid.push({ round: 3, id: s3[0]!, payload: u3[0]! });
    const metrics = await run.done;
    await rejectsWith(submit(s3[1]!, 3, u3[1]!), 'failed_precondition', /round 3 is closed/);

    assert.deepEqual(
      metrics[1]!.rejected.map((r) => r.clientId),
      [s1[1], s1[2]],
    );
    assert.deepEqual(metrics[2]!.rejected.map((r) => r.clientId).sort(), [s2[0], s2[1]].sort());
    assert.deepEqual(
      metrics[3]!.dropped.map((d) => d.clientId),
      [s3[1]],
    );
    assert.deepEqual(
      metrics[3]!.rejected.map((d) => d.clientId),
      [s3[2]],
    );
    assert.match(metrics[3]!.dropped[0]!.reason, /no result by the round deadline/);
    assert.ok(
      run.events.recent(200).some((e) => e.event === 'result_rejected' && /non-finite/.test(String(e['reason']))),
      'the server logs the refusal',
    );

    // The same rounds with only the valid uploads give the same adapter, bit for bit.
    const reference = createFedPlora(run.ctx);
    for (const v of valid) reference.server.aggregate(v.round, [{ client: run.clients[v.id]!.info, payload: v.payload }]);
    loraTensors(run.method.server.exportAdapter()!).forEach((x, i) => assert.deepEqual(x, loraTensors(reference.server.exportAdapter()!)[i]));
  } finally {
    await run.stop();
  }
});
