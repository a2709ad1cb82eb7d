/* Taylor mode along the interpolation path θ(α) = θ₀ + αΔ: for B inputs, the outputs z, their
 * velocity v = dz/dα = J(θ(α))Δ and acceleration a = d²z/dα² = D²f(θ(α))[Δ, Δ], in one
 * batched pass over the graph (blocks [z; v; a], 3B rows; each node's mli_op.tangent). Batch
 * norm in eval mode (running statistics fixed at each α).
 *
 * Hoisting: the first node that meets the data, if it is linear in its parameters and reads
 * the data alone (mli_graph_hoisted; the FCNet's first Linear), has an output
 * P0 + αP1 + f(0; θ(α)) whose products P0 = hoist(X; θ₀), P1 = hoist(X; Δ) do not depend on α:
 * the caller may pass them so that the node costs no GEMM per α. */
#ifndef MLI_TAYLOR_H
#define MLI_TAYLOR_H

#include "io/real.h"
#include "nn/arch.h"

typedef struct {
    int bmax;
    mli_real *out[MLI_MAX_NODES]; /* 3 × bmax × size per node */
    mli_real *p0, *p1;            /* the hoisted node's products when the caller gives none */
    mli_real *x3;                 /* [X; 0; 0] for the other nodes that read the data */
    mli_real *r;                  /* the hoisted node's zero-input response at θ and at Δ */
    mli_real *work;               /* the rules' workspace, mli_graph_work_size */
} mli_tws;

mli_tws *mli_tws_new(const mli_arch *a, int bmax);
void mli_tws_free(mli_tws *w);

/* The hoisted node's products for X[B, input_size]: P0 = hoist(X; θ₀), P1 = hoist(X; Δ)
 * (B × its size each; the FCNet: X W₀ᵀ and X ΔWᵀ). Nothing if the graph has no such node. */
void mli_taylor_first_layer(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const mli_real *X, int B, mli_real *P0, mli_real *P1);
/* Its whole outputs instead, P0 = f(X; θ₀) and P1 = f(X; Δ) (the FCNet: with the biases b₀
 * and Δb): at α the output is P0 + αP1 exactly, the node's parameters then taken as 0. */
void mli_taylor_hoisted_outputs(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                                const mli_real *X, int B, mli_real *P0, mli_real *P1);

/* Blocks [z; v; a] (3B × nout) at θ(α) = theta (already interpolated by the caller) along
 * delta. P0/P1 from mli_taylor_first_layer for this X at θ₀, or NULL (then X is used). X is
 * read by the nodes that read the data, other than the hoisted one (may be NULL if none). */
const mli_real *mli_net_tangent(const mli_arch *a, const mli_real *theta, const mli_real *delta,
                                const mli_real *bufs, mli_tws *w, const mli_real *X, int B,
                                const mli_real *P0, const mli_real *P1, double alpha);

#endif
