export type {
  ClientSummary,
  KeyOf,
  LabelAssignment,
  PartitionSpec,
  PartitionSummary,
  Partitioner,
} from './types.js';
export { BasePartitioner, formatPartitionSummary, type FormatSummaryOptions } from './base.js';
export { definePartitioner, type AnyPartitionerDefinition, type PartitionerDefinition, type PartitionerRun } from './definition.js';
export { getPartitionerDefinition, parsePartitionOptions, partitionerNames, registerPartitioner } from './registry.js';
export { partitionerFromParts } from './from-parts.js';
export { IidPartitioner, type IidOptions } from './iid.js';
export { DirichletPartitioner, sampleDirichlet, sampleGamma, type DirichletOptions } from './dirichlet.js';
export { PathologicalPartitioner, type PathologicalOptions } from './pathological.js';
export { NaturalPartitioner, type NaturalOptions } from './natural.js';
export { SizeSkewPartitioner, type SizeSkewOptions } from './size-skew.js';
export { createPartitioner, exampleKeyOf, partitionKey } from './create.js';
