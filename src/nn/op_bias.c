/* Bias: y = x + b, a parameter tensor b broadcast over each example (numpy rules, right-aligned:
 * b's dims, attr[0] of them in attr[1 ..], each equal to the input's or 1; none: a scalar).
 * ONNX's Add of a value and a float initializer (nn/onnx_graph.c); the initializer may carry a
 * leading batch dimension of size 1. A MatMul or Gemm without C whose only consumer is such an
 * Add of a 1-D initializer of its output size becomes one Linear instead (op_linear.c).
 * The rules are those of a sum with a parameter: every block of x passes through, the bias'
 * gradients are the sums of dy over the positions (and examples) it is broadcast to. */
#include <math.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

static int bias_nd(const mli_node *n) { return n->attr[0]; }

static int bias_infer(mli_node *n)
{
    int nd = bias_nd(n), xd = n->ishape[0].ndim;
    if (n->nin != 1 || nd < 0 || nd > xd)
        return mli_err(MLI_EUSAGE, "%s: Bias takes one input and a bias of at most its %d dims", n->name, xd);
    for (int k = 0; k < nd; k++) {
        int bd = n->attr[1 + k], d = n->ishape[0].d[xd - nd + k];
        if (bd != 1 && bd != d)
            return mli_err(MLI_EUSAGE, "%s: bias dim %d is %d, the input's is %d (expected it or 1)", n->name, k, bd,
                           d);
    }
    n->shape = n->ishape[0];
    return MLI_OK;
}

static void bias_layout(mli_arch *a, mli_node *n)
{
    int one = 1;
    if (bias_nd(n))
        mli_graph_tensor(a, n, "bias", 0, MLI_ROLE_OTHER, bias_nd(n), n->attr + 1);
    else
        mli_graph_tensor(a, n, "bias", 0, MLI_ROLE_OTHER, 1, &one);
}

static size_t bias_save(const mli_node *n, int bmax) { return 0; }
/* the bias' elements (1 for a scalar) */
static size_t bias_numel(const mli_node *n)
{
    size_t m = 1;
    for (int k = 0; k < bias_nd(n); k++)
        m *= (size_t)n->attr[1 + k];
    return m;
}

/* the bias element added to per-example element o: o's coordinates in the input's shape,
 * read with the bias' strides (0 along a broadcast dim) */
static size_t bias_index(const mli_node *n, size_t o)
{
    int xd = n->shape.ndim, nd = bias_nd(n);
    size_t idx = 0, stride = 1;
    for (int k = xd - 1; k >= xd - nd; k--) {
        int d = n->shape.d[k], bd = n->attr[1 + k - (xd - nd)];
        size_t coord = o % (size_t)d;
        o /= (size_t)d;
        if (bd != 1)
            idx += coord * stride;
        stride *= (size_t)bd;
    }
    return idx;
}

static void bias_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs)
{
    if (theta)
        memset(mli_node_view(n, 0, theta), 0, sizeof(mli_real) * bias_numel(n));
}

/* y[rows, size] = x + b (broadcast); x NULL: y = b */
static void add_bias(const mli_node *n, mli_real *y, const mli_real *x, const mli_real *b, size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t o = 0; o < n->size; o++)
            y[i * n->size + o] = (x ? x[i * n->size + o] : 0) + b[bias_index(n, o)];
}

/* db = Σ over rows and broadcast positions of dy */
static void reduce_grad(const mli_node *n, mli_real *db, const mli_real *dy, size_t rows)
{
    memset(db, 0, sizeof(mli_real) * bias_numel(n));
    for (size_t i = 0; i < rows; i++)
        for (size_t o = 0; o < n->size; o++)
            db[bias_index(n, o)] += dy[i * n->size + o];
}

static void copy(const mli_node *n, mli_real *y, const mli_real *x, size_t rows)
{
    if (y)
        memcpy(y, x, sizeof(mli_real) * rows * n->size);
}

