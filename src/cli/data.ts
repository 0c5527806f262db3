/** `fedplora data list` and `fedplora data show`: the built-in tasks and partitioners, and how a partition splits a task. */
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_TASKS, getTask } from '../data/tasks/index.js';
import { createPartitioner, exampleKeyOf, formatPartitionSummary, type PartitionSpec } from '../data/partition/index.js';
import { getPartitionerDefinition, parsePartitionOptions, partitionerNames } from '../data/partition/registry.js';
import { loadPlugins } from '../experiment/plugins.js';
import { at } from '../util/checked.js';

interface ShowOptions {
  partition: string;
  clients: number;
  alpha?: number;
  labelsPerClient?: number;
  sigma?: number;
  option: string[];
  plugin: string[];
  by?: string;
  seed: number;
  testExamples: number;
}

function positive(flag: string, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
    return n;
  };
}

/** The options the shorthand flags give the built-in kinds, with the CLI's defaults (a config has no default alpha). */
function shorthandOptions(o: Pick<ShowOptions, 'partition' | 'alpha' | 'labelsPerClient' | 'sigma'>): Record<string, unknown> {
  switch (o.partition) {
    case 'dirichlet':
      return { alpha: o.alpha ?? 0.5 };
    case 'pathological':
      return { labelsPerClient: o.labelsPerClient ?? 2 };
    case 'size-skew':
      return o.sigma !== undefined ? { sigma: o.sigma } : {};
    default:
      return {};
  }
}

/** "key=value" pairs, values read as YAML (numbers, booleans, lists) as config overrides are. */
function optionPairs(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--option "${pair}": expected key=value`);
    out[pair.slice(0, eq)] = parseYaml(pair.slice(eq + 1));
  }
  return out;
}

/** The partition the flags describe, its options checked and completed by the partitioner's schema. */
export function partitionSpec(o: Pick<ShowOptions, 'partition' | 'clients' | 'alpha' | 'labelsPerClient' | 'sigma' | 'option'>): PartitionSpec {
  const kind = o.partition;
  if (!partitionerNames().includes(kind)) {
    throw new Error(
      `--partition: unknown partition kind '${kind}'; registered partitioners: ${partitionerNames().join(', ')} (a partitioner of your own is registered by --plugin FILE)`,
    );
  }
  const parsed = parsePartitionOptions(kind, { ...shorthandOptions(o), ...optionPairs(o.option) });
  if (!parsed.ok) throw new Error(`--partition ${kind}: ${parsed.key ? `${parsed.key}: ` : ''}${parsed.message}`);
  return { kind, clients: o.clients, ...parsed.options };
}

function writeTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => at(r, i, 'table cell').length)));
  for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => (i < r.length - 1 ? c.padEnd(at(widths, i, 'column width')) : c)).join('  ')}\n`);
}

function listTasks(): void {
  writeTable(
    ['task', 'kind', 'metric', 'classes', 'group', 'description'],
    Object.values(BUILTIN_TASKS).map((t) => [t.name, t.kind, t.metric, t.labels ? String(t.labels.length) : '-', t.groupedBy, t.description]),
  );
  process.stdout.write('\n');
  writeTable(
    ['partition', 'splits by', 'description'],
    partitionerNames().map((kind) => {
      const d = getPartitionerDefinition(kind);
      return [kind, d.needsKey ? 'label or group' : '-', d.description];
    }),
  );
}

/** "ham 134, spam 66": how many of the examples carry each label, in the task's label order. */
function labelCounts(examples: readonly { label?: string }[], labels: readonly string[]): string {
  return labels.map((l) => `${l} ${examples.filter((e) => e.label === l).length}`).join(', ');
}

function showTask(name: string, o: ShowOptions): void {
  const spec = partitionSpec(o);
  const task = getTask(name);
  const splits = task.load(o.seed);
  process.stdout.write(`${task.name}: ${task.description}\nsource: ${task.source}\n`);
  process.stdout.write(`splits (seed ${o.seed}): train ${splits.train.length}, validation ${splits.validation.length}, test ${splits.test.length}\n`);
  if (task.labels) {
    // A run evaluates the first testExamples of each split, so the majority share of that slice is the accuracy to beat.
    const n = o.testExamples;
    process.stdout.write(
      `labels of the first ${n} examples a run evaluates (testExamples): validation ${labelCounts(splits.validation.slice(0, n), task.labels)}; test ${labelCounts(splits.test.slice(0, n), task.labels)}\n`,
    );
  }
  const by = (o.by ?? (task.kind === 'classification' ? 'label' : 'group')) as 'label' | 'group';
  if (by !== 'label' && by !== 'group') throw new Error(`--by must be label or group, got "${o.by}"`);
  const keyOf = exampleKeyOf(by);
  const partitioner = createPartitioner(spec, splits.train, keyOf, o.seed);
  const labelOf = task.kind === 'classification' ? exampleKeyOf('label') : keyOf;
  process.stdout.write(`partition of the training split by ${by}:\n`);
  process.stdout.write(`${formatPartitionSummary(partitioner.summary(labelOf))}\n`);
}

export function registerData(program: Command): void {
  const data = program.command('data').description('built-in tasks and partitions');
  data
    .command('list')
    .description('list the built-in tasks and partitioners')
    .action(() => listTasks());
  data
    .command('show')
    .description('split sizes of a task, then one row per client of a partition of its training split')
    .argument('<task>', "a built-in task (see data list) or a plugin's")
    .option('--partition <kind>', `${partitionerNames().join(', ')}, or a plugin's`, 'iid')
    .option('--clients <n>', 'number of clients (natural: merge groups into this many)', positive('clients', true), 10)
    .option('--alpha <a>', 'Dirichlet concentration (default 0.5)', positive('alpha', false))
    .option('--labels-per-client <k>', 'pathological: labels per client (default 2)', positive('labels-per-client', true))
    .option('--sigma <s>', 'size-skew: lognormal sigma (default 1)', positive('sigma', false))
    .option(
      '--option <key=value>',
      'any option of the partitioner, e.g. --option assignment=random (repeatable; values are YAML)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--plugin <file>',
      'a plugin file registering partitioners or tasks of your own (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--by <key>', 'partition by label or group (default: label for classification, group otherwise)')
    .option('--seed <n>', 'split and partition seed', (v) => Number(v), 0)
    .option('--test-examples <n>', "how many validation and test examples a run evaluates (a config's testExamples)", positive('test-examples', true), 200)
    .action(async (name: string, o: ShowOptions) => {
      await loadPlugins(o.plugin, process.cwd());
      showTask(name, o);
    });
}
