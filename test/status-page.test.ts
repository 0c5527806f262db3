import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startStatusPage, type StatusSnapshot } from '../src/federation/network/status-page.js';
import { defined } from '../src/util/checked.js';

function snapshot(): StatusSnapshot {
  const now = Date.now();
  return {
    runId: 'run-2024-abc123',
    name: 'sotu <script>alert(1)</script> & co',
    method: 'fed-plora',
    state: 'round-open',
    round: 3,
    totalRounds: 10,
    roundDeadlineUnixMs: now + 42_000,
    metricName: 'accuracy',
    clients: [
      { id: 0, rank: 8, state: 'training', lastSeenUnixMs: now - 2_000, accepted: 2, rejected: 0 },
      { id: 1, rank: 4, state: 'gone', lastSeenUnixMs: now - 300_000, accepted: 1, rejected: 1 },
      { id: 2, rank: 16, state: 'never-joined', lastSeenUnixMs: null, accepted: 0, rejected: 0 },
    ],
    rounds: [
      { round: 1, metric: 0.61234, trainLoss: 2.3456, accepted: 2, rejected: 0, dropped: 1, seconds: 12.34 },
      { round: 2, metric: null, trainLoss: 1.9876, accepted: 1, rejected: 1, dropped: 0, seconds: 9.5 },
    ],
    events: [
      { time: new Date(now - 5_000).toISOString(), event: 'result_rejected', client: 1, round: 2, reason: 'rank <b>4</b> != 8' },
      { time: new Date(now).toISOString(), event: 'round_opened', round: 3 },
    ],
  };
}

async function withPage(snap: () => StatusSnapshot, body: (url: string) => Promise<void>): Promise<void> {
  const page = await startStatusPage({ host: '127.0.0.1', port: 0, snapshot: snap });
  try {
    await body(page.url);
  } finally {
    await page.close();
  }
}

test('status.json is the snapshot, and healthz and unknown paths answer', async () => {
  const snap = snapshot();
  await withPage(
    () => snap,
    async (url) => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const json = await fetch(new URL('/status.json', url));
      assert.equal(json.status, 200);
      assert.match(defined(json.headers.get('content-type'), 'content-type header'), /^application\/json/);
      assert.deepEqual(await json.json(), snap);
      const health = await fetch(new URL('/healthz', url));
      assert.equal(health.status, 200);
      assert.equal((await health.text()).trim(), 'ok');
      const missing = await fetch(new URL('/nope', url));
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /not found: \/nope/);
      const post = await fetch(new URL('/status.json', url), { method: 'POST' });
      assert.equal(post.status, 405);
      await post.text();
    },
  );
});

test('the HTML page shows the run, clients, rounds and events, all escaped', async () => {
  const snap = snapshot();
  await withPage(
    () => snap,
    async (url) => {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(defined(res.headers.get('content-type'), 'content-type header'), /^text\/html; charset=utf-8/);
      const html = await res.text();
      assert.ok(!html.includes('<script'), 'no script tag reaches the page');
      assert.ok(html.includes('sotu &lt;script&gt;alert(1)&lt;/script&gt; &amp; co'));
      assert.ok(html.includes('rank &lt;b&gt;4&lt;/b&gt; != 8'), 'event fields are escaped too');
      assert.match(html, /<meta http-equiv="refresh" content="5">/);
      assert.ok(!/(src|href)="https?:/.test(html), 'no external assets');
      for (const text of [
        'run-2024-abc123',
        'fed-plora',
        'round open',
        '3 of 10',
        'closes in 4',
        'accuracy',
        '0.6123',
        '2.346',
        '1.988',
        '12.3',
        'never joined',
        'result_rejected',
        'round_opened',
      ]) {
        assert.ok(html.includes(text), `the page shows ${text}`);
      }
      assert.match(html, /<td class="n">16<\/td>/, 'client ranks are listed');
      assert.ok(html.indexOf('round_opened') < html.indexOf('result_rejected'), 'events are newest first');
    },
  );
});

test('every request takes a fresh snapshot, and a failing one gives 500', async () => {
  let calls = 0;
  await withPage(
    () => {
      calls++;
      if (calls === 2) throw new Error('coordinator busy');
      return { ...snapshot(), round: calls };
    },
    async (url) => {
      assert.equal(((await (await fetch(new URL('/status.json', url))).json()) as StatusSnapshot).round, 1);
      const failed = await fetch(new URL('/status.json', url));
      assert.equal(failed.status, 500);
      assert.match(await failed.text(), /could not take a status snapshot: coordinator busy/);
      assert.equal(((await (await fetch(new URL('/status.json', url))).json()) as StatusSnapshot).round, 3);
    },
  );
});

test('an empty run renders, and a taken port gives a clear error', async () => {
  const empty: StatusSnapshot = { ...snapshot(), state: 'waiting-for-clients', round: 0, roundDeadlineUnixMs: null, clients: [], rounds: [], events: [] };
  await withPage(
    () => empty,
    async (url) => {
      const html = await (await fetch(url)).text();
      for (const text of ['waiting for clients', 'no clients yet', 'no round has closed yet', 'no events yet']) assert.ok(html.includes(text), text);
    },
  );
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      startStatusPage({ host: '127.0.0.1', port, snapshot }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} .*EADDRINUSE.*choose another port`),
    );
  } finally {
    blocker.close();
  }
});
