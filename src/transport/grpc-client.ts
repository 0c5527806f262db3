/**
 * The Node side of proto/fedplora/v1 for a federation client: gRPC over
 * HTTP/2 with the bearer token on every call, task messages reassembled and
 * checked against their sha256, results sent in the server's chunk size.
 * Every failure surfaces as a FederationError with the server's message, so
 * callers handle one error type whatever went wrong on the wire.
 */
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ChunkReassembler, chunksOf, sha256Hex } from './chunks.js';
import {
  FederationService as FederationServiceDesc,
  TaskStatus,
  type FetchTaskResponse,
  type TaskHeader,
  type SubmitResultRequestSchema,
} from './gen/fedplora/v1/federation_pb.js';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';
import { CONNECT_CODES } from './status-codes.js';
import {
  FederationError,
  type FederationErrorCode,
  type FetchTaskRequest,
  type JoinReply,
  type JoinRequest,
  type ResultHeader,
  type RunInfo,
  type SubmitReply,
  type TaskReply,
} from './service.js';

/** The server's chunk size is only known after GetRun, so the default per-message limit is generous. */
const DEFAULT_READ_MAX_BYTES = 64 * 1024 * 1024;
/** Far above any adapter; keeps a corrupt header from making the client allocate without bound. */
const MAX_TASK_BYTES = 2 ** 31 - 1;

export interface FederationClientOptions {
  /** e.g. "http://127.0.0.1:50051" (h2c) or "https://server:50051" */
  url: string;
  /** the bearer token the server issued for this client */
  token: string;
  /** PEM CA certificate to trust for an https url (e.g. the server's self-signed certificate) */
  caCert?: string | Buffer;
  /** the largest single gRPC message accepted from the server */
  readMaxBytes?: number;
  /** limit on each call; FetchTask gets its wait_seconds on top */
  timeoutMs?: number;
}

export type ResultToSubmit = Omit<ResultHeader, 'totalBytes' | 'sha256'>;

export interface FederationClient {
  getRun(clientId: number): Promise<RunInfo>;
  join(req: JoinRequest): Promise<JoinReply>;
  /** waits up to req.waitSeconds for work; the task's message is reassembled and checksum-verified */
  fetchTask(req: FetchTaskRequest, signal?: AbortSignal): Promise<TaskReply>;
  /** sends the header (with total_bytes and sha256 computed here) and the update in the server's chunk size */
  submitResult(header: ResultToSubmit, update: Uint8Array): Promise<SubmitReply>;
  /** the status page's data, parsed from its JSON */
  status(): Promise<{ runId: string; status: unknown }>;
  /** the health service's answer for the whole server: "SERVING", "NOT_SERVING", ... */
  health(): Promise<string>;
  /** closes the connection; calls still open fail with 'unavailable' */
  close(): void;
}

const FEDERATION_CODES = new Map<Code, FederationErrorCode>(
  (Object.entries(CONNECT_CODES) as [FederationErrorCode, Code][]).map(([name, code]) => [code, name]),
);

/** Codes the server never sends on purpose, mapped to the nearest kind a client handles. */
const OTHER_CODES = new Map<Code, FederationErrorCode>([
  [Code.Canceled, 'unavailable'],
  [Code.Aborted, 'unavailable'],
  [Code.OutOfRange, 'invalid_argument'],
]);

/** The first Node.js error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) in the cause chain: the call never reached a handler. */
function networkErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function toFederationError(error: unknown, url: string): FederationError {
  if (error instanceof FederationError) return error;
  const connectError = ConnectError.from(error);
  // A call the caller cancelled may carry its abort reason as the cause; that is not a network failure.
  const networkCode = connectError.code === Code.Canceled ? undefined : networkErrorCode(connectError);
  if (networkCode !== undefined) {
    const hint = /CERT|SSL|TLS/.test(networkCode)
      ? "the server's TLS certificate is not trusted or does not match; pass its CA certificate (caCert) and use the name it was issued for"
      : 'check that the server is running and that the address is right';
    return new FederationError('unavailable', `cannot reach the server at ${url} (${networkCode}: ${connectError.rawMessage}); ${hint}`);
  }
  if (connectError.code === Code.DeadlineExceeded) {
    return new FederationError('unavailable', `the server at ${url} did not answer in time (${connectError.rawMessage}); raise timeoutMs or check the server`);
  }
  const federationCode = FEDERATION_CODES.get(connectError.code);
  if (federationCode) return new FederationError(federationCode, connectError.rawMessage);
  const other = OTHER_CODES.get(connectError.code);
  // Not the server's own answer: the connection broke under the call (the server went away or restarted).
  if (other === 'unavailable') return new FederationError('unavailable', `lost the connection to the server at ${url} (${connectError.rawMessage})`);
  return new FederationError(other ?? 'internal', connectError.rawMessage);
}

