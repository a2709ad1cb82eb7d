/* Pooling over the spatial axes of per-example C×H×W values, no parameters:
 *   MaxPool (mli_op_maxpool)    y[c, oh, ow] = max over the window (ONNX MaxPool, PyTorch MaxPool2d)
 *   AveragePool (mli_op_avgpool) y = mean over the window (ONNX AveragePool, PyTorch AvgPool2d)
 *   GlobalAveragePool (mli_op_gap) y[c] = mean of x[c, ·, ·] over H×W
 * The window of output (oh, ow) reads x[c, oh·s_h − p_t + a·d_h, ow·s_w − p_l + b·d_w],
 * a < kh, b < kw; positions in the padding are left out of a max and count as zeros in a
 * mean when count_include_pad. H' = ⌊(H + p_t + p_b − d_h·(kh − 1) − 1)/s_h⌋ + 1 (no ceil_mode).
 * Attributes of MaxPool and AveragePool (attr[]), in this order:
 *   0 kh   1 kw   2 stride_h   3 stride_w   4 pad_top   5 pad_left   6 pad_bottom   7 pad_right
 *   8 dilation_h   9 dilation_w   10 count_include_pad (AveragePool: 1 divides by kh·kw always,
 *   PyTorch's AvgPool2d default; 0 by the positions inside the input, ONNX's default)
 * A stride or dilation of 0 means 1 (ONNX's defaults; PyTorch's stride defaults to the kernel:
 * say so explicitly). Every window must meet the input (an empty max or mean is an error).
 * GlobalAveragePool: attr[0] = 0 gives C×1×1 (ONNX GlobalAveragePool, ReduceMean over axes
 * [2, 3] with keepdims 1), 1 gives C (ReduceMean keepdims 0, torch's x.mean((2, 3))); the
 * values in memory are the same.
 *
 * Max pool takes the first maximum of the window in row-major order, as PyTorch; backward
 * routes dy to it. Taylor mode and the R-op follow the argmax of the value (y1 = x1[argmax x0],
 * …): exact wherever the maximum is unique, which is almost everywhere; at a tie the max is
 * not differentiable and the rules give the derivative of the first maximum's branch.
 * Average pools are linear: every rule applies the same map (or its adjoint) to each block. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

typedef struct {
    int C, H, W, Ho, Wo, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, incl;
} pool_geom;

static int one_if_zero(int v) { return v ? v : 1; }

static pool_geom pool_get(const mli_node *n)
{
    const mli_shape *s = &n->ishape[0];
    pool_geom q = {.C = s->d[0], .H = s->d[1], .W = s->d[2]};
    if (n->op == &mli_op_gap) { /* one window over the whole map */
        q.kh = q.H, q.kw = q.W, q.sh = q.sw = q.dh = q.dw = 1, q.incl = 1;
    } else {
        const int *t = n->attr;
        q.kh = t[0], q.kw = t[1], q.sh = one_if_zero(t[2]), q.sw = one_if_zero(t[3]);
        q.pt = t[4], q.pl = t[5], q.pb = t[6], q.pr = t[7];
        q.dh = one_if_zero(t[8]), q.dw = one_if_zero(t[9]), q.incl = t[10];
    }
    int eh = q.dh * (q.kh - 1) + 1, ew = q.dw * (q.kw - 1) + 1;
    q.Ho = q.H + q.pt + q.pb >= eh ? (q.H + q.pt + q.pb - eh) / q.sh + 1 : 0;
    q.Wo = q.W + q.pl + q.pr >= ew ? (q.W + q.pl + q.pr - ew) / q.sw + 1 : 0;
    return q;
}

static size_t in_size(const pool_geom *q) { return (size_t)q->C * q->H * q->W; }
static size_t out_size(const pool_geom *q) { return (size_t)q->C * q->Ho * q->Wo; }

/* the window of output (oh, ow): input rows [a0, a1) and columns [b0, b1) of the kernel
 * fall inside the input */
typedef struct {
    int ih0, iw0, a0, a1, b0, b1;
} window;

