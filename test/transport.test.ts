import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsWith } from './helpers/federation-errors.js';
import { randomBytes } from 'node:crypto';
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ChunkReassembler, chunksOf, sha256Hex } from '../src/transport/chunks.js';
import { FederationService as FederationServiceDesc, type SubmitResultRequestSchema } from '../src/transport/gen/fedplora/v1/federation_pb.js';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '../src/transport/gen/grpc/health/v1/health_pb.js';
import { createFederationClient, type FederationClient, type ResultToSubmit } from '../src/transport/grpc-client.js';
import { startFederationServer, type FederationServer, type FederationServerOptions } from '../src/transport/grpc-server.js';
import { FederationError, type FederationErrorCode } from '../src/transport/service.js';
import { selfSignedCertificate } from './helpers/self-signed-cert.js';
import { FAKE_FINGERPRINT, FAKE_RUN_ID, FakeFederation, tokenOf, type FakeFederationOptions } from './helpers/fake-federation.js';

const MiB = 1 << 20;

async function serve(t: TestContext, fake: FakeFederation, extra: Partial<FederationServerOptions> = {}): Promise<FederationServer> {
  const server = await startFederationServer(fake, { host: '127.0.0.1', port: 0, ...extra });
  t.after(() => server.close());
  return server;
}

function clientFor(t: TestContext, server: FederationServer, clientId: number, extra: { caCert?: string } = {}): FederationClient {
  const client = createFederationClient({ url: server.url, token: tokenOf(clientId), timeoutMs: 20_000, ...extra });
  t.after(() => client.close());
  return client;
}

/** A generated client without our wrapper, to send what a well-behaved client never would. */
function rawClients(server: FederationServer, token?: string) {
  const interceptors: Interceptor[] =
    token === undefined
      ? []
      : [
          (next) => (req) => {
            req.header.set('authorization', `Bearer ${token}`);
            return next(req);
          },
        ];
  const transport = createGrpcTransport({ baseUrl: server.url, interceptors });
  return { rpc: createClient(FederationServiceDesc, transport), health: createClient(Health, transport) };
}

type Chunked = MessageInitShape<typeof SubmitResultRequestSchema>;
async function* submission(header: { totalBytes: number; sha256: string; round?: number }, chunks: Uint8Array[]): AsyncGenerator<Chunked> {
  yield {
    kind: {
      case: 'header',
      value: { runId: FAKE_RUN_ID, round: header.round ?? 1, clientId: 1, totalBytes: BigInt(header.totalBytes), sha256: header.sha256 },
    },
  };
  for (const chunk of chunks) yield { kind: { case: 'chunk', value: chunk } };
}

async function rawRejects(promise: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ConnectError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.rawMessage, message);
    return true;
  });
}

const result = (round = 1): ResultToSubmit => ({ runId: FAKE_RUN_ID, round, clientId: 1, trainLoss: 0.25, trainSeconds: 1.5, trainableParameters: 1234 });

function fakeWithTask(bytes: Uint8Array, options: FakeFederationOptions = {}): FakeFederation {
  const fake = new FakeFederation(options);
  fake.tasks.set(1, { round: 1, rank: 2, message: bytes });
  return fake;
}

test('chunks are views of the payload and reassembly never holds more than was declared', () => {
  const bytes = randomBytes(10);
  assert.deepEqual(
    [...chunksOf(bytes, 4)].map((c) => c.length),
    [4, 4, 2],
  );
  assert.deepEqual([...chunksOf(new Uint8Array(0), 4)], []);
  assert.throws(() => [...chunksOf(bytes, 0)], /chunk size must be a positive integer, got 0/);
  const reassembler = new ChunkReassembler({ totalBytes: 10, sha256: sha256Hex(bytes), maxBytes: 10, label: 'the test payload' });
  for (const chunk of chunksOf(bytes, 3)) reassembler.push(chunk);
  assert.ok(Buffer.from(reassembler.finish()).equals(bytes));
  const over = new ChunkReassembler({ totalBytes: 10, sha256: '', maxBytes: 100, label: 'the test payload' });
  over.push(bytes.subarray(0, 8));
  assert.throws(
    () => over.push(bytes.subarray(0, 3)),
    (e: FederationError) => e.code === 'resource_exhausted' && /more than the 10 bytes/.test(e.message),
  );
  assert.equal(over.receivedBytes, 8);
  assert.throws(
    () => new ChunkReassembler({ totalBytes: 101, sha256: '', maxBytes: 100, label: 'the test payload' }),
    (e: FederationError) => e.code === 'resource_exhausted',
  );
});

