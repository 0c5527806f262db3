import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile, type ColumnSource } from 'hyparquet-writer';
import { DataLoadError, loadExamples, type LoadedExample, type LoaderFormat, type LoadOptions } from '../src/data/loaders/index.js';
import { at } from '../src/util/checked.js';

const dir = mkdtempSync(join(tmpdir(), 'fedplora-loaders-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, unknown>;

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes rows in a format; returns the path and each row's location (line or row index). */
function writeRows(name: string, format: LoaderFormat, rows: Row[]): { path: string; at: number[] } {
  const path = join(dir, `${name}.${format}`);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (format === 'jsonl') {
    writeFileSync(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return { path, at: rows.map((_r, i) => i + 1) };
  }
  if (format === 'csv') {
    const lines = [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))];
    writeFileSync(path, `${lines.join('\n')}\n`);
    return { path, at: rows.map((_r, i) => i + 2) };
  }
  const columnData: ColumnSource[] = columns.map((name) => {
    const data = rows.map((r) => r[name] ?? null);
    const sample = data.find((v) => v !== null);
    if (typeof sample === 'string') return { name, data, type: 'STRING' };
    if (typeof sample === 'number') return { name, data, type: data.every((v) => v === null || Number.isInteger(v)) ? 'INT32' : 'DOUBLE' };
    return { name, data };
  });
  parquetWriteFile({ filename: path, columnData });
  return { path, at: rows.map((_r, i) => i) };
}

const FORMATS: LoaderFormat[] = ['jsonl', 'csv', 'parquet'];

const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate to French.\n\n### Input:\nGood morning\n\n### Response:\n';
const ALPACA_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\nName a primary colour.\n\n### Response:\n';

/** Per layout: rows, options and the expected examples without their ids. */
const CASES: { layout: string; rows: Row[]; options: LoadOptions; expected: Omit<LoadedExample, 'id'>[]; labels?: string[]; labelTargets?: string[] }[] = [
  {
    layout: 'alpaca',
    rows: [
      { instruction: 'Translate to French.', input: 'Good morning', output: 'Bonjour' },
      { instruction: 'Name a primary colour.', input: '', output: 'Red, "of course"' },
    ],
    options: { layout: 'alpaca' },
    expected: [
      { prompt: ALPACA_WITH_INPUT, target: 'Bonjour' },
      { prompt: ALPACA_NO_INPUT, target: 'Red, "of course"' },
    ],
  },
  {
    layout: 'dolly',
    rows: [
      { instruction: 'Translate to French.', context: 'Good morning', response: 'Bonjour', category: 'open_qa' },
      { instruction: 'Name a primary colour.', context: '', response: 'Blue\nor red', category: 'brainstorming' },
    ],
    options: { layout: 'dolly' },
    expected: [
      { prompt: ALPACA_WITH_INPUT, target: 'Bonjour', group: 'open_qa' },
      { prompt: ALPACA_NO_INPUT, target: 'Blue\nor red', group: 'brainstorming' },
    ],
  },
  {
    layout: 'natural-instructions',
    rows: [
      { definition: 'Answer the arithmetic question.', input: '2 + 2', output: '4' },
      { definition: 'Give the capital.', input: 'France', output: 'Paris' },
    ],
    options: { layout: 'natural-instructions' },
    expected: [
      {
        prompt: 'Definition: Answer the arithmetic question.\n\nNow complete the following example -\nInput: 2 + 2\nOutput:\n',
        target: '4',
        references: ['4'],
      },
      { prompt: 'Definition: Give the capital.\n\nNow complete the following example -\nInput: France\nOutput:\n', target: 'Paris', references: ['Paris'] },
    ],
  },
  {
    layout: 'text-label',
    rows: [
      { text: 'A delight from start to finish.', label: 'positive' },
      { text: 'Dull, and far too long.', label: 'negative' },
      { text: 'Loved it.', label: 'positive' },
    ],
    options: { layout: 'text-label' },
    expected: [
      { prompt: 'Text: A delight from start to finish.\nLabel:', target: ' positive', label: 'positive' },
      { prompt: 'Text: Dull, and far too long.\nLabel:', target: ' negative', label: 'negative' },
      { prompt: 'Text: Loved it.\nLabel:', target: ' positive', label: 'positive' },
    ],
    labels: ['negative', 'positive'],
    labelTargets: [' negative', ' positive'],
  },
  {
    layout: 'custom',
    rows: [
      { q: 'What is 2+2?', a: '4', topic: 'maths' },
      { q: 'Capital of Peru?', a: 'Lima', topic: 'geography' },
    ],
    options: { layout: 'custom', mapping: { prompt: 'Q: {q}\nTopic: {topic}\nA:', target: ' {a}', group: 'topic' } },
    expected: [
      { prompt: 'Q: What is 2+2?\nTopic: maths\nA:', target: ' 4', group: 'maths' },
      { prompt: 'Q: Capital of Peru?\nTopic: geography\nA:', target: ' Lima', group: 'geography' },
    ],
  },
];

for (const c of CASES) {
  for (const format of FORMATS) {
    test(`${c.layout} layout from ${format}: exact prompts, targets and default ids`, async () => {
      const { path, at } = writeRows(`${c.layout}-ok`, format, c.rows);
      const result = await loadExamples(path, c.options);
      const expected = c.expected.map((e, i) => ({ id: `${c.layout}-ok.${format}:${at[i]}`, ...e }));
      assert.deepEqual(result.examples, expected);
      assert.deepEqual(result.labels, c.labels);
      assert.deepEqual(result.labelTargets, c.labelTargets);
    });
  }
}

test('alpaca: an absent or null input takes the no-input template; templates are overridable', async () => {
  const path = join(dir, 'alpaca-absent.jsonl');
  writeFileSync(
    path,
    [
      { instruction: 'Name a primary colour.', output: 'Red' },
      { instruction: 'Name a primary colour.', input: null, output: 'Blue' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const { examples } = await loadExamples(path, { layout: 'alpaca' });
  assert.deepEqual(
    examples.map((e) => e.prompt),
    [ALPACA_NO_INPUT, ALPACA_NO_INPUT],
  );

  const both = await loadExamples(path, { layout: 'alpaca', template: '<{instruction}|{input}>' });
  assert.deepEqual(
    both.examples.map((e) => e.prompt),
    ['<Name a primary colour.|>', '<Name a primary colour.|>'],
  );
  const noInput = await loadExamples(path, { layout: 'alpaca', template: { noInput: 'User: {instruction}\nAssistant:' }, idPrefix: 'mine' });
  assert.deepEqual(noInput.examples[0], { id: 'mine:1', prompt: 'User: Name a primary colour.\nAssistant:', target: 'Red' });
  await assert.rejects(loadExamples(path, { layout: 'alpaca', template: { withInput: '{instruction}' } }), {
    message: 'the alpaca prompt template for rows with input has no {input} placeholder, so the input would be dropped',
  });
});

test('natural-instructions: a list of outputs gives the first as target and all as references (JSONL and Parquet lists)', async () => {
  const rows = [{ definition: 'Name a synonym.', input: 'big', output: ['large', 'huge', 'vast'] }];
  for (const format of ['jsonl', 'parquet'] as const) {
    const { path } = writeRows('ni-list', format, rows);
    const { examples } = await loadExamples(path, { layout: 'natural-instructions' });
    const first = at(examples, 0, 'loaded examples');
    assert.equal(first.target, 'large');
    assert.deepEqual(first.references, ['large', 'huge', 'vast']);
  }
});

test('text-label: numeric labels are stringified, labels sorted, the verbalizer gives the targets', async () => {
  const rows = [
    { sentence: 'Great.', stars: 2 },
    { sentence: 'Awful.', stars: 0 },
    { sentence: 'Fine.', stars: 1 },
  ];
  for (const format of FORMATS) {
    const { path } = writeRows('stars', format, rows);
    const result = await loadExamples(path, {
      layout: 'text-label',
      template: 'Review: {sentence}\nSentiment:',
      mapping: { label: 'stars' },
      verbalizer: { '0': 'bad', '1': 'okay', '2': 'good' },
    });
    assert.deepEqual(
      result.examples.map((e) => [e.prompt, e.target, e.label]),
      [
        ['Review: Great.\nSentiment:', ' good', '2'],
        ['Review: Awful.\nSentiment:', ' bad', '0'],
        ['Review: Fine.\nSentiment:', ' okay', '1'],
      ],
    );
    assert.deepEqual(result.labels, ['0', '1', '2']);
    assert.deepEqual(result.labelTargets, [' bad', ' okay', ' good']);
  }
});

test('custom: mapped ids, labels and groups; target as a plain field; {{ }} escapes', async () => {
  const rows = [
    { uid: 17, body: 'Buy now!!!', kind: 'spam', source: 'mail' },
    { uid: 18, body: 'Lunch at noon?', kind: 'ham', source: 'chat' },
  ];
  for (const format of FORMATS) {
    const { path } = writeRows('custom-mapped', format, rows);
    const result = await loadExamples(path, {
      layout: 'custom',
      mapping: { prompt: '{{message}}: {body}\n=>', target: 'kind', id: 'uid', label: 'kind', group: 'source' },
    });
    assert.deepEqual(result.examples, [
      { id: '17', prompt: '{message}: Buy now!!!\n=>', target: 'spam', label: 'spam', group: 'mail' },
      { id: '18', prompt: '{message}: Lunch at noon?\n=>', target: 'ham', label: 'ham', group: 'chat' },
    ]);
    assert.deepEqual(result.labels, ['ham', 'spam']);
    assert.equal(result.labelTargets, undefined);
    const prefixed = await loadExamples(path, { layout: 'custom', mapping: { prompt: '{body}', target: 'kind', id: 'uid' }, idPrefix: 'sms' });
    assert.deepEqual(
      prefixed.examples.map((e) => e.id),
      ['sms:17', 'sms:18'],
    );
  }
});

test('format comes from the extension or the explicit option', async () => {
  const path = join(dir, 'data.txt');
  writeFileSync(path, '{"text":"hi","label":"x"}\n');
  await assert.rejects(loadExamples(path, { layout: 'text-label' }), /data\.txt: cannot tell the format from the extension "\.txt"/);
  const { examples } = await loadExamples(path, { layout: 'text-label', format: 'jsonl' });
  assert.deepEqual(examples, [{ id: 'data.txt:1', prompt: 'Text: hi\nLabel:', target: ' x', label: 'x' }]);
  const json = join(dir, 'data.json');
  writeFileSync(json, '{"text":"hi","label":"x"}\n');
  assert.equal((await loadExamples(json, { layout: 'text-label' })).examples.length, 1);
});

/** Asserts the load fails with exactly this message and a DataLoadError naming the field. */
async function rejectsWith(path: string, options: LoadOptions, message: string | RegExp, fields?: string[]): Promise<void> {
  await assert.rejects(loadExamples(path, options), (e: unknown) => {
    assert.ok(e instanceof DataLoadError, `expected a DataLoadError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.file, path);
    if (fields) assert.deepEqual(e.fields, fields);
    return true;
  });
}

function write(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('JSONL errors name the file and line: invalid JSON, not an object, a JSON array file', async () => {
  const bad = write('bad.jsonl', '{"text":"a","label":"x"}\n\n{"text": "b", "label": }\n');
  await rejectsWith(bad, { layout: 'text-label' }, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3: invalid JSON: `));
  const arr = write('arr.jsonl', '{"text":"a","label":"x"}\r\n[1, 2]\r\n');
  await rejectsWith(arr, { layout: 'text-label' }, `${arr} line 2: expected a JSON object, got an array`);
  const whole = write('whole.json', '[\n  {"text": "a", "label": "x"}\n]\n');
  await rejectsWith(whole, { layout: 'text-label' }, /whole\.json line 1: invalid JSON: .*looks like one JSON array/);
});

test('row errors name the file, the line and the field: missing, wrong type, empty target', async () => {
  const missing = write('missing.jsonl', ['{"instruction":"a","output":"b"}', '{"instruction":"c","input":"d"}'].join('\n'));
  await rejectsWith(missing, { layout: 'alpaca' }, `${missing} line 2, field "output": missing required field`, ['output']);
  const number = write('number.jsonl', '{"instruction":42,"output":"b"}\n');
  await rejectsWith(number, { layout: 'alpaca' }, `${number} line 1, field "instruction": expected text, got a number (42)`, ['instruction']);
  const input = write('input.jsonl', '{"instruction":"a","input":["x"],"output":"b"}\n');
  await rejectsWith(input, { layout: 'alpaca' }, `${input} line 1, field "input": expected text, got an array`);
  const empty = write('empty-target.jsonl', '{"instruction":"a","output":"b"}\n{"instruction":"a","output":"  "}\n');
  await rejectsWith(empty, { layout: 'alpaca' }, `${empty} line 2, field "output": empty target`, ['output']);
  const dolly = write('dolly-empty.jsonl', '{"instruction":"a","context":"","response":""}\n');
  await rejectsWith(dolly, { layout: 'dolly' }, `${dolly} line 1, field "response": empty target`);
  const ni = write('ni-bad.jsonl', '{"definition":"d","input":"i","output":["ok", 3]}\n');
  await rejectsWith(ni, { layout: 'natural-instructions' }, `${ni} line 1, field "output[1]": expected text, got a number (3)`);
  const niEmpty = write('ni-empty.jsonl', '{"definition":"d","input":"i","output":[]}\n');
  await rejectsWith(niEmpty, { layout: 'natural-instructions' }, `${niEmpty} line 1, field "output": empty list of outputs (no target)`);
  const label = write('label.jsonl', '{"text":"a","label":{"name":"x"}}\n');
  await rejectsWith(label, { layout: 'text-label' }, `${label} line 1, field "label": expected text or a number for the label, got an object`);
  const text = write('text.jsonl', '{"text":"","label":"x"}\n');
  await rejectsWith(text, { layout: 'text-label' }, `${text} line 1, field "text": empty text`);
  const verb = write('verb.jsonl', '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
  await rejectsWith(verb, { layout: 'text-label', verbalizer: { x: 'ex' } }, `${verb} line 2, field "label": label "y" has no entry in the verbalizer`);
});

test('templates: a placeholder naming an absent field is an error on that row; syntax is checked before reading', async () => {
  const path = write('tmpl.jsonl', '{"q":"a","a":"b","hint":"h"}\n{"q":"c","a":"d"}\n');
  await rejectsWith(
    path,
    { layout: 'custom', mapping: { prompt: '{q} ({hint})', target: 'a' } },
    `${path} line 2, field "hint": missing required field (named by the {hint} placeholder of the prompt template)`,
  );
  await rejectsWith(
    path,
    { layout: 'custom', mapping: { prompt: '{q}', target: '{a} {hint}' } },
    `${path} line 2, field "hint": missing required field (named by the {hint} placeholder of the target template)`,
  );
  const blank = write('tmpl-blank.jsonl', '{"q":"a","a":"b"}\n{"q":" ","a":"d"}\n');
  await rejectsWith(blank, { layout: 'custom', mapping: { prompt: '{q}', target: 'a' } }, `${blank} line 2, field "q": empty prompt`);
  await assert.rejects(loadExamples(join(dir, 'never-read.jsonl'), { layout: 'custom', mapping: { prompt: 'Q: {q', target: 'a' } }), {
    message: 'the custom prompt template (mapping.prompt): unclosed "{" at position 3 (write "{{" for a literal brace): "Q: {q"',
  });
  await assert.rejects(loadExamples(join(dir, 'never-read.jsonl'), { layout: 'text-label', template: 'no placeholder' }), /has no \{field\} placeholder/);
  await assert.rejects(loadExamples(join(dir, 'never-read.jsonl'), { layout: 'alpaca', mapping: { prompt: '{x}' } }), /builds the prompt and target itself/);
  await assert.rejects(loadExamples(join(dir, 'never-read.jsonl'), { layout: 'custom', mapping: { target: 'a' } }), /needs mapping\.prompt/);
});

test('duplicate mapped ids are an error naming both places', async () => {
  const rows = [
    { id: 'a', text: 'x', label: 'p' },
    { id: 'b', text: 'y', label: 'q' },
    { id: 'a', text: 'z', label: 'p' },
  ];
  for (const format of FORMATS) {
    const { path, at } = writeRows('dup', format, rows);
    const kind = format === 'parquet' ? 'row' : 'line';
    await rejectsWith(
      path,
      { layout: 'text-label', mapping: { id: 'id' } },
      `${path} ${kind} ${at[2]}, field "id": duplicate id "a" (first at ${kind} ${at[0]})`,
      ['id'],
    );
  }
});

test('CSV: line numbers survive quoted newlines, CRLF and blank lines; ragged rows and duplicate headers are errors', async () => {
  const csv = write('lines.csv', '\ufeffinstruction,input,output\r\n"multi\r\nline",,one\r\n\r\nsecond,,two\r\nthird,,\r\n');
  await rejectsWith(csv, { layout: 'alpaca' }, `${csv} line 6, field "output": empty target`);
  const ok = write('lines-ok.csv', 'instruction,input,output\n"multi\nline",,one\n\nsecond,,two\n');
  assert.deepEqual(
    (await loadExamples(ok, { layout: 'alpaca' })).examples.map((e) => e.id),
    ['lines-ok.csv:2', 'lines-ok.csv:5'],
  );
  const ragged = write('ragged.csv', 'text,label\n"a\nb",x\nc\n');
  await rejectsWith(ragged, { layout: 'text-label' }, /ragged\.csv line 4: invalid CSV: /);
  const dup = write('dup-header.csv', 'text,label,text\na,x,b\n');
  await rejectsWith(dup, { layout: 'text-label' }, `${dup} line 1, field "text": duplicate column name in the header`);
  const noColumn = write('no-column.csv', 'text,category\na,x\n');
  await rejectsWith(noColumn, { layout: 'text-label' }, `${noColumn} line 2, field "label": missing required field (the label)`);
});

test('Parquet: errors name the row index; wrong types and nulls are caught', async () => {
  const { path } = writeRows('pq-bad', 'parquet', [
    { text: 'a', label: 'x' },
    { text: null, label: 'y' },
  ]);
  await rejectsWith(
    path,
    { layout: 'text-label' },
    `${path} row 1, field "text": missing required field (named by the {text} placeholder of the prompt template)`,
  );
  const typed = writeRows('pq-typed', 'parquet', [
    { instruction: 'a', output: 'b' },
    { instruction: 'c', output: 'd' },
  ]);
  const numbers = writeRows('pq-number', 'parquet', [{ instruction: 'a', output: 7 }]);
  await rejectsWith(numbers.path, { layout: 'alpaca' }, `${numbers.path} row 0, field "output": expected text, got a number (7)`);
  assert.equal(at((await loadExamples(typed.path, { layout: 'alpaca' })).examples, 1, 'loaded examples').id, 'pq-typed.parquet:1');
  const corrupt = write('corrupt.parquet', 'this is not parquet at all');
  await rejectsWith(corrupt, { layout: 'alpaca' }, /corrupt\.parquet: cannot read Parquet: /);
});

test('an empty file is an error in every format', async () => {
  for (const name of ['empty.jsonl', 'empty.csv', 'empty.parquet']) {
    const path = write(name, '');
    await rejectsWith(path, { layout: 'text-label' }, `${path}: empty file`);
  }
  const blank = write('blank.jsonl', '\n  \n');
  await rejectsWith(blank, { layout: 'text-label' }, `${blank}: empty file (only blank lines)`);
  const header = write('header.csv', 'text,label\n');
  await rejectsWith(header, { layout: 'text-label' }, `${header}: no rows after the header`);
  const noRows = join(dir, 'no-rows.parquet');
  parquetWriteFile({
    filename: noRows,
    columnData: [
      { name: 'text', data: [], type: 'STRING' },
      { name: 'label', data: [], type: 'STRING' },
    ],
  });
  await rejectsWith(noRows, { layout: 'text-label' }, `${noRows}: empty file (no rows)`);
});
