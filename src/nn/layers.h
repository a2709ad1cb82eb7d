/* The 2-D kernels of the operators (B rows, row-major), each the single implementation of
 * its math: op_linear.c, op_act.c and op_batchnorm.c build their operator rules (op.h) on
 * these, and loss.c holds the losses. The engines never call them directly: they go
 * through the operator table of each node. */
#ifndef MLI_LAYERS_H
#define MLI_LAYERS_H

#include "io/real.h"
#include "nn/arch.h"

/* ---- Linear: y = x Wᵀ + b, W out×in (PyTorch layout) ---- */
/* Y[B,out] = X[B,in] W[out,in]ᵀ + b[out] (b NULL: no bias, here and below) */
void mli_linear_forward(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        int B, int in, int out);
/* dW[out,in] = dY[B,out]ᵀ X[B,in]; db[out] = Σ_rows dY; dX[B,in] = dY W (skipped when dX is
 * NULL). beta = 0 overwrites dW/db, 1 accumulates. dW NULL skips dW, db NULL skips db (both
 * NULL: X unused). */
void mli_linear_backward(mli_real *dX, mli_real *dW, mli_real *db, const mli_real *dY,
                         const mli_real *X, const mli_real *W, int B, int in, int out, mli_real beta);

/* Taylor mode along θ(α) = θ₀ + αΔ: value, first and second α-derivative, stacked as three
 * blocks of B rows (X = [X0; X1; X2], 3B×in). With W = W(α), ΔW the direction:
 *   Y0 = X0 Wᵀ + b,  Y1 = X1 Wᵀ + X0 ΔWᵀ + Δb,  Y2 = X2 Wᵀ + 2 X1 ΔWᵀ
 * Three GEMMs: [X0;X1;X2] Wᵀ in one call, then the two ΔW products. */
void mli_linear_tangent(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        const mli_real *dW, const mli_real *db, int B, int in, int out);
/* ---- Linear: R-op (Hessian-vector products, Pearlmutter's R{·} with R{θ} = u) ----
 * Forward blocks are stacked [value; R] (2B rows), backward blocks [R; value]
 * (G = [R{dY}; dY], 2B rows), so that R{dW} = R{dY}ᵀX + dYᵀR{X} = Gᵀ[X; R{X}] is ONE GEMM
 * with K = 2B, and [R{dX}; dX] = G W is one GEMM with M = 2B.
 * has_rx = 0 (the first layer): R{X} = 0, X has B rows only. */
/* Y = X Wᵀ + b and R{Y} = R{X} Wᵀ + X U_Wᵀ + u_b: YR[2B,out] = [Y; R{Y}] from XR = [X; R{X}]
 * (2B×in, or B×in when has_rx = 0). GEMM flops: 4·B·in·out (2·B·in·out if !has_rx). */
void mli_linear_rop_forward(mli_real *YR, const mli_real *XR, int has_rx, const mli_real *W,
                            const mli_real *b, const mli_real *UW, const mli_real *ub, int B,
                            int in, int out);
/* From G[2B,out] = [R{dY}; dY] (only R{dY} is read when has_rx = 0 and dXR is NULL):
 * RdW[out,in] = R{dY}ᵀX + dYᵀR{X}, Rdb[out] = Σ_rows R{dY} (both overwritten), and if dXR
 * is not NULL, R{dX} = R{dY} W + dY U_W into dXR[0:B] and, if want_dx, dX = dY W into
 * dXR[B:2B] (the layer below needs it only if it or a layer further down has curvature in
 * dX: σ″ ≠ 0, batch norm, or a Linear that is not the first).
 * GEMM flops, F = 2·B·in·out: R{dW} 2F (F if !has_rx), R{dX} 2F, dX F. */
void mli_linear_rop_backward(mli_real *dXR, int want_dx, mli_real *RdW, mli_real *Rdb,
                             const mli_real *G, const mli_real *XR, int has_rx,
                             const mli_real *W, const mli_real *UW, int B, int in, int out);

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

/* ---- Activations: R-op, blocks of n = B·width, stacking as the Linear R-op ---- */
/* SR = [S; R{S}] with S = σ(H), R{S} = σ′(H) R{H}, from HR = [H; R{H}] (2n each) */
void mli_act_rop_forward(mli_act act, mli_real *SR, const mli_real *HR, size_t n);
/* R{dH} = R{dS} σ′(H) + dS σ″(H) R{H} and, if want_dh, dH = dS σ′(H), into
 * dHR = [R{dH}; dH] from dSR = [R{dS}; dS], HR = [H; R{H}], S = σ(H) (n). dS is read only
 * when σ″ ≠ 0 (tanh, sigmoid) or want_dh: relu and identity have σ″ = 0 (mli_act_d2). */
void mli_act_rop_backward(mli_act act, mli_real *dHR, int want_dh, const mli_real *dSR,
                          const mli_real *HR, const mli_real *S, size_t n);
/* 1 if the R-backward of act reads dS (σ″ ≠ 0) */
int mli_act_rop_needs_grad(mli_act act);

/* ---- BatchNorm1d over C features, PyTorch semantics ---- */
/* Training mode: normalise with the batch mean and biased variance; if rmean/rvar are not
 * NULL update them with momentum (running var takes the unbiased batch variance).
 * Y[B,C] = γ x̂ + β, x̂ = (X − mean)·istd; saves mean[C] and istd[C] = 1/sqrt(var + eps) for
 * backward. */
void mli_bn_forward_train(mli_real *Y, mli_real *mean, mli_real *istd, const mli_real *X,
                          const mli_real *gamma, const mli_real *beta, mli_real *rmean,
                          mli_real *rvar, int B, int C);
/* Eval mode: Y = γ (X − rmean)/sqrt(rvar + eps) + β */
void mli_bn_forward_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *rmean, const mli_real *rvar,
                         int B, int C);
/* Backward of training mode: dX[B,C], dγ[C], dβ[C] (overwritten), from the forward's input X
 * and its saved mean and istd. */
void mli_bn_backward_train(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                           const mli_real *X, const mli_real *mean, const mli_real *istd,
                           const mli_real *gamma, int B, int C);
/* Backward of eval mode (the layer is affine there): dX = dY γ/sqrt(rvar+eps) and the
 * parameter gradients. */
void mli_bn_backward_eval(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                          const mli_real *X, const mli_real *gamma, const mli_real *rmean,
                          const mli_real *rvar, int B, int C);

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

/* ---- Losses: R-op ----
 * R{dZ} = (∂²ℓ/∂z²) R{z} / B per example (the Hessian of the MEAN loss): ce (diag p − ppᵀ) R{z}
 * with p = softmax(z); mse and recon 2 R{z}. The targets do not enter. RdZ[B,k] overwritten. */
void mli_loss_rop(mli_loss loss, const mli_real *Z, const mli_real *RZ, int B, int k,
                  mli_real *RdZ);

#endif
