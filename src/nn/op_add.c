/* Add: y = x₀ + x₁ + … (2 to MLI_NODE_MAXIN inputs of one shape), the residual connection.
 * No parameters; every rule is linear, so each passes its blocks straight through. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

static int add_infer(mli_node *n)
{
    if (n->nin < 2)
        return mli_err(MLI_EUSAGE, "%s: Add takes at least two inputs", n->name);
    for (int k = 1; k < n->nin; k++) {
        int same = n->ishape[k].ndim == n->ishape[0].ndim;
        for (int d = 0; same && d < n->ishape[0].ndim; d++)
            same = n->ishape[k].d[d] == n->ishape[0].d[d];
        if (!same)
            return mli_err(MLI_EUSAGE, "%s: Add needs inputs of one shape (input %d differs)", n->name, k);
    }
    n->shape = n->ishape[0];
    return MLI_OK;
}

static void add_layout(mli_arch *a, mli_node *n) {}
static size_t add_save(const mli_node *n, int bmax) { return 0; }
static void add_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs) {}

/* y[len] = Σ_k x_k[len] */
static void sum_inputs(const mli_node *n, mli_real *y, const mli_real *const *x, size_t len)
{
    memcpy(y, x[0], sizeof(mli_real) * len);
    for (int k = 1; k < n->nin; k++)
        for (size_t i = 0; i < len; i++)
            y[i] += x[k][i];
}

/* dy passed to each wanted input, len reals */
static void pass_grad(const mli_node *n, mli_real *const *dx, const mli_real *dy, size_t len)
{
    for (int k = 0; k < n->nin; k++)
        if (dx[k])
            memcpy(dx[k], dy, sizeof(mli_real) * len);
}

static void add_forward(const mli_node *n, mli_opctx *c) { sum_inputs(n, c->y, c->x, (size_t)c->B * n->size); }
static void add_backward(const mli_node *n, mli_opctx *c) { pass_grad(n, c->dx, c->dy, (size_t)c->B * n->size); }
/* the three blocks are each a sum */
static void add_tangent(const mli_node *n, mli_opctx *c) { sum_inputs(n, c->y, c->x, 3 * (size_t)c->B * n->size); }
/* [y; R{y}] = Σ [x_k; R{x_k}] (the engine gives every input an R block: rop_const_input = 0) */
static void add_rop_forward(const mli_node *n, mli_opctx *c) { sum_inputs(n, c->y, c->x, 2 * (size_t)c->B * n->size); }

/* [R{dx}; dx] = [R{dy}; dy], the dx half only where wanted */
static void add_rop_backward(const mli_node *n, mli_opctx *c)
{
    size_t blk = (size_t)c->B * n->size;
    for (int k = 0; k < n->nin; k++)
        if (c->dx[k])
            memcpy(c->dx[k], c->dy, sizeof(mli_real) * (c->want_dx[k] ? 2 : 1) * blk);
}

static int add_reads_grad(const mli_node *n, const int *has_r) { return 0; }
static mli_jac_form add_jac_form(const mli_node *n) { return MLI_JAC_NONE; }
static size_t add_jac_width(const mli_node *n) { return 0; }
static void add_jac_backward(const mli_node *n, mli_opctx *c) { pass_grad(n, c->dx, c->dy, (size_t)c->rows * n->size); }

/* each float addition errs by u relative to the partial sum: (nin − 1)·Σ|h_k| bounds them all */
static void add_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                       double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    for (size_t o = 0; o < n->size; o++) {
        double s = 0, sa = 0, se = 0;
        for (int k = 0; k < n->nin; k++) {
            s += hin[k][o];
            sa += fabs(hin[k][o]);
            se += ein[k][o];
        }
        ho[o] = s;
        eo[o] = se + (n->nin - 1) * sa;
    }
}

static mli_pwl_role add_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ONNX: a chain of two-input Adds, ((x0 + x1) + x2) + x3, the order in which the rules sum
 * (Sum leaves the order to the runtime) */
static int add_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    char part[MLI_NODE_MAXIN][160], nname[160];
    const char *acc = e->in[0];
    for (int k = 1; k < n->nin; k++) {
        char what[16];
        snprintf(what, sizeof what, "sum%d", k);
        const char *o = k == n->nin - 1 ? e->out : mli_onnx_export_name(e, what, part[k], sizeof part[k]);
        if (k == n->nin - 1)
            snprintf(nname, sizeof nname, "%s", n->name);
        else
            snprintf(nname, sizeof nname, "%s/Add%d", n->name, k);
        const char *in[2] = {acc, e->in[k]};
        mli_onnx_add_node(e->m, "Add", nname, 2, in, 1, &o);
        acc = o;
    }
    return MLI_OK;
}

/* no parameters: no hoist, permute or statistics; the dY it passes on is read only below it */
const mli_op mli_op_add = {
    .name = "Add", .infer = add_infer, .layout = add_layout, .save_size = add_save, .init = add_init,
    .forward = add_forward, .backward = add_backward, .tangent = add_tangent,
    .rop_forward = add_rop_forward, .rop_backward = add_rop_backward, .rop_reads_grad = add_reads_grad,
    .jac_form = add_jac_form, .jac_width = add_jac_width, .jac_backward = add_jac_backward,
    .rowwise = 1, .units = 0, .reeval = add_reeval, .pwl = add_pwl,
    .onnx_export = add_onnx,
};
