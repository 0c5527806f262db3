import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHfConfig, toHfConfig } from '../src/model/config.js';
import { loadPeftAdapter, savePeftAdapter } from '../src/lora/peft.js';
import { loraTensors } from '../src/lora/adapter.js';
import { extractActive } from '../src/lora/plora.js';
import { at } from '../src/util/checked.js';
import { randomAdapter, tinyConfig } from './helpers/tiny-model.js';

const base = { model_type: 'llama', vocab_size: 10, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2 };

test('config.json fields map to the model config, with HF defaults', () => {
  const c = parseHfConfig(base);
  assert.equal(c.numKVHeads, 2);
  assert.equal(c.headDim, 4);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.tieWordEmbeddings, false);
  assert.deepEqual(c.bias, { q: false, k: false, v: false, o: false });
  assert.deepEqual(parseHfConfig({ ...base, model_type: 'qwen2' }).bias, { q: true, k: true, v: true, o: false });
  assert.deepEqual(parseHfConfig({ ...base, attention_bias: true }).bias, { q: true, k: true, v: true, o: true });
  const again = parseHfConfig(toHfConfig(parseHfConfig({ ...base, num_key_value_heads: 1, rope_theta: 5e5, tie_word_embeddings: true })));
  assert.equal(again.numKVHeads, 1);
  assert.equal(again.ropeTheta, 5e5);
  assert.equal(again.tieWordEmbeddings, true);
});

test('bad configs name the problem', () => {
  assert.throws(() => parseHfConfig({ ...base, model_type: 'gpt2' }), /model_type "gpt2" is not supported; supported: llama, mistral, qwen2/);
  assert.throws(() => parseHfConfig({ ...base, hidden_size: -3 }), /invalid field "hidden_size"/);
  assert.throws(() => parseHfConfig({ ...base, num_key_value_heads: 3 }), /must be a multiple of num_key_value_heads \(3\)/);
  assert.throws(() => parseHfConfig({ ...base, hidden_act: 'gelu' }), /hidden_act "gelu" is not supported/);
  assert.throws(() => parseHfConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling is not supported/);
});

test('a PEFT adapter saves and loads bit-exactly; a PLoRA subset keeps its product', () => {
  const config = tinyConfig();
  const adapter = randomAdapter(config, 4, 8, ['q_proj', 'v_proj', 'down_proj']);
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-peft-'));
  savePeftAdapter(join(dir, 'full'), adapter);
  const back = loadPeftAdapter(join(dir, 'full'), config);
  assert.equal(back.scale, adapter.scale);
  for (const [i, x] of loraTensors(back).entries()) assert.deepEqual(x, loraTensors(adapter)[i]);
  const subset = extractActive(adapter, [2, 0]);
  savePeftAdapter(join(dir, 'subset'), subset);
  const cfg = JSON.parse(readFileSync(join(dir, 'subset', 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number };
  assert.equal(cfg.r, 2);
  assert.equal(cfg.lora_alpha / cfg.r, adapter.scale, 'PEFT scale alpha / r equals the global scale alpha / R');
  assert.equal(loadPeftAdapter(join(dir, 'subset'), config).scale, adapter.scale);
});

test('bad adapters are refused with file and key named', () => {
  const config = tinyConfig();
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-peft-bad-'));
  const adapter = randomAdapter(config, 2, 4, ['q_proj']);
  savePeftAdapter(dir, adapter);
  const cfgPath = join(dir, 'adapter_config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, target_modules: ['q_proj', 'k_proj'] }));
  assert.throws(
    () => loadPeftAdapter(dir, config),
    /adapter_model\.safetensors: missing tensor "base_model\.model\.model\.layers\.0\.self_attn\.k_proj\.lora_A\.weight"/,
  );
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, r: 3 }));
  assert.throws(() => loadPeftAdapter(dir, config), /lora_A\.weight" has shape \[2,24\], expected \[3,24\]/);
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, target_modules: ['lm_head'] }));
  assert.throws(() => loadPeftAdapter(dir, config), /target module "lm_head" is not one of/);
  at(loraTensors(adapter), 0, 'adapter tensors')[0] = NaN;
  assert.throws(() => savePeftAdapter(join(dir, 'nan'), adapter), /contains NaN or infinite values/);
});
