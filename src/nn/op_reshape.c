/* Reshape: y = x with another per-example shape (attr[0] = ndim, attr[1 ..] = the dims), the
 * same reals in the same row-major order. It is ONNX's Flatten (axis ≥ 1), Reshape that keeps
 * the batch dimension, Identity, and Dropout at inference (the shape unchanged). Every rule
 * copies its blocks: a reshape is the identity on the flat values.
 *
 * ONNX mapping (nn/onnx_graph.c calls mli_onnx_import_reshape):
 *   Flatten(axis)      axis = 1 (or any axis after per-example dims of size 1): [Π dims];
 *                      axis = 0 or one that merges the batch with a dimension: refused
 *   Reshape(x, shape)  shape an INT64 initializer; 0 copies the input's dim (allowzero = 0),
 *                      −1 is inferred; its first entry must leave the batch dimension alone
 *                      (0, −1 with the rest giving one example, or the graph input's fixed
 *                      batch size); allowzero = 1 with a 0 entry is refused
 *   Identity(x)        the same shape
 *   Dropout(x, ...)    the same shape; the mask output must be unused; training_mode must be
 *                      absent (a BOOL input is refused by the reader anyway) */
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

static int rs_infer(mli_node *n)
{
    int nd = n->attr[0];
    if (n->nin != 1 || nd < 1 || nd > MLI_MAX_DIMS)
        return mli_err(MLI_EUSAGE, "%s: Reshape takes one input and 1 to %d dims", n->name, MLI_MAX_DIMS);
    n->shape.ndim = nd;
    for (int d = 0; d < nd; d++) {
        if (n->attr[1 + d] < 1)
            return mli_err(MLI_EUSAGE, "%s: Reshape dim %d is %d", n->name, d, n->attr[1 + d]);
        n->shape.d[d] = n->attr[1 + d];
    }
    if (mli_shape_numel(&n->shape) != mli_shape_numel(&n->ishape[0]))
        return mli_err(MLI_EUSAGE, "%s: Reshape to %zu values per example from %zu", n->name,
                       mli_shape_numel(&n->shape), mli_shape_numel(&n->ishape[0]));
    return MLI_OK;
}

static void rs_layout(mli_arch *a, mli_node *n) {}
static size_t rs_save(const mli_node *n, int bmax) { return 0; }
static void rs_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs) {}

/* y[blocks·B, size] = x */
static void copy_blocks(const mli_node *n, mli_real *y, const mli_real *x, size_t rows)
{
    if (y && x)
        memcpy(y, x, sizeof(mli_real) * rows * n->size);
}

static void rs_forward(const mli_node *n, mli_opctx *c) { copy_blocks(n, c->y, c->x[0], (size_t)c->B); }
static void rs_backward(const mli_node *n, mli_opctx *c) { copy_blocks(n, c->dx[0], c->dy, (size_t)c->B); }
static void rs_tangent(const mli_node *n, mli_opctx *c) { copy_blocks(n, c->y, c->x[0], 3 * (size_t)c->B); }
/* y = f(P0 + αP1): elementwise (the identity), so the α loop may fuse it after the hoisted node */
static void rs_lincomb(const mli_node *n, mli_opctx *c)
{
    size_t len = (size_t)c->B * n->size;
    const mli_real al = (mli_real)c->alpha;
    for (size_t k = 0; k < len; k++)
        c->y[k] = c->x[0][k] + al * c->x[1][k];
}
/* [y; R{y}] = [x; R{x}] (the engine passes [x; 0] for the data: rop_const_input = 0) */
static void rs_rop_forward(const mli_node *n, mli_opctx *c) { copy_blocks(n, c->y, c->x[0], 2 * (size_t)c->B); }
/* [R{dx}; dx] = [R{dy}; dy], the dx half only when wanted */
static void rs_rop_backward(const mli_node *n, mli_opctx *c)
{
    copy_blocks(n, c->dx[0], c->dy, (c->want_dx[0] ? 2 : 1) * (size_t)c->B);
}
static int rs_reads_grad(const mli_node *n, const int *has_r) { return 0; }
static mli_jac_form rs_jac_form(const mli_node *n) { return MLI_JAC_NONE; }
static size_t rs_jac_width(const mli_node *n) { return 0; }
static void rs_jac_backward(const mli_node *n, mli_opctx *c) { copy_blocks(n, c->dx[0], c->dy, (size_t)c->rows); }

