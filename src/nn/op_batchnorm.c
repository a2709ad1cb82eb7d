/* Batch norm with PyTorch's semantics (BatchNorm1d on N×C or N×C×L, BatchNorm2d on N×C×H×W):
 * per channel c over the N·S values of the batch (S = the reals per channel and example),
 * eps 1e-5, momentum 0.1, biased variance for the normalisation, unbiased variance for the
 * running estimate. Statistics accumulate in double so that a batch of 512 large activations
 * does not lose the mean. Value k = (i·C + c)·S + s. Tensors: weight γ, bias β (θ), then
 * running_mean, running_var (buffers). */
#include <math.h>
#include <string.h>

#include "io/err.h"
#include "io/parallel.h"
#include "nn/layers.h"
#include "nn/op.h"

#define IDX(i, c, s) (((size_t)(i) * C + (size_t)(c)) * S + (size_t)(s))

/* The sums over one example's S values of a channel, in double with eight partial sums (a
 * fixed order: deterministic; independent sums, so the loop does not wait on each add) */
#define LANES 8
static double row_sum(const mli_real *x, int S, double m, const mli_real *w)
{
    double p[LANES] = {0}, t = 0;
    int s = 0;
    for (; s + LANES <= S; s += LANES)
        for (int l = 0; l < LANES; l++) {
            p[l] += w ? (x[s + l] - m) * w[s + l] : x[s + l] - m;
        }
    for (; s < S; s++)
        t += w ? (x[s] - m) * w[s] : x[s] - m;
    for (int l = 0; l < LANES; l++)
        t += p[l];
    return t;
}

/* Σ (x − m)² over the row, as row_sum */
static double row_sq(const mli_real *x, int S, double m)
{
    double p[LANES] = {0}, t = 0;
    int s = 0;
    for (; s + LANES <= S; s += LANES)
        for (int l = 0; l < LANES; l++)
            p[l] += (x[s + l] - m) * (x[s + l] - m);
    for (; s < S; s++)
        t += (x[s] - m) * (x[s] - m);
    for (int l = 0; l < LANES; l++)
        t += p[l];
    return t;
}

/* The passes of batch norm run over blocks of channels, and the blocks are shared out to the
 * BLAS threads (the passes are memory-bound and sit between threaded GEMMs). A block is the
 * channels of about 1024 reals per example (one channel of a 28×28 map, 64 of a flat layer),
 * so that its B rows stay in cache between the passes and a flat layer's rows are still read
 * in order. Each channel's sums run over the examples in order whatever the split: results
 * do not depend on it. */
#define BN_BLOCK_MAX 64

typedef struct {
    mli_real *Y, *mean, *istd, *rmean, *rvar, *dX, *dgamma, *dbeta;
    const mli_real *X, *dY, *gamma, *beta, *cmean, *cvar;
    int B, C, S;
    double eps;
    void (*block)(const void *job, int c0, int c1);
} bn_job;

static int bn_block(int S)
{
    int cb = 1024 / (S > 0 ? S : 1);
    return cb < 1 ? 1 : cb > BN_BLOCK_MAX ? BN_BLOCK_MAX : cb;
}

static void bn_blocks(void *ctx, int b0, int b1, int t)
{
    const bn_job *j = ctx;
    int cb = bn_block(j->S);
    for (int b = b0; b < b1; b++)
        j->block(j, b * cb, (b + 1) * cb < j->C ? (b + 1) * cb : j->C);
}

static void bn_run(bn_job *j)
{
    int nt = mli_parallel_threads(), cb = bn_block(j->S);
    if ((size_t)j->B * j->C * j->S < MLI_PARALLEL_MIN_VALUES)
        nt = 1;
    mli_parallel_tasks((j->C + cb - 1) / cb, nt, bn_blocks, j);
}

/* Training mode, channels [c0, c1): Y = γ x̂ + β, x̂ = (X − mean)·istd; saves mean and istd
 * (backward recomputes x̂ from X: one pass fewer over memory than keeping it); running
 * statistics updated if rmean is not NULL */
