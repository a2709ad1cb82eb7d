/* Pure numerical functions on curves: pointwise differential geometry of an output curve
 * z(α) ∈ ℝᵏ, integrals over an α grid, bumps of a sampled loss curve, and adaptive
 * quadrature of the Gauss length and arc length (docs/theory.md §2–§3). No I/O, no network code.
 *
 * Pointwise quantities, from velocity v = dz/dα and acceleration a = d²z/dα²:
 *   speed        ‖v‖
 *   unit tangent T = v / ‖v‖
 *   normal part  a⊥ = a − (T·a) T      (formed componentwise, never as ‖a‖² − (T·a)²,
 *                                        which cancels when a is nearly parallel to v)
 *   curvature    κ = ‖a⊥‖ / ‖v‖²
 *   Gauss speed  ‖dT/dα‖ = ‖a⊥‖ / ‖v‖  (= κ ‖v‖)
 * Integrals over α ∈ [0,1]:
 *   Gauss length G = ∫₀¹ ‖dT/dα‖ dα  (total turning of the tangent; line 0, half circle π)
 *   arc length   S = ∫₀¹ ‖v‖ dα
 * G is invariant under reparametrisation α ↦ φ(α) of the curve (monotone φ). Note that a
 * curve that stops and reverses (v passes through 0) has a tangent that jumps by π there;
 * G as the integral of the pointwise Gauss speed does not count that jump. */
#ifndef MLI_GEOMETRY_CURVE_H
#define MLI_GEOMETRY_CURVE_H

/* ---- Pointwise ---------------------------------------------------------------------- */

typedef struct {
    double speed;       /* ‖v‖ */
    double curvature;   /* κ = ‖a⊥‖/‖v‖² */
    double gauss_speed; /* ‖dT/dα‖ = ‖a⊥‖/‖v‖ */
    int degenerate;     /* 1 when v is (numerically) zero: all three fields are then 0 */
} mli_curve_point;

/* Speed, curvature and Gauss speed at one point of a curve in ℝᵏ, from v[k] and a[k].
 *
 * Degenerate point (zero speed): when ‖v‖ == 0, or ‖v‖ < 1e-300, or ‖v‖ ≤ ε‖a‖ with
 * ε = DBL_EPSILON (v is below the rounding of a: the tangent direction is not
 * determined), the result is speed = curvature = gauss_speed = 0 and degenerate = 1,
 * never NaN. Otherwise degenerate = 0 and the formulas above are used; a = 0 gives
 * curvature 0 and Gauss speed 0.
 *
 * Norms are computed with scaling (no overflow or underflow of intermediate squares) and
 * without any allocation: ‖a⊥‖² = Σᵢ (âᵢ − (T·â) Tᵢ)² with â = a / max|aᵢ|, summed term by
 * term (each term is formed explicitly, so there is no cancellation between ‖a‖² and
 * (T·a)²). κ is computed as (‖a⊥‖/‖v‖)/‖v‖ and can be +inf only if its true value
 * overflows. Non-finite inputs (NaN or ±inf in v or a) give NaN results, degenerate = 0.
 * k ≤ 0 is a degenerate point. */
mli_curve_point mli_curve_point_eval(const double *v, const double *a, int k);
/* The same from float vectors (the engine may be float); computed in double. */
mli_curve_point mli_curve_point_evalf(const float *v, const float *a, int k);

/* ---- Integrals on a grid ------------------------------------------------------------- */

/* Trapezoidal rule ∫ y dx ≈ Σᵢ ½ (x_{i+1} − x_i)(y_i + y_{i+1}) over points x[0..n−1]
 * (any order; x decreasing gives the negated integral). 0 when n < 2. NaN propagates. */
double mli_trapz(const double *x, const double *y, int n);
/* Cumulative trapezoid: cum[0] = 0, cum[i] = ∫_{x_0}^{x_i} y dx (same rule, same summation
 * order, so cum[n−1] == mli_trapz(x, y, n) exactly). Writes n values; nothing if n < 1.
 * With x = α grid and y = Gauss speed, cum[i] = G[0, α_i] and G[α_i, 1] = cum[n−1] − cum[i]. */
void mli_trapz_cum(const double *x, const double *y, int n, double *cum);

/* Equally spaced grid of n points on [0,1] inclusive (numpy linspace(0, 1, n)):
 * alpha[i] = i / (n − 1), so alpha[0] = 0 and alpha[n−1] = 1 exactly. n == 1 gives {0};
 * nothing is written when n < 1. */
void mli_linspace01(double *alpha, int n);

/* ---- Bumps of a sampled loss curve ------------------------------------------------- */

typedef struct {
    int start, end; /* indices into the sampled curve */
    double height;  /* max over start < j ≤ end of l_j − l_start (> 0, or NaN) */
    double width;   /* α_end − α_start */
} mli_bump;

