/** `fedplora data list` and `fedplora data show`: the built-in tasks and how a partition splits them. */
import type { Command } from 'commander';
import { BUILTIN_TASKS, getTask } from '../data/tasks/index.js';
import { createPartitioner, exampleKeyOf, formatPartitionSummary, type PartitionSpec } from '../data/partition/index.js';
import { at } from '../util/checked.js';

interface ShowOptions {
  partition: string;
  clients: number;
  alpha?: number;
  labelsPerClient?: number;
  sigma?: number;
  by?: string;
  seed: number;
}

function positive(flag: string, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
    return n;
  };
}

export function partitionSpec(o: Pick<ShowOptions, 'partition' | 'clients' | 'alpha' | 'labelsPerClient' | 'sigma'>): PartitionSpec {
  switch (o.partition) {
    case 'iid':
      return { kind: 'iid', clients: o.clients };
    case 'dirichlet':
      return { kind: 'dirichlet', clients: o.clients, alpha: o.alpha ?? 0.5 };
    case 'pathological':
      return { kind: 'pathological', clients: o.clients, labelsPerClient: o.labelsPerClient ?? 2 };
    case 'natural':
      return { kind: 'natural', clients: o.clients };
    case 'size-skew':
      return { kind: 'size-skew', clients: o.clients, ...(o.sigma !== undefined ? { sigma: o.sigma } : {}) };
    default:
      throw new Error(`--partition must be iid, dirichlet, pathological, natural or size-skew, got "${o.partition}"`);
  }
}

function listTasks(): void {
  const rows = Object.values(BUILTIN_TASKS).map((t) => [t.name, t.kind, t.metric, t.labels ? String(t.labels.length) : '-', t.groupedBy, t.description]);
  const header = ['task', 'kind', 'metric', 'classes', 'group', 'description'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => at(r, i, 'task table cell').length)));
  for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => (i < r.length - 1 ? c.padEnd(at(widths, i, 'column width')) : c)).join('  ')}\n`);
}

function showTask(name: string, o: ShowOptions): void {
  const task = getTask(name);
  const splits = task.load(o.seed);
  process.stdout.write(`${task.name}: ${task.description}\nsource: ${task.source}\n`);
  process.stdout.write(`splits (seed ${o.seed}): train ${splits.train.length}, validation ${splits.validation.length}, test ${splits.test.length}\n`);
  const by = (o.by ?? (task.kind === 'classification' ? 'label' : 'group')) as 'label' | 'group';
  if (by !== 'label' && by !== 'group') throw new Error(`--by must be label or group, got "${o.by}"`);
  const keyOf = exampleKeyOf(by);
  const partitioner = createPartitioner(partitionSpec(o), splits.train, keyOf, o.seed);
  const labelOf = task.kind === 'classification' ? exampleKeyOf('label') : keyOf;
  process.stdout.write(`partition of the training split by ${by}:\n`);
  process.stdout.write(`${formatPartitionSummary(partitioner.summary(labelOf))}\n`);
}

export function registerData(program: Command): void {
  const data = program.command('data').description('built-in tasks and partitions');
  data
    .command('list')
    .description('list the built-in tasks')
    .action(() => listTasks());
  data
    .command('show')
    .description('split sizes of a task, then one row per client of a partition of its training split')
    .argument('<task>', 'a built-in task (see data list)')
    .option('--partition <kind>', 'iid, dirichlet, pathological, natural or size-skew', 'iid')
    .option('--clients <n>', 'number of clients (natural: merge groups into this many)', positive('clients', true), 10)
    .option('--alpha <a>', 'Dirichlet concentration (default 0.5)', positive('alpha', false))
    .option('--labels-per-client <k>', 'pathological: labels per client (default 2)', positive('labels-per-client', true))
    .option('--sigma <s>', 'size-skew: lognormal sigma (default 1)', positive('sigma', false))
    .option('--by <key>', 'partition by label or group (default: label for classification, group otherwise)')
    .option('--seed <n>', 'split and partition seed', (v) => Number(v), 0)
    .action((name: string, o: ShowOptions) => showTask(name, o));
}
