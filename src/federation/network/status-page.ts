/**
 * The federation server's status page over plain node:http:
 *   /             a self-contained HTML page that refreshes itself every 5 s
 *   /status.json  the snapshot as JSON
 *   /healthz      "ok", for liveness probes
 * Each request takes a fresh snapshot, so the page never shows stale state
 * kept here. It has no authentication: bind it to a trusted interface.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml } from '../../util/html.js';

export interface StatusSnapshot {
  runId: string;
  name: string;
  method: string;
  state: 'waiting-for-clients' | 'round-open' | 'aggregating' | 'finished' | 'stopping';
  round: number;
  totalRounds: number;
  roundDeadlineUnixMs: number | null;
  metricName: string;
  clients: {
    id: number;
    rank: number;
    state: 'joined' | 'training' | 'idle' | 'gone' | 'never-joined';
    lastSeenUnixMs: number | null;
    accepted: number;
    rejected: number;
  }[];
  rounds: { round: number; metric: number | null; trainLoss: number | null; accepted: number; rejected: number; dropped: number; seconds: number }[];
  events: { time: string; event: string; [k: string]: unknown }[];
}

export interface StatusPageOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  snapshot: () => StatusSnapshot;
}

export interface StatusPage {
  /** the port actually bound */
  port: number;
  url: string;
  close(): Promise<void>;
}

