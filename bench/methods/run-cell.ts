/**
 * One benchmark cell as `fedplora run` in a child process with one thread,
 * so cells of every method train under the same setting and two cells use
 * the two cores. A finished cell leaves `done.json` and is not run again; an
 * interrupted one continues from its last round checkpoint.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cell } from './grid.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CellRun {
  cell: Cell;
  runDir: string;
  /** seconds this call spent on it (0 when it was already done) */
  seconds: number;
  reused: boolean;
}

export function runDirOf(cell: Cell): string {
  return join(String(cell.config['output']), cell.id);
}

export function isDone(cell: Cell): boolean {
  return existsSync(join(runDirOf(cell), 'done.json'));
}

export async function runCell(cell: Cell, root: string): Promise<CellRun> {
  const runDir = runDirOf(cell);
  if (isDone(cell)) return { cell, runDir, seconds: 0, reused: true };
  for (const d of ['configs', 'logs']) mkdirSync(join(root, d), { recursive: true });
  const configPath = join(root, 'configs', `${cell.id}.json`);
  writeFileSync(configPath, JSON.stringify(cell.config, null, 2) + '\n');
  const resume = existsSync(join(runDir, 'checkpoints'));
  const args = [CLI, 'run', configPath, resume ? '--resume' : '--overwrite'];
  const log = createWriteStream(join(root, 'logs', `${cell.id}.log`), { flags: 'a' });
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, FEDPLORA_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  log.end();
  if (code !== 0) {
    const tail = existsSync(join(root, 'logs', `${cell.id}.log`)) ? readFileSync(join(root, 'logs', `${cell.id}.log`), 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    throw new Error(`cell ${cell.id} failed (exit ${code}); its log is ${join(root, 'logs', `${cell.id}.log`)}:\n${tail}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(runDir, 'done.json'), JSON.stringify({ id: cell.id, seconds }) + '\n');
  return { cell, runDir, seconds, reused: false };
}
