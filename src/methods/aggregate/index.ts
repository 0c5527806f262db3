/** The aggregation math the methods share, one file per kind, as Flower keeps aggregate.py beside its strategies. */
export { initialGlobalAdapter } from './initial-adapter.js';
export { aggregateModules } from './module-average.js';
export { stackAdapters } from './stack.js';
export { factoredSvd, truncatedFactors, truncationError, type FactoredSvd } from './factored-svd.js';
