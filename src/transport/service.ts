/**
 * What the federation server does, independent of the wire: the gRPC layer
 * (grpc-server.ts) authenticates each call, reassembles chunked payloads
 * and maps these calls and their errors onto proto/fedplora/v1. The round
 * coordinator implements it; tests can drive it directly.
 */

/** Error kinds a client can meet, each one gRPC status code. */
export type FederationErrorCode =
  | 'unauthenticated'
  | 'permission_denied'
  | 'failed_precondition'
  | 'already_exists'
  | 'invalid_argument'
  | 'resource_exhausted'
  | 'not_found'
  | 'unavailable'
  | 'internal';

/** An error meant for the person running the client: `message` says what happened and what to do. */
export class FederationError extends Error {
  constructor(
    readonly code: FederationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FederationError';
  }
}

export interface RunInfo {
  runId: string;
  /** the resolved run config as JSON */
  runConfigJson: string;
  modelFingerprint: string;
  /** the rank the config gives each client id */
  clientRanks: number[];
  currentRound: number;
  totalRounds: number;
  chunkBytes: number;
  maxResultBytes: number;
}

export interface JoinRequest {
  runId: string;
  clientId: number;
  /** 0: the rank the config gives this client */
  rank: number;
  numExamples: number;
  modelFingerprint: string;
}

export interface JoinReply {
  runId: string;
  clientId: number;
  rank: number;
  currentRound: number;
}

export interface FetchTaskRequest {
  runId: string;
  clientId: number;
  waitSeconds: number;
}

export type TaskReply =
  | { status: 'task'; runId: string; round: number; clientId: number; rank: number; totalRounds: number; deadlineUnixMs: number; message: Uint8Array }
  | { status: 'wait'; runId: string; totalRounds: number }
  | { status: 'done'; runId: string; totalRounds: number };

export interface ResultHeader {
  runId: string;
  round: number;
  clientId: number;
  totalBytes: number;
  /** hex sha256 of the update bytes */
  sha256: string;
  trainLoss: number;
  trainSeconds: number;
  trainableParameters: number;
}

export interface SubmitReply {
  round: number;
  accepted: boolean;
  message: string;
}

export interface FederationService {
  /** the client id the token belongs to; throws 'unauthenticated' for an unknown or missing token */
  authenticate(token: string | null): number;
  /** `caller` is the authenticated client id */
  getRun(caller: number): RunInfo;
  join(caller: number, req: JoinRequest): JoinReply;
  /** resolves with 'wait' when no work comes within req.waitSeconds or the signal aborts */
  fetchTask(caller: number, req: FetchTaskRequest, signal: AbortSignal): Promise<TaskReply>;
  /**
   * Checked when the header arrives, before the bytes are read: run, round,
   * sampling, replay and size. Throws a FederationError to refuse.
   */
  checkResultHeader(caller: number, header: ResultHeader): void;
  /**
   * The upload failed on the way in after its header passed (over the size
   * limit, a bad checksum, a malformed stream): the service records the
   * refusal for the round and throws `error`, which the client sees.
   */
  refuseResult?(caller: number, header: ResultHeader, error: FederationError): never;
  /** validates the update (after checkResultHeader passed and the bytes match the checksum) and accepts it or throws */
  submitResult(caller: number, header: ResultHeader, update: Uint8Array): SubmitReply;
  /** the largest result, in bytes, the server reads */
  maxResultBytes(): number;
  chunkBytes(): number;
  /** the status page's data */
  status(): unknown;
  runId(): string;
}