/* exact: no rounding */
static void rs_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                      double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    memcpy(ho, hin[0], sizeof(double) * n->size);
    memcpy(eo, ein[0], sizeof(double) * n->size);
}

static mli_pwl_role rs_pwl(const mli_node *n) { return MLI_PWL_RESHAPE; }

/* ONNX export: Flatten(axis = 1) to one dimension, as nn.Flatten writes it; otherwise
 * Reshape(x, [0, dims...]) with the shape an INT64 initializer "<out>/shape" (0 keeps the
 * batch dimension) */
static int rs_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    if (n->shape.ndim == 1) {
        mli_onnx_attr_int(mli_onnx_add_node(e->m, "Flatten", n->name, 1, e->in, 1, &e->out), "axis", 1);
        return MLI_OK;
    }
    int64_t shape[MLI_MAX_DIMS + 1] = {0}, len = n->shape.ndim + 1;
    for (int d = 0; d < n->shape.ndim; d++)
        shape[d + 1] = n->shape.d[d];
    char sn[160];
    const char *in[2] = {e->in[0], mli_onnx_export_name(e, "shape", sn, sizeof sn)};
    mli_onnx_add_init_int64(e->m, sn, 1, &len, shape);
    mli_onnx_add_node(e->m, "Reshape", n->name, 2, in, 1, &e->out);
    return MLI_OK;
}

const mli_op mli_op_reshape = {
    .name = "Reshape", .infer = rs_infer, .layout = rs_layout, .save_size = rs_save, .init = rs_init,
    .forward = rs_forward, .backward = rs_backward, .tangent = rs_tangent, .forward_lincomb = rs_lincomb,
    .rop_forward = rs_rop_forward, .rop_backward = rs_rop_backward, .rop_reads_grad = rs_reads_grad,
    .jac_form = rs_jac_form, .jac_width = rs_jac_width, .jac_backward = rs_jac_backward,
    .rowwise = 1, .units = 0, .reeval = rs_reeval, .pwl = rs_pwl,
    .onnx_export = rs_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c): the mapping in the header of this file ---- */
#include <stdio.h>

#include "nn/onnx_graph.h"

