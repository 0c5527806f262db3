/**
 * One benchmark cell as `fedplora run` in a child process with one thread,
 * so cells of every method train under the same setting and two cells use
 * the two cores. A finished cell leaves `done.json` and is not run again; an
 * interrupted one continues from its last round checkpoint. Both hold the
 * digest of the cell's config and base model, so a cell whose settings or
 * model changed since runs again from the start.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** What decides a cell's result: its config without the folder it writes to, so a record stays valid in another checkout. */
export function cellDigest(cell: Cell): string {
  const { output: _folder, ...settings } = cell.config;
  return createHash('sha256').update(JSON.stringify(settings)).update(cell.model).digest('hex');
}

function digestIn(path: string): string | null {
  if (!existsSync(path)) return null;
  try {
    const d = (JSON.parse(readFileSync(path, 'utf8')) as { digest?: unknown }).digest;
    return typeof d === 'string' ? d : null;
  } catch {
    return null;
  }
}

export function isDone(cell: Cell): boolean {
  return digestIn(join(runDirOf(cell), 'done.json')) === cellDigest(cell);
}

export async function runCell(cell: Cell, root: string): Promise<CellRun> {
  const runDir = runDirOf(cell);
  if (isDone(cell)) return { cell, runDir, seconds: 0, reused: true };
  for (const d of ['configs', 'logs']) mkdirSync(join(root, d), { recursive: true });
  const configPath = join(root, 'configs', `${cell.id}.json`);
  writeFileSync(configPath, `${JSON.stringify(cell.config, null, 2)}\n`);
  const digest = cellDigest(cell);
  const resume = existsSync(join(runDir, 'checkpoints')) && digestIn(join(runDir, 'cell.json')) === digest;
  const args = [CLI, 'run', configPath, resume ? '--resume' : '--overwrite'];
  const log = createWriteStream(join(root, 'logs', `${cell.id}.log`), { flags: 'a' });
  const t0 = performance.now();
  // a fresh start clears what another config or model left, then records which cell this folder holds
  if (!resume) rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  if (!resume) writeFileSync(join(runDir, 'cell.json'), `${JSON.stringify({ id: cell.id, digest })}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, FEDPLORA_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  log.end();
  if (code !== 0) {
    const tail = existsSync(join(root, 'logs', `${cell.id}.log`))
      ? readFileSync(join(root, 'logs', `${cell.id}.log`), 'utf8')
          .trim()
          .split('\n')
          .slice(-5)
          .join('\n')
      : '';
    throw new Error(`cell ${cell.id} failed (exit ${code}); its log is ${join(root, 'logs', `${cell.id}.log`)}:\n${tail}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(runDir, 'done.json'), `${JSON.stringify({ id: cell.id, digest, seconds })}\n`);
  return { cell, runDir, seconds, reused: false };
}
