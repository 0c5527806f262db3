/**
 * `fedplora join --server URL --client-id ID --token TOKEN`: a client
 * process of a served run. It may host several client ids (a list or range
 * with one token each, or --token-file with "id<TAB>token" lines as
 * `fedplora tokens create` prints them); they train one at a time.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseRunConfig } from '../experiment/config.js';
import { loadPlugins } from '../experiment/plugins.js';
import { buildClientSide, type LocalDataSource } from '../experiment/build-client.js';
import type { LayoutName, LoaderFormat } from '../data/loaders/types.js';
import { clientRanks } from '../federation/resources.js';
import { createFederationClient } from '../transport/grpc-client.js';
import { FederationError, type RunInfo } from '../transport/service.js';
import { DEFAULT_BACKOFF, runHostedClient, type FederationConnection } from '../federation/network/remote-client.js';
import { at, defined } from '../util/checked.js';
import { parseClientIds } from './tokens.js';
import { baseWeightBytesOf } from '../model/precision.js';

interface JoinFlags {
  server: string;
  clientId: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  rank?: string;
  memoryMb?: string;
  precision?: string;
  model?: string;
  data?: string;
  layout?: string;
  format?: string;
  threads?: string;
  waitSeconds: string;
  giveUpSeconds: string;
}

/** The token of each client id, in the order of the ids. */
function tokensFor(ids: number[], f: JoinFlags): Map<number, string> {
  if (f.token !== undefined && f.tokenFile === undefined) {
    const list = f.token.split(',').map((t) => t.trim());
    if (list.length !== ids.length) throw new Error(`--token lists ${list.length} tokens for ${ids.length} client ids`);
    return new Map(ids.map((id, i) => [id, at(list, i, '--token')]));
  }
  if (f.tokenFile !== undefined && f.token === undefined) return tokensFromFile(ids, f.tokenFile);
  throw new Error('give --token (one per client id, comma-separated) or --token-file, not both or neither');
}

function tokensFromFile(ids: number[], file: string): Map<number, string> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const byId = new Map<number, string>();
  for (const [i, line] of lines.entries()) {
    const [, id, token] = /^(\d+)\t(\S+)$/.exec(line.trim()) ?? [];
    if (id === undefined || token === undefined) throw new Error(`${file}: line ${i + 1} is not "client id<TAB>token"`);
    byId.set(Number(id), token);
  }
  const tokens = new Map<number, string>();
  const missing: number[] = [];
  for (const id of ids) {
    const token = byId.get(id);
    if (token === undefined) missing.push(id);
    else tokens.set(id, token);
  }
  if (missing.length) throw new Error(`${file} holds no token for client ${missing.join(', ')}`);
  return tokens;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

/** The run, asked for again while the server is not up yet. */
async function firstContact(connection: FederationConnection, id: number, giveUpMs: number, say: (s: string) => void): Promise<RunInfo> {
  const until = Date.now() + giveUpMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await connection.getRun(id);
    } catch (e) {
      if (!(e instanceof FederationError) || e.code !== 'unavailable' || Date.now() > until) throw e;
      if (attempt === 0) say(`client ${id}: ${e.message}; waiting for the server`);
      await new Promise((r) => setTimeout(r, Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.initialMs * 2 ** attempt)));
    }
  }
}

