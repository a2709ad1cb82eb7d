/* The sum of many continuous piecewise polynomials on [0,1]: the data set's squared-error loss
 * Σᵢ ℓᵢ(α) of a piecewise-linear network, exactly, on the union of every example's breakpoints
 * (docs/exact.md). Each example is added as events: at 0 its first piece's coefficients, at
 * each of its breakpoints the difference between the pieces on either side; sorting all events
 * by α and summing them in that order gives the coefficients of the sum on every piece of the
 * union. Threads add into separate accumulators and merge them. */
#ifndef MLI_GEOMETRY_PWLSUM_H
#define MLI_GEOMETRY_PWLSUM_H

#include <stddef.h>

#include "geometry/ppoly.h"

typedef struct {
    int deg;
    double *init; /* deg + 1: the sum at α = 0 (every example's first piece) */
    double *ev;   /* events: (deg + 2) doubles each, α then the coefficient differences */
    size_t n, cap;
    long nadd;
    double *brk, *coef; /* the finished sum (mli_pwlsum_finish) */
    int npieces;
    double in_err;  /* Σ of the added curves' error bounds */
    double err;     /* after mli_pwlsum_finish: a bound on |error| of the sum anywhere on [0,1] */
} mli_pwlsum;

void mli_pwlsum_init(mli_pwlsum *s, int deg);
void mli_pwlsum_free(mli_pwlsum *s);
/* Add one continuous piecewise polynomial: npieces pieces with breakpoints brk[0..npieces]
 * (brk[0] = 0, brk[npieces] = 1) and coefficients coef[j·(deg+1) …], whose values are known to
 * within err (its rounding allowance). Its pieces enter the sum telescoped (each piece minus the
 * one before), so at any α the sum holds exactly one piece of it: its error adds once. */
void mli_pwlsum_add(mli_pwlsum *s, const double *brk, const double *coef, int npieces, double err);
/* Move every event of src into dst (src is left empty). */
void mli_pwlsum_merge(mli_pwlsum *dst, mli_pwlsum *src);
/* Sort the events and form the sum times `scale` (1/N for a mean) as a piecewise polynomial
 * whose arrays live in s; breakpoints closer than 1e-15 are merged. Returns the number of
 * pieces. s->err bounds the error of the result anywhere on [0,1]: the added curves' errors,
 * and the rounding of the running sums (u·Σ_m |acc_m| per event, the bound of recursive
 * summation; the monomial basis makes it large when the coefficients are, as for a network
 * whose weights exploded). Allocation failure is an exit (mli_malloc): the events of 60,000 examples of a
 * 784-1024-1024-10 network take about 3 GB. */
int mli_pwlsum_finish(mli_pwlsum *s, double scale, mli_ppoly *out);

#endif
