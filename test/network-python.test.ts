import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFederationServer, type FederationServer, type FederationServerOptions } from '../src/transport/grpc-server.js';
import { FakeFederation, checkUntrainedFedPloraUpdate, fedPloraTask, tokenOf, type FedPloraTaskShape } from './helpers/fake-federation.js';
import { preparePythonClient, runPythonClient, type PythonClientEnv } from './helpers/python-client.js';
import { selfSignedCertificate } from './helpers/self-signed-cert.js';
import { startServedRun } from './helpers/served-run.js';
import { loraTensors } from '../src/lora/adapter.js';
import { defined, got } from '../src/util/checked.js';

const prepared = preparePythonClient();
after(() => {
  if ('dispose' in prepared) prepared.dispose();
});

/** The environment, or undefined after marking the test skipped with what to install. */
function pythonOrSkip(t: TestContext): PythonClientEnv | undefined {
  if ('missing' in prepared) {
    t.skip(`the Python interop test needs ${prepared.missing}`);
    return undefined;
  }
  return prepared;
}

const SHAPE: FedPloraTaskShape = { layers: 2, targets: ['q_proj', 'v_proj'], R: 4, inFeatures: 24, outFeatures: 16, modules: [3, 1] };

/** A fake coordinator that gives client 1 a Fed-PLoRA task and checks its update as the real one would. */
function fedPloraFake(withTask = true): FakeFederation {
  const { message, tensors } = fedPloraTask(SHAPE);
  // Small chunks, so the task and the update each cross in several messages.
  const fake = new FakeFederation({ chunkBytes: 1024, validateUpdate: (_client, update) => checkUntrainedFedPloraUpdate(SHAPE, tensors, update) });
  if (withTask) fake.tasks.set(1, { round: 1, rank: SHAPE.modules.length, message });
  return fake;
}

async function serve(t: TestContext, fake: FakeFederation, extra: Partial<FederationServerOptions> = {}): Promise<FederationServer> {
  const server = await startFederationServer(fake, { host: '127.0.0.1', port: 0, ...extra });
  t.after(() => server.close());
  return server;
}

test('the grpcio client joins, fetches a Fed-PLoRA task and its update of the assigned modules is accepted', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const fake = fedPloraFake();
  const server = await serve(t, fake);
  const run = await runPythonClient(python, { url: server.url, token: tokenOf(1), clientId: 1 });
  assert.equal(run.exitCode, 0, JSON.stringify(run.result) + run.stderr);
  assert.deepEqual(
    { ...run.result, bytes: undefined, message: undefined },
    {
      outcome: 'accepted',
      health: 'SERVING',
      rank: 2,
      round: 1,
      modules: SHAPE.modules,
      bytes: undefined,
      message: undefined,
    },
  );
  assert.equal(fake.joined.get(1)?.numExamples, 1);
  assert.equal(fake.submitted.length, 1);
  assert.ok((fake.submitted[0]?.update.length ?? 0) > 1024, 'the update crossed in more than one chunk');
});

for (const [corrupt, what, details] of [
  ['shape', 'a tensor of the wrong shape', /tensor "0\.q_proj\.A" has shape \[3,24\], expected \[2,24\]/],
  ['nan', 'a NaN', /non-finite value \(NaN\)/],
  ['modules', 'module ids out of range', /module id 4 is outside 0\.\.3/],
] as const) {
  test(`the server refuses a grpcio update with ${what} as INVALID_ARGUMENT`, async (t) => {
    const python = pythonOrSkip(t);
    if (!python) return;
    const fake = fedPloraFake();
    const server = await serve(t, fake);
    const run = await runPythonClient(python, { url: server.url, token: tokenOf(1), clientId: 1, corrupt });
    assert.equal(run.exitCode, 3, JSON.stringify(run.result) + run.stderr);
    assert.equal(run.result['code'], 'INVALID_ARGUMENT');
    assert.match(String(run.result['details']), details);
    assert.equal(fake.submitted.length, 0);
  });
}

