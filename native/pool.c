#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define FP_MAX_THREADS 64

static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int configured = 1; /* threads wanted, caller included */
static int started = 1;    /* threads available, caller included */

/* Held for a whole job: a second job (another JS thread) runs inline instead. */
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static unsigned long generation = 0;
static fp_task_fn job_fn;
static void *job_ctx;
static int job_parts;
static int pending;

static void configure(void) {
  long n = 0;
  const char *env = getenv("FEDPLORA_THREADS");
  if (env && *env) {
    char *end = NULL;
    n = strtol(env, &end, 10);
    if (*end != '\0') n = 0;
  }
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > FP_MAX_THREADS) n = FP_MAX_THREADS;
  configured = (int)n;
}

int fp_pool_threads(void) {
  pthread_once(&config_once, configure);
  return configured;
}

static void *worker(void *arg) {
  const int id = (int)(intptr_t)arg;
  unsigned long seen = 0;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&wake_cv, &mu);
    seen = generation;
    if (id < job_parts) {
      fp_task_fn fn = job_fn;
      void *ctx = job_ctx;
      int parts = job_parts;
      pthread_mutex_unlock(&mu);
      fn(ctx, id, parts);
      pthread_mutex_lock(&mu);
      if (--pending == 0) pthread_cond_signal(&done_cv);
    }
  }
  return NULL;
}

static void start(void) {
  int want = fp_pool_threads();
  /* Workers take no signals: they stay with Node's main thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int n = 1;
  for (; n < want; n++) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, (void *)(intptr_t)n) != 0) break;
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  started = n;
}

int fp_pool_parts(double work, double grain) {
  int threads = fp_pool_threads();
  if (threads <= 1 || !(work >= 2 * grain)) return 1;
  double parts = work / grain;
  return parts >= threads ? threads : (int)parts;
}

void fp_pool_run(int parts, fp_task_fn fn, void *ctx) {
  if (parts > 1) {
    pthread_once(&start_once, start);
    if (parts > started) parts = started;
  }
  if (parts <= 1 || pthread_mutex_trylock(&run_lock) != 0) {
    for (int p = 0; p < (parts < 1 ? 1 : parts); p++) fn(ctx, p, parts < 1 ? 1 : parts);
    return;
  }
  pthread_mutex_lock(&mu);
  job_fn = fn;
  job_ctx = ctx;
  job_parts = parts;
  pending = parts - 1;
  generation++;
  pthread_cond_broadcast(&wake_cv);
  pthread_mutex_unlock(&mu);

  fn(ctx, 0, parts);

  pthread_mutex_lock(&mu);
  while (pending > 0) pthread_cond_wait(&done_cv, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&run_lock);
}

void fp_split(size_t n, int part, int parts, size_t *begin, size_t *end) {
  size_t q = n / (size_t)parts, r = n % (size_t)parts, p = (size_t)part;
  *begin = p * q + (p < r ? p : r);
  *end = *begin + q + (p < r ? 1 : 0);
}
