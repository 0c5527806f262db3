import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createEventLog, type EventEntry } from '../src/federation/network/event-log.js';
import { at } from '../src/util/checked.js';

function readLines(file: string): EventEntry[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as EventEntry);
}

test('each event is one JSON line with time and event first, appended across logs', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fedplora-events-')), 'run', 'logs', 'events.jsonl');
  const before = Date.now();
  const first = createEventLog({ file });
  first.log('server_started', { address: '0.0.0.0:50051', rounds: 3 });
  first.log('client_joined', { client: 3, rank: 8 });
  await first.close();
  const second = createEventLog({ file });
  second.log('result_rejected', { client: 3, round: 1, reason: 'rank mismatch', error: new Error('bad shape'), bytes: 12n });
  await second.close();

  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.match(at(text.split('\n'), 1, 'lines of the file'), /^\{"time":"[^"]+","event":"client_joined","client":3,"rank":8\}$/);
  const lines = readLines(file);
  assert.deepEqual(
    lines.map((l) => l.event),
    ['server_started', 'client_joined', 'result_rejected'],
  );
  for (const l of lines) {
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(l.time) >= before - 1 && Date.parse(l.time) <= Date.now());
  }
  assert.equal(at(lines, 0, 'log entries').rounds, 3);
  const rejected = at(lines, 2, 'log entries');
  assert.equal(rejected.reason, 'rank mismatch');
  assert.equal(rejected.error, 'bad shape', 'an Error is logged by its message');
  assert.equal(rejected.bytes, '12', 'a bigint is logged as a string');
});

test('recent() returns the last entries oldest first and forgets beyond its limit', () => {
  const events = createEventLog();
  assert.deepEqual(events.recent(5), []);
  for (let round = 1; round <= 250; round++) events.log('round_opened', { round });
  assert.deepEqual(
    events.recent(3).map((e) => e.round),
    [248, 249, 250],
  );
  const all = events.recent(1000);
  assert.equal(all.length, 200, 'about 200 entries are kept');
  assert.equal(at(all, 0, 'recent entries').round, 51);
  assert.deepEqual(events.recent(0), []);

  const small = createEventLog({ keep: 2 });
  const fields = { round: 1, clients: [1, 2] };
  small.log('round_opened', fields);
  fields.clients.push(3);
  assert.deepEqual(at(small.recent(1), 0, 'recent entries').clients, [1, 2], 'later changes to the fields do not reach the log');
});

test('lines also go to the stream and echo, and reserved fields are refused', async () => {
  const stream = new PassThrough();
  let streamed = '';
  stream.on('data', (chunk: Buffer) => (streamed += chunk.toString()));
  const echoed: string[] = [];
  const events = createEventLog({ stream, echo: (line) => echoed.push(line) });
  events.log('round_closed', { round: 2, accepted: 3, rejected: 1, dropped: 0, aggregated: true });
  events.log('run_finished');
  await events.close();
  assert.equal(echoed.length, 2);
  assert.equal(streamed, echoed.map((l) => `${l}\n`).join(''));
  const closed = JSON.parse(at(echoed, 0, 'echoed lines')) as EventEntry;
  assert.deepEqual(
    { ...closed, time: undefined },
    { time: undefined, event: 'round_closed', round: 2, accepted: 3, rejected: 1, dropped: 0, aggregated: true },
  );
  assert.deepEqual(Object.keys(JSON.parse(at(echoed, 1, 'echoed lines')) as object), ['time', 'event']);
  assert.throws(() => events.log('task_sent', { time: 5 }), /the field "time" is set by the event log/);
  assert.throws(() => events.log('task_sent', { event: 'x' }), /the field "event" is set by the event log/);
  assert.equal(events.recent(10).length, 2, 'a refused event is not recorded');
});

test('after close, events still reach memory but no longer the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fedplora-events-')), 'events.jsonl');
  const events = createEventLog({ file });
  events.log('server_stopping', { reason: 'SIGINT' });
  await events.close();
  await events.close();
  events.log('client_dropped', { client: 1, reason: 'shutdown' });
  assert.equal(readLines(file).length, 1);
  assert.deepEqual(
    events.recent(5).map((e) => e.event),
    ['server_stopping', 'client_dropped'],
  );
});
