/**
 * The run configuration (YAML), validated by a schema: unknown keys, wrong
 * types and inconsistent combinations are refused with the key named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TARGET_NAMES } from '../layers/projections.js';
import { PRECISIONS } from '../model/precision.js';
import { HEADLINE_METRICS } from '../data/example.js';
import { at } from '../util/checked.js';
import { loadPlugins } from './plugins.js';
import { getMethodDefinition, methodNames, parseMethodOptions, type MethodSpec } from '../methods/registry.js';
import { parsePartitionOptions, partitionerNames } from '../data/partition/registry.js';

const int = z.number().int();
const positiveInt = int.positive();

/** A partitioner by kind; its options are checked by the partitioner's own schema (data/partition/registry.ts), after plugins are loaded. */
const partition = z.looseObject({ kind: z.string().min(1) });

const ranks = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('list'), ranks: z.array(positiveInt).min(1) }),
  z.strictObject({ kind: z.literal('uniform'), choices: z.array(positiveInt).min(1) }),
  z.strictObject({ kind: z.literal('heavy-tail'), choices: z.array(positiveInt).min(1) }),
  z.strictObject({ kind: z.literal('memory'), budgetsMb: z.array(z.number().positive()).min(1) }),
]);

/** A method by name; its options are checked by the method's own schema (methods/registry.ts), after plugins are loaded. */
const method = z.looseObject({ name: z.string().min(1) });

/** A user's data: `path` (one file or a Hugging Face-style folder) or `train` and `test` files; see data/user-data.ts. */
const userData = z.strictObject({
  path: z.string().optional(),
  train: z.string().optional(),
  test: z.string().optional(),
  validation: z.string().optional(),
  testFraction: z.number().gt(0).lt(1).optional(),
  validationFraction: z.number().gt(0).lt(1).optional(),
  format: z.enum(['jsonl', 'csv', 'parquet']).optional(),
  layout: z.enum(['alpaca', 'dolly', 'natural-instructions', 'text-label', 'custom']),
  mapping: z.record(z.string(), z.string()).optional(),
  kind: z.enum(['classification', 'generation']).optional(),
});

/** `fedplora serve`: where it listens and how rounds wait for clients over the network */
const server = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: int.min(0).max(65535).default(50051),
  /** HTTP port of the status page; null turns it off */
  statusPort: int.min(0).max(65535).nullable().default(8080),
  /** the operator's token store (fedplora tokens create) */
  tokens: z.string().min(1).default('tokens.json'),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  /** a round closes this long after it opens; results after that are refused */
  roundTimeoutSeconds: z.number().positive().default(600),
  /** fewer results than this in a round: nothing is aggregated and the global state stays */
  minResults: positiveInt.default(1),
  /** round 1 starts once this many clients have joined (default: all), or after startTimeoutSeconds with whoever has */
  startWith: positiveInt.optional(),
  startTimeoutSeconds: z.number().positive().default(3600),
  /** the longest a client's fetch is held open while it waits for work */
  pollSeconds: positiveInt.max(300).default(20),
  chunkKb: positiveInt.max(16384).default(1024),
  /** the largest result read from a client; default: twice the largest update this run's method can send, plus 1 MB */
  maxResultMb: z.number().positive().optional(),
});