test('a 10 MB task and a 10 MB result cross in chunks byte for byte', async (t) => {
  const message = randomBytes(10 * MiB + 123);
  const fake = fakeWithTask(message, { chunkBytes: MiB, maxResultBytes: 12 * MiB });
  const client = clientFor(t, await serve(t, fake), 1);
  const run = await client.getRun(1);
  assert.equal(run.runId, FAKE_RUN_ID);
  assert.equal(run.maxResultBytes, 12 * MiB);
  const joined = await client.join({ runId: FAKE_RUN_ID, clientId: 1, rank: 0, numExamples: 7, modelFingerprint: FAKE_FINGERPRINT });
  assert.equal(joined.rank, 2);
  assert.equal(fake.joined.get(1)?.numExamples, 7);

  const task = await client.fetchTask({ runId: FAKE_RUN_ID, clientId: 1, waitSeconds: 1 });
  assert.equal(task.status, 'task');
  assert.ok(task.status === 'task' && Buffer.from(task.message).equals(message));

  const update = randomBytes(10 * MiB + 7);
  const reply = await client.submitResult(result(), update);
  assert.deepEqual(reply, { round: 1, accepted: true, message: `accepted ${update.length} bytes` });
  const [got] = fake.submitted;
  assert.ok(got && Buffer.from(got.update).equals(update));
  assert.deepEqual({ ...got.header }, { ...result(), totalBytes: update.length, sha256: sha256Hex(update) });
  assert.deepEqual(await client.status(), { runId: FAKE_RUN_ID, status: { submitted: 1 } });
});

test('a client without work waits, and one after the last round is told the run is done', async (t) => {
  const fake = new FakeFederation();
  const client = clientFor(t, await serve(t, fake), 2);
  assert.deepEqual(await client.fetchTask({ runId: FAKE_RUN_ID, clientId: 2, waitSeconds: 0 }), { status: 'wait', runId: FAKE_RUN_ID, totalRounds: 3 });
  fake.done = true;
  assert.equal((await client.fetchTask({ runId: FAKE_RUN_ID, clientId: 2, waitSeconds: 0 })).status, 'done');
});

test('calls without a known token are unauthenticated; another client id is permission denied', async (t) => {
  const server = await serve(t, new FakeFederation());
  await rawRejects(rawClients(server).rpc.getRun({ clientId: 1 }), Code.Unauthenticated, /no token was sent/);
  const stranger = createFederationClient({ url: server.url, token: 'not-a-token' });
  t.after(() => stranger.close());
  await rejectsWith(stranger.getRun(1), 'unauthenticated', /does not know this token/);
  const client = clientFor(t, server, 3);
  await rejectsWith(client.getRun(5), 'permission_denied', /^this token belongs to client 3, not client 5/);
  await rejectsWith(client.fetchTask({ runId: FAKE_RUN_ID, clientId: 5, waitSeconds: 0 }), 'permission_denied', /client 3, not client 5/);
});

test('every FederationError reaches the client with its code and message; other errors are internal', async (t) => {
  const fake = fakeWithTask(new Uint8Array(10));
  const logged: string[] = [];
  const server = await serve(t, fake, { onCallError: (method, e) => logged.push(`${method} ${e.code}`) });
  const client = clientFor(t, server, 1);
  const codes: FederationErrorCode[] = [
    'unauthenticated',
    'permission_denied',
    'failed_precondition',
    'already_exists',
    'invalid_argument',
    'resource_exhausted',
    'not_found',
    'unavailable',
    'internal',
  ];
  for (const code of codes) {
    fake.failures.set('getRun', new FederationError(code, `getRun refused with ${code}; do something`));
    await rejectsWith(client.getRun(1), code, new RegExp(`^getRun refused with ${code}; do something$`));
  }
  fake.failures.set('fetchTask', new FederationError('failed_precondition', 'client 1 has not joined; call Join first'));
  await rejectsWith(client.fetchTask({ runId: FAKE_RUN_ID, clientId: 1, waitSeconds: 0 }), 'failed_precondition', /has not joined/);
  fake.failures.set('checkResultHeader', new FederationError('already_exists', "round 1 already has this client's result"));
  await rejectsWith(client.submitResult(result(), new Uint8Array(5)), 'already_exists', /already has/);
  fake.failures.set('status', new TypeError('status table is missing'));
  await rejectsWith(client.status(), 'internal', /^status table is missing$/);
  assert.deepEqual(logged.slice(-3), ['FetchTask failed_precondition', 'SubmitResult already_exists', 'GetStatus internal']);
});

test('a result over the limit is refused, whether its header says so or lies about its size', async (t) => {
  const fake = fakeWithTask(new Uint8Array(10), { chunkBytes: MiB, maxResultBytes: 2 * MiB });
  const server = await serve(t, fake);
  const client = clientFor(t, server, 1);
  await rejectsWith(client.submitResult(result(), new Uint8Array(3 * MiB)), 'resource_exhausted', /declares 3145728 bytes, over the limit of 2097152/);
  const { rpc } = rawClients(server, tokenOf(1));
  const chunk = new Uint8Array(MiB);
  await rawRejects(
    rpc.submitResult(submission({ totalBytes: 100, sha256: sha256Hex(chunk) }, [chunk, chunk, chunk, chunk])),
    Code.ResourceExhausted,
    /more than the 100 bytes its header declared/,
  );
  assert.equal(fake.submitted.length, 0);
  assert.deepEqual(fake.refused, [
    { caller: 1, round: 1, code: 'resource_exhausted' },
    { caller: 1, round: 1, code: 'resource_exhausted' },
  ]);
});

