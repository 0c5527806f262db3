/**
 * Select-N-Fold's choice of the r_i modules (out of R) a client trains in a
 * round: `random` (uniform without replacement, seeded by run seed, round and
 * client), `cyclic` (a window that moves by r_i every round, offset by the
 * client id) or `first` (modules 0..r_i-1, an ablation).
 */
import { at } from '../util/checked.js';
import { createRng, mixSeed } from '../util/random.js';

export type ModuleSelection = 'random' | 'cyclic' | 'first';

export function selectModules(how: ModuleSelection, R: number, r: number, seed: number, round: number, clientId: number): number[] {
  if (!Number.isInteger(r) || r < 1 || r > R) throw new Error(`a client rank of ${r} cannot select from ${R} modules`);
  switch (how) {
    case 'first':
      return Array.from({ length: r }, (_, i) => i);
    case 'cyclic': {
      const start = (round * r + clientId) % R;
      return Array.from({ length: r }, (_, i) => (start + i) % R).sort((a, b) => a - b);
    }
    case 'random': {
      const rng = createRng(mixSeed(seed, round, clientId));
      const ids = Array.from({ length: R }, (_, i) => i);
      for (let i = 0; i < r; i++) {
        const j = i + rng.int(R - i);
        [ids[i], ids[j]] = [at(ids, j, 'module ids'), at(ids, i, 'module ids')];
      }
      return ids.slice(0, r).sort((a, b) => a - b);
    }
  }
}