static void train_block(const void *ctx, int c0, int c1)
{
    const bn_job *j = ctx;
    int B = j->B, C = j->C, S = j->S;
    double mean[BN_BLOCK_MAX] = {0}, var[BN_BLOCK_MAX] = {0}, M = (double)B * S;
    for (int i = 0; i < B; i++)
        for (int c = c0; c < c1; c++)
            mean[c - c0] += row_sum(j->X + IDX(i, c, 0), S, 0, NULL);
    for (int c = c0; c < c1; c++)
        mean[c - c0] /= M;
    for (int i = 0; i < B; i++)
        for (int c = c0; c < c1; c++)
            var[c - c0] += row_sq(j->X + IDX(i, c, 0), S, mean[c - c0]);
    for (int c = c0; c < c1; c++) {
        double v = var[c - c0] / M;
        j->mean[c] = (mli_real)mean[c - c0];
        j->istd[c] = (mli_real)(1 / sqrt(v + j->eps));
        if (j->rmean) {
            double unbiased = M > 1 ? var[c - c0] / (M - 1) : v;
            j->rmean[c] = (mli_real)((1 - MLI_BN_MOMENTUM) * j->rmean[c] + MLI_BN_MOMENTUM * mean[c - c0]);
            j->rvar[c] = (mli_real)((1 - MLI_BN_MOMENTUM) * j->rvar[c] + MLI_BN_MOMENTUM * unbiased);
        }
    }
    for (int i = 0; i < B; i++)
        for (int c = c0; c < c1; c++) {
            size_t k = IDX(i, c, 0);
            double m = mean[c - c0], a = j->gamma[c] * (double)j->istd[c], b = j->beta[c];
            for (int s = 0; s < S; s++)
                j->Y[k + s] = (mli_real)(a * (j->X[k + s] - m) + b);
        }
}

static void bn_forward_train(mli_real *Y, mli_real *mean, mli_real *istd, const mli_real *X, const mli_real *gamma,
                             const mli_real *beta, mli_real *rmean, mli_real *rvar, int B, int C, int S,
                             double eps)
{
    bn_job j = {.Y = Y, .mean = mean, .istd = istd, .rmean = rmean, .rvar = rvar, .X = X, .gamma = gamma,
                .beta = beta, .B = B, .C = C, .S = S, .eps = eps, .block = train_block};
    bn_run(&j);
}

/* Eval mode, channels [c0, c1): Y = γ (X − rmean)/sqrt(rvar + eps) + β */
static void eval_block(const void *ctx, int c0, int c1)
{
    const bn_job *j = ctx;
    int B = j->B, C = j->C, S = j->S;
    for (int i = 0; i < B; i++)
        for (int c = c0; c < c1; c++) {
            size_t k = IDX(i, c, 0);
            double a = j->gamma[c] / sqrt(j->cvar[c] + j->eps), m = j->cmean[c], b = j->beta[c];
            for (int s = 0; s < S; s++)
                j->Y[k + s] = (mli_real)(a * (j->X[k + s] - m) + b);
        }
}

static void bn_forward_eval(mli_real *Y, const mli_real *X, const mli_real *gamma, const mli_real *beta,
                            const mli_real *rmean, const mli_real *rvar, int B, int C, int S, double eps)
{
    bn_job j = {.Y = Y, .X = X, .gamma = gamma, .beta = beta, .cmean = rmean, .cvar = rvar, .B = B, .C = C,
                .S = S, .eps = eps, .block = eval_block};
    bn_run(&j);
}

/* Training mode backward, channels [c0, c1): dγ = Σ dy x̂, dβ = Σ dy;
 * dx = γ istd / M · (M dy − Σdy − x̂ Σ(dy x̂)), M = B·S, x̂ = (X − mean)·istd recomputed */
