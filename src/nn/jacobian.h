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
 * Each node says which form its block takes (mli_op.jac_form: none, the factored outer form
 * above, or explicit rows) and computes it in mli_op.jac_backward.
 *
 * Rows of a chunk of B examples are output-major: row c·B + i. The backward passes go through
 * each node's rule (one GEMM per Linear node for all k·B rows at once). */
#ifndef MLI_JACOBIAN_H
#define MLI_JACOBIAN_H

#include "io/real.h"
#include "nn/arch.h"
#include "nn/net.h"

typedef struct {
    int bmax;
    mli_ws *ws;                   /* the forward pass (eval mode) */
    mli_real *g[MLI_MAX_NODES];   /* gradient w.r.t. each node's output, k·bmax × size */
    mli_real *fac[MLI_MAX_NODES]; /* EXPLICIT nodes: their rows, k·bmax × jac_width */
    mli_real *G[MLI_MAX_NODES];   /* each node's factor: g (OUTER), fac (EXPLICIT), NULL (NONE) */
    mli_real *acc;                /* second gradients of values used twice */
} mli_jws;

mli_jws *mli_jws_new(const mli_arch *a, int bmax);
void mli_jws_free(mli_jws *w);

/* For X[B, input_size] (B ≤ bmax): the forward pass at θ, then for every output c the backward
 * pass of z_c for every example at once (k·B rows), filling w->G as described above. */
void mli_net_jacobian(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_jws *w,
                      const mli_real *X, int B);
/* The (first) input of node l for the chunk of the last mli_net_jacobian call (B × in). */
const mli_real *mli_jws_input(const mli_arch *a, const mli_jws *w, const mli_real *X, int l);
/* The explicit row J[(c, i), ·] (nparams reals) from the factors: for tests and small networks. */
void mli_jacobian_row(const mli_arch *a, const mli_jws *w, const mli_real *X, int B, int c, int i,
                      mli_real *row);

#endif
