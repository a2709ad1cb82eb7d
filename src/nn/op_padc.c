/* PadChannels: y = [x; 0], the C×H×W input followed by attr[0] = E channels of zeros
 * ((C + E)×H×W out). The option-A shortcut of the CIFAR ResNet (nn/arch_cnn.c): the stride-2
 * subsampled input, padded with zero channels to the next stage's width. No parameters; every
 * rule is linear, so each copies its blocks row by row (a row is one example of one block). */
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

static int padc_infer(mli_node *n)
{
    if (n->nin != 1 || n->ishape[0].ndim != 3 || n->attr[0] < 1)
        return mli_err(MLI_EUSAGE, "%s: PadChannels takes one C×H×W input and a positive number of channels",
                       n->name);
    n->shape = n->ishape[0];
    n->shape.d[0] += n->attr[0];
    return MLI_OK;
}

static void padc_layout(mli_arch *a, mli_node *n) {}
static size_t padc_save(const mli_node *n, int bmax) { return 0; }
static void padc_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs) {}

/* y[r] = [x[r]; 0] for rows r < rows; x rows of nx reals, y rows of n->size */
static void pad_rows(const mli_node *n, mli_real *y, const mli_real *x, size_t rows)
{
    size_t nx = mli_shape_numel(&n->ishape[0]), ny = n->size;
    for (size_t r = 0; r < rows; r++) {
        memcpy(y + r * ny, x + r * nx, sizeof(mli_real) * nx);
        memset(y + r * ny + nx, 0, sizeof(mli_real) * (ny - nx));
    }
}

/* dx[r] = the first C channels of dy[r] (the zeros take no gradient) */
static void crop_rows(const mli_node *n, mli_real *dx, const mli_real *dy, size_t rows)
{
    size_t nx = mli_shape_numel(&n->ishape[0]), ny = n->size;
    for (size_t r = 0; r < rows; r++)
        memcpy(dx + r * nx, dy + r * ny, sizeof(mli_real) * nx);
}

static void padc_forward(const mli_node *n, mli_opctx *c) { pad_rows(n, c->y, c->x[0], (size_t)c->B); }
static void padc_backward(const mli_node *n, mli_opctx *c)
{
    if (c->dx[0])
        crop_rows(n, c->dx[0], c->dy, (size_t)c->B);
}
/* value, velocity, acceleration: each padded */
static void padc_tangent(const mli_node *n, mli_opctx *c) { pad_rows(n, c->y, c->x[0], 3 * (size_t)c->B); }
/* [y; R{y}] from [x; R{x}] (the engine gives the input an R block: rop_const_input = 0) */
static void padc_rop_forward(const mli_node *n, mli_opctx *c) { pad_rows(n, c->y, c->x[0], 2 * (size_t)c->B); }
/* [R{dx}; dx] from [R{dy}; dy], the dx half only where wanted */
static void padc_rop_backward(const mli_node *n, mli_opctx *c)
{
    if (c->dx[0])
        crop_rows(n, c->dx[0], c->dy, (c->want_dx[0] ? 2 : 1) * (size_t)c->B);
}

static int padc_reads_grad(const mli_node *n, const int *has_r) { return 0; }
static mli_jac_form padc_jac_form(const mli_node *n) { return MLI_JAC_NONE; }
static size_t padc_jac_width(const mli_node *n) { return 0; }
static void padc_jac_backward(const mli_node *n, mli_opctx *c)
{
    if (c->dx[0])
        crop_rows(n, c->dx[0], c->dy, (size_t)c->rows);
}

/* copies are exact: the input's bounds, and zeros */
static void padc_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                        double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    size_t nx = mli_shape_numel(&n->ishape[0]);
    for (size_t o = 0; o < n->size; o++) {
        ho[o] = o < nx ? hin[0][o] : 0;
        eo[o] = o < nx ? ein[0][o] : 0;
    }
}

