/* Linear: y = x Wᵀ + b over the last dimension of its input, W out×in (PyTorch layout).
 * attr[0] = out; attr[1] = 1: no bias (ONNX MatMul, Gemm without C): b is then not a tensor,
 * absent from θ, the gradients and the Hessian, and every rule below takes it as 0.
 * An input of shape (…, in) is rows = B·(size/in) rows of in reals: every rule below is the
 * 2-D rule on those rows. Forward and backward are one GEMM each (two for backward with dX). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/err.h"
#include "nn/layers.h"
#include "nn/op.h"

#include <gsl/gsl_randist.h>

void mli_linear_forward(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        int B, int in, int out)
{
    /* Seed Y with the bias so the GEMM adds to it (beta = 1): one pass over Y, not two. */
    for (int i = 0; b && i < B; i++)
        memcpy(Y + (size_t)i * out, b, sizeof(mli_real) * (size_t)out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, X, in, W, in, b ? 1 : 0, Y, out);
}

void mli_linear_backward(mli_real *dX, mli_real *dW, mli_real *db, const mli_real *dY,
                         const mli_real *X, const mli_real *W, int B, int in, int out, mli_real beta)
{
    if (dW) { /* NULL: the input gradient alone (per-example Jacobians, nn/jacobian.c) */
        MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1, dY, out, X, in, beta, dW, in);
    }
    if (db) { /* NULL: no bias */
        if (beta == 0)
            memset(db, 0, sizeof(mli_real) * (size_t)out);
        for (int i = 0; i < B; i++) {
            const mli_real *row = dY + (size_t)i * out;
            for (int j = 0; j < out; j++)
                db[j] += row[j];
        }
    }
    if (dX)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, dY, out, W, in, 0, dX, in);
}

/* Taylor mode: Y = [Y0; Y1; Y2] from X = [X0; X1; X2], see layers.h. */
void mli_linear_tangent(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        const mli_real *dW, const mli_real *db, int B, int in, int out)
{
    size_t blk_in = (size_t)B * in, blk_out = (size_t)B * out;
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, 3 * B, out, in, 1, X, in, W, in, 0, Y, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, X, in, dW, in, 1, Y + blk_out, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 2, X + blk_in, in, dW, in, 1,
             Y + 2 * blk_out, out);
    for (int i = 0; b && i < B; i++)
        for (int j = 0; j < out; j++) {
            Y[(size_t)i * out + j] += b[j];
            Y[blk_out + (size_t)i * out + j] += db[j];
        }
}

/* ---- R-op (Hessian-vector products) ---- */

/* Rows [0, B) of Y get b, rows [B, 2B) get ub (zeros without bias): the GEMMs then add to
 * them (beta = 1). */
static void seed_bias2(mli_real *YR, const mli_real *b, const mli_real *ub, int B, int out)
{
    size_t blk = (size_t)B * out;
    if (!b) {
        memset(YR, 0, sizeof(mli_real) * 2 * blk);
        return;
    }
    for (int i = 0; i < B; i++) {
        memcpy(YR + (size_t)i * out, b, sizeof(mli_real) * (size_t)out);
        memcpy(YR + blk + (size_t)i * out, ub, sizeof(mli_real) * (size_t)out);
    }
}

void mli_linear_rop_forward(mli_real *YR, const mli_real *XR, int has_rx, const mli_real *W,
                            const mli_real *b, const mli_real *UW, const mli_real *ub, int B,
                            int in, int out)
{
    mli_real *RY = YR + (size_t)B * out;
    seed_bias2(YR, b, ub, B, out);
    /* [Y; R{Y}] += [X; R{X}] Wᵀ as one GEMM with M = 2B, or Y += X Wᵀ alone for the first layer */
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, has_rx ? 2 * B : B, out, in, 1, XR, in, W,
             in, 1, YR, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, XR, in, UW, in, 1, RY, out);
}

