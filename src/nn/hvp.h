/* Exact Hessian-vector products of the mean loss over a batch, H u with H = ∇²_θ L(θ),
 * by forward-over-reverse differentiation (Pearlmutter's R{·} operator, R{θ} = u): one
 * forward pass carrying [value; R{value}] and one backward pass carrying [R{grad}; grad]
 * through each node's R-op rules (mli_op.rop_forward, rop_backward). Batch norm in EVAL mode only (running statistics
 * fixed: the layer is affine in its input and in (γ, β)), which is the mode every
 * loss-landscape quantity of this project uses.
 *
 * Only the activation gradients dY that the R-backward reads are computed, never the
 * parameter gradient: dY at a node's output is needed when that node reads it
 * (mli_op.rop_reads_grad: a Linear whose input is not the data, batch norm, tanh/sigmoid with
 * σ″ ≠ 0) or must pass it on to an input that needs it. The data carries no R block.
 *
 * Cost in GEMM flops, F_l = 2·B·in_l·out_l for each Linear layer l (the gradient
 * mli_net_loss_grad costs 2F for the first layer, 3F for the others):
 *   first layer      3F  X Wᵀ, X U_Wᵀ, R{dY}ᵀX (R{X} = 0, no dX)
 *   other layers     7F  [X; R{X}] Wᵀ (one GEMM, M = 2B) 2F, X U_Wᵀ 1F,
 *                        R{dW} = [R{dY}; dY]ᵀ[X; R{X}] (one GEMM, K = 2B) 2F,
 *                        R{dX} = R{dY} W + dY U_W 2F
 *                  + 1F  dX = dY W, only when the layer below needs dY (stacked into the
 *                        R{dY} W GEMM, M = 2B)
 * For 784-1024-1024-10 relu without batch norm the middle layer's dX is not needed (relu has
 * σ″ = 0 and the first layer reads only R{dY}): 3F₁ + 7F₂ + 8F₃ against 2F₁ + 3F₂ + 3F₃,
 * 2.056× the gradient's GEMM flops (2.275× if dX were computed everywhere; tanh, sigmoid
 * or batch norm need it). The elementwise passes are memory-bound and small beside this. */
#ifndef MLI_HVP_H
#define MLI_HVP_H

#include "io/real.h"
#include "nn/arch.h"
#include "nn/net.h"

typedef struct {
    int bmax;
    size_t nparams;
    mli_real *f[MLI_MAX_NODES]; /* [Y; R{Y}] of each node, 2·bmax × size */
    mli_real *g[MLI_MAX_NODES]; /* [R{dY}; dY] at each node's output, 2·bmax × size */
    mli_real *xr;               /* [X; 0] for nodes that need an R block on the data */
    mli_real *acc;              /* second gradients of values used twice */
    double *loss;               /* per-example losses, bmax */
    double *scratch;            /* 2 × width_max */
    mli_real *u, *hv;           /* nparams each: scratch for callers that hold u in double */
    mli_real *work;             /* the rules' workspace, mli_graph_work_size */
} mli_hvp_ws;

/* Every buffer for batches of up to bmax examples; no allocation happens per call. */
mli_hvp_ws *mli_hvp_ws_new(const mli_arch *a, int bmax);
void mli_hvp_ws_free(mli_hvp_ws *w);

/* hv[nparams] = H u, H the Hessian w.r.t. θ of the MEAN loss over the batch (b->n ≤ bmax),
 * eval mode; returns that mean loss. u and hv may not alias. */
double mli_net_hvp(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                   mli_hvp_ws *w, const mli_batch *b, const mli_real *u, mli_real *hv);

/* GEMM flops of one mli_net_hvp on n examples (for benchmarks), and of one
 * mli_net_loss_grad with a gradient. */
double mli_hvp_gemm_flops(const mli_arch *a, double n);
double mli_grad_gemm_flops(const mli_arch *a, double n);

#endif