test('a result whose bytes do not match its header is invalid', async (t) => {
  const fake = fakeWithTask(new Uint8Array(10));
  const server = await serve(t, fake);
  const { rpc } = rawClients(server, tokenOf(1));
  const bytes = randomBytes(1000);
  await rawRejects(
    rpc.submitResult(submission({ totalBytes: 1000, sha256: sha256Hex(randomBytes(1000)) }, [bytes])),
    Code.InvalidArgument,
    /has sha256 [0-9a-f]{64} but its header declared/,
  );
  await rawRejects(
    rpc.submitResult(submission({ totalBytes: 2000, sha256: sha256Hex(bytes) }, [bytes])),
    Code.InvalidArgument,
    /ended after 1000 of the 2000 bytes/,
  );
  const chunksOnly = (async function* (): AsyncGenerator<Chunked> {
    yield { kind: { case: 'chunk', value: bytes } };
  })();
  await rawRejects(rpc.submitResult(chunksOnly), Code.InvalidArgument, /must start with a ResultHeader/);
  await rawRejects(
    rpc.submitResult(submission({ totalBytes: 1000, sha256: sha256Hex(bytes), round: 2 }, [bytes])),
    Code.FailedPrecondition,
    /not sampled in round 2/,
  );
  assert.equal(fake.submitted.length, 0);
  assert.deepEqual(
    fake.refused.map((r) => r.code),
    ['invalid_argument', 'invalid_argument'],
    'the service heard of the two refused uploads, not of the two refused headers',
  );
});

test('one gRPC message over readMaxBytes is refused by the server', async (t) => {
  const fake = fakeWithTask(new Uint8Array(10));
  const server = await serve(t, fake, { readMaxBytes: 64 * 1024 });
  const { rpc } = rawClients(server, tokenOf(1));
  const big = randomBytes(100 * 1024);
  await rawRejects(
    rpc.submitResult(submission({ totalBytes: big.length, sha256: sha256Hex(big) }, [big])),
    Code.ResourceExhausted,
    /^a SubmitResult message is larger than the server reads \(.*readMaxBytes.*\); send chunks of at most chunk_bytes/,
  );
});

test('health answers SERVING for the server and the federation service over gRPC, gRPC-Web and Connect', async (t) => {
  const server = await serve(t, new FakeFederation());
  assert.equal(await clientFor(t, server, 0).health(), 'SERVING');
  const { health } = rawClients(server);
  assert.equal((await health.check({ service: 'fedplora.v1.FederationService' })).status, ServingStatus.SERVING);
  await rawRejects(health.check({ service: 'nope.v1.Nothing' }), Code.NotFound, /no service named "nope.v1.Nothing"/);
  for (const transport of [
    createConnectTransport({ baseUrl: server.url, httpVersion: '2' }),
    createGrpcWebTransport({ baseUrl: server.url, httpVersion: '2' }),
  ]) {
    assert.equal((await createClient(Health, transport).check({ service: '' })).status, ServingStatus.SERVING);
  }
});

test('close() ends long-polls and health watches promptly and stops accepting calls', async (t) => {
  const fake = new FakeFederation();
  const server = await serve(t, fake);
  const client = clientFor(t, server, 2);
  const longPoll = client.fetchTask({ runId: FAKE_RUN_ID, clientId: 2, waitSeconds: 60 }).then(
    (r) => r.status,
    (e: FederationError) => e.code,
  );
  const watch = rawClients(server).health.watch({ service: '' });
  const watched: ServingStatus[] = [];
  const watching = (async () => {
    for await (const reply of watch) watched.push(reply.status);
  })();
  while (fake.waitSignals.length === 0 || watched.length === 0) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
  assert.ok(fake.waitSignals[0]?.aborted, 'the long-poll was told the server is closing');
  assert.ok(['wait', 'unavailable'].includes(await longPoll));
  await watching;
  assert.deepEqual(watched, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  await rejectsWith(client.getRun(2), 'unavailable', new RegExp(`cannot reach the server at ${server.url} \\(ECONNREFUSED`));
});

test('over TLS a client that trusts the certificate works and one that does not is told why', async (t) => {
  const tls = selfSignedCertificate(t);
  if (!tls) return t.skip('the openssl CLI is missing or failed; install the openssl package to test TLS');
  const fake = fakeWithTask(randomBytes(3 * MiB), { chunkBytes: MiB });
  const server = await serve(t, fake, { tls: { cert: tls.cert, key: tls.key } });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const trusting = clientFor(t, server, 1, { caCert: tls.cert });
  assert.equal(await trusting.health(), 'SERVING');
  const task = await trusting.fetchTask({ runId: FAKE_RUN_ID, clientId: 1, waitSeconds: 0 });
  assert.equal(task.status === 'task' && task.message.length, 3 * MiB);
  await rejectsWith(clientFor(t, server, 1).getRun(1), 'unavailable', /cannot reach the server at https:.*SELF_SIGNED.*pass its CA certificate/);
});