void mli_linear_rop_backward(mli_real *dXR, int want_dx, mli_real *RdW, mli_real *Rdb,
                             const mli_real *G, const mli_real *XR, int has_rx,
                             const mli_real *W, const mli_real *UW, int B, int in, int out)
{
    const mli_real *dY = G + (size_t)B * out;
    /* R{dW} = [R{dY}; dY]ᵀ [X; R{X}]: K = 2B in one call; K = B when R{X} = 0 */
    MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, has_rx ? 2 * B : B, 1, G, out, XR,
             in, 0, RdW, in);
    if (Rdb)
        memset(Rdb, 0, sizeof(mli_real) * (size_t)out);
    for (int i = 0; Rdb && i < B; i++) {
        const mli_real *row = G + (size_t)i * out;
        for (int j = 0; j < out; j++)
            Rdb[j] += row[j];
    }
    if (!dXR)
        return;
    /* [R{dX}; dX] = [R{dY}; dY] W (M = 2B), or R{dX} = R{dY} W alone, then R{dX} += dY U_W */
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, want_dx ? 2 * B : B, in, out, 1, G, out,
             W, in, 0, dXR, in);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, dY, out, UW, in, 1, dXR, in);
}

/* ---- the operator ---------------------------------------------------------------------------- */

static int lin_in(const mli_node *n) { return n->ishape[0].d[n->ishape[0].ndim - 1]; }
static int lin_out(const mli_node *n) { return n->attr[0]; }
/* rows per example: 1 for a vector input, the positions of an N-D one */
static int lin_pos(const mli_node *n) { return (int)(mli_shape_numel(&n->ishape[0]) / (size_t)lin_in(n)); }
static int lin_has_bias(const mli_node *n) { return !n->attr[1]; }
/* the bias' view in θ (a gradient, a direction), or NULL without bias */
static mli_real *lin_b(const mli_node *n, const mli_real *base)
{
    return base && lin_has_bias(n) ? mli_node_view(n, 1, base) : NULL;
}

static int lin_infer(mli_node *n)
{
    if (n->nin != 1 || lin_out(n) < 1)
        return mli_err(MLI_EUSAGE, "%s: Linear takes one input and a positive output size", n->name);
    n->shape = n->ishape[0];
    n->shape.d[n->shape.ndim - 1] = lin_out(n);
    return MLI_OK;
}

static void lin_layout(mli_arch *a, mli_node *n)
{
    int w[2] = {lin_out(n), lin_in(n)};
    mli_graph_tensor(a, n, "weight", 0, MLI_ROLE_WEIGHT, 2, w);
    if (lin_has_bias(n))
        mli_graph_tensor(a, n, "bias", 0, MLI_ROLE_OTHER, 1, w);
}

static size_t lin_save(const mli_node *n, int bmax) { return 0; }

/* default: PyTorch's nn.Linear, U(±1/√fan_in) for both; xavier_uniform_ and kaiming_normal_
 * (fan_in) with zero bias */
static void lin_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs)
{
    if (!theta)
        return;
    int in = lin_in(n), out = lin_out(n);
    mli_real *W = mli_node_view(n, 0, theta), *b = lin_b(n, theta);
    size_t nw = (size_t)out * in;
    double bound = 1 / sqrt((double)in);
    for (size_t i = 0; i < nw; i++) {
        if (type == MLI_INIT_DEFAULT)
            W[i] = (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1));
        else if (type == MLI_INIT_XAVIER)
            W[i] = (mli_real)(sqrt(6.0 / (in + out)) * (2 * gsl_rng_uniform(rng) - 1));
        else
            W[i] = (mli_real)gsl_ran_gaussian_ziggurat(rng, sqrt(2.0 / in));
    }
    for (int j = 0; b && j < out; j++)
        b[j] = type == MLI_INIT_DEFAULT ? (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1)) : 0;
}

/* y[rows, out] = x[rows, in] Wᵀ + b */
static void lin_forward(const mli_node *n, mli_opctx *c)
{
    mli_linear_forward(c->y, c->x[0], mli_node_view(n, 0, c->theta), lin_b(n, c->theta), c->B * lin_pos(n),
                       lin_in(n), lin_out(n));
}

/* dW = dyᵀx, db = Σ dy, dx = dy W */
static void lin_backward(const mli_node *n, mli_opctx *c)
{
    mli_real *g = c->grad;
    mli_linear_backward(c->dx[0], g ? mli_node_view(n, 0, g) : NULL, lin_b(n, g), c->dy,
                        c->x[0], mli_node_view(n, 0, c->theta), c->B * lin_pos(n), lin_in(n), lin_out(n), 0);
}

