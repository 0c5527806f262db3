/** Which clients take part in a round: a seeded draw without replacement, a function of (seed, round) only. */
import { at } from '../util/checked.js';
import { createRng, mixSeed } from '../util/random.js';

export function sampleClients(numClients: number, perRound: number, seed: number, round: number): number[] {
  if (!Number.isInteger(perRound) || perRound < 1 || perRound > numClients) {
    throw new Error(`cannot sample ${perRound} of ${numClients} clients per round`);
  }
  const rng = createRng(mixSeed(seed, round, 0x5a3f));
  const ids = Array.from({ length: numClients }, (_, i) => i);
  for (let i = 0; i < perRound; i++) {
    const j = i + rng.int(numClients - i);
    const picked = at(ids, j, 'client ids');
    ids[j] = at(ids, i, 'client ids');
    ids[i] = picked;
  }
  return ids.slice(0, perRound).sort((a, b) => a - b);
}
