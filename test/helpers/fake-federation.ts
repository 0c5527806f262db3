/**
 * A FederationService test double for the transport tests: one run, tokens
 * "token-<id>", a task per client that the test sets, and every submitted
 * result recorded. Calls can be made to fail with a chosen FederationError,
 * and a Fed-PLoRA task with its update check stands in for the coordinator
 * when a real client (the Python one) talks to it.
 */
import { checkModuleIds } from '../../src/lora/plora.js';
import { at } from '../../src/util/checked.js';
import type { TensorToWrite } from '../../src/io/safetensors.js';
import { decodePayload, encodePayload, expectMetaInts, expectTensor, payload } from '../../src/methods/payload.js';
import {
  FederationError,
  type FederationService,
  type FetchTaskRequest,
  type JoinReply,
  type JoinRequest,
  type ResultHeader,
  type RunInfo,
  type SubmitReply,
  type TaskReply,
} from '../../src/transport/service.js';

export const FAKE_RUN_ID = 'run-test';
export const FAKE_FINGERPRINT = 'f'.repeat(64);
export const tokenOf = (clientId: number): string => `token-${clientId}`;

type FailingMethod = 'getRun' | 'join' | 'fetchTask' | 'checkResultHeader' | 'submitResult' | 'status';

export interface FakeFederationOptions {
  clients?: number;
  chunkBytes?: number;
  maxResultBytes?: number;
  /** rejects an update after the transport delivered it intact, as the coordinator's validation would */
  validateUpdate?: (clientId: number, update: Uint8Array) => void;
}

export interface Submitted {
  caller: number;
  header: ResultHeader;
  update: Uint8Array;
}

export class FakeFederation implements FederationService {
  readonly submitted: Submitted[] = [];
  /** uploads the transport refused after their header passed, as refuseResult heard of them */
  readonly refused: { caller: number; round: number; code: string }[] = [];
  /** the signals of FetchTask calls that waited, to see the server abort them */
  readonly waitSignals: AbortSignal[] = [];
  readonly joined = new Map<number, JoinRequest>();
  readonly tasks = new Map<number, { round: number; rank: number; message: Uint8Array }>();
  /** the next call of that method throws this error */
  readonly failures = new Map<FailingMethod, Error>();
  done = false;
  private readonly options: Required<Omit<FakeFederationOptions, 'validateUpdate'>> & Pick<FakeFederationOptions, 'validateUpdate'>;

  constructor(options: FakeFederationOptions = {}) {
    this.options = { clients: 4, chunkBytes: 1 << 20, maxResultBytes: 16 << 20, ...options };
  }

  private failIfAsked(method: FailingMethod): void {
    const error = this.failures.get(method);
    if (error) {
      this.failures.delete(method);
      throw error;
    }
  }

  authenticate(token: string | null): number {
    if (token === null) throw new FederationError('unauthenticated', 'no token was sent; pass the token issued for this client');
    const match = /^token-(\d+)$/.exec(token);
    const id = match ? Number(match[1]) : -1;
    if (id < 0 || id >= this.options.clients)
      throw new FederationError('unauthenticated', 'the server does not know this token; ask the operator for a new one');
    return id;
  }

  getRun(caller: number): RunInfo {
    this.failIfAsked('getRun');
    return {
      runId: FAKE_RUN_ID,
      runConfigJson: JSON.stringify({ caller }),
      modelFingerprint: FAKE_FINGERPRINT,
      clientRanks: Array.from({ length: this.options.clients }, (_, i) => 1 + (i % 2)),
      currentRound: 1,
      totalRounds: 3,
      chunkBytes: this.options.chunkBytes,
      maxResultBytes: this.options.maxResultBytes,
    };
  }

  join(caller: number, req: JoinRequest): JoinReply {
    this.failIfAsked('join');
    if (req.modelFingerprint !== FAKE_FINGERPRINT) {
      throw new FederationError('failed_precondition', `the client's model fingerprint ${req.modelFingerprint} is not the run's; load the run's base model`);
    }
    this.joined.set(caller, req);
    return { runId: FAKE_RUN_ID, clientId: caller, rank: req.rank || 1 + (caller % 2), currentRound: 1 };
  }

