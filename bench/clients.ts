/**
 * One client using both cores, or two single-threaded clients at once?
 * Runs the training-step benchmark of a preset once as one process with the
 * default threads, then as two concurrent processes with one thread each,
 * and prints both throughputs and their ratio as one JSON line.
 *
 *   npm run bench:clients [-- --preset small]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const STEP = fileURLToPath(new URL('./step.js', import.meta.url));

function stepRun(preset: string, env: NodeJS.ProcessEnv): Promise<{ tokens_per_s: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STEP, '--child', '--preset', preset, '--steps', '10'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { tokens_per_s: number }) : reject(new Error(`step benchmark exited with ${code}`))));
  });
}

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'tiny' } } });
const preset = values.preset;
const one = await stepRun(preset, {});
const single = { FEDPLORA_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
const [a, b] = await Promise.all([stepRun(preset, single), stepRun(preset, single)]);
const two = a.tokens_per_s + b.tokens_per_s;
process.stdout.write(
  `${JSON.stringify({
    preset,
    one_client_all_threads_tokens_per_s: one.tokens_per_s,
    two_clients_one_thread_tokens_per_s: two,
    ratio: Math.round((two / one.tokens_per_s) * 100) / 100,
  })}\n`,
);