static int first_inside(int start, int d, int k, int len)
{
    int a = 0;
    while (a < k && start + a * d < 0)
        a++;
    return a;
}
static int end_inside(int start, int d, int k, int len)
{
    int a = k;
    while (a > 0 && start + (a - 1) * d >= len)
        a--;
    return a;
}

static window pool_window(const pool_geom *q, int oh, int ow)
{
    window w = {.ih0 = oh * q->sh - q->pt, .iw0 = ow * q->sw - q->pl};
    w.a0 = first_inside(w.ih0, q->dh, q->kh, q->H);
    w.a1 = end_inside(w.ih0, q->dh, q->kh, q->H);
    w.b0 = first_inside(w.iw0, q->dw, q->kw, q->W);
    w.b1 = end_inside(w.iw0, q->dw, q->kw, q->W);
    return w;
}

/* input offset within a channel map of kernel position (a, b) */
static size_t win_at(const pool_geom *q, const window *w, int a, int b)
{
    return (size_t)(w->ih0 + a * q->dh) * q->W + (size_t)(w->iw0 + b * q->dw);
}

/* the divisor of a mean */
static int win_count(const pool_geom *q, const window *w)
{
    return q->incl ? q->kh * q->kw : (w->a1 - w->a0) * (w->b1 - w->b0);
}

/* offset in x (one example) of the first maximum of the window of output o = (c, oh, ow) */
static size_t max_arg(const pool_geom *q, const mli_real *x, int c, const window *w)
{
    const mli_real *xc = x + (size_t)c * q->H * q->W;
    size_t best = win_at(q, w, w->a0, w->b0);
    for (int a = w->a0; a < w->a1; a++)
        for (int b = w->b0; b < w->b1; b++) {
            size_t j = win_at(q, w, a, b);
            if (xc[j] > xc[best])
                best = j;
        }
    return (size_t)c * q->H * q->W + best;
}

/* Y[nex, C, H', W'] = src[argmax of the window of X] for nex examples (src = X: the max) */
static void max_gather(const pool_geom *q, mli_real *Y, const mli_real *X, const mli_real *src, int nex)
{
    for (int i = 0; i < nex; i++) {
        const mli_real *x = X + (size_t)i * in_size(q), *s = src + (size_t)i * in_size(q);
        mli_real *y = Y + (size_t)i * out_size(q);
        for (int oh = 0; oh < q->Ho; oh++)
            for (int ow = 0; ow < q->Wo; ow++) {
                window w = pool_window(q, oh, ow);
                for (int c = 0; c < q->C; c++)
                    y[((size_t)c * q->Ho + oh) * q->Wo + ow] = s[max_arg(q, x, c, &w)];
            }
    }
}

/* dX = 0, then dX[argmax of the window of X] += dY (nex examples; X repeats every xex) */
static void max_scatter(const pool_geom *q, mli_real *dX, const mli_real *X, int xex, const mli_real *dY, int nex)
{
    memset(dX, 0, sizeof(mli_real) * (size_t)nex * in_size(q));
    for (int i = 0; i < nex; i++) {
        const mli_real *x = X + (size_t)(i % xex) * in_size(q), *dy = dY + (size_t)i * out_size(q);
        mli_real *dx = dX + (size_t)i * in_size(q);
        for (int oh = 0; oh < q->Ho; oh++)
            for (int ow = 0; ow < q->Wo; ow++) {
                window w = pool_window(q, oh, ow);
                for (int c = 0; c < q->C; c++)
                    dx[max_arg(q, x, c, &w)] += dy[((size_t)c * q->Ho + oh) * q->Wo + ow];
            }
    }
}

/* Y = the mean of each window, nex examples: the sum, then one product by 1/count */
static void avg_apply(const pool_geom *q, mli_real *Y, const mli_real *X, int nex)
{
    for (int i = 0; i < nex; i++) {
        const mli_real *x = X + (size_t)i * in_size(q);
        mli_real *y = Y + (size_t)i * out_size(q);
        for (int oh = 0; oh < q->Ho; oh++)
            for (int ow = 0; ow < q->Wo; ow++) {
                window w = pool_window(q, oh, ow);
                mli_real inv = (mli_real)1 / (mli_real)win_count(q, &w);
                for (int c = 0; c < q->C; c++) {
                    const mli_real *xc = x + (size_t)c * q->H * q->W;
                    mli_real s = 0;
                    for (int a = w.a0; a < w.a1; a++)
                        for (int b = w.b0; b < w.b1; b++)
                            s += xc[win_at(q, &w, a, b)];
                    y[((size_t)c * q->Ho + oh) * q->Wo + ow] = s * inv;
                }
            }
    }
}

