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

const mli_op mli_op_reshape = {
    .name = "Reshape", .infer = rs_infer, .layout = rs_layout, .save_size = rs_save, .init = rs_init,
    .forward = rs_forward, .backward = rs_backward, .tangent = rs_tangent, .forward_lincomb = rs_lincomb,
    .rop_forward = rs_rop_forward, .rop_backward = rs_rop_backward, .rop_reads_grad = rs_reads_grad,
    .jac_form = rs_jac_form, .jac_width = rs_jac_width, .jac_backward = rs_jac_backward,
    .units = 0, .reeval = rs_reeval, .pwl = rs_pwl,
};
