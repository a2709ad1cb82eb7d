/* Polynomials in α and continuous piecewise-polynomial curves on [0,1].
 *
 * Along θ(α) = θ₀ + αΔ a network whose activations are piecewise linear (relu, identity) and
 * that has no batch norm is, for one input, a polynomial in α between the points where some
 * unit switches (docs/exact.md): the pre-activations of the k-th Linear layer have degree k on
 * each piece, the outputs z(α) degree L, the squared-error loss degree 2L. This module holds
 * the numerics that need no network: evaluation, real roots inside an interval, and the exact
 * bumps of a continuous piecewise-polynomial loss. No I/O, no allocation.
 *
 * Coefficients are in the monomial basis of α itself: c[0] + c[1] α + … + c[deg] α^deg. On
 * [0,1] with the low degrees met here (≤ 2L, L ≤ 16 Linear layers) that basis loses at most a
 * few digits, and keeping one basis for every piece makes the sum of pieces (the data set's
 * mean loss) a plain sum of coefficients. */
#ifndef MLI_GEOMETRY_PPOLY_H
#define MLI_GEOMETRY_PPOLY_H

/* Largest degree handled (recursion depth and stack buffers of the root finder). */
#define MLI_POLY_MAXDEG 32

/* p(x) by Horner's rule. deg < 0 is the zero polynomial. */
double mli_poly_eval(const double *c, int deg, double x);
/* p(x) and p'(x) in one Horner pass. */
void mli_poly_eval2(const double *c, int deg, double x, double *p, double *dp);
/* d[0..deg−1] = coefficients of p' (nothing written when deg < 1). */
void mli_poly_deriv(const double *c, int deg, double *d);
/* r[0..da+db] = a·b; r must not alias a or b. */
void mli_poly_mul(const double *a, int da, const double *b, int db, double *r);
/* s[0..deg] = the Taylor coefficients of p at t (p(t + u) = Σ s[m] u^m), by repeated
 * synthetic division; s may alias c. */
void mli_poly_taylor(const double *c, int deg, double t, double *s);
/* The degree once the highest coefficients that are exactly 0 are dropped (−1: p ≡ 0). */
int mli_poly_degree(const double *c, int deg);

/* The points of the open interval (a, b) where p changes sign, ascending; returns their
 * number (≤ deg), storing the first `max`.
 *
 * Only sign changes count: a point where p touches 0 and keeps its sign (a double root, an
 * extremum at 0) is not returned, because a ReLU unit whose pre-activation touches 0 there
 * does not switch. "Sign" is the sign of p evaluated in double: a root that nearly touches
 * (an extremum within rounding of 0) is reported as the two crossings double evaluation
 * sees, or as none, and either way the unit's state on each resulting piece is the state
 * its evaluated sign gives — the pieces stay consistent with the values, which is what the
 * exact analysis needs.
 *
 * Method: the extrema of p in (a, b) are the sign changes of p′ (found recursively, down to
 * degree 1 in closed form); p is monotone between consecutive extrema, so each such interval
 * holds at most one sign change, located by a safeguarded Newton–bisection to a bracket of a
 * few ulps. An extremum where p evaluates to exactly 0 is a root when p has opposite signs on
 * its two sides. Deterministic; no allocation (stack buffers of MLI_POLY_MAXDEG). Returns −1
 * if deg > MLI_POLY_MAXDEG or a > b or a coefficient is not finite. */
int mli_poly_roots(const double *c, int deg, double a, double b, double *roots, int max);

/* Can p change sign inside (a, b)? 0 means certainly not: its Bernstein coefficients on
 * [a, b] (whose signs bound p's there) are all ≥ 0 or all ≤ 0, with at most the end ones 0.
 * 1 means it may (then mli_poly_roots decides). O(deg²), no allocation: the cheap test that
 * keeps the exact sweep from isolating roots of units that stay on one side. */
int mli_poly_may_change_sign(const double *c, int deg, double a, double b);
/* An enclosure of p on [a, b]: for degree ≤ 2 its exact range (the ends and the vertex), above
 * that the smallest and largest Bernstein coefficient there (*lo ≤ min p, *hi ≥ max p). */
void mli_poly_range(const double *c, int deg, double a, double b, double *lo, double *hi);

/* ---- Continuous piecewise polynomials ---------------------------------------------- */

/* Piece j covers [brk[j], brk[j+1]] with coefficients coef[j·(deg+1) … j·(deg+1)+deg]
 * (monomials of α). brk[0] = 0 < brk[1] < … < brk[n] = 1. The storage is the caller's. */
typedef struct {
    int n, deg;
    const double *brk;
    const double *coef;
} mli_ppoly;

/* ℓ(α): the piece containing α (at a breakpoint, the piece on its right; α = 1 the last). */
double mli_ppoly_eval(const mli_ppoly *p, double alpha);

/* A bump of a continuous curve: the reference's bump definition (docs/exact.md) applied to
 * the curve itself rather than to samples. It starts at a point s where ℓ stops decreasing
 * and rises, s then being the running minimum of ℓ on [0, s]; it ends at the first e > s
 * where ℓ drops below ℓ(s) again, or at 1; height = max_{[s,e]} ℓ − ℓ(s). */
typedef struct {
    double start, end, height;
    double peak; /* where the maximum is reached */
} mli_cbump;

typedef struct {
    double delta;       /* largest bump height = max_{s ≤ t} ℓ(t) − ℓ(s) (0 if none) */
    double delta_start; /* the largest bump's interval (−1, −1 if none) */
    double delta_end;
    double first_rise;  /* start of the first bump higher than tol; −1 if there is none */
    int nbumps;         /* bumps higher than tol (all are counted; the first max stored) */
    int nextrema;       /* turning points examined (diagnostic) */
} mli_cmono;

/* Exact bumps of the continuous piecewise polynomial p: every turning point (a sign change of
 * ℓ′ inside a piece, or a breakpoint) is found, ℓ is monotone between consecutive ones, so the
 * bumps, their heights and their ends follow from the values at those points and one root of
 * ℓ − ℓ(s) per bump end. A rise of at most `tol` (the rounding of ℓ, see docs/exact.md) is not
 * a bump: it opens nothing and is not counted, so `monotone` is delta ≤ tol. The values at a
 * breakpoint from its two pieces differ only by rounding; the left piece's value is used
 * when arriving and the right one's when leaving. Stores up to max bumps; returns MLI_OK or
 * MLI_EUSAGE (bad pieces: n < 1, breakpoints not increasing, degree too large). */
int mli_ppoly_bumps(const mli_ppoly *p, double tol, mli_cmono *out, mli_cbump *bumps, int max);

#endif