/* the adjoint: dX = 0, then each window's inputs += dy/count (nex examples) */
static void avg_adjoint(const pool_geom *q, mli_real *dX, const mli_real *dY, int nex)
{
    memset(dX, 0, sizeof(mli_real) * (size_t)nex * in_size(q));
    for (int i = 0; i < nex; i++) {
        const mli_real *dy = dY + (size_t)i * out_size(q);
        mli_real *dx = dX + (size_t)i * in_size(q);
        for (int oh = 0; oh < q->Ho; oh++)
            for (int ow = 0; ow < q->Wo; ow++) {
                window w = pool_window(q, oh, ow);
                mli_real inv = (mli_real)1 / (mli_real)win_count(q, &w);
                for (int c = 0; c < q->C; c++) {
                    mli_real *dc = dx + (size_t)c * q->H * q->W, g = dy[((size_t)c * q->Ho + oh) * q->Wo + ow] * inv;
                    for (int a = w.a0; a < w.a1; a++)
                        for (int b = w.b0; b < w.b1; b++)
                            dc[win_at(q, &w, a, b)] += g;
                }
            }
    }
}

/* ---- the operators ------------------------------------------------------------------------- */

static int pool_infer(mli_node *n)
{
    if (n->nin != 1 || n->ishape[0].ndim != 3)
        return mli_err(MLI_EUSAGE, "%s: %s takes one input of C×H×W values", n->name, n->op->name);
    for (int k = 0; k < 11 && n->op != &mli_op_gap; k++)
        if (n->attr[k] < 0)
            return mli_err(MLI_EUSAGE, "%s: %s attribute %d is negative (%d)", n->name, n->op->name, k, n->attr[k]);
    pool_geom q = pool_get(n);
    if (q.kh < 1 || q.kw < 1 || q.incl > 1)
        return mli_err(MLI_EUSAGE, "%s: %s needs a positive kernel (%d×%d) and count_include_pad 0 or 1", n->name,
                       n->op->name, q.kh, q.kw);
    if (q.Ho < 1 || q.Wo < 1)
        return mli_err(MLI_EUSAGE, "%s: %s kernel %d×%d (dilation %d, %d) larger than the padded input %d×%d", n->name,
                       n->op->name, q.kh, q.kw, q.dh, q.dw, q.H + q.pt + q.pb, q.W + q.pl + q.pr);
    for (int oh = 0; oh < q.Ho; oh++)
        for (int ow = 0; ow < q.Wo; ow++) {
            window w = pool_window(&q, oh, ow);
            if (w.a0 >= w.a1 || w.b0 >= w.b1)
                return mli_err(MLI_EUSAGE, "%s: %s window (%d, %d) lies in the padding: pads too large", n->name,
                               n->op->name, oh, ow);
        }
    n->shape.ndim = 3;
    n->shape.d[0] = q.C;
    n->shape.d[1] = q.Ho;
    n->shape.d[2] = q.Wo;
    return MLI_OK;
}

static int gap_infer(mli_node *n)
{
    if (n->attr[0] != 0 && n->attr[0] != 1)
        return mli_err(MLI_EUSAGE, "%s: GlobalAveragePool attribute 0 is %d, not 0 (C×1×1) or 1 (C)", n->name,
                       n->attr[0]);
    if (pool_infer(n))
        return MLI_EUSAGE;
    if (n->attr[0] == 1)
        n->shape.ndim = 1;
    return MLI_OK;
}

static void pool_layout(mli_arch *a, mli_node *n) {}
static size_t pool_save(const mli_node *n, int bmax) { return 0; }
static void pool_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs) {}
static int pool_reads_grad(const mli_node *n, const int *has_r) { return 0; }
static mli_jac_form pool_jac_form(const mli_node *n) { return MLI_JAC_NONE; }
static size_t pool_jac_width(const mli_node *n) { return 0; }
static mli_pwl_role pool_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ---- max ---- */