static void backward_block(const void *ctx, int c0, int c1)
{
    const bn_job *j = ctx;
    int B = j->B, C = j->C, S = j->S, M = B * S;
    double sdy[BN_BLOCK_MAX] = {0}, sdyx[BN_BLOCK_MAX] = {0};
    for (int i = 0; i < B; i++)
        for (int c = c0; c < c1; c++) {
            size_t k = IDX(i, c, 0);
            sdy[c - c0] += row_sum(j->dY + k, S, 0, NULL);
            sdyx[c - c0] += row_sum(j->X + k, S, j->mean[c], j->dY + k);
        }
    for (int c = c0; c < c1; c++)
        sdyx[c - c0] *= j->istd[c];
    for (int c = c0; c < c1 && j->dgamma; c++) {
        j->dgamma[c] = (mli_real)sdyx[c - c0];
        j->dbeta[c] = (mli_real)sdy[c - c0];
    }
    for (int i = 0; i < B && j->dX; i++)
        for (int c = c0; c < c1; c++) {
            size_t k = IDX(i, c, 0);
            double is = j->istd[c], a = j->gamma[c] * is / M, m = j->mean[c], sd = sdy[c - c0];
            double sx = sdyx[c - c0] * is; /* x̂ Σ(dy x̂) = (X − mean) · istd Σ(dy x̂) */
            for (int s = 0; s < S; s++)
                j->dX[k + s] = (mli_real)(a * (M * (double)j->dY[k + s] - sd - (j->X[k + s] - m) * sx));
        }
}

static void bn_backward_train(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                              const mli_real *X, const mli_real *mean, const mli_real *istd, const mli_real *gamma,
                              int B, int C, int S)
{
    bn_job j = {.dX = dX, .dgamma = dgamma, .dbeta = dbeta, .dY = dY, .X = X, .mean = (mli_real *)mean,
                .istd = (mli_real *)istd, .gamma = gamma, .B = B, .C = C, .S = S, .block = backward_block};
    bn_run(&j);
}

/* Eval mode is affine: dx = dy γ s, dγ = Σ dy (x − μ) s, dβ = Σ dy, s = 1/sqrt(rvar + eps) */
static void bn_backward_eval(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY, const mli_real *X,
                             const mli_real *gamma, const mli_real *rmean, const mli_real *rvar, int B, int C,
                             int S, double eps)
{
    if (dgamma)
        for (int c = 0; c < C; c++)
            dgamma[c] = dbeta[c] = 0;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++) {
                size_t k = IDX(i, c, s);
                mli_real is = (mli_real)(1 / sqrt(rvar[c] + eps));
                if (dgamma) {
                    dgamma[c] += dY[k] * (X[k] - rmean[c]) * is;
                    dbeta[c] += dY[k];
                }
                if (dX)
                    dX[k] = dY[k] * gamma[c] * is;
            }
}

/* ---- the 1-D kernels of layers.h (S = 1) ---- */

void mli_bn_forward_train(mli_real *Y, mli_real *mean, mli_real *istd, const mli_real *X,
                          const mli_real *gamma, const mli_real *beta, mli_real *rmean,
                          mli_real *rvar, int B, int C)
{
    bn_forward_train(Y, mean, istd, X, gamma, beta, rmean, rvar, B, C, 1, MLI_BN_EPS);
}

void mli_bn_forward_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *rmean, const mli_real *rvar,
                         int B, int C)
{
    bn_forward_eval(Y, X, gamma, beta, rmean, rvar, B, C, 1, MLI_BN_EPS);
}

void mli_bn_backward_train(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                           const mli_real *X, const mli_real *mean, const mli_real *istd,
                           const mli_real *gamma, int B, int C)
{
    bn_backward_train(dX, dgamma, dbeta, dY, X, mean, istd, gamma, B, C, 1);
}

void mli_bn_backward_eval(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                          const mli_real *X, const mli_real *gamma, const mli_real *rmean,
                          const mli_real *rvar, int B, int C)
{
    bn_backward_eval(dX, dgamma, dbeta, dY, X, gamma, rmean, rvar, B, C, 1, MLI_BN_EPS);
}

/* ---- the operator ---------------------------------------------------------------------------- */