static void lin_tangent(const mli_node *n, mli_opctx *c)
{
    mli_linear_tangent(c->y, c->x[0], mli_node_view(n, 0, c->theta), lin_b(n, c->theta),
                       mli_node_view(n, 0, c->dir), lin_b(n, c->dir), c->B * lin_pos(n), lin_in(n), lin_out(n));
}

/* y = x Wᵀ (the bias is the response to a zero input: x NULL gives b at every position of
 * one example) */
static void lin_hoist(const mli_node *n, mli_opctx *c)
{
    int in = lin_in(n), out = lin_out(n);
    if (!c->x[0]) {
        const mli_real *b = lin_b(n, c->theta);
        for (int p = 0; p < lin_pos(n); p++)
            for (int j = 0; j < out; j++)
                c->y[(size_t)p * out + j] = b ? b[j] : 0;
        return;
    }
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, c->B * lin_pos(n), out, in, 1, c->x[0], in,
             mli_node_view(n, 0, c->theta), in, 0, c->y, out);
}

static void lin_rop_forward(const mli_node *n, mli_opctx *c)
{
    mli_linear_rop_forward(c->y, c->x[0], c->has_r[0], mli_node_view(n, 0, c->theta), lin_b(n, c->theta),
                           mli_node_view(n, 0, c->dir), lin_b(n, c->dir), c->B * lin_pos(n), lin_in(n), lin_out(n));
}

static void lin_rop_backward(const mli_node *n, mli_opctx *c)
{
    mli_linear_rop_backward(c->dx[0], c->want_dx[0], mli_node_view(n, 0, c->grad), lin_b(n, c->grad),
                            c->dy, c->x[0], c->has_r[0], mli_node_view(n, 0, c->theta),
                            mli_node_view(n, 0, c->dir), c->B * lin_pos(n), lin_in(n), lin_out(n));
}

/* R{dW} reads dY when R{X} ≠ 0; R{dX} = R{dY} W + dY U_W reads it whenever dX is wanted,
 * which the engine asks for only when the input carries an R block */
static int lin_rop_reads_grad(const mli_node *n, const int *has_r) { return has_r[0]; }

/* F = 2·positions·in·out per example, the forward GEMM; see hvp.h for the multiples */
static double lin_flops(const mli_node *n, double examples, int hvp, int has_r, int want_dx)
{
    double F = 2 * examples * lin_pos(n) * (double)lin_in(n) * lin_out(n);
    if (hvp)
        return has_r ? 7 * F + (want_dx ? F : 0) : 3 * F;
    return has_r ? 3 * F : 2 * F; /* has_r here: the input gradient is computed */
}

/* a vector input with bias: the factored block (g ⊗ x, g); an N-D one sums that over
 * positions, and without bias the block is g ⊗ x alone: kept explicitly (out·in [+ out] reals
 * per row) */
static int lin_outer(const mli_node *n) { return lin_pos(n) == 1 && lin_has_bias(n); }
static mli_jac_form lin_jac_form(const mli_node *n) { return lin_outer(n) ? MLI_JAC_OUTER : MLI_JAC_EXPLICIT; }
static size_t lin_jac_width(const mli_node *n)
{
    return lin_outer(n) ? (size_t)lin_out(n) : (size_t)lin_out(n) * (lin_in(n) + lin_has_bias(n));
}

static void lin_jac_backward(const mli_node *n, mli_opctx *c)
{
    int in = lin_in(n), out = lin_out(n), P = lin_pos(n);
    const mli_real *W = mli_node_view(n, 0, c->theta);
    if (c->dx[0]) /* all k·B rows in one GEMM */
        mli_linear_backward(c->dx[0], NULL, NULL, c->dy, NULL, W, c->rows * P, in, out, 0);
    if (lin_outer(n))
        return;
    size_t wd = lin_jac_width(n);
    for (int r = 0; r < c->rows; r++) {
        const mli_real *g = c->dy + (size_t)r * P * out, *x = c->x[0] + (size_t)(r % c->B) * P * in;
        mli_linear_backward(NULL, c->fac + r * wd, lin_has_bias(n) ? c->fac + r * wd + (size_t)out * in : NULL, g,
                            x, W, P, in, out, 0);
    }
}

