/**
 * Natural Instructions rows (`definition`, `input`, `output`), with a
 * Tk-Instruct-style prompt. `output` may be one string or a list of
 * acceptable outputs: the first is the target and all are kept as
 * references.
 */
import { rowError } from './errors.js';
import { checkText, describe, fieldValue, requireText } from './fields.js';
import type { Layout } from './layout.js';
import { compileTemplate, placeholderText, renderTemplate } from './template.js';
import type { RowContext } from './types.js';
import { at } from '../../util/checked.js';

export const NATURAL_INSTRUCTIONS_TEMPLATE = 'Definition: {definition}\n\nNow complete the following example -\nInput: {input}\nOutput:\n';

function outputs(ctx: RowContext, field: string): string[] {
  const value = fieldValue(ctx, field);
  if (value === undefined) throw rowError(ctx, field, 'missing required field');
  if (typeof value === 'string') return [checkText(ctx, field, value, { nonEmpty: 'empty target' })];
  if (!Array.isArray(value)) throw rowError(ctx, field, `expected text or a list of texts, got ${describe(value)}`);
  if (value.length === 0) throw rowError(ctx, field, 'empty list of outputs (no target)');
  return value.map((v: unknown, i) => checkText(ctx, `${field}[${i}]`, v, { nonEmpty: i === 0 ? 'empty target' : 'empty reference output' }));
}

export function naturalInstructionsLayout(template: string | undefined): Layout {
  const compiled = compileTemplate(template ?? NATURAL_INSTRUCTIONS_TEMPLATE, 'the natural-instructions prompt template');
  return {
    build(ctx) {
      const definition = requireText(ctx, 'definition', { nonEmpty: 'empty definition' });
      const input = requireText(ctx, 'input');
      const references = outputs(ctx, 'output');
      const prompt = renderTemplate(compiled, ctx, (f) => (f === 'definition' ? definition : f === 'input' ? input : placeholderText(ctx, f)), 'empty prompt');
      return { prompt, target: at(references, 0, 'reference outputs'), references };
    },
  };
}
