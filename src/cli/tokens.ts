/** `fedplora tokens create|list|revoke`: the operator's side of client tokens. */
import type { Command } from 'commander';
import { createTokens, listTokens, revokeTokens } from '../federation/network/token-store.js';
import { at } from '../util/checked.js';

/** Guards against a typo like 0-100000000 writing millions of tokens. */
const MAX_IDS_PER_CALL = 10_000;

interface StoreOptions {
  store: string;
}

interface ClientOptions extends StoreOptions {
  clientId: string;
}

interface CreateOptions extends ClientOptions {
  label?: string;
}

function parseId(text: string, whole: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
    throw new Error(`--client-id "${whole}": "${text}" is not a non-negative integer (use e.g. 3, 0-9 or 0,3,5)`);
  }
  return Number(t);
}

/** Parses "3", "0-9", "0,3,5" or a mix like "0-3,7" into distinct ids, in the order given. */
export function parseClientIds(text: string): number[] {
  const ids: number[] = [];
  for (const part of text.split(',')) {
    const [, fromText, toText] = /^\s*([^-]+)-(.+)$/.exec(part) ?? [];
    if (fromText === undefined || toText === undefined) {
      ids.push(parseId(part, text));
      continue;
    }
    const [from, to] = [parseId(fromText, text), parseId(toText, text)];
    if (from > to) throw new Error(`--client-id "${text}": the range ${from}-${to} runs backwards; write it as ${to}-${from}`);
    if (to - from + 1 > MAX_IDS_PER_CALL) throw new Error(`--client-id "${text}": more than ${MAX_IDS_PER_CALL} ids in one call; split it into smaller ranges`);
    for (let id = from; id <= to; id++) ids.push(id);
  }
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`--client-id "${text}": client id ${id} is listed twice; list each id once`);
    seen.add(id);
  }
  if (ids.length > MAX_IDS_PER_CALL) throw new Error(`--client-id "${text}": more than ${MAX_IDS_PER_CALL} ids in one call; split it into smaller calls`);
  return ids;
}

/** A single plain id prints just the token, so `TOKEN=$(fedplora tokens create ...)` works. */
function isSingleId(text: string): boolean {
  return /^\s*\d+\s*$/.test(text);
}

function create(opts: CreateOptions): void {
  // Tabs and newlines would break the tab-separated `tokens list` output.
  if (opts.label !== undefined && /[\t\r\n]/.test(opts.label)) throw new Error('--label must not contain tabs or line breaks');
  const ids = parseClientIds(opts.clientId);
  const issued = createTokens(opts.store, ids, opts.label);
  if (isSingleId(opts.clientId)) {
    process.stdout.write(`${at(issued, 0, 'issued tokens').token}\n`);
  } else {
    process.stdout.write(issued.map(({ clientId, token }) => `${clientId}\t${token}\n`).join(''));
  }
  const what = issued.length === 1 ? 'this token' : `these ${issued.length} tokens`;
  process.stderr.write(
    `only a hash is kept in ${opts.store}: ${what} cannot be shown again, so hand ${issued.length === 1 ? 'it' : 'them'} to the client${issued.length === 1 ? '' : 's'} now\n`,
  );
}

function list(opts: StoreOptions): void {
  const entries = listTokens(opts.store).sort((a, b) => a.clientId - b.clientId || a.created.localeCompare(b.created));
  const lines = ['client\tcreated\tlabel', ...entries.map((e) => `${e.clientId}\t${e.created}\t${e.label ?? ''}`)];
  process.stdout.write(`${lines.join('\n')}\n`);
  const clients = new Set(entries.map((e) => e.clientId)).size;
  process.stderr.write(`${entries.length} token${entries.length === 1 ? '' : 's'} for ${clients} client${clients === 1 ? '' : 's'} in ${opts.store}\n`);
}

function revoke(opts: ClientOptions): void {
  const ids = parseClientIds(opts.clientId);
  // Check every id before removing any, so a typo in a list does not leave the store half revoked.
  const held = new Set(listTokens(opts.store).map((e) => e.clientId));
  const missing = ids.filter((id) => !held.has(id));
  if (missing.length > 0) {
    throw new Error(`no tokens for client ${missing.join(', ')} in ${opts.store}; see \`fedplora tokens list --store ${opts.store}\``);
  }
  for (const id of ids) {
    const removed = revokeTokens(opts.store, id);
    process.stdout.write(`revoked ${removed} token${removed === 1 ? '' : 's'} of client ${id}\n`);
  }
}

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('issue, list and revoke the tokens clients use to join a federation server');
  tokens
    .command('create')
    .description('issue a new token per client id and print it once (the store keeps only its hash)')
    .requiredOption('--store <file>', 'token store file (created if missing, mode 0600)')
    .requiredOption('--client-id <ids>', 'client id, or a range or list like 0-9 or 0,3,5 (prints "id<TAB>token" lines)')
    .option('--label <text>', 'a note kept with the token, e.g. the machine it is for')
    .action((opts: CreateOptions) => create(opts));
  tokens
    .command('list')
    .description('print the tokens in a store (client, created, label; never the tokens themselves)')
    .requiredOption('--store <file>', 'token store file')
    .action((opts: StoreOptions) => list(opts));
  tokens
    .command('revoke')
    .description('remove every token of the given client ids')
    .requiredOption('--store <file>', 'token store file')
    .requiredOption('--client-id <ids>', 'client id, or a range or list like 0-9 or 0,3,5')
    .action((opts: ClientOptions) => revoke(opts));
}