static void max_forward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    max_gather(&q, c->y, c->x[0], c->x[0], c->B);
}

static void max_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        max_scatter(&q, c->dx[0], c->x[0], c->B, c->dy, c->B);
}

/* [Y0; Y1; Y2] = [X0; X1; X2] at the argmax of X0 */
static void max_tangent(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    size_t bi = (size_t)c->B * in_size(&q), bo = (size_t)c->B * out_size(&q);
    for (int k = 0; k < 3; k++)
        max_gather(&q, c->y + k * bo, c->x[0], c->x[0] + k * bi, c->B);
}

/* [Y; R{Y}] = [X; R{X}] at the argmax of X */
static void max_rop_forward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    size_t bi = (size_t)c->B * in_size(&q), bo = (size_t)c->B * out_size(&q);
    for (int k = 0; k < 2; k++)
        max_gather(&q, c->y + k * bo, c->x[0], c->x[0] + k * bi, c->B);
}

/* [R{dX}; dX] from [R{dY}; dY], routed to the argmax of X (dX only if wanted) */
static void max_rop_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        max_scatter(&q, c->dx[0], c->x[0], c->B, c->dy, (c->want_dx[0] ? 2 : 1) * c->B);
}

/* row r meets example r mod B */
static void max_jac_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        max_scatter(&q, c->dx[0], c->x[0], c->B, c->dy, c->rows);
}

/* No rounding in a max: |max ĥ − max h| ≤ max |ĥ_j − h_j| ≤ the largest e_j of the window */
static void max_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs, double alpha,
                       const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    pool_geom q = pool_get(n);
    for (int oh = 0; oh < q.Ho; oh++)
        for (int ow = 0; ow < q.Wo; ow++) {
            window w = pool_window(&q, oh, ow);
            for (int c = 0; c < q.C; c++) {
                const double *h = hin[0] + (size_t)c * q.H * q.W, *e = ein[0] + (size_t)c * q.H * q.W;
                double m = -DBL_MAX, em = 0;
                for (int a = w.a0; a < w.a1; a++)
                    for (int b = w.b0; b < w.b1; b++) {
                        size_t j = win_at(&q, &w, a, b);
                        m = h[j] > m ? h[j] : m;
                        em = e[j] > em ? e[j] : em;
                    }
                size_t o = ((size_t)c * q.Ho + oh) * q.Wo + ow;
                ho[o] = m;
                eo[o] = em;
            }
        }
}

/* ---- averages (AveragePool, GlobalAveragePool) ---- */

static void avg_forward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    avg_apply(&q, c->y, c->x[0], c->B);
}

static void avg_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        avg_adjoint(&q, c->dx[0], c->dy, c->B);
}

/* linear: the three blocks are the mean of theirs */
static void avg_tangent(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    avg_apply(&q, c->y, c->x[0], 3 * c->B);
}

static void avg_rop_forward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    avg_apply(&q, c->y, c->x[0], 2 * c->B);
}

static void avg_rop_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        avg_adjoint(&q, c->dx[0], c->dy, (c->want_dx[0] ? 2 : 1) * c->B);
}

static void avg_jac_backward(const mli_node *n, mli_opctx *c)
{
    pool_geom q = pool_get(n);
    if (c->dx[0])
        avg_adjoint(&q, c->dx[0], c->dy, c->rows);
}

/* The float sum of m terms errs by (m − 1)·u·Σ|h|, 1/count and the product by u each:
 * (m + 1)·Σ|h|/count, plus the propagated errors Σ e/count */
