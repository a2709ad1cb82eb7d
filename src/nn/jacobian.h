/* Per-example Jacobians of the outputs, J[r, ·] = ∂z_c(x_i)/∂θ with r = (c, i), in eval mode
 * (batch norm with the running statistics of bufs), in factored form.
 *
 * A Linear layer y = x Wᵀ + b contributes to row r the block (g ⊗ x, g): x is the layer's input
 * for example i and g = ∂z_c(x_i)/∂y. Keeping x and g instead of the block (in·out reals per
 * row) is what makes the kernel J Jᵀ affordable: over this layer's parameters
 *     ⟨J_r, J_s⟩ = ⟨g_r, g_s⟩ (⟨x_i, x_j⟩ + 1),
 * so the Gram matrix costs one GEMM of the g's (width out) and one of the x's (width in) where
 * the explicit J would cost a GEMM of width in·out. Batch-norm layers contribute (∂z/∂γ, ∂z/∂β),
 * only 2C wide, which is kept explicitly.
 *
 * Rows of a chunk of B examples are output-major: row c·B + i. The backward passes reuse the
 * layer rules of nn/layers.h (one GEMM per Linear layer for all k·B rows at once). */
#ifndef MLI_JACOBIAN_H
#define MLI_JACOBIAN_H

#include "io/real.h"
#include "nn/arch.h"
#include "nn/net.h"

typedef struct {
    int bmax;
    mli_ws *ws;                  /* the forward pass (eval mode) */
    mli_real *G[MLI_MAX_LAYERS]; /* Linear: g, k·bmax × out; batch norm: (∂z/∂γ, ∂z/∂β), k·bmax × 2C */
    mli_real *g[2];              /* gradients w.r.t. the other layers' outputs, ping-pong */
} mli_jws;

mli_jws *mli_jws_new(const mli_arch *a, int bmax);
void mli_jws_free(mli_jws *w);

/* For X[B, input_size] (B ≤ bmax): the forward pass at θ, then for every output c the backward
 * pass of z_c for every example at once (k·B rows), filling w->G as described above. */
void mli_net_jacobian(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_jws *w,
                      const mli_real *X, int B);
/* The input of layer l for the chunk of the last mli_net_jacobian call (B × in). */
const mli_real *mli_jws_input(const mli_jws *w, const mli_real *X, int l);
/* The explicit row J[(c, i), ·] (nparams reals) from the factors: for tests and small networks. */
void mli_jacobian_row(const mli_arch *a, const mli_jws *w, const mli_real *X, int B, int c, int i,
                      mli_real *row);

#endif
