/*
 * Unpacking and checking of N-API arguments. The first problem found throws a
 * JS TypeError (wrong type, buffer too short for the stated sizes, bad size)
 * or RangeError (a value out of range) and marks the Args as failed; later
 * calls then do nothing, so a binding checks `a.failed` once before running
 * its kernel. No kernel ever sees a buffer shorter than its sizes imply.
 */
#ifndef FP_ARGS_H
#define FP_ARGS_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define FP_MAX_ARGS 16

typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[FP_MAX_ARGS];
  size_t length[FP_MAX_ARGS]; /* element counts of the typed arrays unpacked */
  int failed;
} Args;

/* Reads the call's arguments; fails unless there are at least `expected`. */
int args_init(Args *a, napi_env env, napi_callback_info info, const char *fn, size_t expected);

/* A size: an integer in [0, max]. */
size_t arg_size(Args *a, size_t i, const char *name, double max);
double arg_number(Args *a, size_t i, const char *name);
int arg_bool(Args *a, size_t i, const char *name);

/*
 * A Float32Array (Int32Array) with at least `need` elements; `what` names the
 * size expression for the message, e.g. "N*C". Subarray views are honoured.
 */
float *arg_f32(Args *a, size_t i, const char *name, size_t need, const char *what);
/* Same, or NULL when the argument is null or undefined. */
float *arg_f32_or_null(Args *a, size_t i, const char *name, size_t need, const char *what);
int32_t *arg_i32(Args *a, size_t i, const char *name, size_t need, const char *what);
/* An Int8Array with at least `need` elements. */
int8_t *arg_i8(Args *a, size_t i, const char *name, size_t need, const char *what);
/* A Uint16Array (bf16 bits) with at least `need` elements. */
uint16_t *arg_u16(Args *a, size_t i, const char *name, size_t need, const char *what);
/* The element count of argument i as last unpacked (0 after a failure). */
size_t arg_length(Args *a, size_t i);

/* x * y, failing on overflow past 2^53 */
size_t args_mul(Args *a, size_t x, size_t y);

/*
 * Two buffers that a kernel allows to alias must be the same memory exactly
 * or not overlap at all (a shifted overlap would give wrong results).
 */
void args_same_or_disjoint(Args *a, const float *p, const char *pname, const float *q,
                           const char *qname, size_t n);

void args_type_error(Args *a, const char *fmt, ...);
void args_range_error(Args *a, const char *fmt, ...);

#endif