test('the grpcio client keeps polling while told to wait and takes the task once it is there', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const fake = fedPloraFake(false);
  const server = await serve(t, fake);
  const running = runPythonClient(python, { url: server.url, token: tokenOf(1), clientId: 1, waitSeconds: 1, maxPolls: 20 });
  while (fake.waitSignals.length < 2) await new Promise((r) => setTimeout(r, 20));
  fake.tasks.set(1, { round: 1, rank: 2, message: fedPloraTask(SHAPE).message });
  const run = await running;
  assert.equal(run.exitCode, 0, JSON.stringify(run.result) + run.stderr);
  assert.equal(run.result['outcome'], 'accepted');
});

test('the grpcio client with a wrong token is UNAUTHENTICATED, and another client id is PERMISSION_DENIED', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const server = await serve(t, fedPloraFake());
  const stranger = await runPythonClient(python, { url: server.url, token: 'not-a-token', clientId: 1 });
  assert.deepEqual([stranger.exitCode, stranger.result['call'], stranger.result['code']], [1, 'GetRun', 'UNAUTHENTICATED']);
  const impostor = await runPythonClient(python, { url: server.url, token: tokenOf(2), clientId: 1 });
  assert.equal(impostor.result['code'], 'PERMISSION_DENIED');
  assert.match(String(impostor.result['details']), /this token belongs to client 2, not client 1/);
});

test('the grpcio client reaches a TLS server through the CA it is given', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const tls = selfSignedCertificate(t);
  if (!tls) return t.skip('the openssl CLI is missing or failed; install the openssl package to test TLS');
  const server = await serve(t, fedPloraFake(), { tls: { cert: tls.cert, key: tls.key } });
  const run = await runPythonClient(python, { url: server.url, token: tokenOf(1), clientId: 1, tlsCaPath: tls.certPath });
  assert.equal(run.exitCode, 0, JSON.stringify(run.result) + run.stderr);
  const untrusting = await runPythonClient(python, { url: server.url, token: tokenOf(1), clientId: 1 });
  assert.deepEqual([untrusting.exitCode, untrusting.result['call'], untrusting.result['code']], [1, 'Health.Check', 'UNAVAILABLE']);
});

test('a grpcio client takes part in a real served run: its update is aggregated, its corrupt one refused', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const run = await startServedRun({ ranks: [2], rounds: 2, clientsPerRound: 1, roundTimeoutMs: 30_000 });
  t.after(() => run.stop());
  const before = loraTensors(defined(run.method.server.exportAdapter(), 'the initial adapter')).map((x) => Float32Array.from(x));
  const honest = await runPythonClient(python, { url: run.server.url, token: got(run.tokens, 0, 'client tokens'), clientId: 0 });
  assert.equal(honest.exitCode, 0, JSON.stringify(honest.result) + honest.stderr);
  assert.deepEqual([honest.result['outcome'], honest.result['round'], honest.result['rank']], ['accepted', 1, 2]);
  const corrupt = await runPythonClient(python, { url: run.server.url, token: got(run.tokens, 0, 'client tokens'), clientId: 0, corrupt: 'nan' });
  assert.deepEqual([corrupt.exitCode, corrupt.result['code']], [3, 'INVALID_ARGUMENT']);
  assert.match(String(corrupt.result['details']), /round 2: the server refused this result: .*non-finite value \(NaN\)/);
  const metrics = await run.done;
  assert.deepEqual(
    metrics.map((m) => [m.round, m.rejected.length, m.dropped.length, m.aggregated]),
    [
      [0, 0, 0, false],
      [1, 0, 0, true],
      [2, 1, 0, false],
    ],
  );
  // The Python client sends back the modules it was given untrained, so the average leaves them as they were.
  for (const [i, x] of loraTensors(defined(run.method.server.exportAdapter(), 'the final adapter')).entries()) assert.deepEqual(x, before[i]);
});