static void bias_forward(const mli_node *n, mli_opctx *c)
{
    add_bias(n, c->y, c->x[0], mli_node_view(n, 0, c->theta), (size_t)c->B);
}

/* dx = dy, db = Σ dy */
static void bias_backward(const mli_node *n, mli_opctx *c)
{
    copy(n, c->dx[0], c->dy, (size_t)c->B);
    if (c->grad)
        reduce_grad(n, mli_node_view(n, 0, c->grad), c->dy, (size_t)c->B);
}

/* [Y0; Y1; Y2] = [X0 + b; X1 + Δb; X2] */
static void bias_tangent(const mli_node *n, mli_opctx *c)
{
    size_t blk = (size_t)c->B * n->size;
    add_bias(n, c->y, c->x[0], mli_node_view(n, 0, c->theta), (size_t)c->B);
    add_bias(n, c->y + blk, c->x[0] + blk, mli_node_view(n, 0, c->dir), (size_t)c->B);
    memcpy(c->y + 2 * blk, c->x[0] + 2 * blk, sizeof(mli_real) * blk);
}

/* [y; R{y}] = [x + b; R{x} + u_b] (the data comes as [x; 0]: rop_const_input = 0) */
static void bias_rop_forward(const mli_node *n, mli_opctx *c)
{
    size_t blk = (size_t)c->B * n->size;
    add_bias(n, c->y, c->x[0], mli_node_view(n, 0, c->theta), (size_t)c->B);
    add_bias(n, c->y + blk, c->x[0] + blk, mli_node_view(n, 0, c->dir), (size_t)c->B);
}

/* R{db} = Σ R{dy}; [R{dx}; dx] = [R{dy}; dy], dx only when wanted */
static void bias_rop_backward(const mli_node *n, mli_opctx *c)
{
    reduce_grad(n, mli_node_view(n, 0, c->grad), c->dy, (size_t)c->B);
    copy(n, c->dx[0], c->dy, (c->want_dx[0] ? 2 : 1) * (size_t)c->B);
}

static int bias_reads_grad(const mli_node *n, const int *has_r) { return 0; }

/* ∂z/∂b per row: the row's dy summed over the broadcast positions, numel(b) reals */
static mli_jac_form bias_jac_form(const mli_node *n) { return MLI_JAC_EXPLICIT; }
static size_t bias_jac_width(const mli_node *n) { return bias_numel(n); }
static void bias_jac_backward(const mli_node *n, mli_opctx *c)
{
    copy(n, c->dx[0], c->dy, (size_t)c->rows);
    for (int r = 0; r < c->rows; r++)
        reduce_grad(n, c->fac + (size_t)r * bias_numel(n), c->dy + (size_t)r * n->size, 1);
}

/* the float engine's b(α) = b₀ + αΔb errs by 2u|·| of its terms, the addition by u|x + b| */
static void bias_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                        double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    const mli_real *B0 = mli_node_view(n, 0, t0), *B1 = mli_node_view(n, 0, t1);
    for (size_t o = 0; o < n->size; o++) {
        size_t j = bias_index(n, o);
        double b0 = B0[j], db = (double)B1[j] - b0, b = b0 + alpha * db;
        ho[o] = hin[0][o] + b;
        eo[o] = ein[0][o] + fabs(hin[0][o]) + fabs(b) + 2 * (fabs(b0) + fabs(alpha) * fabs(db));
    }
}

static mli_pwl_role bias_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ONNX export: Add(x, b), b the initializer of the bias' name and shape: ONNX's broadcasting
 * is numpy's, right-aligned, as here */
static int bias_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    mli_onnx_export_tensor(n, 0, e);
    const char *in[2] = {e->in[0], e->a->tensors[n->tensor[0]].name};
    mli_onnx_add_node(e->m, "Add", n->name, 2, in, 1, &e->out);
    return MLI_OK;
}

