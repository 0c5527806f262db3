/**
 * Hugging Face model folders: config.json plus model.safetensors, or shards
 * listed in model.safetensors.index.json. Tensors are read one at a time.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, type Dtype, type SafetensorsReader } from '../io/safetensors.js';
import { readJsonFile } from '../io/json-file.js';
import { parseHfConfig, toHfConfig, type ModelConfig } from './config.js';
import { buildWeights, hfTensorShapes, weightTensors, type ModelWeights } from './weights.js';
import { defined, got } from '../util/checked.js';

export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  return parseHfConfig(readJsonFile(path), path);
}

/** Opens the checkpoint's safetensors file(s) and calls `use` with a tensor lookup. */
function withCheckpointTensors<T>(dir: string, use: (read: (name: string, shape: number[]) => Float32Array) => T): T {
  const single = join(dir, 'model.safetensors');
  const indexPath = join(dir, 'model.safetensors.index.json');
  const readers = new Map<string, SafetensorsReader>();
  let fileOf: (name: string) => string;
  if (existsSync(single)) {
    fileOf = () => single;
  } else if (existsSync(indexPath)) {
    const index = readJsonFile(indexPath) as { weight_map?: Record<string, string> };
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error(`${indexPath}: no "weight_map" object`);
    const map = index.weight_map;
    fileOf = (name) => {
      const file = map[name];
      if (!file) throw new Error(`${indexPath}: tensor "${name}" is not in weight_map`);
      return join(dir, file);
    };
  } else {
    throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  try {
    return use((name, shape) => {
      const file = fileOf(name);
      let reader = readers.get(file);
      if (!reader) {
        reader = openSafetensors(file);
        readers.set(file, reader);
      }
      return reader.read(name, shape);
    });
  } finally {
    for (const r of readers.values()) r.close();
  }
}

export function loadModelFolder(dir: string): { config: ModelConfig; weights: ModelWeights } {
  const config = loadModelConfig(dir);
  const weights = withCheckpointTensors(dir, (read) => buildWeights(config, read));
  return { config, weights };
}

/** The dtype of a checkpoint's first tensor (checkpoints hold one dtype in practice). */
export function checkpointDtype(dir: string): Dtype {
  const single = join(dir, 'model.safetensors');
  let file = single;
  if (!existsSync(single)) {
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = readJsonFile(indexPath) as { weight_map: Record<string, string> };
    file = join(dir, defined(Object.values(index.weight_map)[0], `${indexPath}: the first file in weight_map`));
  }
  const r = openSafetensors(file);
  try {
    const first = r.tensors.values().next();
    return first.done ? 'F32' : first.value.dtype;
  } finally {
    r.close();
  }
}

/** Files that travel with a checkpoint besides its weights and config. */
const COMPANION_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];

/** Writes config.json and model.safetensors (and copies tokenizer files from `companionsFrom`). */
export function saveModelFolder(dir: string, config: ModelConfig, weights: ModelWeights, opts: { dtype?: Dtype; companionsFrom?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const shapes = hfTensorShapes(config);
  const tensors = new Map([...weightTensors(config, weights)].map(([name, data]) => [name, { data, shape: got(shapes, name, 'tensor shapes') }]));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { dtype: opts.dtype ?? 'F32', metadata: { format: 'pt' } });
  const hf = { ...toHfConfig(config), torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[opts.dtype ?? 'F32'] };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(hf, null, 2)}\n`);
  if (opts.companionsFrom) {
    for (const f of COMPANION_FILES) if (existsSync(join(opts.companionsFrom, f))) copyFileSync(join(opts.companionsFrom, f), join(dir, f));
  }
}
