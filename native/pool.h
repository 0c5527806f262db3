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

/* [*begin, *end) of n items for part `part` of `parts`, contiguous and balanced. */
void fp_split(size_t n, int part, int parts, size_t *begin, size_t *end);

#endif