/* Bumps (non-monotone segments) of l[0..n−1] sampled at alpha[0..n−1]: the reference's
 * bump scan (eval_monotonic of the paper's code), statement for statement, so that Δ equals
 * the paper's on every finite sequence. In words (docs/monotonicity.md):
 *   scan i = 1, …, n−1 with a bump either closed or open;
 *   closed: if l_i > l_{i−1} (strictly; a plateau opens nothing) a bump opens with
 *           start = i−1 and height l_i − l_{i−1}; nothing else happens on this step;
 *   open:   if l_i < l_start (strictly; l_i == l_start does not close it) it closes:
 *           recorded with end = i, and the scan is closed again from i + 1 (so the next
 *           bump may start at end);
 *           otherwise height = max(height, l_i − l_start), and if i is the last index the
 *           bump is recorded with end = n−1.
 *   width = α_end − α_start; height = max over start < j ≤ end (j < end when it closed) of
 *   l_j − l_start.
 * Consequence (the reference's, kept on purpose): a rise on the LAST step, l_{n−1} > l_{n−2}
 * with no bump open, opens a bump that is never recorded — losses 1.0, 0.9, 0.95 have no
 * bump and Δ = 0. mli_end_rise reports that step separately. Each recorded bump spans at
 * least two steps, so there are at most n/2 bumps (integer division); max ≥ n/2 suffices.
 *
 * NaN (our one departure, which changes nothing on finite data): a NaN loss is a bump of
 * unknown height, so that Δ = NaN whenever any l_i is NaN (the reference's comparisons are
 * false on NaN and would skip it). The opening test is !(l_i ≤ l_{i−1}) (a rise, or either
 * value NaN), the closing test l_j < l_start is false when either is NaN (a bump that opens
 * at a NaN start never closes), a NaN l_j inside an open bump makes its height NaN
 * (sticky), and a NaN pair on the last step is recorded as a bump [n−2, n−1] of height NaN.
 * A NaN alpha only makes the affected widths NaN.
 *
 * Stores the first min(count, max) bumps in out[] (out may be NULL when max == 0) and
 * returns count, the number of bumps found (all are counted). n < 2 gives 0. */
int mli_bumps(const double *alpha, const double *l, int n, mli_bump *out, int max);
/* The rise over the last grid step, max(0, l_{n−1} − l_{n−2}) (0 when n < 2, NaN if either
 * value is NaN), reported beside Δ because the reference's scan leaves it out when no bump
 * is open before that step: "end_rise" in geometry.json and the summaries. */
double mli_end_rise(const double *l, int n);
/* Δ ("max bump") = largest height among b[0..nb−1]; 0 if nb ≤ 0; NaN if any height is NaN.
 * Pass the number of bumps stored, i.e. min(count, max) from mli_bumps. */
double mli_bumps_max(const mli_bump *b, int nb);

/* ---- Adaptive quadrature of G and S ------------------------------------------------ */

/* Evaluates v[k] = dz/dα and a[k] = d²z/dα² of one curve at any α in [0,1] (exact
 * derivatives, e.g. from Taylor mode). */
typedef void (*mli_curve_fn)(double alpha, double *v, double *a, void *ctx);

/* Gauss length G = ∫₀¹ ‖a⊥‖/‖v‖ dα and arc length S = ∫₀¹ ‖v‖ dα of one curve by GSL
 * adaptive Gauss–Kronrod quadrature (gsl_integration_qag, GSL_INTEG_GAUSS21, workspace
 * MLI_CURVE_QAG_LIMIT subintervals), each integral to |err| ≤ max(epsabs, epsrel·|I|).
 * The integrand at a degenerate point (zero speed) is 0. *abserr (may be NULL) receives
 * the larger of the two error estimates.
 *
 * Pass epsabs > 0: an integral that is exactly 0 (G of a straight line, whose computed
 * Gauss speed is rounding noise) cannot reach a purely relative tolerance.
 *
 * Returns MLI_OK, MLI_EUSAGE for bad arguments (k < 1, f NULL, both tolerances ≤ 0,
 * breakpoints not increasing inside (0,1)), or MLI_EFAIL with a message when GSL fails
 * (tolerance not reached within the workspace, roundoff, …: the best estimates are still
 * stored) or when f produced a non-finite v or a (the outputs are then NaN). GSL's
 * default abort-on-error handler is switched off during the call and restored after
 * (GSL's handler is process-global: do not run this concurrently with code that relies on
 * a different handler). Allocates v, a buffers and the workspace once per call. */
#define MLI_CURVE_QAG_LIMIT 1000
int mli_curve_lengths_adaptive(mli_curve_fn f, void *ctx, int k, double epsabs, double epsrel,
                               double *gauss_length, double *arc_length, double *abserr);
/* The same with [0,1] split at breakpoints[0..nbreak−1] (strictly increasing, inside
 * (0,1)), e.g. known kinks of the curve; each piece is integrated separately with epsabs
 * divided by the number of pieces and the same epsrel, and the results summed
 * (abserr is the sum of the pieces' estimates). nbreak == 0 is the plain version. */
int mli_curve_lengths_adaptive_pts(mli_curve_fn f, void *ctx, int k, const double *breakpoints,
                                   int nbreak, double epsabs, double epsrel, double *gauss_length,
                                   double *arc_length, double *abserr);

#endif
