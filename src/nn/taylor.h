/* Taylor mode along the interpolation path θ(α) = θ₀ + αΔ: for B inputs, the outputs z, their
 * velocity v = dz/dα = J(θ(α))Δ and acceleration a = d²z/dα² = D²f(θ(α))[Δ, Δ], in one
 * batched pass (blocks [z; v; a], 3B rows). Batch norm in eval mode (running statistics
 * fixed at each α). The first layer's products X W₀ᵀ and X ΔWᵀ do not depend on α: the
 * caller may pass them (P0, P1) so that the first layer costs no GEMM per α. */
#ifndef MLI_TAYLOR_H
#define MLI_TAYLOR_H

#include "io/real.h"
#include "nn/arch.h"

typedef struct {
    int bmax;
    mli_real *out[MLI_MAX_LAYERS]; /* 3 × bmax × width per layer */
    mli_real *p0, *p1;             /* first-layer products when the caller gives none */
} mli_tws;

mli_tws *mli_tws_new(const mli_arch *a, int bmax);
void mli_tws_free(mli_tws *w);

/* First-layer products for X[B, in]: P0 = X W₀ᵀ, P1 = X ΔWᵀ (B × out0 each). */
void mli_taylor_first_layer(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const mli_real *X, int B, mli_real *P0, mli_real *P1);

/* Blocks [z; v; a] (3B × nout) at θ(α) = theta (already interpolated by the caller) along
 * delta. P0/P1 from mli_taylor_first_layer for this X at θ₀, or NULL (then X is used). */
const mli_real *mli_net_tangent(const mli_arch *a, const mli_real *theta, const mli_real *delta,
                                const mli_real *bufs, mli_tws *w, const mli_real *X, int B,
                                const mli_real *P0, const mli_real *P1, double alpha);

#endif