  async fetchTask(caller: number, req: FetchTaskRequest, signal: AbortSignal): Promise<TaskReply> {
    this.failIfAsked('fetchTask');
    if (this.done) return { status: 'done', runId: FAKE_RUN_ID, totalRounds: 3 };
    const task = this.tasks.get(caller);
    if (task) return { status: 'task', runId: FAKE_RUN_ID, clientId: caller, totalRounds: 3, deadlineUnixMs: Date.now() + 60_000, ...task };
    this.waitSignals.push(signal);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, req.waitSeconds * 1000);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    return { status: 'wait', runId: FAKE_RUN_ID, totalRounds: 3 };
  }

  checkResultHeader(caller: number, header: ResultHeader): void {
    this.failIfAsked('checkResultHeader');
    const task = this.tasks.get(caller);
    if (!task || task.round !== header.round) {
      throw new FederationError('failed_precondition', `client ${caller} was not sampled in round ${header.round}; fetch a task first`);
    }
  }

  refuseResult(caller: number, header: ResultHeader, error: FederationError): never {
    this.refused.push({ caller, round: header.round, code: error.code });
    throw error;
  }

  submitResult(caller: number, header: ResultHeader, update: Uint8Array): SubmitReply {
    this.failIfAsked('submitResult');
    this.options.validateUpdate?.(caller, update);
    this.submitted.push({ caller, header, update: Uint8Array.from(update) });
    return { round: header.round, accepted: true, message: `accepted ${update.length} bytes` };
  }

  maxResultBytes(): number {
    return this.options.maxResultBytes;
  }

  chunkBytes(): number {
    return this.options.chunkBytes;
  }

  status(): unknown {
    this.failIfAsked('status');
    return { submitted: this.submitted.length };
  }

  runId(): string {
    return FAKE_RUN_ID;
  }
}

export interface FedPloraTaskShape {
  layers: number;
  targets: string[];
  /** the global rank: modules 0..R-1 */
  R: number;
  inFeatures: number;
  outFeatures: number;
  /** the modules assigned to the client, in the order it must return them */
  modules: number[];
}

/** A Fed-PLoRA task message: every module's A [R, in] and B [out, R], and the assigned ids in meta. */
export function fedPloraTask(shape: FedPloraTaskShape): { message: Uint8Array; tensors: Map<string, TensorToWrite> } {
  const tensors = new Map<string, TensorToWrite>();
  let value = 0;
  const filled = (n: number) => Float32Array.from({ length: n }, () => (value++ % 997) / 100 - 5);
  for (let l = 0; l < shape.layers; l++) {
    for (const t of shape.targets) {
      tensors.set(`${l}.${t}.A`, { data: filled(shape.R * shape.inFeatures), shape: [shape.R, shape.inFeatures] });
      tensors.set(`${l}.${t}.B`, { data: filled(shape.outFeatures * shape.R), shape: [shape.outFeatures, shape.R] });
    }
  }
  return { message: encodePayload(payload({ modules: shape.modules, method: 'fed-plora' }, tensors)), tensors };
}

/**
 * Checks an update against its task as Fed-PLoRA's server would, and that
 * an untrained client returned exactly the assigned rows of A and columns
 * of B; a failure is the INVALID_ARGUMENT the client would see.
 */
export function checkUntrainedFedPloraUpdate(shape: FedPloraTaskShape, tensors: Map<string, TensorToWrite>, update: Uint8Array): void {
  const source = 'update';
  try {
    const p = decodePayload(update, source);
    const ids = expectMetaInts(p, 'modules', source);
    checkModuleIds(ids, shape.R);
    if (ids.join() !== shape.modules.join()) throw new Error(`${source}: sent modules [${ids}] but was assigned [${shape.modules}]`);
    const r = ids.length;
    for (const [name, sent] of tensors) {
      const isA = name.endsWith('.A');
      const got = expectTensor(p, name, isA ? [r, shape.inFeatures] : [shape.outFeatures, r], source);
      const want = isA
        ? ids.flatMap((j) => [...sent.data.subarray(j * shape.inFeatures, (j + 1) * shape.inFeatures)])
        : Array.from({ length: shape.outFeatures }, (_, o) => ids.map((j) => at(sent.data, o * shape.R + j, `task tensor "${name}"`))).flat();
      if (got.some((x, k) => x !== want[k])) throw new Error(`${source}: tensor "${name}" is not the assigned slice of the task`);
    }
  } catch (error) {
    throw new FederationError('invalid_argument', (error as Error).message);
  }
}
