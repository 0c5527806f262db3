#include "args.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#define MAX_EXACT 9007199254740992.0 /* 2^53 */

static void throw_error(Args *a, int range, const char *fmt, va_list ap) {
  if (a->failed) return;
  a->failed = 1;
  char msg[512];
  int off = snprintf(msg, sizeof msg, "fedplora native %s: ", a->fn);
  if (off < 0 || (size_t)off >= sizeof msg) off = 0;
  vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
  if (range) napi_throw_range_error(a->env, NULL, msg);
  else napi_throw_type_error(a->env, NULL, msg);
}

void args_type_error(Args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_error(a, 0, fmt, ap);
  va_end(ap);
}

void args_range_error(Args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_error(a, 1, fmt, ap);
  va_end(ap);
}

int args_init(Args *a, napi_env env, napi_callback_info info, const char *fn, size_t expected) {
  a->env = env;
  a->fn = fn;
  a->failed = 0;
  a->argc = FP_MAX_ARGS;
  for (size_t i = 0; i < FP_MAX_ARGS; i++) a->length[i] = 0;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    args_type_error(a, "could not read the arguments");
    return 0;
  }
  if (a->argc < expected) {
    args_type_error(a, "expects %zu arguments, got %zu", expected, a->argc);
    return 0;
  }
  return 1;
}

double arg_number(Args *a, size_t i, const char *name) {
  double v = 0;
  if (a->failed) return 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) {
    args_type_error(a, "%s (argument %zu) must be a number", name, i + 1);
    return 0;
  }
  return v;
}

size_t arg_size(Args *a, size_t i, const char *name, double max) {
  double v = arg_number(a, i, name);
  if (a->failed) return 0;
  if (!(v >= 0) || v != floor(v) || v > max) {
    args_type_error(a, "%s (argument %zu) must be an integer in [0, %.0f], got %g", name, i + 1, max, v);
    return 0;
  }
  return (size_t)v;
}

int arg_bool(Args *a, size_t i, const char *name) {
  bool v = false;
  if (a->failed) return 0;
  if (napi_get_value_bool(a->env, a->argv[i], &v) != napi_ok) {
    args_type_error(a, "%s (argument %zu) must be a boolean", name, i + 1);
    return 0;
  }
  return v ? 1 : 0;
}

static void *typed(Args *a, size_t i, const char *name, napi_typedarray_type want,
                   const char *type_name, size_t need, const char *what) {
  if (a->failed) return NULL;
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void *data = NULL;
  napi_value buffer;
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, &buffer, &byte_offset) != napi_ok ||
      type != want) {
    args_type_error(a, "%s (argument %zu) must be a %s", name, i + 1, type_name);
    return NULL;
  }
  if (length < need) {
    args_type_error(a, "%s (argument %zu) must have at least %s = %zu elements, got %zu", name, i + 1, what,
                    need, length);
    return NULL;
  }
  if (!data && need > 0) {
    args_type_error(a, "%s (argument %zu) has no memory (detached buffer?)", name, i + 1);
    return NULL;
  }
  a->length[i] = length;
  /* A zero-length view may have no memory at all; kernels never touch it then. */
  static float empty[1];
  return data ? data : (void *)empty;
}

float *arg_f32(Args *a, size_t i, const char *name, size_t need, const char *what) {
  return typed(a, i, name, napi_float32_array, "Float32Array", need, what);
}

float *arg_f32_or_null(Args *a, size_t i, const char *name, size_t need, const char *what) {
  if (a->failed) return NULL;
  napi_valuetype t;
  if (napi_typeof(a->env, a->argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined)) return NULL;
  return typed(a, i, name, napi_float32_array, "Float32Array or null", need, what);
}

int8_t *arg_i8(Args *a, size_t i, const char *name, size_t need, const char *what) {
  return typed(a, i, name, napi_int8_array, "Int8Array", need, what);
}

uint16_t *arg_u16(Args *a, size_t i, const char *name, size_t need, const char *what) {
  return typed(a, i, name, napi_uint16_array, "Uint16Array", need, what);
}

int32_t *arg_i32(Args *a, size_t i, const char *name, size_t need, const char *what) {
  return typed(a, i, name, napi_int32_array, "Int32Array", need, what);
}

size_t arg_length(Args *a, size_t i) {
  return a->failed ? 0 : a->length[i];
}

size_t args_mul(Args *a, size_t x, size_t y) {
  if (a->failed) return 0;
  if (x != 0 && (double)y > MAX_EXACT / (double)x) {
    args_type_error(a, "sizes too large (%zu * %zu)", x, y);
    return 0;
  }
  return x * y;
}

void args_same_or_disjoint(Args *a, const float *p, const char *pname, const float *q,
                           const char *qname, size_t n) {
  if (a->failed || p == q || n == 0) return;
  uintptr_t p0 = (uintptr_t)p, q0 = (uintptr_t)q, bytes = n * sizeof(float);
  if (p0 < q0 + bytes && q0 < p0 + bytes) {
    args_type_error(a, "%s and %s must be the same array or not overlap", pname, qname);
  }
}
