import type { MetricName } from '../data/example.js';
import { corpusCharErrorRate, corpusPhonemeErrorRate, whitespaceTokens } from './edit-distance.js';
import { accuracy, corpusExactMatch, corpusRougeL } from './text-metrics.js';

export {
  charErrorRate,
  corpusCharErrorRate,
  corpusPhonemeErrorRate,
  corpusTokenErrorRate,
  corpusWordErrorRate,
  editDistance,
  phonemeErrorRate,
  tokenErrorRate,
  whitespaceTokens,
  wordErrorRate,
  type CharOptions,
} from './edit-distance.js';
export {
  accuracy,
  corpusExactMatch,
  corpusRougeL,
  exactMatch,
  lcsLength,
  mean,
  normalizeText,
  perplexity,
  rougeL,
  rougeTokenize,
  type ExactMatchOptions,
  type NormalizeOptions,
  type PrecisionRecallF1,
} from './text-metrics.js';

/** True for the metrics where lower is better (the error rates and perplexity); takes a name as read from a metrics file. */
export function lowerIsBetter(metric: MetricName | (string & {})): boolean {
  return metric.endsWith('_error_rate') || metric === 'perplexity';
}

/**
 * A task's headline metric over generated strings: accuracy (after
 * trimming), exact match (normalised), ROUGE-L f (mean), CER (corpus), PER
 * (corpus, phonemes separated by whitespace). Perplexity comes from the
 * model's losses instead (see perplexity()).
 */
export function scoreCorpus(metric: Exclude<MetricName, 'perplexity'>, predictions: readonly string[], references: readonly string[]): number {
  switch (metric) {
    case 'accuracy':
      return accuracy(
        predictions.map((p) => p.trim()),
        references.map((r) => r.trim()),
      );
    case 'exact_match':
      return corpusExactMatch(predictions, references);
    case 'rouge_l':
      return corpusRougeL(predictions, references).f;
    case 'char_error_rate':
      return corpusCharErrorRate(predictions, references);
    case 'phoneme_error_rate':
      return corpusPhonemeErrorRate(predictions.map(whitespaceTokens), references.map(whitespaceTokens));
    default:
      throw new RangeError(`scoreCorpus: unknown metric '${String(metric)}'`);
  }
}