/** Reads the whole stream, so the call completes rather than lingering until its deadline. */
async function taskFromStream(stream: AsyncIterable<FetchTaskResponse>): Promise<TaskReply> {
  let header: TaskHeader | undefined;
  let reassembler: ChunkReassembler | undefined;
  for await (const { kind } of stream) {
    if (kind.case === 'header' && header === undefined) {
      header = kind.value;
      if (header.status === TaskStatus.TASK) {
        reassembler = new ChunkReassembler({
          totalBytes: Number(header.totalBytes),
          sha256: header.sha256,
          maxBytes: MAX_TASK_BYTES,
          label: `the task message of round ${header.round}`,
        });
      }
    } else if (kind.case === 'chunk' && reassembler) {
      reassembler.push(kind.value);
    } else {
      throw new FederationError('internal', `FetchTask sent an unexpected ${kind.case ?? 'empty'} message; the server does not follow fedplora.v1`);
    }
  }
  if (!header) throw new FederationError('internal', 'FetchTask ended without a TaskHeader; the server does not follow fedplora.v1');
  switch (header.status) {
    case TaskStatus.WAIT:
      return { status: 'wait', runId: header.runId, totalRounds: header.totalRounds };
    case TaskStatus.DONE:
      return { status: 'done', runId: header.runId, totalRounds: header.totalRounds };
    case TaskStatus.TASK:
      if (!reassembler) throw new FederationError('internal', 'FetchTask sent a task without its message');
      return {
        status: 'task',
        runId: header.runId,
        round: header.round,
        clientId: header.clientId,
        rank: header.rank,
        totalRounds: header.totalRounds,
        deadlineUnixMs: Number(header.deadlineUnixMs),
        message: reassembler.finish(),
      };
    default:
      throw new FederationError('internal', `FetchTask answered with task status ${header.status}, which this client does not know; update the client`);
  }
}

async function* resultMessages(
  header: ResultToSubmit,
  update: Uint8Array,
  chunkBytes: number,
): AsyncGenerator<MessageInitShape<typeof SubmitResultRequestSchema>> {
  yield {
    kind: {
      case: 'header',
      value: {
        ...header,
        totalBytes: BigInt(update.length),
        sha256: sha256Hex(update),
        trainableParameters: BigInt(header.trainableParameters),
      },
    },
  };
  for (const chunk of chunksOf(update, chunkBytes)) yield { kind: { case: 'chunk', value: chunk } };
}

export function createFederationClient(options: FederationClientOptions): FederationClient {
  const { url, token } = options;
  const sessionManager = new Http2SessionManager(url, {}, options.caCert === undefined ? {} : { ca: options.caCert });
  const withToken: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({
    baseUrl: url,
    sessionManager,
    interceptors: [withToken],
    readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    // Tensors barely compress; the server does not compress either.
    acceptCompression: [],
    ...(options.timeoutMs === undefined ? {} : { defaultTimeoutMs: options.timeoutMs }),
  });
  const rpc = createClient(FederationServiceDesc, transport);
  const health = createClient(Health, transport);
  let chunkBytes: number | undefined;

  const call = async <T>(body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      throw toFederationError(error, url);
    }
  };
  const getRun = (clientId: number): Promise<RunInfo> =>
    call(async () => {
      const run = await rpc.getRun({ clientId });
      chunkBytes = run.chunkBytes;
      return {
        runId: run.runId,
        runConfigJson: run.runConfigJson,
        modelFingerprint: run.modelFingerprint,
        clientRanks: run.clientRanks,
        currentRound: run.currentRound,
        totalRounds: run.totalRounds,
        chunkBytes: run.chunkBytes,
        maxResultBytes: Number(run.maxResultBytes),
      };
    });

  return {
    getRun,
    join: (req) =>
      call(async () => {
        const reply = await rpc.join({ ...req, numExamples: BigInt(req.numExamples) });
        return { runId: reply.runId, clientId: reply.clientId, rank: reply.rank, currentRound: reply.currentRound };
      }),
    fetchTask: (req, signal) =>
      call(() => {
        const timeoutMs = options.timeoutMs === undefined ? undefined : options.timeoutMs + req.waitSeconds * 1000;
        return taskFromStream(rpc.fetchTask(req, { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) }));
      }),
    submitResult: async (header, update) => {
      // The server reads messages of at most a few chunks, so send in its chunk size.
      chunkBytes ??= (await getRun(header.clientId)).chunkBytes;
      const size = chunkBytes;
      return call(async () => {
        const reply = await rpc.submitResult(resultMessages(header, update, size));
        return { round: reply.round, accepted: reply.accepted, message: reply.message };
      });
    },
    status: () =>
      call(async () => {
        const reply = await rpc.getStatus({});
        return { runId: reply.runId, status: JSON.parse(reply.statusJson) as unknown };
      }),
    health: () =>
      call(async () => {
        const reply = await health.check({ service: '' });
        return ServingStatus[reply.status] ?? `status ${reply.status}`;
      }),
    close: () => sessionManager.abort(),
  };
}