const mli_op mli_op_bias = {
    .name = "Bias", .infer = bias_infer, .layout = bias_layout, .save_size = bias_save, .init = bias_init,
    .forward = bias_forward, .backward = bias_backward, .tangent = bias_tangent,
    .rop_forward = bias_rop_forward, .rop_backward = bias_rop_backward, .rop_reads_grad = bias_reads_grad,
    .jac_form = bias_jac_form, .jac_width = bias_jac_width, .jac_backward = bias_jac_backward,
    .units = 0, .reeval = bias_reeval, .pwl = bias_pwl,
    .onnx_export = bias_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c) ------------------------------------------------------------
 * Add(A, B): two values of one per-example shape → mli_op_add (no broadcasting between values);
 * a value and a float initializer → Bias, the initializer right-aligned with the per-example
 * shape (leading dims beyond it must be 1: the batch's), each dim equal or 1. An Add that
 * carries a MatMul's or Gemm's bias was folded into that Linear already (op_linear.c). Two
 * initializers (a constant) are refused. */
#include "nn/onnx_graph.h"

int mli_onnx_import_add(mli_onnx_import *im, const mli_onnx_node *nd)
{
    if (nd->ninputs != 2)
        return mli_onnx_refuse(im, nd, "%d inputs (expected 2)", nd->ninputs);
    const mli_onnx_tensor *t0 = mli_onnx_init_in(im, nd, 0), *t1 = mli_onnx_init_in(im, nd, 1);
    if (t0 && t1)
        return mli_onnx_refuse(im, nd, "both inputs are initializers: constants are not supported");
    int x[2];
    if (!t0 && !t1) {
        if (mli_onnx_value_in(im, nd, 0, &x[0]) || mli_onnx_value_in(im, nd, 1, &x[1]))
            return MLI_EINPUT;
        const mli_shape *s0 = mli_onnx_shape(im, x[0]), *s1 = mli_onnx_shape(im, x[1]);
        if (s0->ndim != s1->ndim || memcmp(s0->d, s1->d, sizeof(int) * (size_t)s0->ndim))
            return mli_onnx_refuse(im, nd, "the two values differ in shape: broadcasting between values is not "
                                   "supported");
        return mli_onnx_emit(im, nd, &mli_op_add, x, 2, NULL, 0, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
    }
    const mli_onnx_tensor *b = t0 ? t0 : t1;
    if (mli_onnx_value_in(im, nd, t0 ? 1 : 0, &x[0]))
        return MLI_EINPUT;
    const mli_shape *s = mli_onnx_shape(im, x[0]);
    if (b->elem_type != MLI_ONNX_FLOAT)
        return mli_onnx_refuse(im, nd, "initializer '%s' is not float", b->name);
    int lead = b->ndim - s->ndim, attr[1 + MLI_MAX_DIMS];
    for (int k = 0; k < lead; k++)
        if (b->dims[k] != 1)
            return mli_onnx_refuse(im, nd, "initializer '%s' has %d dims, dim %d of size %lld meets the batch: a "
                                   "parameter must be broadcast over the examples (size 1 there)", b->name,
                                   b->ndim, k, (long long)b->dims[k]);
    attr[0] = lead > 0 ? s->ndim : b->ndim;
    for (int k = 0; k < attr[0]; k++) {
        int64_t bd = b->dims[b->ndim - attr[0] + k], xd = s->d[s->ndim - attr[0] + k];
        if (bd != 1 && bd != xd)
            return mli_onnx_refuse(im, nd, "initializer '%s' does not broadcast to the per-example shape (dim of "
                                   "size %lld against %lld)", b->name, (long long)bd, (long long)xd);
        attr[1 + k] = (int)bd;
    }
    int id = mli_onnx_emit(im, nd, &mli_op_bias, x, 1, attr, 1 + attr[0], NULL, 0);
    return id < 0 || mli_onnx_param(im, nd, id, 0, b, 0) ? MLI_EINPUT : MLI_OK;
}