const REFRESH_SECONDS = 5;

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d1d1f; background: #fff; margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
h2 small { font-weight: normal; color: #6e6e73; }
.sub, footer, .empty { color: #6e6e73; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.summary { display: flex; flex-wrap: wrap; gap: .5rem 2rem; margin: 1rem 0; padding: .75rem 1rem; background: #f5f5f7; border-radius: 6px; }
.summary .k { display: block; font-size: 12px; color: #6e6e73; }
table { border-collapse: collapse; min-width: 60%; }
table.wide { width: 100%; }
.kv { margin-right: .9rem; } .kv .key { color: #6e6e73; }
th, td { text-align: left; padding: .3rem .9rem; border-bottom: 1px solid #e5e5ea; vertical-align: top; }
th { font-size: 12px; color: #6e6e73; font-weight: 600; border-bottom-color: #c7c7cc; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.t { white-space: nowrap; font-variant-numeric: tabular-nums; }
.chip { display: inline-block; padding: 0 .45rem; border-radius: 4px; font-size: 12px; background: #e5e5ea; }
.s-round-open, .s-training { background: #d1f0d9; color: #135c26; }
.s-aggregating, .s-joined { background: #fdecc8; color: #6b4a00; }
.s-stopping, .s-gone { background: #fbd5d5; color: #8a1c1c; }
.s-never-joined { background: none; color: #8e8e93; }
footer { margin-top: 1.5rem; font-size: 12px; }
`;

function clock(unixMs: number): string {
  return `${new Date(unixMs).toISOString().slice(11, 19)} UTC`;
}

function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  // Seconds still matter when a round deadline is a few minutes away.
  if (s < 600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function lastSeen(unixMs: number | null, now: number): string {
  return unixMs === null ? '—' : `${duration(now - unixMs)} ago`;
}

function deadline(unixMs: number | null, now: number): string {
  if (unixMs === null) return '—';
  return unixMs >= now ? `closes in ${duration(unixMs - now)} (${clock(unixMs)})` : `passed ${duration(now - unixMs)} ago (${clock(unixMs)})`;
}

function num(x: number | null, digits = 4): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(digits);
}

function chip(state: string): string {
  return `<span class="chip s-${escapeHtml(state)}">${escapeHtml(state.replaceAll('-', ' '))}</span>`;
}

interface Column<T> {
  head: string;
  /** already escaped HTML */
  cell: (row: T) => string;
  numeric?: boolean;
  time?: boolean;
}

function table<T>(columns: Column<T>[], rows: readonly T[], empty: string, wide = false): string {
  const cls = (c: Column<T>): string => (c.numeric ? ' class="n"' : c.time ? ' class="t"' : '');
  const head = columns.map((c) => `<th${c.numeric ? ' class="n"' : ''}>${escapeHtml(c.head)}</th>`).join('');
  const body =
    rows.length === 0
      ? `<tr><td class="empty" colspan="${columns.length}">${escapeHtml(empty)}</td></tr>`
      : rows.map((r) => `<tr>${columns.map((c) => `<td${cls(c)}>${c.cell(r)}</td>`).join('')}</tr>`).join('\n');
  return `<table${wide ? ' class="wide"' : ''}>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** The event's own fields as key=value pairs, escaped. */
function eventDetails(event: StatusSnapshot['events'][number]): string {
  return Object.entries(event)
    .filter(([k]) => k !== 'time' && k !== 'event')
    .map(([k, v]) => `<span class="kv"><span class="key">${escapeHtml(k)}=</span>${escapeHtml(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}</span>`)
    .join(' ');
}

function clientCounts(clients: StatusSnapshot['clients']): string {
  const counts = new Map<string, number>();
  for (const c of clients) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const parts = [...counts].map(([state, n]) => `${n} ${state.replaceAll('-', ' ')}`);
  return parts.length === 0 ? 'none yet' : parts.join(', ');
}

/** The whole page; every value from the snapshot goes through escapeHtml. */
function renderPage(s: StatusSnapshot, now: number): string {
  const e = (x: string | number): string => escapeHtml(String(x));
  const clients = table(
    [
      { head: 'client', cell: (c) => e(c.id), numeric: true },
      { head: 'rank', cell: (c) => e(c.rank), numeric: true },
      { head: 'state', cell: (c) => chip(c.state) },
      { head: 'last seen', cell: (c) => e(lastSeen(c.lastSeenUnixMs, now)) },
      { head: 'accepted', cell: (c) => e(c.accepted), numeric: true },
      { head: 'rejected', cell: (c) => e(c.rejected), numeric: true },
    ],
    s.clients,
    'no clients yet',
  );
  const rounds = table(
    [
      { head: 'round', cell: (r) => e(r.round), numeric: true },
      { head: s.metricName, cell: (r) => e(num(r.metric)), numeric: true },
      { head: 'train loss', cell: (r) => e(num(r.trainLoss)), numeric: true },
      { head: 'accepted', cell: (r) => e(r.accepted), numeric: true },
      { head: 'rejected', cell: (r) => e(r.rejected), numeric: true },
      { head: 'dropped', cell: (r) => e(r.dropped), numeric: true },
      { head: 'seconds', cell: (r) => e(num(r.seconds, 3)), numeric: true },
    ],
    [...s.rounds].reverse(),
    'no round has closed yet',
  );
  const events = table(
    [
      { head: 'time', cell: (v) => e(v.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')), time: true },
      { head: 'event', cell: (v) => `<code>${e(v.event)}</code>` },
      { head: 'details', cell: eventDetails },
    ],
    [...s.events].reverse(),
    'no events yet',
    true,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${e(s.name)} · fedplora</title>
<style>${CSS}</style>
</head>
<body>
<h1>${e(s.name)}</h1>
<div class="sub">run <code>${e(s.runId)}</code> · method <strong>${e(s.method)}</strong></div>
<div class="summary">
<div><span class="k">state</span>${chip(s.state)}</div>
<div><span class="k">round</span>${e(s.round)} of ${e(s.totalRounds)}</div>
<div><span class="k">round deadline</span>${e(deadline(s.roundDeadlineUnixMs, now))}</div>
<div><span class="k">clients</span>${e(clientCounts(s.clients))}</div>
</div>
<h2>Clients</h2>
${clients}
<h2>Rounds <small>newest first</small></h2>
${rounds}
<h2>Recent events <small>newest first</small></h2>
${events}
<footer>updated ${e(clock(now))} · refreshes every ${REFRESH_SECONDS} s · <a href="/status.json">status.json</a></footer>
</body>
</html>
`;
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Inline CSS only: even if a value slipped past escaping, no script could run.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ...extra,
  });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse, snapshot: () => StatusSnapshot): void {
  const path = new URL(req.url ?? '/', 'http://status.invalid').pathname;
  if (path !== '/' && path !== '/status.json' && path !== '/healthz') {
    send(res, 404, 'text/plain', `not found: ${path}; the status page serves /, /status.json and /healthz\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', `method ${req.method} not allowed; use GET\n`, { allow: 'GET, HEAD' });
    return;
  }
  if (path === '/healthz') {
    send(res, 200, 'text/plain', 'ok\n');
    return;
  }
  let snap: StatusSnapshot;
  try {
    snap = snapshot();
  } catch (err) {
    send(res, 500, 'text/plain', `the server could not take a status snapshot: ${(err as Error).message}\n`);
    return;
  }
  if (path === '/status.json') send(res, 200, 'application/json', `${JSON.stringify(snap)}\n`);
  else send(res, 200, 'text/html', renderPage(snap, Date.now()));
}

export async function startStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const { host, snapshot } = options;
  const server = createServer((req, res) => handle(req, res, snapshot));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`the status page cannot listen on ${host}:${options.port} (${err.message}); choose another port or host`)));
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://${urlHost}:${port}/`,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Browsers hold keep-alive connections open; without this close() would wait for them to time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