export async function joinRun(f: JoinFlags): Promise<void> {
  // Set before the kernels load: OpenBLAS reads its thread count once.
  if (f.threads !== undefined) {
    const n = String(positiveInt(f.threads, '--threads'));
    process.env['FEDPLORA_THREADS'] = n;
    process.env['OPENBLAS_NUM_THREADS'] = n;
  }
  const ids = parseClientIds(f.clientId);
  const tokens = tokensFor(ids, f);
  const caCert = f.ca !== undefined ? readFileSync(f.ca) : undefined;
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const giveUpMs = positiveInt(f.giveUpSeconds, '--give-up-seconds') * 1000;
  const connections = [...tokens].map(([id, token]) => ({ id, connection: createFederationClient({ url: f.server, token, ...(caCert ? { caCert } : {}) }) }));
  const first = at(connections, 0, 'client connections');
  try {
    const run = await firstContact(first.connection, first.id, giveUpMs, say);
    const raw = JSON.parse(run.runConfigJson) as Record<string, unknown>;
    // the server's plugins, at the paths its config records: a method of one's own must be on every client too
    if (Array.isArray(raw['plugins'])) await loadPlugins(raw['plugins'] as string[], process.cwd());
    // the device's own model folder and precision may differ from the server's: the fingerprint is the checkpoint's
    const config = parseRunConfig(
      { ...raw, ...(f.model !== undefined ? { model: f.model } : {}), ...(f.precision !== undefined ? { precision: f.precision } : {}) },
      { checkFiles: false },
    );
    const own: LocalDataSource | undefined =
      f.data === undefined
        ? undefined
        : {
            path: f.data,
            options: { layout: (f.layout ?? config.data?.layout ?? 'alpaca') as LayoutName, ...(f.format ? { format: f.format as LoaderFormat } : {}) },
          };
    const side = await buildClientSide(config, ids, run.clientRanks, own);
    if (side.fingerprint !== run.modelFingerprint) {
      throw new Error(
        `the base model in ${config.model} is not the server's (fingerprint ${side.fingerprint.slice(0, 12)}, the server's ${run.modelFingerprint.slice(0, 12)}): pass --model with the same model folder`,
      );
    }
    let rank = f.rank !== undefined ? positiveInt(f.rank, '--rank') : 0;
    if (f.memoryMb !== undefined) {
      if (rank) throw new Error('give --rank or --memory-mb, not both');
      const mb = Number(f.memoryMb);
      if (!(mb > 0)) throw new Error(`--memory-mb must be a positive number, got "${f.memoryMb}"`);
      const [fits] = clientRanks(
        {
          kind: 'memory',
          budgetsMb: [mb],
          batchSize: config.local.batchSize,
          seqLen: config.maxLength,
          baseBytes: baseWeightBytesOf(side.ctx.config, config.precision),
        },
        1,
        config.lora.rank,
        config.seed,
        {
          config: side.ctx.config,
          targets: config.lora.targets,
        },
      );
      rank = defined(fits, 'the rank that fits --memory-mb');
    }
    const stopper = new AbortController();
    const onSignal = (): void => stopper.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const ends = await Promise.all(
      connections.map(({ id, connection }) =>
        runHostedClient({
          id,
          connection,
          rank,
          side,
          runId: run.runId,
          waitSeconds: positiveInt(f.waitSeconds, '--wait-seconds'),
          backoff: { ...DEFAULT_BACKOFF, giveUpMs },
          say,
          signal: stopper.signal,
        }),
      ),
    );
    const failed = ends.flatMap((e) => (e.kind === 'failed' ? [e.message] : []));
    if (failed.length) throw new Error(failed.join('\n'));
  } finally {
    for (const { connection } of connections) await connection.close();
  }
}

export function registerJoin(program: Command): void {
  program
    .command('join')
    .description('join a served run as one or more clients, train when sampled, and submit the results')
    .requiredOption('--server <url>', 'the server, e.g. http://host:50051 or https://host:50051')
    .requiredOption('--client-id <ids>', 'client id, or a list/range such as 0,4,8 or 0-3 to host several')
    .option('--token <tokens>', 'the token of each client id, comma-separated in the same order')
    .option('--token-file <file>', '"id<TAB>token" lines, as `fedplora tokens create` prints them')
    .option('--ca <file>', "PEM certificate to trust for https (e.g. the server's self-signed one)")
    .option('--rank <n>', "the LoRA rank to train (default: the rank the server's config gives the client)")
    .option('--memory-mb <mb>', 'train the largest rank that fits this memory budget (base model included) instead')
    .option('--precision <p>', "hold this device's frozen base as fp32, bf16 or int8 (default: the server's)")
    .option('--model <dir>', "the base model folder here (default: the path in the server's config)")
    .option('--data <file>', "train on this local file instead of the client's partition of the run's data")
    .option('--layout <name>', 'layout of --data: alpaca, dolly, natural-instructions, text-label or custom')
    .option('--format <name>', 'format of --data when its extension does not say: jsonl, csv or parquet')
    .option('--threads <n>', 'threads for training (default: every core)')
    .option('--wait-seconds <n>', 'how long each request for work may wait at the server', '20')
    .option('--give-up-seconds <n>', 'stop after the server has been unreachable this long', '900')
    .action(async (f: JoinFlags) => {
      await joinRun(f);
    });
}
