/**
 * What the server load benchmark measures on the server side, gathered
 * without touching the library: an event sink in front of the coordinator's
 * event log (round open and close times, the counts round_closed reports,
 * how often each event happened), the method with its server's `configure`,
 * `validate` and `aggregate` wrapped to time them, and a heap sampler.
 */
import { getHeapStatistics } from 'node:v8';
import type { EventSink } from '../src/federation/network/event-log.js';
import type { RoundMetrics } from '../src/federation/simulation.js';
import type { Method } from '../src/methods/method.js';

export interface RoundRecord {
  round: number;
  sampled: number;
  accepted: number;
  rejected: number;
  dropped: number;
  /** from the round's first configure() to round_opened: building and serializing every sampled client's message */
  prepare_ms: number;
  /** round_opened to round_closed: the clients fetch, build and submit while the server checks each upload */
  open_to_close_ms: number;
  /** the server process's CPU time (user + system) between open and close: near open_to_close_ms means the server is the bottleneck */
  server_cpu_open_ms: number;
  /** inside method.server.validate, which the coordinator runs on every upload as it arrives */
  validate_ms: number;
  /** inside method.server.aggregate */
  aggregate_ms: number;
  /** round_closed to the round's checkpoint being on disk: aggregation, metrics, checkpoint write */
  close_to_saved_ms: number;
  /** the simulation's own round time (sampling to aggregation, before the checkpoint) */
  round_s: number;
  bytes_up: number;
  bytes_down: number;
}

interface Marks {
  configured?: number;
  opened?: number;
  closed?: number;
  saved?: number;
  cpuOpened?: NodeJS.CpuUsage;
  cpuOpenMs?: number;
  validateMs: number;
  aggregateMs: number;
  counts?: { accepted: number; rejected: number; dropped: number };
}

export interface ServerRecorder {
  /** forwards every event to `inner` after noting what the benchmark needs */
  sink(inner: EventSink): EventSink;
  /** the method with timed configure, validate and aggregate; the original object is left as it is */
  timed(method: Method): Method;
  /** call from the simulation's onRound: the round's checkpoint has just been written */
  saved(round: number): void;
  /** times each event was logged, by name */
  eventCounts(): Record<string, number>;
  rows(metrics: RoundMetrics[]): RoundRecord[];
}

const ms = (a: number | undefined, b: number | undefined): number => (a === undefined || b === undefined ? NaN : Math.round((b - a) * 10) / 10);

export function createServerRecorder(): ServerRecorder {
  const marks = new Map<number, Marks>();
  const counts: Record<string, number> = {};
  const of = (round: number): Marks => {
    let m = marks.get(round);
    if (!m) {
      m = { validateMs: 0, aggregateMs: 0 };
      marks.set(round, m);
    }
    return m;
  };
  return {
    sink: (inner) => ({
      log(event, fields = {}) {
        counts[event] = (counts[event] ?? 0) + 1;
        const round = fields['round'] as number;
        if (event === 'round_opened') {
          of(round).opened = performance.now();
          of(round).cpuOpened = process.cpuUsage();
        }
        if (event === 'round_closed') {
          of(round).closed = performance.now();
          const cpu = process.cpuUsage(of(round).cpuOpened);
          of(round).cpuOpenMs = (cpu.user + cpu.system) / 1000;
          of(round).counts = { accepted: fields['accepted'] as number, rejected: fields['rejected'] as number, dropped: fields['dropped'] as number };
        }
        inner.log(event, fields);
      },
    }),
    timed(method) {
      const { server } = method;
      return {
        ...method,
        server: {
          ...server,
          configure(round, client) {
            of(round).configured ??= performance.now();
            return server.configure(round, client);
          },
          validate(round, update) {
            const t0 = performance.now();
            try {
              server.validate(round, update);
            } finally {
              of(round).validateMs += performance.now() - t0;
            }
          },
          aggregate(round, updates) {
            const t0 = performance.now();
            try {
              return server.aggregate(round, updates);
            } finally {
              of(round).aggregateMs += performance.now() - t0;
            }
          },
        },
      };
    },
    saved(round) {
      of(round).saved = performance.now();
    },
    eventCounts: () => ({ ...counts }),
    rows: (metrics) =>
      metrics
        .filter((m) => m.round > 0)
        .map((m) => {
          const k = of(m.round);
          return {
            round: m.round,
            sampled: m.sampled.length,
            accepted: k.counts?.accepted ?? 0,
            rejected: k.counts?.rejected ?? 0,
            dropped: k.counts?.dropped ?? 0,
            prepare_ms: ms(k.configured, k.opened),
            open_to_close_ms: ms(k.opened, k.closed),
            server_cpu_open_ms: Math.round((k.cpuOpenMs ?? NaN) * 10) / 10,
            validate_ms: Math.round(k.validateMs * 10) / 10,
            aggregate_ms: Math.round(k.aggregateMs * 10) / 10,
            close_to_saved_ms: ms(k.closed, k.saved),
            round_s: Math.round(m.seconds * 1000) / 1000,
            bytes_up: m.bytes_up,
            bytes_down: m.bytes_down,
          };
        }),
  };
}

/**
 * Samples the V8 heap in use often enough to catch a round's peak (every
 * sampled client's payload in memory at once). v8's statistics, unlike
 * process.memoryUsage(), do not read the RSS from the kernel on every sample.
 */
export function sampleHeap(everyMs = 20): { peakBytes(): number; stop(): void } {
  const used = (): number => getHeapStatistics().used_heap_size;
  let peak = used();
  const timer = setInterval(() => (peak = Math.max(peak, used())), everyMs);
  timer.unref();
  return {
    peakBytes: () => Math.max(peak, used()),
    stop: () => clearInterval(timer),
  };
}