static void avg_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs, double alpha,
                       const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    pool_geom q = pool_get(n);
    for (int oh = 0; oh < q.Ho; oh++)
        for (int ow = 0; ow < q.Wo; ow++) {
            window w = pool_window(&q, oh, ow);
            double cnt = win_count(&q, &w), m = (double)(w.a1 - w.a0) * (w.b1 - w.b0);
            for (int c = 0; c < q.C; c++) {
                const double *h = hin[0] + (size_t)c * q.H * q.W, *e = ein[0] + (size_t)c * q.H * q.W;
                double s = 0, sa = 0, se = 0;
                for (int a = w.a0; a < w.a1; a++)
                    for (int b = w.b0; b < w.b1; b++) {
                        size_t j = win_at(&q, &w, a, b);
                        s += h[j];
                        sa += fabs(h[j]);
                        se += e[j];
                    }
                size_t o = ((size_t)c * q.Ho + oh) * q.Wo + ow;
                ho[o] = s / cnt;
                eo[o] = (se + (m + 1) * sa) / cnt;
            }
        }
}

/* No parameters: no hoist, permute (channels follow the input's permutation: units 0) or
 * statistics; the dY they pass on is read only below them. Not part of the exact analysis. */
#define POOL_COMMON                                                                                          \
    .layout = pool_layout, .save_size = pool_save, .init = pool_init, .rop_reads_grad = pool_reads_grad,    \
    .jac_form = pool_jac_form, .jac_width = pool_jac_width, .rowwise = 1, .units = 0, .pwl = pool_pwl

/* ONNX: MaxPool and AveragePool with every attribute written out (ceil_mode 0: the output size
 * is the floor above); AveragePool has dilations only from opset 19, so a dilated one has no
 * form at MLI_ONNX_EXPORT_OPSET. GlobalAveragePool: GlobalAveragePool (C×1×1), or ReduceMean over
 * axes [2, 3] with keepdims 0 (C), torch's x.mean((2, 3)). */
static int pool_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    pool_geom q = pool_get(n);
    int avg = n->op == &mli_op_avgpool;
    if (avg && (q.dh > 1 || q.dw > 1))
        return mli_err(MLI_EUSAGE, "node '%s' (AveragePool): dilations %d, %d have no ONNX form before opset 19",
                       n->name, q.dh, q.dw);
    mli_onnx_node *g = mli_onnx_add_node(e->m, avg ? "AveragePool" : "MaxPool", n->name, 1, e->in, 1, &e->out);
    int64_t ks[2] = {q.kh, q.kw}, st[2] = {q.sh, q.sw}, pads[4] = {q.pt, q.pl, q.pb, q.pr}, dil[2] = {q.dh, q.dw};
    mli_onnx_attr_ints(g, "kernel_shape", 2, ks);
    mli_onnx_attr_ints(g, "strides", 2, st);
    mli_onnx_attr_ints(g, "pads", 4, pads);
    if (avg)
        mli_onnx_attr_int(g, "count_include_pad", q.incl);
    else
        mli_onnx_attr_ints(g, "dilations", 2, dil);
    return MLI_OK;
}

static int gap_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    if (!n->attr[0]) {
        mli_onnx_add_node(e->m, "GlobalAveragePool", n->name, 1, e->in, 1, &e->out);
        return MLI_OK;
    }
    mli_onnx_node *g = mli_onnx_add_node(e->m, "ReduceMean", n->name, 1, e->in, 1, &e->out);
    int64_t axes[2] = {2, 3};
    mli_onnx_attr_ints(g, "axes", 2, axes);
    mli_onnx_attr_int(g, "keepdims", 0);
    return MLI_OK;
}

const mli_op mli_op_maxpool = {
    .name = "MaxPool", .infer = pool_infer, POOL_COMMON, .onnx_export = pool_onnx,
    .forward = max_forward, .backward = max_backward, .tangent = max_tangent,
    .rop_forward = max_rop_forward, .rop_backward = max_rop_backward, .jac_backward = max_jac_backward,
    .reeval = max_reeval,
};

#define AVG_RULES                                                                                            \
    .forward = avg_forward, .backward = avg_backward, .tangent = avg_tangent, .rop_forward = avg_rop_forward, \
    .rop_backward = avg_rop_backward, .jac_backward = avg_jac_backward, .reeval = avg_reeval

const mli_op mli_op_avgpool = {.name = "AveragePool", .infer = pool_infer, POOL_COMMON, AVG_RULES,
                               .onnx_export = pool_onnx};
