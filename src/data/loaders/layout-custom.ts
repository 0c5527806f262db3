/**
 * A declared mapping: `prompt` is a template with {field} placeholders,
 * `target` a field name, or a template when it holds a placeholder.
 * Placeholders must name text fields that every row has (they may be
 * empty); the target must not be blank.
 */
import { requireText } from './fields.js';
import type { Layout } from './layout.js';
import { compileTemplate, placeholderText, renderTemplate } from './template.js';
import type { FieldMapping } from './types.js';

export function customLayout(mapping: FieldMapping): Layout {
  if (typeof mapping.prompt !== 'string') throw new Error('layout \'custom\' needs mapping.prompt, a template such as "Question: {question}\\nAnswer:"');
  if (typeof mapping.target !== 'string' || mapping.target === '') throw new Error("layout 'custom' needs mapping.target, a field name or a template");
  const prompt = compileTemplate(mapping.prompt, 'the custom prompt template (mapping.prompt)');
  const targetField = mapping.target;
  const target = /[{}]/.test(targetField) ? compileTemplate(targetField, 'the custom target template (mapping.target)') : undefined;
  return {
    build(ctx) {
      return {
        prompt: renderTemplate(prompt, ctx, (f) => placeholderText(ctx, f), 'empty prompt'),
        target:
          target === undefined
            ? requireText(ctx, targetField, { nonEmpty: 'empty target' })
            : renderTemplate(target, ctx, (f) => placeholderText(ctx, f, undefined, 'target template'), 'empty target'),
      };
    },
  };
}
