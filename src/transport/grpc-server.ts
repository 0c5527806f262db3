/**
 * The federation service on the network: one HTTP/2 port (h2c, or TLS when
 * given a certificate) that speaks gRPC, gRPC-Web and Connect, so Python
 * grpcio clients, browsers and our own Node client all reach it. Each call
 * is authenticated by its bearer token, chunked payloads are reassembled
 * under a size limit, and FederationErrors become gRPC status codes.
 */
import { setMaxListeners } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ChunkReassembler, chunksOf, sha256Hex } from './chunks.js';
import {
  FederationService as FederationServiceDesc,
  TaskStatus,
  type FetchTaskResponseSchema,
  type ResultHeader as ResultHeaderMessage,
  type SubmitResultRequest,
} from './gen/fedplora/v1/federation_pb.js';
import { healthRoutes } from './health-service.js';
import { CONNECT_CODES } from './status-codes.js';
import { FederationError, type FederationErrorCode, type FederationService, type ResultHeader, type TaskReply } from './service.js';

/** The default read limit is 4 chunks, but never so small that a header or a Join no longer fits. */
const MIN_READ_MAX_BYTES = 64 * 1024;

/** Gives sessions this long to finish after close() asked them to, then cuts them. */
const CLOSE_GRACE_MS = 2000;

export interface FederationServerOptions {
  /** the address to listen on, e.g. "127.0.0.1" or "0.0.0.0" */
  host: string;
  /** 0 picks a free port */
  port: number;
  /** PEM certificate chain and private key; without them the server speaks h2c (HTTP/2 without TLS) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** the largest single gRPC message read; defaults to 4 chunks (at least 64 KiB) */
  readMaxBytes?: number;
  /** told about every call that ends in an error, for logging; the error is already what the client sees */
  onCallError?: (method: string, error: FederationError) => void;
}

export interface FederationServer {
  port: number;
  /** where clients connect, e.g. "http://127.0.0.1:50051" */
  url: string;
  /** stops accepting calls, ends open long-polls and watches, and resolves once every connection is closed */
  close(): Promise<void>;
}

/** Codes Connect raises itself when the client went away mid-call. */
const CLIENT_GONE_CODES: ReadonlySet<Code> = new Set([Code.Canceled, Code.Aborted, Code.DeadlineExceeded]);

/** A FederationError for anything thrown: FederationErrors pass as they are, anything else is 'internal'. */
function asFederationError(error: unknown): FederationError {
  if (error instanceof FederationError) return error;
  if (error instanceof ConnectError) {
    const code = (Object.keys(CONNECT_CODES) as FederationErrorCode[]).find((c) => CONNECT_CODES[c] === error.code);
    return new FederationError(code ?? (CLIENT_GONE_CODES.has(error.code) ? 'unavailable' : 'internal'), error.rawMessage);
  }
  const internal = new FederationError('internal', error instanceof Error ? error.message : String(error));
  internal.cause = error;
  return internal;
}

function bearerToken(header: string | null): string | null {
  if (header === null) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new FederationError(
      'unauthenticated',
      'the authorization header is not of the form "Bearer <token>"; send the token the server issued for this client',
    );
  }
  return match[1];
}

function requireSameClient(caller: number, clientId: number): void {
  if (caller !== clientId) {
    throw new FederationError(
      'permission_denied',
      `this token belongs to client ${caller}, not client ${clientId}; use the token issued for client ${clientId}`,
    );
  }
}

function resultHeaderFromMessage(h: ResultHeaderMessage): ResultHeader {
  return {
    runId: h.runId,
    round: h.round,
    clientId: h.clientId,
    totalBytes: Number(h.totalBytes),
    sha256: h.sha256,
    trainLoss: h.trainLoss,
    trainSeconds: h.trainSeconds,
    trainableParameters: Number(h.trainableParameters),
  };
}

type FetchTaskMessage = MessageInitShape<typeof FetchTaskResponseSchema>;

function* taskMessages(reply: TaskReply, chunkBytes: number): Generator<FetchTaskMessage> {
  if (reply.status !== 'task') {
    const status = reply.status === 'wait' ? TaskStatus.WAIT : TaskStatus.DONE;
    yield { kind: { case: 'header', value: { status, runId: reply.runId, totalRounds: reply.totalRounds } } };
    return;
  }
  const { message } = reply;
  yield {
    kind: {
      case: 'header',
      value: {
        status: TaskStatus.TASK,
        runId: reply.runId,
        round: reply.round,
        clientId: reply.clientId,
        rank: reply.rank,
        totalBytes: BigInt(message.length),
        sha256: sha256Hex(message),
        deadlineUnixMs: BigInt(Math.round(reply.deadlineUnixMs)),
        totalRounds: reply.totalRounds,
      },
    },
  };
  for (const chunk of chunksOf(message, chunkBytes)) yield { kind: { case: 'chunk', value: chunk } };
}

/** The upload's fault as the client should read it, or undefined when the connection failed rather than the upload. */
function uploadFault(error: unknown): FederationError | undefined {
  if (error instanceof FederationError) return error;
  if (!(error instanceof ConnectError)) return undefined;
  if (error.code === Code.ResourceExhausted) {
    return new FederationError(
      'resource_exhausted',
      `a SubmitResult message is larger than the server reads (${error.rawMessage}); send chunks of at most chunk_bytes from GetRun`,
    );
  }
  return error.code === Code.InvalidArgument ? asFederationError(error) : undefined;
}

