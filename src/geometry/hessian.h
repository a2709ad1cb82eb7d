/* The Hessian of the mean loss over a whole data set, as an operator: products H u,
 * extreme eigenvalues by Lanczos, the trace by Hutchinson's estimator.
 *
 *   L(θ) = (1/N) Σ_i ℓ(f(x_i; θ), y_i),   H = ∇²_θ L(θ)   (nparams × nparams, symmetric)
 *
 * Batch norm in EVAL mode: the running statistics in bufs are fixed, so H is the Hessian
 * of the function the model computes at test time (and that the interpolation path
 * θ(α) = θ₀ + αΔ is evaluated with); then Δᵀ H Δ = d²L/dα².
 *
 * Costs, with C_hvp the cost of one H u over the data set (see nn/hvp.h: about twice a
 * full-data-set gradient):
 *   mli_hessian_vp       C_hvp
 *   mli_hessian_lanczos  m·C_hvp + 4·m²·nparams flops of reorthogonalisation, and
 *                        (m + 1)·nparams doubles of memory for the Lanczos basis
 *   mli_hessian_trace    nsamples·C_hvp
 * No function prints: the optional callback cb(done, total, ctx) reports progress in HVPs. */
#ifndef MLI_HESSIAN_H
#define MLI_HESSIAN_H

#include <stdint.h>

#include "data/dataset.h"
#include "nn/arch.h"
#include "nn/hvp.h"

typedef void (*mli_hessian_cb)(int done, int total, void *ctx);

/* hv = H u over the whole of d, in chunks of w->bmax examples: each chunk's mean-loss HVP
 * is weighted by its size, hv = (1/N) Σ_c n_c H_c u, accumulated in double. u is converted
 * to mli_real once per call (into w->u). u and hv have nparams entries and may not alias. */
void mli_hessian_vp(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                    const mli_data *d, mli_hvp_ws *w, const double *u, double *hv);

/* Lanczos with full reorthogonalisation (classical Gram–Schmidt twice against every basis
 * vector: "twice is enough") on H, from a Gaussian start vector drawn with seed
 * (gsl_rng_mt19937). m = min(nparams, max(2k + 10, iters)) steps build an orthonormal basis
 * Q and the tridiagonal T = QᵀHQ (diagonal α_j, off-diagonal β_j), whose eigenvalues (the
 * Ritz values, LAPACKE_dstev) approximate the extreme eigenvalues of H first. On breakdown
 * (β_j ≤ 1e2·ε·‖T‖: the Krylov space is invariant, e.g. for repeated eigenvalues) the
 * iteration continues from a new random vector orthogonal to Q, with β_j = 0; with
 * m = nparams the Ritz values are then the whole spectrum, multiplicities included.
 * eigs[k]: the k largest Ritz values, descending; eigs_min[k] (may be NULL): the k
 * smallest, ascending (the most negative curvature first). cb may be NULL.
 * MLI_EUSAGE if k < 1 or k > nparams; MLI_EFAIL if dstev fails. */
int mli_hessian_lanczos(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                        const mli_data *d, mli_hvp_ws *w, int k, int iters, uint64_t seed,
                        double *eigs, double *eigs_min, mli_hessian_cb cb, void *ctx);

/* Hutchinson's estimator tr H ≈ (1/S) Σ_s zₛᵀ H zₛ with Rademacher vectors z (entries ±1,
 * gsl_rng_mt19937 seeded with seed, gsl_rng_uniform_int): unbiased, variance
 * 2 Σ_{i≠j} H_ij² per sample. Returns the mean; *stderr_out (if not NULL) gets the
 * standard error s/√S of the mean (NaN for nsamples < 2). cb may be NULL. */
double mli_hessian_trace(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                         const mli_data *d, mli_hvp_ws *w, int nsamples, uint64_t seed,
                         double *stderr_out, mli_hessian_cb cb, void *ctx);

#endif
