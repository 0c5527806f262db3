/**
 * `fedplora serve CONFIG.yaml`: a federation server that clients join over
 * the network (`fedplora join`). It prints one JSON line per event and, at
 * the end, the same summary as `fedplora run`. SIGINT or SIGTERM stops it
 * between checkpoints; `--resume` continues the run with the same clients.
 */
import type { Command } from 'commander';
import { loadRunConfig } from '../experiment/config.js';
import { serveRun } from '../experiment/serve-run.js';
import { prepareRunDir, writeRunOutputs } from './run-outputs.js';

interface ServeFlags {
  set: string[];
  resume?: boolean;
  overwrite?: boolean;
  host?: string;
  port?: string;
  statusPort?: string;
  tokens?: string;
  tlsCert?: string;
  tlsKey?: string;
  precision?: string;
}

/** Command-line flags are config overrides of the `server` section. */
function flagOverrides(f: ServeFlags): string[] {
  const sets: string[] = [];
  if (f.host !== undefined) sets.push(`server.host=${JSON.stringify(f.host)}`);
  if (f.port !== undefined) sets.push(`server.port=${f.port}`);
  if (f.statusPort !== undefined) sets.push(`server.statusPort=${f.statusPort === 'off' ? 'null' : f.statusPort}`);
  if (f.tokens !== undefined) sets.push(`server.tokens=${JSON.stringify(f.tokens)}`);
  if (f.precision !== undefined) sets.push(`precision=${f.precision}`);
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new Error('give both --tls-cert and --tls-key, or neither');
  if (f.tlsCert !== undefined) sets.push(`server.tls={cert: ${JSON.stringify(f.tlsCert)}, key: ${JSON.stringify(f.tlsKey)}}`);
  return sets;
}

export async function serveFromConfig(configPath: string | undefined, f: ServeFlags): Promise<string> {
  const config = await loadRunConfig(configPath, [...f.set, ...flagOverrides(f)]);
  const dir = prepareRunDir(config, f);
  const stopper = new AbortController();
  let stops = 0;
  const onSignal = (): void => {
    // A second signal does not wait for the graceful stop.
    if (++stops > 1) process.exit(130);
    stopper.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { metrics, experiment } = await serveRun(config, {
      runDir: dir,
      resume: Boolean(f.resume),
      signal: stopper.signal,
      echo: (line) => process.stdout.write(`${line}\n`),
    });
    await writeRunOutputs(dir, config, experiment.method, metrics);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return dir;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a federated run that clients join over the network (gRPC)')
    .argument('[config]', 'run config (YAML); its `server` section says where to listen and how rounds wait')
    .option('--set <key=value>', 'override a config value (repeatable; values are YAML)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--precision <p>', "the server's frozen base: fp32, bf16 or int8 (config key precision)")
    .option('--resume', 'continue the run in the run folder from its last checkpoint')
    .option('--overwrite', 'replace an existing run in the run folder')
    .option('--host <address>', 'address to listen on (server.host; 0.0.0.0 for every interface)')
    .option('--port <n>', 'gRPC port (server.port; 0 picks a free one)')
    .option('--status-port <n>', 'HTTP status page port (server.statusPort; "off" for none)')
    .option('--tokens <file>', 'the token store made by `fedplora tokens create` (server.tokens)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve over TLS')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .action(async (configPath: string | undefined, f: ServeFlags) => {
      await serveFromConfig(configPath, f);
    });
}