export const runConfigSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[\w.-]+$/, 'letters, digits, dot, dash and underscore only')
    .default('run'),
  seed: int.nonnegative().default(0),
  model: z.string().default('models/fedplora-base'),
  /** a built-in task name, or user data files */
  task: z.string().optional(),
  data: userData.optional(),
  /**
   * the headline metric of validation and test, which model selection and
   * tuning compare; default: the task's own (accuracy for classification,
   * ROUGE-L for generation from user data)
   */
  metric: z.enum(HEADLINE_METRICS).optional(),
  maxLength: positiveInt.default(192),
  /** how the frozen base's projections are held: fp32, bf16 or int8 (per-channel scales); adapters are always fp32 */
  precision: z.enum(PRECISIONS).default('fp32'),
  truncation: z.enum(['prompt-start', 'prompt-end']).default('prompt-start'),
  /** training batches: pad each batch to its longest example, or pack examples into maxLength-token rows */
  batching: z.enum(['pad', 'pack']).default('pad'),
  partition: partition.default({ kind: 'iid' }),
  partitionBy: z.enum(['label', 'group']).optional(),
  /** examples per client at most (the partition decides who holds what; this caps local data for speed) */
  maxExamplesPerClient: positiveInt.optional(),
  testExamples: positiveInt.default(200),
  clients: positiveInt.default(10),
  /** default: uniform over R/8, R/4, R/2 and R (2, 4, 8, 16 for R = 16) */
  ranks: ranks.optional(),
  lora: z
    .strictObject({
      rank: positiveInt.default(16),
      alpha: z.number().positive().default(32),
      targets: z.array(z.enum(TARGET_NAMES)).min(1).default(['q_proj', 'v_proj']),
    })
    .default({ rank: 16, alpha: 32, targets: ['q_proj', 'v_proj'] }),
  method: method.default({ name: 'fed-plora' }),
  /** modules to import before the config is read: they register methods, tasks or partitioners (see experiment/plugins.ts) */
  plugins: z.array(z.string().min(1)).default([]),
  rounds: positiveInt.default(10),
  clientsPerRound: positiveInt.optional(),
  fractionPerRound: z.number().positive().max(1, 'a fraction of clients cannot exceed 1').optional(),
  evalEvery: positiveInt.default(2),
  local: z
    .strictObject({
      steps: int.nonnegative().default(5),
      epochs: int.nonnegative().default(0),
      batchSize: positiveInt.default(8),
      lr: z.number().positive().default(1e-3),
      weightDecay: z.number().nonnegative().default(0),
      maxGradNorm: z.number().nonnegative().default(1),
    })
    .default({ steps: 5, epochs: 0, batchSize: 8, lr: 1e-3, weightDecay: 0, maxGradNorm: 1 }),
  measureNoise: z.boolean().default(true),
  /** at each evaluation also score the global model capped at rank R and what a client of each rank starts from */
  evaluateDeployable: z.boolean().default(false),
  /** also evaluate on the validation split (built-in tasks), for tuning and model selection that never look at test */
  evaluateValidation: z.boolean().default(false),
  /** processes that train clients at once; auto: one per core, at most clientsPerRound (1 trains in this process) */
  workers: z.union([positiveInt, z.literal('auto')]).default('auto'),
  output: z.string().default('runs'),
  server: server.prefault({}),
});

type ParsedConfig = z.infer<typeof runConfigSchema>;
/** A partition in a config: its kind and its options (checked by its definition's schema); the clients are the run's. */
export type PartitionConfig = { kind: string } & Record<string, unknown>;
export type RunConfig = Omit<ParsedConfig, 'ranks' | 'method' | 'partition'> & {
  ranks: NonNullable<ParsedConfig['ranks']>;
  method: MethodSpec;
  partition: PartitionConfig;
};

function defaultRanks(R: number): RunConfig['ranks'] {
  return { kind: 'uniform', choices: [...new Set([R / 8, R / 4, R / 2, R].map((r) => Math.max(1, Math.floor(r))))] };
}

/** Checks what the schema cannot: combinations and (unless told not to) files. */
function checkConsistency(c: RunConfig, checkFiles: boolean): void {
  const fail = (key: string, why: string): never => {
    throw new Error(`config: ${key}: ${why}`);
  };
  if ((c.task === undefined) === (c.data === undefined)) fail('task', 'give exactly one of "task" (a built-in task) or "data" (your files)');
  if (c.data) {
    const d = c.data;
    if ((d.path === undefined) === (d.train === undefined))
      fail('data', 'give data.path (one file or a folder with train/test files) or data.train and data.test, not both or neither');
    if (d.train !== undefined && d.test === undefined)
      fail('data.test', 'data.train needs a data.test file (or give one file as data.path and a testFraction)');
    if (d.path !== undefined && (d.test !== undefined || d.validation !== undefined))
      fail('data.path', 'data.path takes the splits from the file or folder; data.test and data.validation go with data.train');
    if (d.train !== undefined && d.testFraction !== undefined)
      fail('data.testFraction', 'the test split is the data.test file; testFraction goes with data.path');
    if ((d.testFraction ?? 0) + (d.validationFraction ?? 0) >= 1)
      fail('data.testFraction', `testFraction ${d.testFraction ?? 0} and validationFraction ${d.validationFraction ?? 0} leave nothing to train on`);
    if (checkFiles) {
      for (const key of ['path', 'train', 'test', 'validation'] as const) {
        const f = d[key];
        if (f !== undefined && !existsSync(f)) fail(`data.${key}`, `${key === 'path' ? 'file or folder' : 'file'} ${f} does not exist`);
      }
    }
  }
  if (c.clientsPerRound !== undefined && c.fractionPerRound !== undefined) fail('clientsPerRound', 'give clientsPerRound or fractionPerRound, not both');
  if (c.clientsPerRound !== undefined && c.clientsPerRound > c.clients) fail('clientsPerRound', `${c.clientsPerRound} is more than the ${c.clients} clients`);
  const R = c.lora.rank;
  const listed = c.ranks.kind === 'list' ? c.ranks.ranks : c.ranks.kind === 'memory' ? [] : c.ranks.choices;
  listed.forEach((r, i) => {
    if (r > R) fail(`ranks.${c.ranks.kind === 'list' ? 'ranks' : 'choices'}[${i}]`, `client rank ${r} exceeds lora.rank (R = ${R})`);
  });
  if (c.ranks.kind === 'list' && c.ranks.ranks.length !== c.clients) fail('ranks.ranks', `lists ${c.ranks.ranks.length} ranks for ${c.clients} clients`);
  if (c.ranks.kind === 'memory' && c.ranks.budgetsMb.length !== c.clients)
    fail('ranks.budgetsMb', `lists ${c.ranks.budgetsMb.length} budgets for ${c.clients} clients`);
  const methodProblem = getMethodDefinition(c.method.name).check?.(c.method, { rank: R, clients: c.clients });
  if (methodProblem) fail(`method.${methodProblem.key}`, methodProblem.message);
  if (c.local.steps === 0 && c.local.epochs === 0) fail('local.steps', 'set local.steps or local.epochs above 0');
  if (!existsSync(c.model)) fail('model', `model folder ${c.model} does not exist`);
  if (c.server.startWith !== undefined && c.server.startWith > c.clients)
    fail('server.startWith', `${c.server.startWith} is more than the ${c.clients} clients`);
  if (c.clientsPerRound !== undefined && c.server.minResults > c.clientsPerRound)
    fail('server.minResults', `${c.server.minResults} is more than the ${c.clientsPerRound} clients sampled per round`);
}