static void lin_permute(const mli_node *n, const int *pin, const int *pout, const mli_real *theta,
                        const mli_real *bufs, mli_real *theta_out, mli_real *bufs_out)
{
    int in = lin_in(n), out = lin_out(n);
    const mli_real *W = mli_node_view(n, 0, theta), *b = lin_b(n, theta);
    mli_real *qW = mli_node_view(n, 0, theta_out), *qb = lin_b(n, theta_out);
    for (int u = 0; u < out; u++) {
        int su = pout ? pout[u] : u;
        for (int v = 0; v < in; v++)
            qW[(size_t)u * in + v] = W[(size_t)su * in + (pin ? pin[v] : v)];
        if (b)
            qb[u] = b[su];
    }
}

/* The float engine's y_o = Σ_i w_oi h_i + b_o with w = w₀ + αΔw rounded: every product and
 * every addition of the dot product (a GEMM accumulates in float) errs by at most u relative
 * to the running |sums|, the interpolation of each weight by 2u: (n + 4)·Σ|w||h| to first
 * order, plus the propagated input error Σ|w| e_i. */
static void lin_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                       double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    int in = lin_in(n), m = lin_out(n), P = lin_pos(n);
    double aa = fabs(alpha);
    const mli_real *W0 = mli_node_view(n, 0, t0), *W1 = mli_node_view(n, 0, t1);
    const mli_real *B0 = lin_b(n, t0), *B1 = lin_b(n, t1);
    for (int p = 0; p < P; p++) {
        const double *h = hin[0] + (size_t)p * in, *e = ein[0] + (size_t)p * in;
        for (int o = 0; o < m; o++) {
            double b0 = B0 ? B0[o] : 0, db = B0 ? (double)B1[o] - b0 : 0;
            double s = b0 + alpha * db, sa = fabs(b0) + aa * fabs(db), se = 0;
            for (int i = 0; i < in; i++) {
                double w0 = W0[(size_t)o * in + i], dw = (double)W1[(size_t)o * in + i] - w0;
                double wa = fabs(w0) + aa * fabs(dw);
                s += (w0 + alpha * dw) * h[i];
                sa += wa * fabs(h[i]);
                se += wa * e[i];
            }
            ho[(size_t)p * m + o] = s;
            eo[(size_t)p * m + o] = se + (in + 4) * sa;
        }
    }
}

/* the exact analysis' chain reads a bias (mli_chain.b) */
static mli_pwl_role lin_pwl(const mli_node *n) { return lin_outer(n) ? MLI_PWL_AFFINE : MLI_PWL_NONE; }

/* ONNX: Gemm(x, W[, b]) with transB = 1, PyTorch's own form of nn.Linear, for a vector input
 * (N × in). Over the last dimension of an N-D input Gemm does not apply (2-D only), so
 * MatMul(x, Wᵀ) [+ b], again as torch.onnx.export writes it: the weight initializer is then
 * stored transposed, in × out (its name stays the mli one). The bias is the node's second
 * tensor when it has one. */
static int lin_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    int has_b = n->nt > 1;
    const char *W = e->a->tensors[n->tensor[0]].name, *b = has_b ? e->a->tensors[n->tensor[1]].name : NULL;
    if (has_b)
        mli_onnx_export_tensor(n, 1, e);
    if (n->ishape[0].ndim == 1) {
        mli_onnx_export_tensor(n, 0, e);
        const char *in[3] = {e->in[0], W, b};
        mli_onnx_node *g = mli_onnx_add_node(e->m, "Gemm", n->name, has_b ? 3 : 2, in, 1, &e->out);
        mli_onnx_attr_float(g, "alpha", 1);
        mli_onnx_attr_float(g, "beta", 1);
        mli_onnx_attr_int(g, "transB", 1);
        return MLI_OK;
    }
    mli_onnx_export_tensor_t(n, 0, e);
    char xw[160], mname[160];
    const char *xwv = has_b ? mli_onnx_export_name(e, "matmul", xw, sizeof xw) : e->out;
    snprintf(mname, sizeof mname, "%s/MatMul", n->name);
    const char *mm[2] = {e->in[0], W}, *ad[2] = {xwv, b};
    mli_onnx_add_node(e->m, "MatMul", has_b ? mname : n->name, 2, mm, 1, &xwv);
    if (has_b)
        mli_onnx_add_node(e->m, "Add", n->name, 2, ad, 1, &e->out);
    return MLI_OK;
}

