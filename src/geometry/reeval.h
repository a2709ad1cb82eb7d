/* The loss of one example at one α, recomputed in double precision from the float model
 * files, with a computable bound on the error of the float32 evaluation of the same loss
 * (docs/monotonicity.md, "The float32 tolerance"). The verification of the certificates
 * (certify.h) uses it to decide the rises that float32 cannot decide.
 *
 * Error model (first-order forward error analysis, u the unit roundoff: 2⁻²⁴ for float32,
 * 2⁻⁵³ for double). Along the path every parameter is p(α) = p₀ + α(p₁ − p₀); the float
 * engine rounds p₁ − p₀, α·Δ and the sum, so |p̂ − p| ≤ 3u·|p|ₐ with |p|ₐ = |p₀| + |α||p₁ − p₀|.
 * A bound E on the error of each node's output, per unit, is propagated with the values
 * (γ_m = m·u to first order; each operator's rule is its mli_op.reeval, nn/op_*.c):
 *   Linear (fan-in n):  E_out = |W|ₐ E_in + (n + 4)(|W|ₐ |x| + |b|ₐ)      (any summation order)
 *   batch norm (eval):  E_out = s E_in + 4(s(|x| + |μ|) + |β|ₐ), s = |γ|ₐ / √(σ² + ε)
 *   activation:         E_out = L E_in + 2|σ(x)|, L = 1 (relu, tanh, identity), 1/4 (sigmoid)
 *   Add (m inputs):     E_out = Σ E_k + (m − 1) Σ |x_k|
 *   Conv (L = Cg·kh·kw): as Linear with fan-in L, over each output's patch
 *   MaxPool:            E_out = max E_in over the window (a max does not round)
 *   AveragePool (m terms, count c): E_out = (Σ E_in + (m + 1) Σ |x|)/c
 * with E in units of u, and for the loss, computed in double from the outputs z:
 *   squared error ℓ = Σ (z_j − t_j)²:  K = Σ_j 2|z_j − t_j| E_j
 *   cross-entropy ℓ = lse(z) − z_y:      K = Σ_j (p_j + [j = y]) E_j
 * K is a condition number of the evaluation of ℓ at that α: the float32 result is within
 * 2·u₃₂·K of the exact loss of the line and the double result within 2·u₆₄·K (the factor 2
 * covers the second-order terms the first-order analysis drops). */
#ifndef MLI_GEOMETRY_REEVAL_H
#define MLI_GEOMETRY_REEVAL_H

#include "nn/arch.h"

#define MLI_U32 0x1p-24
#define MLI_U64 0x1p-53

typedef struct {
    const mli_arch *a;
    const mli_real *theta0, *theta1; /* the two model files' parameters */
    int n_alpha;                     /* batch-norm statistics: n_alpha blocks on the grid */
    const mli_real *bufs;            /* of a->nbuffers, the nearest block is used; or NULL */
} mli_reeval_ctx;

/* ℓ(α) in double for input x (a->input_size), label y and target t (a->nout values, or NULL
 * for classification and one-hot targets); *cond receives K. work holds 4·a->width_max
 * doubles: enough for a chain of nodes; a graph with branches keeps every node's values in
 * memory of its own, allocated per call. */
double mli_reeval_loss(const mli_reeval_ctx *c, const mli_real *x, int y, const mli_real *t, double alpha,
                      double *cond, double *work);

#endif