static int onnx_emit_shape(mli_onnx_import *im, const mli_onnx_node *nd, int x, const int64_t *d, int nd_)
{
    if (nd_ < 1 || nd_ > MLI_MAX_DIMS)
        return mli_onnx_refuse(im, nd, "the result has %d dims per example (mli supports 1 to %d)", nd_, MLI_MAX_DIMS);
    int attr[1 + MLI_MAX_DIMS] = {nd_};
    for (int k = 0; k < nd_; k++) {
        if (d[k] < 1 || d[k] > 1 << 30)
            return mli_onnx_refuse(im, nd, "dim %d of the result would be %lld", k + 1, (long long)d[k]);
        attr[1 + k] = (int)d[k];
    }
    return mli_onnx_emit(im, nd, &mli_op_reshape, &x, 1, attr, 1 + nd_, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
}

/* Flatten(axis): [N, Π d[0, axis−1)] × [Π d[axis−1 ..)] keeps the batch only when the first
 * product is 1 */
static int onnx_flatten(mli_onnx_import *im, const mli_onnx_node *nd, int x, const mli_shape *s)
{
    int64_t axis = mli_onnx_attr_i(nd, "axis", 1), rank = 1 + s->ndim, merged = 1, rest = 1;
    if (axis < 0)
        axis += rank;
    if (axis < 1 || axis > rank)
        return mli_onnx_refuse(im, nd, "axis=%lld is not supported: axis 0 flattens the batch into the "
                               "features (mli supports axis >= 1, or its negative form)",
                               (long long)mli_onnx_attr_i(nd, "axis", 1));
    for (int k = 0; k < s->ndim; k++)
        *(k < axis - 1 ? &merged : &rest) *= s->d[k];
    if (merged != 1)
        return mli_onnx_refuse(im, nd, "axis=%lld merges the batch dimension with per-example dims of %lld "
                               "values (mli supports axis=1, or an axis after dims of size 1)",
                               (long long)mli_onnx_attr_i(nd, "axis", 1), (long long)merged);
    return onnx_emit_shape(im, nd, x, &rest, 1);
}

/* Reshape(x, shape): the shape resolved as ONNX does, its first entry the batch */
static int onnx_reshape(mli_onnx_import *im, const mli_onnx_node *nd, int x, const mli_shape *s)
{
    const mli_onnx_tensor *t = mli_onnx_init_in(im, nd, 1);
    if (!t || t->elem_type != MLI_ONNX_INT64 || t->ndim != 1 || t->numel < 1 || t->numel > 1 + MLI_MAX_DIMS)
        return mli_onnx_refuse(im, nd, "input 1 (shape) must be an INT64 initializer of 1 to %d entries",
                               1 + MLI_MAX_DIMS);
    int allowzero = (int)mli_onnx_attr_i(nd, "allowzero", 0), n = (int)t->numel, infer = -1;
    int64_t d[1 + MLI_MAX_DIMS] = {0}, known = 1, numel = (int64_t)mli_shape_numel(s);
    char shape[160];
    size_t o = 0;
    for (int k = 0; k < n; k++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld", k ? ", " : "", (long long)t->i[k]);
    for (int k = 0; k < n; k++) {
        d[k] = t->i[k];
        if (d[k] == 0 && allowzero)
            return mli_onnx_refuse(im, nd, "shape [%s] with allowzero=1 has an empty dim", shape);
        if (d[k] == 0) {
            if (k > s->ndim)
                return mli_onnx_refuse(im, nd, "shape [%s]: entry %d copies a dim the input does not have", shape, k);
            d[k] = k == 0 ? 0 : s->d[k - 1]; /* 0 at the batch: kept */
        }
        if (d[k] == -1 && infer >= 0)
            return mli_onnx_refuse(im, nd, "shape [%s] has two -1 entries", shape);
        if (d[k] == -1)
            infer = k;
        else if (d[k] < -1)
            return mli_onnx_refuse(im, nd, "shape [%s] has a negative entry", shape);
        else if (k > 0)
            known *= d[k];
    }
    /* the batch entry: 0 (copied), −1 with the rest one example, or the file's fixed batch size */
    int keeps = d[0] == 0 || (d[0] == -1 && known == numel) || (d[0] > 0 && d[0] == im->batch && infer != 0);
    if (!keeps)
        return mli_onnx_refuse(im, nd, "shape [%s] changes the batch dimension (mli supports a Reshape whose "
                               "first entry keeps the batch: 0, -1, or the input's batch size)", shape);
    if (infer > 0) {
        if (known < 1 || numel % known)
            return mli_onnx_refuse(im, nd, "shape [%s] does not fit %lld values per example", shape, (long long)numel);
        d[infer] = numel / known;
        known = numel;
    }
    if (known != numel)
        return mli_onnx_refuse(im, nd, "shape [%s] does not hold the %lld values of one example", shape,
                               (long long)numel);
    return onnx_emit_shape(im, nd, x, d + 1, n - 1);
}

int mli_onnx_import_reshape(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_shape *s = mli_onnx_shape(im, x);
    if (!strcmp(nd->op_type, "Flatten"))
        return onnx_flatten(im, nd, x, s);
    if (!strcmp(nd->op_type, "Reshape"))
        return onnx_reshape(im, nd, x, s);
    if (!strcmp(nd->op_type, "Dropout") && nd->ninputs > 2 && nd->inputs[2][0])
        return mli_onnx_refuse(im, nd, "input 2 (training_mode) is not supported (inference only)");
    int64_t d[MLI_MAX_DIMS] = {0};
    for (int k = 0; k < s->ndim; k++)
        d[k] = s->d[k];
    return onnx_emit_shape(im, nd, x, d, s->ndim);
}
