/**
 * Instruction layouts with an optional input: Alpaca (`instruction`,
 * `input`, `output`) and Dolly (`instruction`, `context`, `response`, and
 * `category` as the group). Both use the Alpaca prompt format, with its
 * variant for rows whose input is absent or blank. The response header is
 * followed by a newline (as in alpaca-lora), so the target is the output
 * as it stands.
 */
import { optionalText, requireText } from './fields.js';
import type { Layout } from './layout.js';
import { compileTemplate, placeholderText, renderTemplate, type Template } from './template.js';
import type { InstructionTemplates } from './types.js';

interface InstructionFields {
  name: string;
  instruction: string;
  input: string;
  output: string;
  /** a text field used as the group when present */
  group?: string;
}

const ALPACA_FIELDS: InstructionFields = { name: 'alpaca', instruction: 'instruction', input: 'input', output: 'output' };
const DOLLY_FIELDS: InstructionFields = { name: 'dolly', instruction: 'instruction', input: 'context', output: 'response', group: 'category' };

function alpacaTemplates(input: string): Required<InstructionTemplates> {
  return {
    withInput:
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n' +
      `### Instruction:\n{instruction}\n\n### Input:\n{${input}}\n\n### Response:\n`,
    noInput:
      'Below is an instruction that describes a task. ' +
      'Write a response that appropriately completes the request.\n\n' +
      '### Instruction:\n{instruction}\n\n### Response:\n',
  };
}

export const ALPACA_TEMPLATES = alpacaTemplates(ALPACA_FIELDS.input);
export const DOLLY_TEMPLATES = alpacaTemplates(DOLLY_FIELDS.input);

function instructionLayout(fields: InstructionFields, override: string | InstructionTemplates | undefined): Layout {
  const defaults = alpacaTemplates(fields.input);
  const chosen: Required<InstructionTemplates> =
    typeof override === 'string'
      ? { withInput: override, noInput: override }
      : { withInput: override?.withInput ?? defaults.withInput, noInput: override?.noInput ?? defaults.noInput };
  const withInput = compileTemplate(chosen.withInput, `the ${fields.name} prompt template for rows with ${fields.input}`);
  const noInput = compileTemplate(chosen.noInput, `the ${fields.name} prompt template for rows without ${fields.input}`);
  if (!withInput.fields.includes(fields.input)) {
    throw new Error(
      `the ${fields.name} prompt template for rows with ${fields.input} has no {${fields.input}} placeholder, so the ${fields.input} would be dropped`,
    );
  }
  return {
    build(ctx) {
      const instruction = requireText(ctx, fields.instruction, { nonEmpty: 'empty instruction' });
      const input = optionalText(ctx, fields.input) ?? '';
      const target = requireText(ctx, fields.output, { nonEmpty: 'empty target' });
      const template: Template = input.trim() === '' ? noInput : withInput;
      const prompt = renderTemplate(
        template,
        ctx,
        (f) => (f === fields.instruction ? instruction : f === fields.input ? input : placeholderText(ctx, f)),
        'empty prompt',
      );
      const group = fields.group === undefined ? undefined : optionalText(ctx, fields.group);
      return { prompt, target, ...(group !== undefined && group.trim() !== '' && { group }) };
    },
  };
}

export function alpacaLayout(template: string | InstructionTemplates | undefined): Layout {
  return instructionLayout(ALPACA_FIELDS, template);
}

export function dollyLayout(template: string | InstructionTemplates | undefined): Layout {
  return instructionLayout(DOLLY_FIELDS, template);
}