/* C channels (the first per-example dimension), S reals per channel and example */
static int bn_C(const mli_node *n) { return n->shape.d[0]; }
static int bn_S(const mli_node *n) { return (int)(n->size / (size_t)bn_C(n)); }
/* ε: fattr[0] when the node sets it (ONNX's epsilon attribute), else the reference's 1e-5 */
static double bn_eps(const mli_node *n) { return n->fattr[0] > 0 ? n->fattr[0] : MLI_BN_EPS; }

/* The node's four views: γ, β in θ (or a gradient, or a direction); μ, σ² in the buffers */
#define BN_VIEWS(n, th, bu)                                                                                   \
    const mli_real *gamma = mli_node_view(n, 0, th), *beta = mli_node_view(n, 1, th);                         \
    const mli_real *rmean = (bu) ? mli_node_view(n, 2, bu) : NULL, *rvar = (bu) ? mli_node_view(n, 3, bu) : NULL; \
    int C = bn_C(n), S = bn_S(n);                                                                             \
    (void)gamma; (void)beta; (void)rmean; (void)rvar

static int bn_infer(mli_node *n)
{
    if (n->nin != 1)
        return mli_err(MLI_EUSAGE, "%s: batch norm takes one input", n->name);
    n->shape = n->ishape[0];
    return MLI_OK;
}

static void bn_layout(mli_arch *a, mli_node *n)
{
    int C = n->shape.d[0];
    mli_graph_tensor(a, n, "weight", 0, MLI_ROLE_OTHER, 1, &C);
    mli_graph_tensor(a, n, "bias", 0, MLI_ROLE_OTHER, 1, &C);
    mli_graph_tensor(a, n, "running_mean", 1, MLI_ROLE_OTHER, 1, &C);
    mli_graph_tensor(a, n, "running_var", 1, MLI_ROLE_OTHER, 1, &C);
}

/* training mode keeps x̂ (bmax × size) and 1/std (C) for backward */
static size_t bn_save(const mli_node *n, int bmax) { return 2 * (size_t)bn_C(n); } /* mean, istd */

/* γ = 1, β = 0; running mean 0, running variance 1 */
static void bn_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs)
{
    int C = bn_C(n);
    for (int c = 0; c < C; c++) {
        if (theta) {
            mli_node_view(n, 0, theta)[c] = 1;
            mli_node_view(n, 1, theta)[c] = 0;
        }
        if (bufs) {
            mli_node_view(n, 2, bufs)[c] = 0;
            mli_node_view(n, 3, bufs)[c] = 1;
        }
    }
}

static void bn_forward(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    if (c->mode == MLI_MODE_TRAIN)
        bn_forward_train(c->y, c->save, c->save + C, c->x[0], gamma, beta,
                         (mli_real *)rmean, (mli_real *)rvar, c->B, C, S, bn_eps(n));
    else
        bn_forward_eval(c->y, c->x[0], gamma, beta, rmean, rvar, c->B, C, S, bn_eps(n));
}

static void bn_backward(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    mli_real *dg = c->grad ? mli_node_view(n, 0, c->grad) : NULL, *db = c->grad ? mli_node_view(n, 1, c->grad) : NULL;
    if (c->mode == MLI_MODE_TRAIN)
        bn_backward_train(c->dx[0], dg, db, c->dy, c->x[0], c->save, c->save + C, gamma, c->B, C, S);
    else
        bn_backward_eval(c->dx[0], dg, db, c->dy, c->x[0], gamma, rmean, rvar, c->B, C, S, bn_eps(n));
}

/* Taylor mode of eval mode (running statistics fixed at each α, as the reference), s =
 * 1/sqrt(rvar + eps), blocks of B×size:
 *   Y0 = γ s (X0 − μ) + β,  Y1 = Δγ s (X0 − μ) + γ s X1 + Δβ,  Y2 = 2 Δγ s X1 + γ s X2 */