static mli_pwl_role padc_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ONNX: Pad(x, pads) in constant mode with value 0 (the default), pads an INT64 initializer
 * "<out>/pads" = [0, 0, 0, 0, 0, E, 0, 0]: the begins of N, C, H, W, then their ends, E zero
 * channels after the C of the input — torch's F.pad(x, (0, 0, 0, 0, 0, E)) */
static int padc_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    int64_t pads[8] = {0, 0, 0, 0, 0, n->attr[0], 0, 0}, len = 8;
    char pn[160];
    const char *in[2] = {e->in[0], mli_onnx_export_name(e, "pads", pn, sizeof pn)};
    mli_onnx_add_init_int64(e->m, pn, 1, &len, pads);
    mli_onnx_attr_string(mli_onnx_add_node(e->m, "Pad", n->name, 2, in, 1, &e->out), "mode", "constant");
    return MLI_OK;
}

/* no parameters: no hoist, permute or statistics; its channels are not its input's (the
 * permutation control ties them to the fixed channels) */
const mli_op mli_op_padc = {
    .name = "PadChannels", .infer = padc_infer, .layout = padc_layout, .save_size = padc_save, .init = padc_init,
    .forward = padc_forward, .backward = padc_backward, .tangent = padc_tangent,
    .rop_forward = padc_rop_forward, .rop_backward = padc_rop_backward, .rop_reads_grad = padc_reads_grad,
    .jac_form = padc_jac_form, .jac_width = padc_jac_width, .jac_backward = padc_jac_backward,
    .rowwise = 1, .units = 0, .reeval = padc_reeval, .pwl = padc_pwl, .onnx_export = padc_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c) ----------------------------------------------------------
 * Pad of an N×C×H×W value that only appends zero channels: mode constant, pads an INT64
 * initializer of 8 entries all 0 but the end of axis 1 (at least 1), constant_value absent or
 * a float initializer 0, no axes input. Any other padding is refused. */
#include "nn/onnx_graph.h"

int mli_onnx_import_pad(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_onnx_attr *md = mli_onnx_find_attr(nd, "mode");
    if (md && (md->type != MLI_ONNX_ATTR_STRING || strcmp(md->s, "constant")))
        return mli_onnx_refuse(im, nd, "mode '%s' is not supported (only constant)",
                               md->type == MLI_ONNX_ATTR_STRING ? md->s : "?");
    if (mli_onnx_find_attr(nd, "pads"))
        return mli_onnx_refuse(im, nd, "pads as an attribute (opset < 11) is not supported: an INT64 initializer "
                               "input");
    const mli_onnx_tensor *p = mli_onnx_init_in(im, nd, 1), *v = mli_onnx_init_in(im, nd, 2);
    if (nd->ninputs > 3 && nd->inputs[3][0])
        return mli_onnx_refuse(im, nd, "the axes input is not supported (pads for all 4 axes)");
    if (nd->ninputs > 2 && nd->inputs[2][0] &&
        (!v || v->elem_type != MLI_ONNX_FLOAT || v->numel != 1 || v->f[0] != 0))
        return mli_onnx_refuse(im, nd, "constant_value must be absent or a float initializer 0");
    const mli_shape *s = mli_onnx_shape(im, x);
    int ok = s->ndim == 3 && p && p->elem_type == MLI_ONNX_INT64 && p->numel == 8 && p->i[5] >= 1 &&
             p->i[5] < 1 << 24;
    for (int k = 0; ok && k < 8; k++)
        ok = k == 5 || p->i[k] == 0;
    if (!ok)
        return mli_onnx_refuse(im, nd, "mli supports only zero channels appended to an N×C×H×W value: pads an "
                               "INT64 initializer [0, 0, 0, 0, 0, E, 0, 0] with E >= 1");
    int extra = (int)p->i[5];
    return mli_onnx_emit(im, nd, &mli_op_padc, &x, 1, &extra, 1, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
}