const mli_op mli_op_linear = {
    /* structure */
    .name = "Linear", .infer = lin_infer, .layout = lin_layout, .save_size = lin_save, .init = lin_init,
    /* first order */
    .forward = lin_forward, .backward = lin_backward,
    /* Taylor mode */
    .tangent = lin_tangent, .hoist = lin_hoist,
    /* R-op */
    .rop_forward = lin_rop_forward, .rop_backward = lin_rop_backward, .rop_const_input = 1,
    .rop_reads_grad = lin_rop_reads_grad, .flops = lin_flops,
    /* Jacobians */
    .jac_form = lin_jac_form, .jac_width = lin_jac_width, .jac_backward = lin_jac_backward,
    /* the controls, the re-evaluation, statistics, the exact analysis */
    .units = 1, .permute = lin_permute, .reeval = lin_reeval, .pwl = lin_pwl,
    /* export */
    .onnx_export = lin_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c) ------------------------------------------------------------
 * Gemm(A, B[, C]): Y = A·op(B) + C with transA = 0, alpha = 1 and beta = 1 (when C is given), A
 *   a vector per example; B a 2-D initializer: transB = 1 is PyTorch's out×in, kept as is;
 *   transB = 0 is in×out, kept transposed in θ (every distance and norm unchanged); C an
 *   initializer of shape [N] or [1, N], or none (a Linear without bias).
 * MatMul(A, B): B a 2-D initializer K×N (kept transposed), A of any per-example shape (…, K):
 *   a Linear without bias over the last dim.
 * Without C, if the one reader of Y is an Add of Y and a float initializer of shape [N] or
 *   [1, N], the two become one Linear with that bias (the Add is absorbed).
 * Transpose(W) of a 2-D float initializer (perm absent or [1, 0]) read only as a MatMul's or
 *   Gemm's B: the weight W itself, its layout flipped (older PyTorch exports of bias-free
 *   Linear layers); any other Transpose is refused. */
#include "nn/onnx_graph.h"

static int onnx_is_bias(const mli_onnx_tensor *t, int64_t out)
{
    return t && t->elem_type == MLI_ONNX_FLOAT && t->numel == (size_t)out &&
           (t->ndim == 1 || (t->ndim == 2 && t->dims[0] == 1));
}

/* the Add that may carry this node's bias, and its initializer */
static const mli_onnx_node *onnx_bias_add(mli_onnx_import *im, const mli_onnx_node *nd, int64_t out,
                                          const mli_onnx_tensor **b)
{
    const mli_onnx_node *c = mli_onnx_sole_consumer(im, nd);
    if (!c || strcmp(c->op_type, "Add") || c->domain[0] || c->ninputs != 2 || c->noutputs != 1)
        return NULL;
    int mine = !strcmp(c->inputs[0], nd->outputs[0]) ? 0 : 1;
    *b = mli_onnx_init_in(im, c, 1 - mine);
    return onnx_is_bias(*b, out) ? c : NULL;
}

static int onnx_linear(mli_onnx_import *im, const mli_onnx_node *nd, int x, const mli_onnx_tensor *W, int trans,
                       const mli_onnx_tensor *C)
{
    const mli_shape *s = mli_onnx_shape(im, x);
    int in = s->d[s->ndim - 1];
    int64_t kin = trans ? W->dims[0] : W->dims[1], out = trans ? W->dims[1] : W->dims[0];
    if (kin != in || out < 1 || out > 1 << 24)
        return mli_onnx_refuse(im, nd, "weight '%s' of shape [%lld, %lld]%s does not fit an input of %d features",
                               W->name, (long long)W->dims[0], (long long)W->dims[1], trans ? "" : " (transposed)", in);
    const mli_onnx_tensor *b = C;
    const mli_onnx_node *add = C ? NULL : onnx_bias_add(im, nd, out, &b);
    if (!C && !add)
        b = NULL;
    int attr[2] = {(int)out, b == NULL};
    int id = mli_onnx_emit(im, nd, &mli_op_linear, &x, 1, attr, 2, NULL, 0);
    if (id < 0 || mli_onnx_param(im, nd, id, 0, W, trans) || (b && mli_onnx_param(im, add ? add : nd, id, 1, b, 0)))
        return MLI_EINPUT;
    if (add)
        mli_onnx_absorb(im, add, id);
    return MLI_OK;
}