static void bn_tangent(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    const mli_real *dgamma = mli_node_view(n, 0, c->dir), *dbeta = mli_node_view(n, 1, c->dir);
    const mli_real *X = c->x[0];
    mli_real *Y = c->y;
    size_t blk = (size_t)c->B * n->size;
    for (int i = 0; i < c->B; i++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t k = IDX(i, ch, s);
                double is = 1 / sqrt(rvar[ch] + bn_eps(n)), xc = X[k] - rmean[ch];
                Y[k] = (mli_real)(gamma[ch] * is * xc + beta[ch]);
                Y[blk + k] = (mli_real)(dgamma[ch] * is * xc + gamma[ch] * is * X[blk + k] + dbeta[ch]);
                Y[2 * blk + k] = (mli_real)(2 * dgamma[ch] * is * X[blk + k] + gamma[ch] * is * X[2 * blk + k]);
            }
}

/* [Y; R{Y}], R{Y} = u_γ s (X − μ) + γ s R{X} + u_β; the value half is the plain eval forward,
 * so that the loss matches mli_net_loss_grad's */
static void bn_rop_forward(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    const mli_real *ugamma = mli_node_view(n, 0, c->dir), *ubeta = mli_node_view(n, 1, c->dir), *XR = c->x[0];
    size_t blk = (size_t)c->B * n->size;
    bn_forward_eval(c->y, XR, gamma, beta, rmean, rvar, c->B, C, S, bn_eps(n));
    for (int i = 0; i < c->B; i++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t k = IDX(i, ch, s);
                double is = 1 / sqrt(rvar[ch] + bn_eps(n));
                double ry = is * (ugamma[ch] * (XR[k] - rmean[ch]) + gamma[ch] * XR[blk + k]) + ubeta[ch];
                c->y[blk + k] = (mli_real)ry;
            }
}

/* From G = [R{dY}; dY]: R{dX} = R{dY} γ s + dY u_γ s, dX = dY γ s (if wanted);
 * R{dγ} = Σ [R{dY} s (X − μ) + dY s R{X}], R{dβ} = Σ R{dY} */
static void bn_rop_backward(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    size_t blk = (size_t)c->B * n->size;
    const mli_real *RdY = c->dy, *dY = c->dy + blk, *X = c->x[0], *RX = c->x[0] + blk;
    const mli_real *ugamma = mli_node_view(n, 0, c->dir);
    mli_real *Rdgamma = mli_node_view(n, 0, c->grad), *Rdbeta = mli_node_view(n, 1, c->grad), *dXR = c->dx[0];
    double *is = c->scratch, *sg = c->scratch + C;
    /* 1/sqrt once per channel, and the per-channel sums in double */
    for (int ch = 0; ch < C; ch++) {
        is[ch] = 1 / sqrt(rvar[ch] + bn_eps(n));
        sg[ch] = 0;
        Rdbeta[ch] = 0;
    }
    for (int i = 0; i < c->B; i++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t k = IDX(i, ch, s);
                sg[ch] += RdY[k] * (X[k] - rmean[ch]) + (double)dY[k] * RX[k];
                Rdbeta[ch] += RdY[k];
            }
    for (int ch = 0; ch < C; ch++)
        Rdgamma[ch] = (mli_real)(sg[ch] * is[ch]);
    if (!dXR)
        return;
    for (int i = 0; i < c->B; i++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t k = IDX(i, ch, s);
                dXR[k] = (mli_real)((RdY[k] * gamma[ch] + dY[k] * ugamma[ch]) * is[ch]);
                if (c->want_dx[0])
                    dXR[blk + k] = (mli_real)(dY[k] * gamma[ch] * is[ch]);
            }
}

static int bn_reads_grad(const mli_node *n, const int *has_r) { return 1; }

/* (∂z/∂γ, ∂z/∂β): 2C reals per row, kept explicitly */
static mli_jac_form bn_jac_form(const mli_node *n) { return MLI_JAC_EXPLICIT; }
static size_t bn_jac_width(const mli_node *n) { return 2 * (size_t)bn_C(n); }

/* one row at a time: the (γ, β) gradients are wanted per row */
static void bn_jac_backward(const mli_node *n, mli_opctx *c)
{
    BN_VIEWS(n, c->theta, c->bufs);
    size_t sz = n->size;
    for (int r = 0; r < c->rows; r++) {
        mli_real *gp = c->fac + (size_t)r * 2 * C;
        bn_backward_eval(c->dx[0] ? c->dx[0] + r * sz : NULL, gp, gp + C, c->dy + r * sz,
                         c->x[0] + (size_t)(r % c->B) * sz, gamma, rmean, rvar, 1, C, S, bn_eps(n));
    }
}

