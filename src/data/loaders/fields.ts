/**
 * Typed access to a raw row's fields. Text fields must hold strings; keys
 * (label, id, group) may also be numbers, integers or booleans, which are
 * stringified. A null counts as absent. Only a row's own properties are
 * fields, so names like "constructor" are not found on every row.
 */
import { rowError } from './errors.js';
import type { RowContext } from './types.js';

export function fieldValue(ctx: RowContext, field: string): unknown {
  const value = Object.hasOwn(ctx.values, field) ? ctx.values[field] : undefined;
  return value === null ? undefined : value;
}

export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'bigint') return `a number (${value})`;
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  return typeof value;
}

export interface TextRule {
  /** reject an empty or whitespace-only string, with this problem text */
  nonEmpty?: string;
  /** explains why the field is required, in the "missing" message */
  requiredBy?: string;
}

/** A text field that must be present. */
export function requireText(ctx: RowContext, field: string, rule: TextRule = {}): string {
  const value = fieldValue(ctx, field);
  if (value === undefined) throw rowError(ctx, field, `missing required field${rule.requiredBy ? ` (${rule.requiredBy})` : ''}`);
  return checkText(ctx, field, value, rule);
}

/** A text field that may be absent (undefined when it is). */
export function optionalText(ctx: RowContext, field: string): string | undefined {
  const value = fieldValue(ctx, field);
  return value === undefined ? undefined : checkText(ctx, field, value, {});
}

export function checkText(ctx: RowContext, field: string, value: unknown, rule: TextRule): string {
  if (typeof value !== 'string') throw rowError(ctx, field, `expected text, got ${describe(value)}`);
  if (rule.nonEmpty !== undefined && value.trim() === '') throw rowError(ctx, field, rule.nonEmpty);
  return value;
}

/** A key field (label, id, group) that must be present: text, or a number or boolean stringified. */
export function requireKey(ctx: RowContext, field: string, what: string): string {
  const value = fieldValue(ctx, field);
  if (value === undefined) throw rowError(ctx, field, `missing required field (the ${what})`);
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'bigint' || typeof value === 'boolean') text = String(value);
  else throw rowError(ctx, field, `expected text or a number for the ${what}, got ${describe(value)}`);
  if (text.trim() === '') throw rowError(ctx, field, `empty ${what}`);
  return text;
}
