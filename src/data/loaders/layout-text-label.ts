/**
 * Classification rows (`text`, `label`): the prompt is the template filled
 * with the row's text, the target a space and the label's verbalisation
 * (the label itself unless a verbalizer maps it), as in the built-in
 * classification tasks. Labels may be numbers; they are stringified.
 */
import { rowError } from './errors.js';
import { requireKey } from './fields.js';
import type { Layout } from './layout.js';
import { compileTemplate, placeholderText, renderTemplate } from './template.js';

export const TEXT_LABEL_TEMPLATE = 'Text: {text}\nLabel:';

export function textLabelLayout(template: string | undefined, labelField: string, verbalizer: Record<string, string> | undefined): Layout {
  const compiled = compileTemplate(template ?? TEXT_LABEL_TEMPLATE, 'the text-label prompt template');
  if (verbalizer !== undefined) {
    if (typeof verbalizer !== 'object' || verbalizer === null || Array.isArray(verbalizer)) throw new Error('verbalizer must be an object from label to text');
    for (const [label, words] of Object.entries(verbalizer)) {
      if (typeof words !== 'string' || words.trim() === '') throw new Error(`verbalizer: label ${JSON.stringify(label)} must map to non-empty text`);
    }
  }
  const labelTarget = (label: string): string => ` ${verbalizer?.[label] ?? label}`;
  return {
    build(ctx) {
      const label = requireKey(ctx, labelField, 'label');
      if (verbalizer !== undefined && !Object.hasOwn(verbalizer, label)) {
        throw rowError(ctx, labelField, `label ${JSON.stringify(label)} has no entry in the verbalizer`);
      }
      const prompt = renderTemplate(compiled, ctx, (f) => placeholderText(ctx, f, 'empty text'), 'empty prompt');
      return { prompt, target: labelTarget(label), label };
    },
    labelTarget,
  };
}