/* channels follow the input's permutation (pin = pout) */
static void bn_permute(const mli_node *n, const int *pin, const int *pout, const mli_real *theta,
                       const mli_real *bufs, mli_real *theta_out, mli_real *bufs_out)
{
    int C = bn_C(n);
    for (int t = 0; t < 4; t++) {
        const mli_real *src = t < 2 ? theta : bufs;
        mli_real *dst = t < 2 ? theta_out : bufs_out;
        if (!src || !dst)
            continue;
        const mli_real *p = mli_node_view(n, t, src);
        mli_real *q = mli_node_view(n, t, dst);
        for (int u = 0; u < C; u++)
            q[u] = p[pin ? pin[u] : u];
    }
}

/* y = γ (h − μ)/sd + β, γ = γ₀ + αΔγ: a handful of roundings (≤ 4u) relative to the magnitudes
 * involved, and the input error scaled by |γ|/sd */
static void bn_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                      double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    int C = bn_C(n), S = bn_S(n);
    double aa = fabs(alpha);
    const mli_real *G0 = mli_node_view(n, 0, t0), *G1 = mli_node_view(n, 0, t1);
    const mli_real *B0 = mli_node_view(n, 1, t0), *B1 = mli_node_view(n, 1, t1);
    for (int ch = 0; ch < C; ch++) {
        double g0 = G0[ch], dg = (double)G1[ch] - g0, b0 = B0[ch], db = (double)B1[ch] - b0;
        double mu = bufs ? mli_node_view(n, 2, bufs)[ch] : 0, var = bufs ? mli_node_view(n, 3, bufs)[ch] : 1;
        double sd = sqrt(var + bn_eps(n)), g = g0 + alpha * dg;
        double sa = (fabs(g0) + aa * fabs(dg)) / sd;
        for (int s = 0; s < S; s++) {
            size_t o = (size_t)ch * S + s;
            double h = hin[0][o];
            ho[o] = g * (h - mu) / sd + b0 + alpha * db;
            eo[o] = sa * ein[0][o] + 4 * (sa * (fabs(h) + fabs(mu)) + fabs(b0) + aa * fabs(db));
        }
    }
}

/* population mean and unbiased variance per channel; shifted by the very first example's
 * values, so that the variance of large-mean data stays exact: acc = [shift; Σ; Σ²] */
static size_t bn_stats_size(const mli_node *n) { return 3 * (size_t)bn_C(n); }

static void bn_stats(const mli_node *n, const mli_real *X, int B, double *acc, int first)
{
    int C = bn_C(n), S = bn_S(n);
    double *shift = acc, *sum = acc + C, *sq = acc + 2 * (size_t)C;
    if (first)
        for (int c = 0; c < C; c++)
            shift[c] = X[IDX(0, c, 0)];
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++) {
                double x = X[IDX(i, c, s)] - shift[c];
                sum[c] += x;
                sq[c] += x * x;
            }
}

static void bn_stats_final(const mli_node *n, const double *acc, double count, mli_real *bufs)
{
    int C = bn_C(n);
    double cnt = count * bn_S(n);
    const double *shift = acc, *sum = acc + C, *sq = acc + 2 * (size_t)C;
    for (int c = 0; c < C; c++) {
        double mean = sum[c] / cnt;
        mli_node_view(n, 2, bufs)[c] = (mli_real)(shift[c] + mean);
        mli_node_view(n, 3, bufs)[c] = (mli_real)(cnt > 1 ? (sq[c] - cnt * mean * mean) / (cnt - 1) : 0);
    }
}

static mli_pwl_role bn_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ONNX: BatchNormalization in inference mode (the running statistics, as eval mode), over
 * axis 1 of N×C×… as here. momentum is the weight of the old running value, 1 − PyTorch's, as
 * torch.onnx.export writes it; ε is the node's own when it has one (fattr[0] > 0). */
