/* Small helpers shared by the unit tests (cmocka). */
#ifndef MLI_TESTUTIL_H
#define MLI_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/real.h"

/* A fresh empty directory under build/test-tmp, unique per call; returned path is static. */
const char *tu_tmpdir(const char *tag);
/* Deterministic uniform numbers in [lo, hi). */
void tu_fill_uniform(mli_real *x, size_t n, double lo, double hi, uint64_t seed);
/* Write bytes to a file (not atomic; tests only). */
void tu_write_file(const char *path, const void *buf, size_t n);
/* max_i |a_i - b_i| / max(1, |b_i|) */
double tu_max_relerr(const double *a, const double *b, size_t n);

#endif