/**
 * Reads the header and has the service check it before any chunk is read,
 * then reassembles the update. An upload that fails after its header passed
 * goes to service.refuseResult, so the round records the refusal.
 */
async function receiveResult(
  service: FederationService,
  caller: number,
  requests: AsyncIterable<SubmitResultRequest>,
): Promise<{ header: ResultHeader; update: Uint8Array }> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.kind.case !== 'header') {
    throw new FederationError('invalid_argument', 'SubmitResult must start with a ResultHeader message; send the header before the chunks');
  }
  const header = resultHeaderFromMessage(first.value.kind.value);
  requireSameClient(caller, header.clientId);
  service.checkResultHeader(caller, header);
  try {
    // Refuses a declared size over the limit before reading on, whatever checkResultHeader allowed.
    const reassembler = new ChunkReassembler({
      totalBytes: header.totalBytes,
      sha256: header.sha256,
      maxBytes: service.maxResultBytes(),
      label: `the result of client ${header.clientId} for round ${header.round}`,
    });
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const { kind } = next.value;
      if (kind.case !== 'chunk') {
        throw new FederationError('invalid_argument', 'SubmitResult received a second header after the first; send one ResultHeader, then only chunks');
      }
      reassembler.push(kind.value);
    }
    return { header, update: reassembler.finish() };
  } catch (error) {
    const fault = uploadFault(error);
    if (!fault) throw error;
    if (service.refuseResult) service.refuseResult(caller, header, fault);
    throw fault;
  }
}

function federationRoutes(service: FederationService, report: (method: string, error: unknown) => never) {
  const callerOf = (ctx: HandlerContext): number => service.authenticate(bearerToken(ctx.requestHeader.get('authorization')));
  // Each handler runs in `guard`, so every error the client sees went through `report`.
  const guard = async <T>(method: string, body: () => T | Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      return report(method, error);
    }
  };
  return (router: ConnectRouter) => {
    router.service(FederationServiceDesc, {
      getRun: (req, ctx) =>
        guard('GetRun', () => {
          const caller = callerOf(ctx);
          requireSameClient(caller, req.clientId);
          const run = service.getRun(caller);
          return { ...run, maxResultBytes: BigInt(run.maxResultBytes) };
        }),
      join: (req, ctx) =>
        guard('Join', () => {
          const caller = callerOf(ctx);
          requireSameClient(caller, req.clientId);
          return service.join(caller, { ...req, numExamples: Number(req.numExamples) });
        }),
      async *fetchTask(req, ctx) {
        const reply = await guard('FetchTask', () => {
          const caller = callerOf(ctx);
          requireSameClient(caller, req.clientId);
          return service.fetchTask(caller, req, ctx.signal);
        });
        yield* taskMessages(reply, service.chunkBytes());
      },
      submitResult: (requests, ctx) =>
        guard('SubmitResult', async () => {
          const caller = callerOf(ctx);
          const { header, update } = await receiveResult(service, caller, requests);
          return service.submitResult(caller, header, update);
        }),
      getStatus: (_req, ctx) =>
        guard('GetStatus', () => {
          callerOf(ctx);
          return { runId: service.runId(), statusJson: JSON.stringify(service.status()) };
        }),
    });
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startFederationServer(service: FederationService, options: FederationServerOptions): Promise<FederationServer> {
  const shutdown = new AbortController();
  // Connect ties every open call to this signal: many clients at once are expected, not a leak.
  setMaxListeners(0, shutdown.signal);
  const report = (method: string, error: unknown): never => {
    const federationError = asFederationError(error);
    options.onCallError?.(method, federationError);
    // Connect's own errors (a cancelled call, a message over readMaxBytes) keep their exact code.
    if (error instanceof ConnectError) throw error;
    throw new ConnectError(federationError.message, CONNECT_CODES[federationError.code]);
  };
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      federationRoutes(service, report)(router);
      healthRoutes(shutdown.signal)(router);
    },
    readMaxBytes: options.readMaxBytes ?? Math.max(4 * service.chunkBytes(), MIN_READ_MAX_BYTES),
    shutdownSignal: shutdown.signal,
    // fp32 weights barely compress (a trained adapter gzips to about 93%) and gzip costs the server CPU per message.
    acceptCompression: [],
  });
  // A gRPC call refused before its upload ended (too large, bad header) would otherwise leave the
  // client pushing bytes nobody reads until flow control stalls it, and the stream open. As gRPC
  // servers do, reset it with NO_ERROR once the trailers carrying the status are out: destroy()
  // without an error sends RST_STREAM(NO_ERROR), after Node flushed the frames already queued.
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    res.stream?.once('wantTrailers', () =>
      setImmediate(() => {
        if (!req.readableEnded && !res.stream.destroyed) res.stream.destroy();
      }),
    );
    void connectHandler(req, res);
  };
  const server = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true }, handler)
    : http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  // A client that breaks its connection must not take the server down; its calls end with it.
  server.on('sessionError', () => {});

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}); pick another port or stop what holds it`));
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      shutdown.abort(new ConnectError('the server is shutting down; retry once it is back', Code.Unavailable));
      const cut = setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      for (const s of sessions) s.close();
    });
    return closing;
  };
  return { port, url: `${options.tls ? 'https' : 'http'}://${hostForUrl(options.host)}:${port}`, close };
}
