/**
 * Round checkpoints: the method's state (tensors and JSON), the global
 * adapter in PEFT format and the metrics so far, written to a temporary
 * folder and renamed into place, so a killed run never leaves half a
 * checkpoint. Sampling and local training are seeded by (seed, round), so
 * the round number is all the runner itself needs to resume.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { savePeftAdapter } from '../lora/peft.js';
import type { ServerMethod } from '../methods/method.js';
import { decodePayload, encodePayload } from '../methods/payload.js';

export interface RunState {
  /** rounds completed */
  round: number;
  method: string;
  metrics: unknown[];
}

const PREFIX = 'round-';

export function saveCheckpoint(runDir: string, state: RunState, server: ServerMethod, keep = 2): string {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = `${PREFIX}${String(state.round).padStart(5, '0')}`;
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSync(join(tmp, 'server-state.safetensors'), encodePayload(server.saveState()));
  const adapter = server.exportAdapter();
  if (adapter) savePeftAdapter(join(tmp, 'adapter'), adapter, { metadata: { round: String(state.round), method: state.method } });
  writeFileSync(join(tmp, 'run-state.json'), `${JSON.stringify(state)}\n`);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  // Older checkpoints beyond `keep` are removed only after the new one is in place.
  const all = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/** Rounds completed by the newest complete checkpoint (0 when the run has none), read without loading any state. */
export function checkpointedRounds(runDir: string): number {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return 0;
  const latest = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .sort()
    .at(-1);
  if (!latest) return 0;
  return (JSON.parse(readFileSync(join(root, latest, 'run-state.json'), 'utf8')) as RunState).round;
}

/** The newest complete checkpoint, or null when the run has none. */
export function loadLatestCheckpoint(runDir: string, server: ServerMethod): RunState | null {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return null;
  const names = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .sort();
  const latest = names.at(-1);
  if (!latest) return null;
  const dir = join(root, latest);
  const state = JSON.parse(readFileSync(join(dir, 'run-state.json'), 'utf8')) as RunState;
  if (state.method !== server.name) throw new Error(`${dir} is a checkpoint of ${state.method}, not ${server.name}`);
  server.loadState(decodePayload(readFileSync(join(dir, 'server-state.safetensors')), join(dir, 'server-state.safetensors')));
  return state;
}