/* a Transpose that is a weight's layout: of a 2-D float initializer, perm [1, 0], read once */
static const mli_onnx_tensor *onnx_transposed(mli_onnx_import *im, const mli_onnx_node *t)
{
    const mli_onnx_attr *perm = mli_onnx_find_attr(t, "perm");
    const mli_onnx_tensor *W = mli_onnx_init_in(im, t, 0);
    if (!W || W->ndim != 2 || W->elem_type != MLI_ONNX_FLOAT || t->noutputs != 1 || t->domain[0])
        return NULL;
    if (perm && (perm->type != MLI_ONNX_ATTR_INTS || perm->n != 2 || perm->ints[0] != 1 || perm->ints[1] != 0))
        return NULL;
    const mli_onnx_node *c = mli_onnx_sole_consumer(im, t);
    if (!c || (strcmp(c->op_type, "MatMul") && strcmp(c->op_type, "Gemm")) || c->ninputs < 2 ||
        strcmp(c->inputs[1], t->outputs[0]) || !strcmp(c->inputs[0], t->outputs[0]))
        return NULL;
    return W;
}

int mli_onnx_import_transpose(mli_onnx_import *im, const mli_onnx_node *nd)
{
    /* nothing to emit: the MatMul or Gemm reading it takes the weight (onnx_weight) */
    return onnx_transposed(im, nd) ? MLI_OK
                                   : mli_onnx_refuse(im, nd, "Transpose is supported only of a 2-D float "
                                                     "initializer read once as the weight B of a MatMul or Gemm");
}

/* B: an initializer (*flip = 0) or the Transpose of one (*flip = 1) */
static const mli_onnx_tensor *onnx_weight(mli_onnx_import *im, const mli_onnx_node *nd, int *flip)
{
    const mli_onnx_tensor *W = mli_onnx_init_in(im, nd, 1);
    const mli_onnx_node *t = W || nd->ninputs < 2 ? NULL : mli_onnx_producer(im, nd->inputs[1]);
    *flip = 0;
    if (t && !strcmp(t->op_type, "Transpose") && (W = onnx_transposed(im, t)))
        *flip = 1;
    if (!W || W->ndim != 2 || W->elem_type != MLI_ONNX_FLOAT)
        return mli_onnx_refuse(im, nd, "input B must be a 2-D float initializer (a weight); a product of two "
                               "values or with a batched B is not supported"), NULL;
    return W;
}

int mli_onnx_import_gemm(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    if (mli_onnx_shape(im, x)->ndim != 1)
        return mli_onnx_refuse(im, nd, "input A has %d dims per example: Gemm takes batch × features",
                               mli_onnx_shape(im, x)->ndim);
    if (mli_onnx_attr_i(nd, "transA", 0))
        return mli_onnx_refuse(im, nd, "transA=1 is not supported (only transA=0: one example per row)");
    double alpha = mli_onnx_attr_f(nd, "alpha", 1), beta = mli_onnx_attr_f(nd, "beta", 1);
    if (alpha != 1)
        return mli_onnx_refuse(im, nd, "alpha=%g is not supported (only alpha=1)", alpha);
    int flip;
    const mli_onnx_tensor *W = onnx_weight(im, nd, &flip), *C = NULL;
    if (!W)
        return MLI_EINPUT;
    int trans = (mli_onnx_attr_i(nd, "transB", 0) == 0) != flip;
    int64_t out = trans ? W->dims[1] : W->dims[0];
    if (nd->ninputs > 2 && nd->inputs[2][0]) {
        C = mli_onnx_init_in(im, nd, 2);
        if (beta != 1)
            return mli_onnx_refuse(im, nd, "beta=%g is not supported (only beta=1)", beta);
        if (!onnx_is_bias(C, out))
            return mli_onnx_refuse(im, nd, "input C '%s' is not supported: a bias must be a float initializer of "
                                   "shape [%lld] or [1, %lld]", nd->inputs[2], (long long)out, (long long)out);
    }
    return onnx_linear(im, nd, x, W, trans, C);
}

int mli_onnx_import_matmul(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    int flip;
    const mli_onnx_tensor *W = onnx_weight(im, nd, &flip);
    return W ? onnx_linear(im, nd, x, W, !flip, NULL) : MLI_EINPUT;
}
