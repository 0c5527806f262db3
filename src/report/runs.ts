/**
 * Reading run folders: `config.json` (kept opaque apart from a few fields the
 * report labels runs with) and `metrics.jsonl` (one RoundMetrics a line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import type { RoundMetrics } from '../federation/simulation.js';
import { at, got } from '../util/checked.js';

/** The fields of a metrics line that the report reads; other fields pass through unchecked. */
const nullableNumber = z.number().nullable();
const roundSchema = z.looseObject({
  round: z.number().int().nonnegative(),
  method: z.string(),
  train_loss: nullableNumber,
  test_metric: nullableNumber,
  metric: z.string(),
  // a score that was NaN is written as null by JSON.stringify: leave it out
  scores: z
    .record(z.string(), z.number().nullable())
    .nullable()
    .transform((s) => (s === null ? null : Object.fromEntries(Object.entries(s).filter((e): e is [string, number] => e[1] !== null)))),
  bytes_up: z.number(),
  bytes_down: z.number(),
  cumulative_bytes: z.number(),
  seconds: z.number(),
  peak_rss_mb: z.number(),
  init_noise: nullableNumber,
  aggregation_noise: nullableNumber,
  // runs written before the step ratio was recorded have none
  step_ratio: nullableNumber.default(null),
});

export type ReportRound = Pick<
  RoundMetrics,
  | 'round'
  | 'method'
  | 'train_loss'
  | 'test_metric'
  | 'metric'
  | 'scores'
  | 'bytes_up'
  | 'bytes_down'
  | 'cumulative_bytes'
  | 'seconds'
  | 'peak_rss_mb'
  | 'init_noise'
  | 'aggregation_noise'
  | 'step_ratio'
>;

export interface RunData {
  /** the run folder as given */
  dir: string;
  /** config.name, else the folder's name */
  name: string;
  method: string;
  seed: number | null;
  task: string | null;
  /** config.rounds when it is a number: the planned rounds */
  plannedRounds: number | null;
  /** the whole resolved config, shown as is */
  config: unknown;
  /** by round, one entry per round (the last line wins when a resumed run repeated a round) */
  rounds: ReportRound[];
  /** a label unique among the runs of one report, set by labelRuns */
  label: string;
}

function readConfig(dir: string): Record<string, unknown> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${file}: no config.json in run folder`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: expected a JSON object`);
  return raw as Record<string, unknown>;
}

/** Parses metrics.jsonl text; errors name the file and the 1-based line. */
export function parseMetricsJsonl(text: string, file: string): ReportRound[] {
  const byRound = new Map<number, ReportRound>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: malformed metrics line: ${(e as Error).message}`);
    }
    const parsed = roundSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = at(parsed.error.issues, 0, 'schema issues');
      const key = issue.path.join('.') || '(line)';
      throw new Error(`${where}: malformed metrics line: ${key}: ${issue.message}`);
    }
    byRound.set(parsed.data.round, parsed.data);
  });
  return [...byRound.values()].sort((a, b) => a.round - b.round);
}

export function readRun(dir: string): RunData {
  const config = readConfig(dir);
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) throw new Error(`${file}: no metrics.jsonl in run folder`);
  const rounds = parseMetricsJsonl(readFileSync(file, 'utf8'), file);
  const method = config.method as { name?: unknown } | undefined;
  const methodName = typeof method?.name === 'string' ? method.name : (rounds[0]?.method ?? 'unknown method');
  const name = typeof config.name === 'string' && config.name !== '' ? config.name : basename(resolve(dir));
  return {
    dir,
    name,
    method: methodName,
    seed: typeof config.seed === 'number' ? config.seed : null,
    task: typeof config.task === 'string' ? config.task : null,
    plannedRounds: typeof config.rounds === 'number' ? config.rounds : null,
    config,
    rounds,
    label: methodName,
  };
}

/**
 * Labels each run by its method; runs that share a method are told apart by
 * run name and seed (then by folder, then by position, if still equal).
 */
export function labelRuns(runs: RunData[]): void {
  const count = (key: (r: RunData) => string) => {
    const n = new Map<string, number>();
    for (const r of runs) n.set(key(r), (n.get(key(r)) ?? 0) + 1);
    return (r: RunData) => got(n, key(r), 'runs by key');
  };
  const byMethod = count((r) => r.method);
  for (const r of runs) r.label = byMethod(r) > 1 ? `${r.method} · ${r.name}${r.seed === null ? '' : ` (seed ${r.seed})`}` : r.method;
  const byLabel = count((r) => r.label);
  for (const r of runs) if (byLabel(r) > 1) r.label = `${r.label} · ${r.dir}`;
  const seen = new Map<string, number>();
  for (const r of runs) {
    const k = (seen.get(r.label) ?? 0) + 1;
    seen.set(r.label, k);
    if (k > 1) r.label = `${r.label} #${k}`;
  }
}

export function readRuns(dirs: string[]): RunData[] {
  if (dirs.length === 0) throw new Error('no run folder given');
  const runs = dirs.map(readRun);
  labelRuns(runs);
  return runs;
}