const mli_op mli_op_gap = {.name = "GlobalAveragePool", .infer = gap_infer, POOL_COMMON, AVG_RULES,
                           .onnx_export = gap_onnx};

/* ---- ONNX import (nn/onnx_graph.c) ----------------------------------------------------------
 * MaxPool and AveragePool of a C×H×W value (kernel_shape, strides, pads, dilations, auto_pad as
 * mli_onnx_spatial reads them; AveragePool's count_include_pad); of a C×L value, the same
 * pool on C×1×L between two reshapes (mli_onnx_emit_spatial). ceil_mode 1 (the output size
 * rounded up, a window kept only if it starts inside the input or its leading padding) is the
 * floor mode with the end padding grown to fit the extra window: the same windows, the grown
 * padding left out of a max and of a mean without count_include_pad; with count_include_pad
 * it would count, so that case is refused. MaxPool's Indices output and storage_order 1 are
 * refused. GlobalAveragePool, and ReduceMean over axes [2, 3] (an attribute, or from opset 18
 * an INT64 initializer input) of an N×C×H×W value, keepdims 1 or 0, are mli_op_gap. */
#include "nn/onnx_graph.h"

/* ceil_mode: grow the end padding *pe so that the floor formula gives the ceil output */
static void ceil_pads(int n, int k, int s, int d, int pb, int *pe)
{
    int span = n + pb + *pe - (d * (k - 1) + 1);
    if (span < 0)
        return;
    int out = (span + s - 1) / s + 1;
    if ((out - 1) * s >= n + pb) /* the last window would start in the end padding */
        out--;
    *pe += (out - 1) * s - span > 0 ? (out - 1) * s - span : 0;
}

int mli_onnx_import_pool(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x, avg = !strcmp(nd->op_type, "AveragePool");
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_shape *s = mli_onnx_shape(im, x);
    if (s->ndim != 2 && s->ndim != 3)
        return mli_onnx_refuse(im, nd, "mli supports only 1-D and 2-D pooling of N×C×L or N×C×H×W values (here %d "
                               "per-example dims)", s->ndim);
    int k[2] = {0, 0}, st[2], d[2], p[4], H = s->ndim == 2 ? 1 : s->d[1], W = s->d[s->ndim - 1];
    if (mli_onnx_spatial(im, nd, s, k, st, d, p))
        return MLI_EINPUT;
    int64_t incl = avg ? mli_onnx_attr_i(nd, "count_include_pad", 0) : 0;
    if (incl != 0 && incl != 1)
        return mli_onnx_refuse(im, nd, "count_include_pad=%lld is not 0 or 1", (long long)incl);
    if (mli_onnx_attr_i(nd, "storage_order", 0))
        return mli_onnx_refuse(im, nd, "storage_order=1 is not supported (only 0, and no Indices output)");
    if (!avg && nd->noutputs > 1 && nd->outputs[1][0])
        return mli_onnx_refuse(im, nd, "the Indices output is not supported (only the pooled values)");
    int64_t ceil = mli_onnx_attr_i(nd, "ceil_mode", 0);
    if (ceil && incl)
        return mli_onnx_refuse(im, nd, "ceil_mode=1 with count_include_pad=1 is not supported");
    if (ceil) {
        ceil_pads(H, k[0], st[0], d[0], p[0], &p[2]);
        ceil_pads(W, k[1], st[1], d[1], p[1], &p[3]);
    }
    int attr[11] = {k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3], d[0], d[1], (int)incl};
    return mli_onnx_emit_spatial(im, nd, avg ? &mli_op_avgpool : &mli_op_maxpool, x, attr, 11) < 0 ? MLI_EINPUT
                                                                                                    : MLI_OK;
}

/* Slice of the spatial axes of N×C×H×W from 0 to the end with steps sh, sw (torch's
 * x[:, :, ::2, ::2], the option-A shortcut's subsampling): the 1×1 average pool of strides sh,
 * sw, the same values. starts, ends, axes, steps are INT64 initializers; the axes (default all
 * four) may include N and C only as whole (start 0, end past the dim — past 2^31 for N —, step
 * 1). */
