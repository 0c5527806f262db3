/**
 * Prompt templates: literal text with {field} placeholders; {{ and }} stand
 * for literal braces. A template is checked when compiled (balanced braces,
 * no empty placeholder, at least one placeholder) and a placeholder naming
 * a field a row lacks is an error on that row.
 */
import { rowError } from './errors.js';
import { requireText } from './fields.js';
import type { RowContext } from './types.js';

export interface Template {
  source: string;
  /** literal text and placeholders, in order */
  parts: (string | { field: string })[];
  /** the distinct fields named, in order of first use */
  fields: string[];
}

/** `what` names the template in errors, e.g. "the text-label prompt template". */
export function compileTemplate(source: string, what: string): Template {
  if (typeof source !== 'string') throw new Error(`${what} must be a string`);
  const parts: Template['parts'] = [];
  const fields: string[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const c = source.charAt(i);
    if ((c === '{' || c === '}') && source[i + 1] === c) {
      literal += c;
      i += 2;
    } else if (c === '}') {
      throw new Error(`${what}: unmatched "}" at position ${i} (write "}}" for a literal brace): ${JSON.stringify(source)}`);
    } else if (c === '{') {
      const close = source.indexOf('}', i + 1);
      const open = source.indexOf('{', i + 1);
      if (close < 0 || (open >= 0 && open < close)) {
        throw new Error(`${what}: unclosed "{" at position ${i} (write "{{" for a literal brace): ${JSON.stringify(source)}`);
      }
      const field = source.slice(i + 1, close).trim();
      if (field === '') throw new Error(`${what}: empty placeholder "{}" at position ${i}: ${JSON.stringify(source)}`);
      if (literal) parts.push(literal);
      literal = '';
      parts.push({ field });
      if (!fields.includes(field)) fields.push(field);
      i = close + 1;
    } else {
      literal += c;
      i++;
    }
  }
  if (literal) parts.push(literal);
  if (fields.length === 0) throw new Error(`${what} has no {field} placeholder, so every example would get the same prompt: ${JSON.stringify(source)}`);
  return { source, parts, fields };
}

/**
 * Fills the placeholders with `textOf(field)`, which reads and checks the
 * field. The result must not be blank: an error names the template's fields.
 */
export function renderTemplate(template: Template, ctx: RowContext, textOf: (field: string) => string, emptyProblem: string): string {
  let out = '';
  for (const part of template.parts) out += typeof part === 'string' ? part : textOf(part.field);
  if (out.trim() === '') throw rowError(ctx, template.fields, emptyProblem);
  return out;
}

/** Reads a field a placeholder names: present text, non-empty when `nonEmpty` gives the problem text. */
export function placeholderText(ctx: RowContext, field: string, nonEmpty?: string, templateName = 'prompt template'): string {
  return requireText(ctx, field, { requiredBy: `named by the {${field}} placeholder of the ${templateName}`, ...(nonEmpty !== undefined && { nonEmpty }) });
}
