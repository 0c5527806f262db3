/** Loaders for users' own data: JSONL, CSV or Parquet files, read through a layout into examples. */
export { loadExamples } from './load.js';
export { DataLoadError } from './errors.js';
export { resolveFormat } from './format.js';
export { LAYOUTS } from './layouts.js';
export { ALPACA_TEMPLATES, DOLLY_TEMPLATES } from './layout-instruction.js';
export { NATURAL_INSTRUCTIONS_TEMPLATE } from './layout-natural-instructions.js';
export { TEXT_LABEL_TEMPLATE } from './layout-text-label.js';
export { compileTemplate, type Template } from './template.js';
export type {
  FieldMapping,
  InstructionTemplates,
  LayoutName,
  LoadedExample,
  LoaderFormat,
  LoadOptions,
  LoadResult,
  RowLocation,
} from './types.js';
