/* The rules of each layer type, in one place. Shapes: B examples in rows, row-major.
 * Every function here is the single implementation of its layer's math; the network
 * (net.c), Taylor mode and the Hessian-vector products all call these. */
#ifndef MLI_LAYERS_H
#define MLI_LAYERS_H

#include "io/real.h"
#include "nn/arch.h"

/* ---- Linear: y = x Wᵀ + b, W out×in (PyTorch layout) ---- */
/* Y[B,out] = X[B,in] W[out,in]ᵀ + b[out] */
void mli_linear_forward(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        int B, int in, int out);
/* dW[out,in] = dY[B,out]ᵀ X[B,in]; db[out] = Σ_rows dY; dX[B,in] = dY W (skipped when dX is
 * NULL). beta = 0 overwrites dW/db, 1 accumulates. */
void mli_linear_backward(mli_real *dX, mli_real *dW, mli_real *db, const mli_real *dY,
                         const mli_real *X, const mli_real *W, int B, int in, int out, mli_real beta);

/* Taylor mode along θ(α) = θ₀ + αΔ: value, first and second α-derivative, stacked as three
 * blocks of B rows (X = [X0; X1; X2], 3B×in). With W = W(α), ΔW the direction:
 *   Y0 = X0 Wᵀ + b,  Y1 = X1 Wᵀ + X0 ΔWᵀ + Δb,  Y2 = X2 Wᵀ + 2 X1 ΔWᵀ
 * Three GEMMs: [X0;X1;X2] Wᵀ in one call, then the two ΔW products. */
void mli_linear_tangent(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        const mli_real *dW, const mli_real *db, int B, int in, int out);
/* The same for a layer whose input does not depend on α (the first layer): with
 * P0 = X W₀ᵀ and P1 = X ΔWᵀ computed once, Y0 = P0 + αP1 + b(α), Y1 = P1 + Δb, Y2 = 0.
 * No GEMM per α. */
void mli_linear_tangent_const_input(mli_real *Y, const mli_real *P0, const mli_real *P1,
                                    const mli_real *b, const mli_real *db, double alpha, int B,
                                    int out);

/* ---- Elementwise activations s = σ(h) ---- */
/* S[n] = σ(H[n]); S may equal H */
void mli_act_forward(mli_act act, mli_real *S, const mli_real *H, size_t n);
/* dH[n] = dS ⊙ σ′(H), using S = σ(H) where cheaper; dH may equal dS */
void mli_act_backward(mli_act act, mli_real *dH, const mli_real *dS, const mli_real *H,
                      const mli_real *S, size_t n);
/* Taylor mode, blocks of n: S0 = σ(H0), S1 = σ′(H0) H1, S2 = σ″(H0) H1² + σ′(H0) H2.
 * ReLU's σ″ is zero away from its kink; at a kink the one-sided derivative is used. */
void mli_act_tangent(mli_act act, mli_real *S, const mli_real *H, size_t n);
/* σ′ and σ″ at one point, for Taylor mode and tests */
double mli_act_d1(mli_act act, double h);
double mli_act_d2(mli_act act, double h);

/* ---- BatchNorm1d over C features, PyTorch semantics ---- */
/* Training mode: normalise with the batch mean and biased variance; if rmean/rvar are not
 * NULL update them with momentum (running var takes the unbiased batch variance).
 * Y[B,C] = γ x̂ + β; saves Xhat[B,C] and istd[C] = 1/sqrt(var + eps) for backward.
 * scratch: 2C doubles. */
void mli_bn_forward_train(mli_real *Y, mli_real *Xhat, mli_real *istd, const mli_real *X,
                          const mli_real *gamma, const mli_real *beta, mli_real *rmean,
                          mli_real *rvar, int B, int C, double *scratch);
/* Eval mode: Y = γ (X − rmean)/sqrt(rvar + eps) + β */
void mli_bn_forward_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *rmean, const mli_real *rvar,
                         int B, int C);
/* Backward of training mode: dX[B,C], dγ[C], dβ[C] (overwritten). scratch: 2C doubles. */
void mli_bn_backward_train(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                           const mli_real *Xhat, const mli_real *istd, const mli_real *gamma,
                           int B, int C, double *scratch);
/* Backward of eval mode (the layer is affine there): dX = dY γ/sqrt(rvar+eps) and the
 * parameter gradients. */
void mli_bn_backward_eval(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                          const mli_real *X, const mli_real *gamma, const mli_real *rmean,
                          const mli_real *rvar, int B, int C);

/* Taylor mode of eval mode, blocks of B×C, with γ = γ(α), Δγ, Δβ the direction and
 * s = 1/sqrt(rvar + eps) (running statistics fixed at each α, as the reference):
 *   Y0 = γ s (X0 − μ) + β,  Y1 = Δγ s (X0 − μ) + γ s X1 + Δβ,  Y2 = 2 Δγ s X1 + γ s X2 */
void mli_bn_tangent_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *dgamma, const mli_real *dbeta,
                         const mli_real *rmean, const mli_real *rvar, int B, int C);

/* ---- Losses on outputs Z[B,k] ----
 * ce:    ℓ = logsumexp(z) − z_y                       (targets: labels y)
 * mse:   ℓ = Σ_j (z_j − t_j)², t = one-hot(y) or T    (T[B,k] regression targets if not NULL)
 * recon: ℓ = Σ_j (z_j − x_j)², T = the inputs
 * The training objective is the mean of ℓ over the batch. Writes per-example losses into l
 * (if not NULL), the gradient of the MEAN loss into dZ (if not NULL), counts correct argmax
 * predictions into *correct (if not NULL; classification only), and returns Σ ℓ. */
double mli_loss_eval(mli_loss loss, const mli_real *Z, int B, int k, const int *y,
                     const mli_real *T, mli_real *dZ, double *l, long *correct);
/* Derivatives of ℓ(z(α)) along α from the Taylor blocks Z = [z; v; a] (3B×k):
 *   dℓ/dα = g·v,   d²ℓ/dα² = vᵀ H v  (Gauss–Newton part)  +  g·a  (output-curvature part)
 * with g = ∂ℓ/∂z and H = ∂²ℓ/∂z²: for ce g = p − e_y, H = diag(p) − ppᵀ; for mse/recon
 * g = 2r, H = 2I (r = z − t). Per example into l, dl, d2l_gn, d2l_curv (each may be NULL);
 * returns Σ ℓ. correct as in mli_loss_eval. */
double mli_loss_tangent(mli_loss loss, const mli_real *Z, int B, int k, const int *y,
                        const mli_real *T, double *l, double *dl, double *d2l_gn,
                        double *d2l_curv, long *correct);

#endif