/**
 * `checkFiles: false` is for a networked client reading the server's config:
 * the server's data files need not exist on the client's machine.
 */
export function parseRunConfig(raw: unknown, o: { checkFiles?: boolean } = {}): RunConfig {
  const parsed = runConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = at(parsed.error.issues, 0, 'config: validation issues');
    const key = issue.path.join('.') || '(top level)';
    const detail = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message;
    throw new Error(`config: ${key}: ${detail}`);
  }
  const hasPlugins = parsed.data.plugins.length > 0;
  const config: RunConfig = {
    ...parsed.data,
    method: resolveMethod(parsed.data.method as MethodSpec, hasPlugins),
    partition: resolvePartition(parsed.data.partition, hasPlugins),
    ranks: parsed.data.ranks ?? defaultRanks(parsed.data.lora.rank),
  };
  checkConsistency(config, o.checkFiles ?? true);
  return config;
}

/** The method a config names, its options checked and completed by the method's schema. */
function resolveMethod(spec: MethodSpec, hasPlugins: boolean): MethodSpec {
  const { name } = spec;
  if (!methodNames().includes(name))
    throw new Error(
      `config: method.name: unknown method '${name}'; registered methods: ${methodNames().join(', ')}${hasPlugins ? '' : ' (a method of your own is registered by a plugin: plugins: [./my-method.js])'}`,
    );
  const options = parseMethodOptions(spec);
  if (!options.ok) throw new Error(`config: method${options.key ? `.${options.key}` : ''}: ${options.message}`);
  return { name, ...options.options };
}

/** The partition a config names, its options checked and completed by the partitioner's schema. */
function resolvePartition(spec: PartitionConfig, hasPlugins: boolean): PartitionConfig {
  const { kind, ...rest } = spec;
  if (!partitionerNames().includes(kind)) {
    throw new Error(
      `config: partition.kind: unknown partition kind '${kind}'; registered partitioners: ${partitionerNames().join(', ')}${hasPlugins ? '' : ' (a partitioner of your own is registered by a plugin: plugins: [./my-partitioner.js])'}`,
    );
  }
  const options = parsePartitionOptions(kind, rest);
  if (!options.ok) throw new Error(`config: partition${options.key ? `.${options.key}` : ''}: ${options.message}`);
  return { kind, ...options.options };
}

/** Applies "a.b.c=value" overrides; values are read as YAML (numbers, booleans, lists). */
export function applyOverrides(raw: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set "${s}": expected key=value`);
    const path = s.slice(0, eq).split('.');
    const leaf = at(path, path.length - 1, `--set "${s}": key`);
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new Error(`--set "${s}": ${key} is not a section`);
      node = node[key] as Record<string, unknown>;
    }
    node[leaf] = parseYaml(s.slice(eq + 1));
  }
  return out;
}

/**
 * Reads a YAML config, applies overrides, loads the plugins it lists
 * (relative to the config file; recorded as absolute paths, so worker
 * processes and resumed runs find them), then validates it.
 */
export async function loadRunConfig(path: string | undefined, sets: readonly string[] = []): Promise<RunConfig> {
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const doc = parseYaml(text) as unknown;
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error(`${path}: the config must be a YAML mapping`);
    raw = (doc ?? {}) as Record<string, unknown>;
  }
  const withSets = applyOverrides(raw, sets);
  const plugins = withSets['plugins'];
  if (plugins !== undefined) {
    if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) throw new Error('config: plugins: a list of file paths');
    withSets['plugins'] = await loadPlugins(plugins as string[], path ? dirname(resolve(path)) : process.cwd());
  }
  return parseRunConfig(withSets);
}
