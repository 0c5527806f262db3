/**
 * Server and clients as separate processes on loopback, through the CLI:
 * a served run ends with the simulation's adapter bit for bit; a client
 * killed mid-round is dropped at the deadline and the run goes on; a server
 * killed and resumed finishes with the uninterrupted result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { at } from '../src/util/checked.js';
import { startCli, type CliProcess } from './helpers/cli-process.js';
import { selfSignedCertificate } from './helpers/self-signed-cert.js';

const MODEL = fileURLToPath(new URL('../../models/fedplora-base', import.meta.url));
// Clients train single-threaded, as the simulation's worker processes do, so results agree bit for bit.
const CLIENT_THREADS = ['--threads', '1'];

function setup(name: string, extra: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `fedplora-${name}-`));
  const config = {
    name,
    model: MODEL,
    task: 'spam',
    partition: { kind: 'iid' },
    clients: 4,
    ranks: { kind: 'list', ranks: [2, 4, 8, 16] },
    lora: { rank: 16, alpha: 32, targets: ['q_proj', 'v_proj'] },
    method: { name: 'fed-plora' },
    rounds: 3,
    clientsPerRound: 2,
    evalEvery: 3,
    testExamples: 16,
    maxLength: 64,
    maxExamplesPerClient: 24,
    local: { steps: 2, batchSize: 4, lr: 0.002 },
    workers: 2,
    output: join(dir, 'runs'),
    ...extra,
    server: { port: 0, statusPort: null, tokens: join(dir, 'tokens.json'), roundTimeoutSeconds: 60, pollSeconds: 2, ...server },
  };
  const path = join(dir, 'run.yaml');
  writeFileSync(path, JSON.stringify(config));
  return { dir, path, runDir: join(dir, 'runs', name), tokenFile: join(dir, 'tokens.tsv') };
}

async function makeTokens(s: ReturnType<typeof setup>): Promise<void> {
  const p = startCli(['tokens', 'create', '--store', join(s.dir, 'tokens.json'), '--client-id', '0-3']);
  assert.equal(await p.exited, 0, p.lines.join('\n'));
  writeFileSync(s.tokenFile, `${p.lines.filter((l) => /^\d+\t/.test(l)).join('\n')}\n`);
}

async function serverUrl(server: CliProcess): Promise<string> {
  const started = JSON.parse(await server.waitFor(/"event":"server_started"/)) as { url: string };
  return started.url;
}

const join2 = (url: string, s: ReturnType<typeof setup>, ids: string) =>
  startCli(['join', '--server', url, '--client-id', ids, '--token-file', s.tokenFile, ...CLIENT_THREADS, '--wait-seconds', '2']);

const adapterBytes = (runDir: string) => readFileSync(join(runDir, 'adapter', 'adapter_model.safetensors'));

async function simulate(s: ReturnType<typeof setup>): Promise<Buffer> {
  const sim = startCli(['run', s.path, '--set', 'name=simulated']);
  assert.equal(await sim.exited, 0, sim.lines.join('\n'));
  return adapterBytes(join(s.dir, 'runs', 'simulated'));
}

test("a run served over TLS to client processes ends with the simulation's adapter, bit for bit", { timeout: 240_000 }, async (t) => {
  const s = setup('served', {}, { statusPort: 0 });
  const tls = selfSignedCertificate(t);
  if (!tls) return t.skip('the openssl CLI is missing or failed; install the openssl package to test TLS');
  await makeTokens(s);
  const server = startCli(['serve', s.path, '--tls-cert', tls.certPath, '--tls-key', tls.keyPath]);
  const clients: CliProcess[] = [];
  try {
    const started = JSON.parse(await server.waitFor(/"event":"server_started"/)) as { url: string; status: string; tls: boolean };
    assert.ok(started.url.startsWith('https://') && started.tls);
    const withCa = ['--ca', tls.certPath, ...CLIENT_THREADS, '--wait-seconds', '2'];
    // A wrong token ends the client at once with one line saying what to do.
    const intruder = startCli(['join', '--server', started.url, '--client-id', '1', '--token', 'fpl_wrong', ...withCa]);
    assert.equal(await intruder.exited, 1);
    assert.match(intruder.lines.join('\n'), /^fedplora: .*does not know this token: check --token/m);
    clients.push(startCli(['join', '--server', started.url, '--client-id', '0,2', '--token-file', s.tokenFile, ...withCa]));
    await server.waitFor(/"event":"client_joined","client":2/);
    const status = (await (await fetch(new URL('status.json', started.status))).json()) as { clients: { id: number; state: string }[]; totalRounds: number };
    assert.equal(status.totalRounds, 3);
    assert.deepEqual(
      status.clients.filter((c) => c.state !== 'never-joined').map((c) => c.id),
      [0, 2],
    );
    clients.push(startCli(['join', '--server', started.url, '--client-id', '1,3', '--token-file', s.tokenFile, ...withCa]));
    assert.equal(await server.exited, 0, server.lines.join('\n'));
    for (const c of clients) assert.equal(await c.exited, 0, c.lines.join('\n'));
    assert.ok(clients.every((c) => c.lines.some((l) => /the run is finished \(3 rounds\)/.test(l))));
    assert.ok(server.lines.some((l) => /^accuracy: [\d.]+ before training, [\d.]+ after round 3$/.test(l)));
    assert.deepEqual(adapterBytes(s.runDir), await simulate(s));
  } finally {
    await Promise.all([server, ...clients].map((p) => p.kill()));
  }
});

test('a client killed mid-round is dropped at the deadline and the run finishes without it', { timeout: 240_000 }, async () => {
  // Long enough local training that the kill lands between fetching the task and answering, and a
  // deadline that the three live clients meet even on a machine busy with other work.
  const s = setup('killed', { local: { steps: 20, batchSize: 4, lr: 0.002 }, rounds: 1, clientsPerRound: 4, evalEvery: 1 }, { roundTimeoutSeconds: 45 });
  await makeTokens(s);
  const server = startCli(['serve', s.path]);
  const clients: CliProcess[] = [];
  try {
    const url = await serverUrl(server);
    const doomed = join2(url, s, '3');
    // Client 2 trains on a file of its own instead of its partition.
    const own = join(s.dir, 'own.jsonl');
    writeFileSync(
      own,
      `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `Subject: offer ${i}\nWin money now`, label: i % 2 ? 'spam' : 'ham' })).join('\n')}\n`,
    );
    const withOwnData = startCli([
      'join',
      '--server',
      url,
      '--client-id',
      '2',
      '--token-file',
      s.tokenFile,
      ...CLIENT_THREADS,
      '--data',
      own,
      '--layout',
      'text-label',
    ]);
    clients.push(join2(url, s, '0'), join2(url, s, '1'), withOwnData, doomed);
    assert.match(await server.waitFor(/"event":"client_joined","client":2/), /"examples":8/);
    await server.waitFor(/"event":"task_sent","client":3,"round":1/);
    await doomed.kill();
    const dropped = JSON.parse(await server.waitFor(/"event":"client_dropped","client":3,"round":1/, 120_000)) as { reason: string };
    assert.match(dropped.reason, /no result by the round deadline \(45 s\)/);
    const closed = JSON.parse(await server.waitFor(/"event":"round_closed","round":1/)) as { accepted: number; dropped: number };
    assert.deepEqual([closed.accepted, closed.dropped], [3, 1]);
    assert.equal(await server.exited, 0, server.lines.join('\n'));
    const metrics = readFileSync(join(s.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { round: number; dropped: { clientId: number }[]; aggregated: boolean });
    const round1 = at(metrics, 1, 'metrics lines');
    assert.deepEqual(
      round1.dropped.map((d) => d.clientId),
      [3],
    );
    assert.equal(round1.aggregated, true);
    assert.equal(metrics.length, 2);
  } finally {
    await Promise.all([server, ...clients].map((p) => p.kill()));
  }
});

test('a server killed and resumed finishes the run with the uninterrupted result; its clients come back by themselves', { timeout: 300_000 }, async () => {
  const s = setup('resumed', { rounds: 4 });
  await makeTokens(s);
  let server = startCli(['serve', s.path]);
  const clients: CliProcess[] = [];
  try {
    const url = await serverUrl(server);
    const port = new URL(url).port;
    clients.push(join2(url, s, '0,2'), join2(url, s, '1,3'));
    await server.waitFor(/"event":"round_finished","round":2/);
    await server.kill();
    server = startCli(['serve', s.path, '--resume', '--port', port]);
    await server.waitFor(/"event":"server_started".*"resume":true/);
    assert.equal(await server.exited, 0, server.lines.join('\n'));
    assert.ok(
      server.lines.some((l) => /"event":"client_joined"/.test(l)),
      'the clients joined the restarted server',
    );
    assert.ok(!server.lines.some((l) => /"event":"round_opened","round":[12],/.test(l)), 'finished rounds are not run again');
    for (const c of clients) assert.equal(await c.exited, 0, c.lines.join('\n'));
    assert.ok(
      clients.some((c) => c.lines.some((l) => /retrying with back-off/.test(l))),
      'clients noticed the server was gone',
    );
    assert.deepEqual(adapterBytes(s.runDir), await simulate(s));
  } finally {
    await Promise.all([server, ...clients].map((p) => p.kill()));
  }
});
