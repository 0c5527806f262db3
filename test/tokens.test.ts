import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, listTokens, loadTokenStore, revokeTokens } from '../src/federation/network/token-store.js';
import { parseClientIds } from '../src/cli/tokens.js';
import { at, defined } from '../src/util/checked.js';

const CLI = join(import.meta.dirname, '../src/cli/main.js');

function tempStore(): string {
  return join(mkdtempSync(join(tmpdir(), 'fedplora-tokens-')), 'nested', 'tokens.json');
}

function fedplora(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('a created token maps to its client id, and nothing else does', () => {
  const store = tempStore();
  const t3 = createToken(store, 3, 'laptop');
  const t7 = createToken(store, 7);
  const t3b = createToken(store, 3, 'rotated');
  assert.match(t3, /^fpl_[A-Za-z0-9_-]{43}$/);
  const tokens = loadTokenStore(store);
  assert.equal(tokens.size, 3);
  assert.equal(tokens.clientIdOf(t3), 3);
  assert.equal(tokens.clientIdOf(t3b), 3, 'a client may hold several tokens');
  assert.equal(tokens.clientIdOf(t7), 7);
  assert.equal(tokens.clientIdOf(''), null);
  assert.equal(tokens.clientIdOf(t3.slice(0, -1) + (t3.endsWith('A') ? 'B' : 'A')), null);
  assert.equal(tokens.clientIdOf(`${t3} `), null);
  const other = tempStore();
  const foreign = createToken(other, 3);
  assert.equal(tokens.clientIdOf(foreign), null, 'a token of another store is unknown here');
  assert.equal(loadTokenStore(other).clientIdOf(t3), null);
});

test('the store holds only hashes and is private to its owner', () => {
  const store = tempStore();
  const token = createToken(store, 0);
  const text = readFileSync(store, 'utf8');
  assert.ok(!text.includes(token), 'the token text is not in the file');
  assert.ok(!text.includes(token.slice(4)), 'nor its random part');
  const file = JSON.parse(text) as { version: number; tokens: { sha256: string; clientId: number; created: string }[] };
  assert.equal(file.version, 1);
  assert.equal(file.tokens.length, 1);
  assert.match(at(file.tokens, 0, 'stored tokens').sha256, /^[0-9a-f]{64}$/);
  assert.equal(statSync(store).mode & 0o777, 0o600);
  createToken(store, 1);
  assert.equal(statSync(store).mode & 0o777, 0o600, 'a rewrite keeps the mode');
});

test('revoke removes every token of one client and list shows no hashes', () => {
  const store = tempStore();
  const a = createToken(store, 1, 'first');
  const b = createToken(store, 1);
  const c = createToken(store, 2);
  assert.deepEqual(
    listTokens(store).map((e) => [e.clientId, e.label]),
    [
      [1, 'first'],
      [1, undefined],
      [2, undefined],
    ],
  );
  assert.ok(listTokens(store).every((e) => !('sha256' in e)));
  assert.equal(revokeTokens(store, 1), 2);
  assert.equal(revokeTokens(store, 1), 0);
  const tokens = loadTokenStore(store);
  assert.equal(tokens.clientIdOf(a), null);
  assert.equal(tokens.clientIdOf(b), null);
  assert.equal(tokens.clientIdOf(c), 2);
  assert.throws(() => createToken(store, -1), /client id -1 is not a non-negative integer/);
  assert.throws(() => createToken(store, 1.5), /client id 1.5 is not a non-negative integer/);
});

test('each broken store gives one clear error naming the file and the way out', () => {
  const store = tempStore();
  const hint = /fedplora tokens create --store .* --client-id N/;
  const expectError = (pattern: RegExp): void => {
    for (const load of [() => loadTokenStore(store), () => listTokens(store)]) {
      assert.throws(load, (e: Error) => pattern.test(e.message) && hint.test(e.message) && e.message.includes(store) && !e.message.includes('\n'));
    }
  };
  expectError(/does not exist/);
  createToken(store, 0);
  writeFileSync(store, '{"version": 1, "tokens": [');
  expectError(/is not valid JSON/);
  writeFileSync(store, JSON.stringify({ version: 2, tokens: [] }));
  expectError(/has version 2, but this fedplora reads version 1/);
  const good = { sha256: 'a'.repeat(64), clientId: 4, created: new Date().toISOString() };
  writeFileSync(store, JSON.stringify({ version: 1, tokens: [good, { ...good, sha256: 'abc' }] }));
  expectError(/entry 1 has a sha256 that is not 64 lowercase hex characters/);
  writeFileSync(store, JSON.stringify({ version: 1, tokens: [{ ...good, clientId: 2.5 }] }));
  expectError(/entry 0 has a clientId that is not a non-negative integer/);
  writeFileSync(store, JSON.stringify({ version: 1, tokens: [{ ...good, clientId: '4' }] }));
  expectError(/entry 0 has a clientId/);
  writeFileSync(store, JSON.stringify({ version: 1 }));
  expectError(/has no "tokens" array/);
  assert.throws(() => createToken(store, 1), /has no "tokens" array/, 'create does not overwrite a broken store');
});

test('client id lists and ranges parse, and bad ones are refused', () => {
  assert.deepEqual(parseClientIds('3'), [3]);
  assert.deepEqual(parseClientIds('0-3'), [0, 1, 2, 3]);
  assert.deepEqual(parseClientIds('0,3,5'), [0, 3, 5]);
  assert.deepEqual(parseClientIds('7, 0-1'), [7, 0, 1]);
  assert.throws(() => parseClientIds('x'), /"x" is not a non-negative integer/);
  assert.throws(() => parseClientIds('-1'), /is not a non-negative integer/);
  assert.throws(() => parseClientIds('1,,2'), /"" is not a non-negative integer/);
  assert.throws(() => parseClientIds('5-2'), /runs backwards/);
  assert.throws(() => parseClientIds('0-3,2'), /client id 2 is listed twice/);
  assert.throws(() => parseClientIds('0-99999999'), /more than 10000 ids/);
});

test('tokens create, list and revoke work end to end from the command line', () => {
  const store = tempStore();
  const one = fedplora('tokens', 'create', '--store', store, '--client-id', '12', '--label', 'gpu box');
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^fpl_[A-Za-z0-9_-]{43}\n$/, 'a single id prints only the token');
  assert.match(one.stderr, /cannot be shown again/);
  assert.equal(loadTokenStore(store).clientIdOf(one.stdout.trim()), 12);

  const range = fedplora('tokens', 'create', '--store', store, '--client-id', '0-2');
  assert.equal(range.status, 0, range.stderr);
  const lines = range.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(
    lines.map((l) => l[0]),
    ['0', '1', '2'],
  );
  const tokens = loadTokenStore(store);
  for (const [id, token] of lines) assert.equal(tokens.clientIdOf(defined(token, `token of client ${id}`)), Number(id));

  const list = fedplora('tokens', 'list', '--store', store);
  assert.equal(list.status, 0, list.stderr);
  const rows = list.stdout.trim().split('\n');
  assert.equal(rows[0], 'client\tcreated\tlabel');
  assert.deepEqual(
    rows.slice(1).map((r) => r.split('\t')[0]),
    ['0', '1', '2', '12'],
  );
  assert.equal(at(rows, 4, 'listed rows').split('\t')[2], 'gpu box');
  assert.ok(!list.stdout.includes('fpl_'), 'list never prints tokens');

  const revoke = fedplora('tokens', 'revoke', '--store', store, '--client-id', '1');
  assert.equal(revoke.status, 0, revoke.stderr);
  assert.match(revoke.stdout, /revoked 1 token of client 1/);
  assert.equal(loadTokenStore(store).clientIdOf(at(at(lines, 1, 'created lines'), 1, 'token column')), null);
  assert.equal(loadTokenStore(store).size, 3);

  const again = fedplora('tokens', 'revoke', '--store', store, '--client-id', '1,2');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^fedplora: no tokens for client 1 in .*; see `fedplora tokens list --store .*`\n$/);
  assert.equal(loadTokenStore(store).size, 3, 'a failed revoke removes nothing');

  const bad = fedplora('tokens', 'create', '--store', store, '--client-id', '3-x');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^fedplora: --client-id "3-x": "x" is not a non-negative integer/);
  const missing = fedplora('tokens', 'list', '--store', join(tmpdir(), 'fedplora-no-such-store.json'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /does not exist; create tokens with `fedplora tokens create/);
});