static int bn_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    const char *in[5] = {e->in[0]};
    for (int k = 0; k < 4; k++) {
        in[k + 1] = e->a->tensors[n->tensor[k]].name;
        mli_onnx_export_tensor(n, k, e);
    }
    mli_onnx_node *g = mli_onnx_add_node(e->m, "BatchNormalization", n->name, 5, in, 1, &e->out);
    mli_onnx_attr_float(g, "epsilon", (float)(n->fattr[0] > 0 ? n->fattr[0] : MLI_BN_EPS));
    mli_onnx_attr_float(g, "momentum", (float)(1 - MLI_BN_MOMENTUM));
    return MLI_OK;
}

const mli_op mli_op_batchnorm = {
    /* structure */
    .name = "BatchNorm", .infer = bn_infer, .layout = bn_layout, .save_size = bn_save, .init = bn_init,
    /* first order */
    .forward = bn_forward, .backward = bn_backward,
    /* Taylor mode */
    .tangent = bn_tangent,
    /* R-op */
    .rop_forward = bn_rop_forward, .rop_backward = bn_rop_backward, .rop_reads_grad = bn_reads_grad,
    /* Jacobians */
    .jac_form = bn_jac_form, .jac_width = bn_jac_width, .jac_backward = bn_jac_backward,
    /* the controls, the re-evaluation, statistics, the exact analysis */
    .units = 0, .permute = bn_permute, .reeval = bn_reeval, .stats_size = bn_stats_size, .stats = bn_stats,
    .stats_final = bn_stats_final, .pwl = bn_pwl,
    /* export */
    .onnx_export = bn_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c) ----------------------------------------------------------
 * BatchNormalization(X, scale, B, mean, var) at inference: scale and B (γ, β) in θ, mean and var
 * the running statistics (buffers), each a float initializer of shape [C], C the first
 * per-example dim; epsilon → fattr[0] (ONNX's default 1e-5). Refused: training_mode = 1,
 * spatial = 0 (opsets < 9), a used mean/var output, epsilon ≤ 0. */
#include "nn/onnx_graph.h"

int mli_onnx_import_batchnorm(mli_onnx_import *im, const mli_onnx_node *nd)
{
    static const char *what[4] = {"scale", "B", "input_mean", "input_var"};
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    if (mli_onnx_attr_i(nd, "training_mode", 0))
        return mli_onnx_refuse(im, nd, "training_mode=1 is not supported (inference only: the running statistics)");
    if (!mli_onnx_attr_i(nd, "spatial", 1))
        return mli_onnx_refuse(im, nd, "spatial=0 is not supported (statistics per channel only)");
    double eps = mli_onnx_attr_f(nd, "epsilon", MLI_BN_EPS);
    if (!(eps > 0))
        return mli_onnx_refuse(im, nd, "epsilon=%g is not supported (expected a positive value)", eps);
    /* a float attribute cannot hold 1e-5: the nearest float is read as the reference's value,
     * which the double re-evaluation and the statistics use unrounded (an exported native run
     * then imports to the same graph) */
    if ((float)eps == (float)MLI_BN_EPS)
        eps = MLI_BN_EPS;
    int C = mli_onnx_shape(im, x)->d[0];
    const mli_onnx_tensor *t[4];
    for (int k = 0; k < 4; k++) {
        t[k] = mli_onnx_init_in(im, nd, k + 1);
        if (!t[k] || t[k]->elem_type != MLI_ONNX_FLOAT || t[k]->ndim != 1 || t[k]->dims[0] != C)
            return mli_onnx_refuse(im, nd, "input %d (%s) must be a float initializer of shape [%d] (the channels)",
                                   k + 1, what[k], C);
    }
    int id = mli_onnx_emit(im, nd, &mli_op_batchnorm, &x, 1, NULL, 0, &eps, 1);
    if (id < 0)
        return MLI_EINPUT;
    for (int k = 0; k < 4; k++)
        if (mli_onnx_param(im, nd, id, k, t[k], 0))
            return MLI_EINPUT;
    return MLI_OK;
}
