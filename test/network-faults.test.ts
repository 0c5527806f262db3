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
import { at, defined, got } from '../src/util/checked.js';
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
  return runClientJob(run.method.client, run.ctx, LOCAL, { round: task.round, client: at(run.clients, id, 'clients'), message }).update;
}

/** The three clients a round samples (clientsPerRound is 3), in sampling order. */
function three<T>(xs: readonly T[], what: string): [T, T, T] {
  return [at(xs, 0, what), at(xs, 1, what), at(xs, 2, what)];
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
    const client = (id: number): FederationClient => got(conn, id, 'connections');
    // Wrong credentials never reach the run.
    await rejectsWith(run.connect(0, 'fpl_not-a-token').getRun(0), 'unauthenticated', /does not know this token/);
    await rejectsWith(
      client(1).join({ runId: run.runId, clientId: 2, rank: 0, numExamples: 5, modelFingerprint: run.fingerprint }),
      'permission_denied',
      /belongs to client 1, not client 2/,
    );
    await rejectsWith(
      client(1).join({ runId: run.runId, clientId: 1, rank: 0, numExamples: 5, modelFingerprint: 'f'.repeat(64) }),
      'failed_precondition',
      /another base model/,
    );
    await rejectsWith(
      client(1).join({ runId: run.runId, clientId: 1, rank: 5, numExamples: 5, modelFingerprint: run.fingerprint }),
      'invalid_argument',
      /declares rank 5, outside 1\.\.4/,
    );
    await rejectsWith(
      client(1).join({ runId: 'another-run', clientId: 1, rank: 0, numExamples: 5, modelFingerprint: run.fingerprint }),
      'failed_precondition',
      /this server runs run test-run, not another-run/,
    );
    for (const [id, c] of conn)
      await c.join({
        runId: run.runId,
        clientId: id,
        rank: 0,
        numExamples: at(run.clients, id, 'clients').info.numExamples,
        modelFingerprint: run.fingerprint,
      });
    const valid: { round: number; id: number; payload: Payload }[] = [];
    const submit = (id: number, round: number, p: Payload) => client(id).submitResult(header(run, id, round), encodePayload(p));

    // Round 1: one valid, a NaN, a wrong shape; the client not sampled may not submit.
    const s1 = sampleClients(4, 3, run.ctx.seed, 1);
    const t1 = await Promise.all(s1.map((id) => fetchTask(client(id), run, id)));
    const idle = defined(
      [0, 1, 2, 3].find((id) => !s1.includes(id)),
      'the client not sampled in round 1',
    );
    assert.equal((await client(idle).fetchTask({ runId: run.runId, clientId: idle, waitSeconds: 0 })).status, 'wait');
    const [a1, b1, c1] = three(
      s1.map((id, i) => ({ id, update: honestUpdate(run, id, at(t1, i, 'round 1 tasks')) })),
      'round 1 sample',
    );
    await rejectsWith(submit(idle, 1, a1.update), 'failed_precondition', new RegExp(`client ${idle} was not sampled in round 1`));
    const qA = got(b1.update.tensors, '0.q_proj.A', 'round 1 update');
    const nan = Float32Array.from(qA.data);
    nan[3] = NaN;
    await rejectsWith(
      submit(b1.id, 1, withTensor(b1.update, '0.q_proj.A', nan, qA.shape)),
      'invalid_argument',
      /"0\.q_proj\.A" holds a non-finite value \(NaN\) at index 3/,
    );
    const wrong = got(c1.update.tensors, '1.v_proj.B', 'round 1 update');
    await rejectsWith(
      submit(c1.id, 1, withTensor(c1.update, '1.v_proj.B', wrong.data.subarray(1), [wrong.data.length - 1])),
      'invalid_argument',
      /"1\.v_proj\.B" has shape/,
    );
    await rejectsWith(submit(b1.id, 1, b1.update), 'failed_precondition', /already rejected/);
    assert.equal((await submit(a1.id, 1, a1.update)).accepted, true);
    valid.push({ round: 1, id: a1.id, payload: a1.update });

    // Round 2: a module id out of range, an oversized payload, a valid one and its replay.
    const s2 = sampleClients(4, 3, run.ctx.seed, 2);
    const t2 = await Promise.all(s2.map((id) => fetchTask(client(id), run, id)));
    assert.equal(at(t2, 0, 'round 2 tasks').round, 2);
    const [a2, b2, c2] = three(
      s2.map((id, i) => ({ id, update: honestUpdate(run, id, at(t2, i, 'round 2 tasks')) })),
      'round 2 sample',
    );
    const ids = a2.update.meta['modules'] as number[];
    await rejectsWith(
      submit(a2.id, 2, { tensors: a2.update.tensors, meta: { modules: [...ids.slice(0, -1), 7] } }),
      'invalid_argument',
      /module id 7 is outside 0\.\.3/,
    );
    assert.equal((await submit(c2.id, 2, c2.update)).accepted, true);
    valid.push({ round: 2, id: c2.id, payload: c2.update });
    await rejectsWith(submit(c2.id, 2, c2.update), 'already_exists', /already accepted; this copy was ignored/);
    await rejectsWith(
      submit(b2.id, 2, withTensor(b2.update, 'padding', new Float32Array(8192), [8192])),
      'resource_exhausted',
      /over the (server's )?limit of 16384/,
    );

    // Round 3: one valid result, one in half precision; a straggler answers after the deadline.
    const s3 = sampleClients(4, 3, run.ctx.seed, 3);
    const t3 = await Promise.all(s3.map((id) => fetchTask(client(id), run, id)));
    const [a3, b3, c3] = three(
      s3.map((id, i) => ({ id, update: honestUpdate(run, id, at(t3, i, 'round 3 tasks')) })),
      'round 3 sample',
    );
    const f16 = join(mkdtempSync(join(tmpdir(), 'fedplora-f16-')), 'update.safetensors');
    writeSafetensors(f16, c3.update.tensors, { dtype: 'F16', metadata: { meta: JSON.stringify(c3.update.meta) } });
    await rejectsWith(client(c3.id).submitResult(header(run, c3.id, 3), readFileSync(f16)), 'invalid_argument', /is stored as F16; expected F32/);
    assert.equal((await submit(a3.id, 3, a3.update)).accepted, true);
    valid.push({ round: 3, id: a3.id, payload: a3.update });
    const metrics = await run.done;
    await rejectsWith(submit(b3.id, 3, b3.update), 'failed_precondition', /round 3 is closed/);

    assert.deepEqual(
      at(metrics, 1, 'round metrics').rejected.map((r) => r.clientId),
      [s1[1], s1[2]],
    );
    assert.deepEqual(
      at(metrics, 2, 'round metrics')
        .rejected.map((r) => r.clientId)
        .sort(),
      [s2[0], s2[1]].sort(),
    );
    const round3 = at(metrics, 3, 'round metrics');
    assert.deepEqual(
      round3.dropped.map((d) => d.clientId),
      [s3[1]],
    );
    assert.deepEqual(
      round3.rejected.map((d) => d.clientId),
      [s3[2]],
    );
    assert.match(at(round3.dropped, 0, 'round 3 drops').reason, /no result by the round deadline/);
    assert.ok(
      run.events.recent(200).some((e) => e.event === 'result_rejected' && /non-finite/.test(String(e['reason']))),
      'the server logs the refusal',
    );

    // The same rounds with only the valid uploads give the same adapter, bit for bit.
    const reference = createFedPlora(run.ctx);
    for (const v of valid) reference.server.aggregate(v.round, [{ client: at(run.clients, v.id, 'clients').info, payload: v.payload }]);
    for (const [i, x] of loraTensors(defined(run.method.server.exportAdapter(), 'the served adapter')).entries())
      assert.deepEqual(x, loraTensors(defined(reference.server.exportAdapter(), 'the reference adapter'))[i]);
  } finally {
    await run.stop();
  }
});
