/*
 * A small persistent thread pool for the fused kernels.
 *
 * The caller's thread always runs part 0; parts 1..n-1 go to workers that
 * sleep on a condition variable between jobs (they never spin, so they do not
 * steal cycles from OpenBLAS's own threads). Threads are started lazily on the
 * first parallel job. Size: env FEDPLORA_THREADS, default the number of online
 * CPUs, clamped to [1, 64].
 */
#ifndef FP_POOL_H
#define FP_POOL_H

#include <stddef.h>

/* Runs part `part` of `parts` of a job. */
typedef void (*fp_task_fn)(void *ctx, int part, int parts);

/* The configured number of threads (caller included); does not start them. */
int fp_pool_threads(void);

/*
 * How many parts to split `work` units into so that each part gets at least
 * `grain` units: 1 (run inline) for small jobs, at most fp_pool_threads().
 */
int fp_pool_parts(double work, double grain);

/*
 * Runs fn(ctx, p, parts) for p in [0, parts) and returns when all are done.
 * parts <= 1, a pool that cannot start, or a job already running on another
 * thread (nested or concurrent calls) all run every part inline, in order.
 */
void fp_pool_run(int parts, fp_task_fn fn, void *ctx);

/*
 * Grains (work units per part) for fp_pool_parts: a job goes parallel only
 * when one thread would need roughly 50 us or more, since waking a blocked
 * worker costs some 15-25 us (measured on a 2-core VM with bench/kernels.ts).
 */
#define FP_GRAIN_STREAM (1 << 19) /* elements of a memory-bound pass: add, scale, rope, embedding */
#define FP_GRAIN_NORM (1 << 17)   /* elements of rmsnorm forward */
#define FP_GRAIN_EXP (1 << 16)    /* elements with an exp (swiglu, cross-entropy), rmsnorm backward */
#define FP_GRAIN_ADAM (1 << 15)   /* parameters of an AdamW step (double math, sqrt, divisions) */
#define FP_GRAIN_FLOPS (1 << 19)  /* multiply-adds of attention */

/* [*begin, *end) of n items for part `part` of `parts`, contiguous and balanced. */
void fp_split(size_t n, int part, int parts, size_t *begin, size_t *end);

#endif
