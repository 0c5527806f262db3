/**
 * `npm run demo:network`: the demo config served over gRPC on loopback to
 * four client processes (hosting the ten clients between them), started
 * here with tokens made for the occasion. Clients train single-threaded,
 * as `npm start`'s worker processes do, so the run ends with the same
 * final metric as `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const HOSTED = ['0,4,8', '1,5,9', '2,6', '3,7'];

function start(args: string[], onLine: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', onLine);
  return child;
}

const exited = (child: ChildProcess): Promise<number> => new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));

/** Server events worth a line in the demo's output; everything is in events.jsonl. */
function describe(e: Record<string, unknown>): string | null {
  switch (e['event']) {
    case 'server_started':
      return `server listening at ${e['url']} (status page ${e['status']})`;
    case 'client_joined':
      return `client ${e['client']} joined (rank ${e['rank']}, ${e['examples']} examples)`;
    case 'round_opened':
      return `round ${e['round']} opened for clients ${(e['clients'] as number[]).join(',')}`;
    case 'round_closed':
      return `round ${e['round']} closed: ${e['accepted']} accepted, ${e['rejected']} rejected, ${e['dropped']} dropped`;
    case 'result_rejected':
      return `client ${e['client']}'s result refused: ${e['reason']}`;
    case 'client_dropped':
      return `client ${e['client']} dropped: ${e['reason']}`;
    case 'round_finished':
      return e['metric'] === null ? null : `round ${e['round']}: ${e['metric_name']} ${Number(e['metric']).toFixed(4)}`;
    case 'run_finished':
      return `run finished`;
    default:
      return null;
  }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-demo-network-'));
  const store = join(dir, 'tokens.json');
  const tokenLines: string[] = [];
  const tokens = start(['tokens', 'create', '--store', store, '--client-id', '0-9'], (l) => void (/^\d+\t/.test(l) && tokenLines.push(l)));
  if ((await exited(tokens)) !== 0) throw new Error('could not create the demo tokens');
  const tokenFile = join(dir, 'tokens.tsv');
  writeFileSync(tokenFile, `${tokenLines.join('\n')}\n`, { mode: 0o600 });

  const clients: ChildProcess[] = [];
  let url: Promise<string> | null = null;
  let gotUrl: (u: string) => void = () => {};
  url = new Promise((resolve) => (gotUrl = resolve));
  const server = start(
    ['serve', 'configs/demo.yaml', '--set', 'name=demo-network', '--tokens', store, '--port', '0', '--status-port', '0', '--overwrite'],
    (line) => {
      if (!line.startsWith('{')) return void process.stdout.write(`${line}\n`);
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['event'] === 'server_started') gotUrl(String(e['url']));
      const text = describe(e);
      if (text) process.stdout.write(`[server] ${text}\n`);
    },
  );
  const stopAll = (): void => {
    for (const c of [server, ...clients]) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.once('SIGINT', stopAll);
  const address = await Promise.race([url, exited(server).then((code) => Promise.reject(new Error(`the server exited with code ${code} before listening`)))]);
  HOSTED.forEach((ids, k) => {
    clients.push(
      start(['join', '--server', address, '--client-id', ids, '--token-file', tokenFile, '--threads', '1'], (line) => {
        // Per-round client lines are many; joins, refusals and the end are shown.
        if (!/: round \d+: trained/.test(line)) process.stdout.write(`[process ${k + 1}] ${line}\n`);
      }),
    );
  });
  const code = await exited(server);
  const codes = await Promise.all(clients.map(exited));
  return code !== 0 ? code : (codes.find((c) => c !== 0) ?? 0);
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`demo:network: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
