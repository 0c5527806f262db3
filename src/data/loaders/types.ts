/**
 * Types of the user-data loaders: what a caller asks for and what comes back.
 */
import type { Example } from '../example.js';

/** An example read from a user's file; `references` holds every acceptable output when the source lists several. */
export interface LoadedExample extends Example {
  references?: string[];
}

export type LoaderFormat = 'jsonl' | 'csv' | 'parquet';

export type LayoutName = 'alpaca' | 'dolly' | 'natural-instructions' | 'text-label' | 'custom';

/**
 * Which fields feed which part of an example. For `custom`, `prompt` (a
 * template with {field} placeholders) and `target` (a field name, or a
 * template when it holds a placeholder) are required. The preset layouts
 * build prompt and target themselves and take only `id`, `group` and
 * `label` (for `text-label`, `label` renames the label field).
 */
export interface FieldMapping {
  prompt?: string;
  target?: string;
  label?: string;
  group?: string;
  id?: string;
}

/** Prompt templates of the instruction layouts, for rows with and without an input (Alpaca) or context (Dolly). */
export interface InstructionTemplates {
  withInput?: string;
  noInput?: string;
}

export interface LoadOptions {
  /** defaults to the file extension: .jsonl/.jsonlines/.ndjson/.json, .csv, .parquet/.pq */
  format?: LoaderFormat;
  layout: LayoutName;
  mapping?: FieldMapping;
  /** overrides the layout's prompt template; the object form is for `alpaca` and `dolly` */
  template?: string | InstructionTemplates;
  /** replaces the file's base name in default ids, and prefixes mapped ids */
  idPrefix?: string;
  /** `text-label` only: label → its verbalisation (the target is a space and the verbalisation); defaults to the label itself */
  verbalizer?: Record<string, string>;
}

export interface LoadResult {
  examples: LoadedExample[];
  /** sorted distinct labels, when the layout is `text-label` or a label field is mapped */
  labels?: string[];
  /** `text-label` only: the target text of each entry of `labels`, in the same order */
  labelTargets?: string[];
}

/** Where a row sits in its file: a 1-based line (JSONL, CSV) or a 0-based row index (Parquet). */
export interface RowLocation {
  kind: 'line' | 'row';
  index: number;
}

/** One raw record of a file, before any layout is applied. */
export interface RawRow {
  values: Record<string, unknown>;
  at: RowLocation;
}

/** A raw row together with its file, for error messages. */
export interface RowContext extends RawRow {
  file: string;
}
