/* Exact analysis of one example's path through a piecewise-linear network, from its pieces
 * (pieces.h): the loss on every piece as a polynomial, the exact bumps, the total turning of
 * the output path, and the certificates of docs/exact.md evaluated on the pieces themselves.
 *
 * Squared error (mse, recon: ℓ = ‖z − t‖², degree 2L on each piece): monotonicity is decided
 * exactly (up to double rounding, the tolerance below): every turning point of ℓ is found.
 * Cross-entropy (ℓ = lse(z) − z_y, not a polynomial): each piece is split until a rigorous
 * bound proves dℓ/dα ≤ 0 on it, or a witness pair α₁ < α₂ with ℓ(α₂) > ℓ(α₁) beyond rounding
 * is found; otherwise the example is undecided.
 *
 * Total turning of z(α): on each piece the smooth part ∫‖dT/dα‖ dα (GSL adaptive quadrature
 * of the exact derivatives), plus at each breakpoint the angle between the tangents on its two
 * sides. The pointwise Gauss length of the reference is the smooth part alone.
 *
 * Certificates on the pieces (squared error only):
 *   C2   ℓ″ ≥ 0 on every piece, ℓ′ does not drop across a breakpoint (a concave kink breaks
 *        convexity), and ℓ′(1) ≤ 0;
 *   C1   for α with G[α,1] < π/2 (total turning, kinks included), ℓ′(α) ≤ 0 wherever
 *        cos(G[α,1]) S[α,1] ≥ ‖r(1)‖; checked on cells (each piece split in equal parts) with
 *        G[α,1] ≤ G[a,1] and S[α,1] ≥ S[b,1] on a cell [a, b]; c1_prefix is where the first
 *        failing cell starts, and C1 certifies the example when that is 1;
 *   C12  C1 on [0, c1_prefix] and C2 on [c1_prefix, 1];
 *   C1p  C1 with the pointwise Gauss length (kinks left out) — what the reference's definition
 *        would certify. It is not a valid certificate on ReLU networks; the count of examples
 *        it "certifies" that are not monotone is reported, never used as a verdict.
 * A certified example that the exact decision finds not monotone is a counterexample. */
#ifndef MLI_GEOMETRY_PWLGEO_H
#define MLI_GEOMETRY_PWLGEO_H

#include <gsl/gsl_integration.h>

#include "geometry/pieces.h"
#include "nn/arch.h"

typedef struct {
    int monotone;          /* 1 proved non-increasing, 0 violated, −1 undecided (ce only) */
    double max_bump;       /* largest rise over the running minimum (mse; ce: witness rise) */
    double first_rise;     /* where ℓ first increases by more than the tolerance; −1 if never */
    double witness[2];     /* α₁ < α₂ with ℓ(α₂) > ℓ(α₁) (−1, −1 when monotone) */
    int npieces;
    double total_turning;  /* smooth + kinks */
    double smooth_turning; /* the pointwise Gauss length, integrated exactly */
    double arc_length;
    double loss0, loss1;   /* ℓ(0), ℓ(1) */
    int c1, c2, c12, c1p;  /* 1 certified, 0 not, −1 not applicable (ce) */
    double c1_prefix;      /* −1 not applicable */
    double c1p_prefix;     /* the same with the pointwise Gauss length (kinks left out) */
    double tol;            /* the rounding allowance used for this example */
} mli_pwl_result;

/* Workspace for one thread: GSL quadrature and scratch for the pieces' loss polynomials. */
typedef struct mli_pwlgeo_ws mli_pwlgeo_ws;
mli_pwlgeo_ws *mli_pwlgeo_ws_new(int k, int deg);
void mli_pwlgeo_ws_free(mli_pwlgeo_ws *w);

/* Analyse one example: pieces pp, its label y (ce, and one-hot targets for mse when t is
 * NULL) and targets t[k] (mse with regression targets, recon). GSL's error handler must be
 * off (gsl_set_error_handler_off) while this runs; it is safe on several threads with one
 * workspace each. */
void mli_pwlgeo_example(const mli_pwl_path *pp, mli_loss loss, int y, const double *t,
                        mli_pwlgeo_ws *w, mli_pwl_result *out);

/* ℓ = Σ_o (z_o − t_o)² on every piece of pp (t NULL: one-hot of y), degree 2L, into
 * lc[j·(2L+1) …]. */
void mli_pwlgeo_loss_pieces(const mli_pwl_path *pp, int y, const double *t, double *lc);
/* The rounding allowance of a squared-error example's loss pieces lc (docs/exact.md): a bound
 * on the error of ℓ(α) anywhere on [0,1]. */
double mli_pwlgeo_loss_tol(const mli_pwl_path *pp, const double *lc);
/* ℓ(α) of a cross-entropy example from its pieces; z holds pp->k doubles of scratch. */
double mli_pwlgeo_ce_loss(const mli_pwl_path *pp, int y, double alpha, double *z);

/* Cross-entropy on [a, b] inside piece j: out = {ℓ_lo, ℓ_hi, ℓ′_lo, ℓ′_hi}, rigorous bounds (up
 * to rounding) from Bernstein enclosures of z_i − z_y and of their derivatives: the softmax
 * weights p_i are bounded through the enclosures, and dℓ/dα = Σ_i p_i (v_i − v_y). */
void mli_pwlgeo_ce_bounds(const mli_pwl_path *pp, int j, int y, double a, double b, double out[4]);

/* The loss polynomials of the pieces of the last mli_pwlgeo_example call on w (squared
 * error): piece j's coefficients at loss_coef[j·(2L+1)], degree 2L. */
const double *mli_pwlgeo_loss_coef(const mli_pwlgeo_ws *w);

#endif
