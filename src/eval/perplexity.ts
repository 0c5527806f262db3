/** Perplexity of held-out text: the mean token loss over a token stream, without gradient state. */
import { createActivations } from '../model/activations.js';
import { forward, lossSum, setTargets, type Model } from '../model/llama.js';

/** Mean token loss over consecutive non-overlapping windows of the stream. */
export function streamLoss(model: Model, stream: Int32Array, T: number, B = 8): { loss: number; tokens: number } {
  const windows = Math.floor(stream.length / T);
  let sum = 0;
  let tokens = 0;
  for (let w0 = 0; w0 < windows; w0 += B) {
    const rows = Math.min(B, windows - w0);
    const act = createActivations(model.config, model.lora, rows, T, false);
    const ids = stream.subarray(w0 * T, (w0 + rows) * T);
    tokens += setTargets(act, ids, model.config.vocabSize);
    forward(model, act, ids);
    sum += lossSum(model, act);
  }
  return { loss: sum / tokens, tokens };
}