int mli_onnx_import_slice(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_shape *s = mli_onnx_shape(im, x);
    const mli_onnx_tensor *t[4];
    for (int k = 0; k < 4; k++) {
        t[k] = mli_onnx_init_in(im, nd, k + 1);
        if ((k < 2 || (nd->ninputs > k + 1 && nd->inputs[k + 1][0])) &&
            (!t[k] || t[k]->elem_type != MLI_ONNX_INT64 || t[k]->ndim != 1 || t[k]->numel != t[0]->numel ||
             t[k]->numel > 4))
            return mli_onnx_refuse(im, nd, "starts, ends, axes and steps must be INT64 initializers of one length "
                                   "(at most 4)");
        if (k >= 2 && !(nd->ninputs > k + 1 && nd->inputs[k + 1][0]))
            t[k] = NULL;
    }
    int step[4] = {1, 1, 1, 1}, seen = 0, ok = s->ndim == 3 && (t[2] || t[0]->numel == 4);
    for (size_t j = 0; ok && j < t[0]->numel; j++) {
        int64_t ax = t[2] ? t[2]->i[j] : (int64_t)j, st = t[3] ? t[3]->i[j] : 1;
        ax = ax < 0 ? ax + 4 : ax;
        ok = ax >= 0 && ax < 4 && !(seen & 1 << ax) && t[0]->i[j] == 0 && st >= 1 && st < 1 << 24 &&
             t[1]->i[j] >= (ax ? s->d[ax - 1] : INT64_C(1) << 31) && (ax >= 2 || st == 1);
        if (ok) {
            seen |= 1 << ax;
            step[ax] = (int)st;
        }
    }
    if (!ok)
        return mli_onnx_refuse(im, nd, "mli supports only Slice of the H and W axes of an N×C×H×W value from 0 to "
                               "the end with a step (x[:, :, ::s, ::t]: a 1×1 average pool of strides s, t)");
    int attr[11] = {1, 1, step[2], step[3], 0, 0, 0, 0, 1, 1, 0};
    return mli_onnx_emit(im, nd, &mli_op_avgpool, &x, 1, attr, 11, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
}

static int gap_emit(mli_onnx_import *im, const mli_onnx_node *nd, int x, int flat)
{
    if (mli_onnx_shape(im, x)->ndim != 3)
        return mli_onnx_refuse(im, nd, "mli supports only the mean over H×W of N×C×H×W values (here %d per-example "
                               "dims)", mli_onnx_shape(im, x)->ndim);
    return mli_onnx_emit(im, nd, &mli_op_gap, &x, 1, &flat, 1, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
}

int mli_onnx_import_gap(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    return mli_onnx_value_in(im, nd, 0, &x) ? MLI_EINPUT : gap_emit(im, nd, x, 0);
}

int mli_onnx_import_reducemean(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_onnx_attr *at = mli_onnx_find_attr(nd, "axes");
    const mli_onnx_tensor *t = mli_onnx_init_in(im, nd, 1);
    const int64_t *ax = NULL;
    size_t n = 0;
    if (at && at->type == MLI_ONNX_ATTR_INTS)
        ax = at->ints, n = at->n;
    else if (t && t->elem_type == MLI_ONNX_INT64 && t->ndim == 1)
        ax = t->i, n = t->numel;
    else if (nd->ninputs > 1 && nd->inputs[1][0])
        return mli_onnx_refuse(im, nd, "input 1 (axes) must be an INT64 initializer");
    int rank = mli_onnx_shape(im, x)->ndim + 1, seen = 0;
    for (size_t j = 0; j < n; j++) {
        int64_t a = ax[j] < 0 ? ax[j] + rank : ax[j];
        seen |= a == 2 ? 1 : a == 3 ? 2 : 4;
    }
    if (rank != 4 || n != 2 || seen != 3)
        return mli_onnx_refuse(im, nd, "mli supports only ReduceMean over axes [2, 3] of an N×C×H×W value (the "
                               "global average pool)");
    int64_t keep = mli_onnx_attr_i(nd, "keepdims", 1);
    if (keep != 0 && keep != 1)
        return mli_onnx_refuse(im, nd, "keepdims=%lld is not 0 or 1", (long long)keep);
    return gap_emit(im, nd, x, !keep);
}
