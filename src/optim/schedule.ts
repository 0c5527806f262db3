/** Learning-rate schedules: linear warmup, then constant, linear or cosine decay to minRatio * lr. */
export interface ScheduleOptions {
  kind: 'constant' | 'linear' | 'cosine';
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  minRatio: number;
}

export function learningRate(o: ScheduleOptions, step: number): number {
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.kind === 'constant') return o.lr;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / span);
  const factor = o.kind === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return o.lr * (o.minRatio + (1 - o.minRatio) * factor);
}
