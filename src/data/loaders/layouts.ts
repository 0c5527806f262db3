/** Checks the options against the chosen layout and builds it (before any file is read). */
import { customLayout } from './layout-custom.js';
import { alpacaLayout, dollyLayout } from './layout-instruction.js';
import { naturalInstructionsLayout } from './layout-natural-instructions.js';
import { textLabelLayout } from './layout-text-label.js';
import type { Layout } from './layout.js';
import type { FieldMapping, LayoutName, LoadOptions } from './types.js';

export const LAYOUTS: readonly LayoutName[] = ['alpaca', 'dolly', 'natural-instructions', 'text-label', 'custom'];

const MAPPING_KEYS: readonly (keyof FieldMapping)[] = ['prompt', 'target', 'label', 'group', 'id'];

function checkMapping(layout: LayoutName, mapping: FieldMapping): void {
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) throw new Error('mapping must be an object');
  for (const [key, value] of Object.entries(mapping)) {
    if (!MAPPING_KEYS.includes(key as keyof FieldMapping)) throw new Error(`mapping: unknown key ${JSON.stringify(key)}; expected ${MAPPING_KEYS.join(', ')}`);
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new Error(`mapping.${key} must be a non-empty string`);
  }
  if (layout !== 'custom' && (mapping.prompt !== undefined || mapping.target !== undefined)) {
    throw new Error(`layout '${layout}' builds the prompt and target itself: change its prompt with the template option, or use layout 'custom'`);
  }
}

export function makeLayout(options: LoadOptions): Layout {
  if (typeof options !== 'object' || options === null) throw new Error('options with a layout are required');
  const { layout, template, verbalizer } = options;
  if (!LAYOUTS.includes(layout)) throw new Error(`unknown layout ${JSON.stringify(layout)}: expected one of ${LAYOUTS.join(', ')}`);
  const mapping = options.mapping ?? {};
  checkMapping(layout, mapping);
  if (verbalizer !== undefined && layout !== 'text-label') throw new Error("the verbalizer option is for layout 'text-label' only");
  if (template !== undefined && layout === 'custom') throw new Error("layout 'custom' takes its prompt template from mapping.prompt, not the template option");
  if (template !== undefined && typeof template !== 'string' && layout !== 'alpaca' && layout !== 'dolly') {
    throw new Error(`layout '${layout}' takes one template string; { withInput, noInput } is for 'alpaca' and 'dolly'`);
  }
  const single = typeof template === 'string' ? template : undefined;
  switch (layout) {
    case 'alpaca':
      return alpacaLayout(template);
    case 'dolly':
      return dollyLayout(template);
    case 'natural-instructions':
      return naturalInstructionsLayout(single);
    case 'text-label':
      return textLabelLayout(single, mapping.label ?? 'label', verbalizer);
    case 'custom':
      return customLayout(mapping);
  }
}
