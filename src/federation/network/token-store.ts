/**
 * Client tokens for the federation server. The operator issues each client a
 * bearer token; the store on disk keeps only its SHA-256, so a leaked store
 * file does not let anyone join. A client id may hold several tokens at once,
 * which lets the operator rotate a token without a gap.
 *
 * Store file: `{ "version": 1, "tokens": [{ "sha256", "clientId", "label"?, "created" }] }`,
 * written atomically with mode 0600.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { at } from '../../util/checked.js';

const STORE_VERSION = 1;
const TOKEN_PREFIX = 'fpl_';
const TOKEN_BYTES = 32;

interface StoredToken {
  /** hex SHA-256 of the whole token text, prefix included */
  sha256: string;
  clientId: number;
  label?: string;
  /** ISO time of creation */
  created: string;
}

interface TokenFile {
  version: typeof STORE_VERSION;
  tokens: StoredToken[];
}

/** A stored token as the operator may see it: everything but the hash. */
export interface TokenListing {
  clientId: number;
  label?: string;
  created: string;
}

export interface TokenStore {
  /** the client id the token was issued to, or null for any token this store does not hold */
  clientIdOf(token: string): number | null;
  /** number of tokens in the store */
  size: number;
}

export interface IssuedToken {
  clientId: number;
  token: string;
}

/**
 * A plain SHA-256 is enough here: the token carries 256 random bits, so there
 * is nothing to brute-force and a slow password KDF would only cost time on
 * every join.
 */
function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function assertClientId(clientId: number): void {
  if (!Number.isSafeInteger(clientId) || clientId < 0) throw new Error(`client id ${clientId} is not a non-negative integer`);
}

function createHint(path: string): string {
  return `create tokens with \`fedplora tokens create --store ${path} --client-id N\``;
}

function entryProblem(entry: unknown): string | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'is not an object';
  const e = entry as Record<string, unknown>;
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) return 'has a sha256 that is not 64 lowercase hex characters';
  if (typeof e.clientId !== 'number' || !Number.isSafeInteger(e.clientId) || e.clientId < 0) return 'has a clientId that is not a non-negative integer';
  if (e.label !== undefined && typeof e.label !== 'string') return 'has a label that is not a string';
  if (typeof e.created !== 'string' || Number.isNaN(Date.parse(e.created))) return 'has a created time that is not an ISO date';
  return null;
}

function parseStore(path: string, text: string): TokenFile {
  const fix = `fix or delete the file, then ${createHint(path)}`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`token store ${path} is not valid JSON (${(e as Error).message}); ${fix}`);
  }
  if (typeof data !== 'object' || data === null || !('version' in data)) throw new Error(`token store ${path} has no "version" field; ${fix}`);
  const file = data as { version: unknown; tokens?: unknown };
  if (file.version !== STORE_VERSION) {
    throw new Error(`token store ${path} has version ${JSON.stringify(file.version)}, but this fedplora reads version ${STORE_VERSION}; ${fix}`);
  }
  if (!Array.isArray(file.tokens)) throw new Error(`token store ${path} has no "tokens" array; ${fix}`);
  file.tokens.forEach((entry, i) => {
    const problem = entryProblem(entry);
    if (problem) throw new Error(`token store ${path}: entry ${i} ${problem}; remove that entry or ${fix}`);
  });
  return file as TokenFile;
}

function readStore(path: string, missingIsEmpty: boolean): TokenFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingIsEmpty) return { version: STORE_VERSION, tokens: [] };
    if (code === 'ENOENT') throw new Error(`token store ${path} does not exist; ${createHint(path)}`);
    throw new Error(`cannot read token store ${path} (${(e as Error).message}); check the path and its permissions`);
  }
  return parseStore(path, text);
}

/** Temp file in the same folder, then rename: a reader sees the old store or the new one, never half of one. */
function writeStore(path: string, store: TokenFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(store, null, 2)}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Issues one new token per client id in a single write; the store is created if missing. */
export function createTokens(storePath: string, clientIds: readonly number[], label?: string): IssuedToken[] {
  clientIds.forEach(assertClientId);
  const store = readStore(storePath, true);
  const created = new Date().toISOString();
  const issued = clientIds.map((clientId) => ({ clientId, token: TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url') }));
  for (const { clientId, token } of issued) {
    store.tokens.push({ sha256: hashToken(token), clientId, ...(label !== undefined ? { label } : {}), created });
  }
  writeStore(storePath, store);
  return issued;
}

/** Issues a new token for one client and returns its text, which is not stored anywhere. */
export function createToken(storePath: string, clientId: number, label?: string): string {
  return at(createTokens(storePath, [clientId], label), 0, 'issued tokens').token;
}

/** Removes every token of the client; returns how many were removed. */
export function revokeTokens(storePath: string, clientId: number): number {
  assertClientId(clientId);
  const store = readStore(storePath, false);
  const kept = store.tokens.filter((t) => t.clientId !== clientId);
  const removed = store.tokens.length - kept.length;
  if (removed > 0) writeStore(storePath, { ...store, tokens: kept });
  return removed;
}

export function listTokens(storePath: string): TokenListing[] {
  return readStore(storePath, false).tokens.map(({ clientId, label, created }) => ({ clientId, ...(label !== undefined ? { label } : {}), created }));
}

/**
 * Reads the store once; later changes to the file need a new load. Lookup
 * is by the token's sha256: a timing difference could tell an attacker at
 * most something about a hash, which does not help to find a 256-bit token,
 * and the cost per call stays flat however many clients the run has.
 */
export function loadTokenStore(storePath: string): TokenStore {
  const byDigest = new Map(readStore(storePath, false).tokens.map((t) => [t.sha256, t.clientId]));
  return {
    size: byDigest.size,
    clientIdOf(token: string): number | null {
      if (typeof token !== 'string') return null;
      return byDigest.get(hashToken(token)) ?? null;
    },
  };
}
