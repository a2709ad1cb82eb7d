/* Elementwise activations s = σ(h) and their first two derivatives: identity, relu, tanh,
 * sigmoid (the node's attr[0], an mli_act). Any shape. */
#include <math.h>
#include <string.h>

#include "io/err.h"
#include "nn/layers.h"
#include "nn/op.h"

/* The loops below are written so that GCC vectorises them (no branches, no aliasing within
 * one loop): these passes are memory-bound and run between multi-threaded GEMMs. */
void mli_act_forward(mli_act act, mli_real *S, const mli_real *H, size_t n)
{
    switch (act) {
    case MLI_ACT_IDENTITY:
        if (S != H)
            memcpy(S, H, sizeof(mli_real) * n);
        break;
    case MLI_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            mli_real h = H[i];
            S[i] = h > 0 ? h : 0;
        }
        break;
    case MLI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            S[i] = tanh(H[i]);
        break;
    case MLI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            S[i] = 1 / (1 + exp(-H[i]));
        break;
    }
}

void mli_act_backward(mli_act act, mli_real *dH, const mli_real *dS, const mli_real *H,
                      const mli_real *S, size_t n)
{
    switch (act) {
    case MLI_ACT_IDENTITY:
        if (dH != dS)
            memcpy(dH, dS, sizeof(mli_real) * n);
        break;
    case MLI_ACT_RELU: /* σ′(0) = 0, as PyTorch */
        for (size_t i = 0; i < n; i++) {
            mli_real m = H[i] > 0 ? 1 : 0;
            dH[i] = dS[i] * m;
        }
        break;
    case MLI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * (1 - S[i] * S[i]);
        break;
    case MLI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * S[i] * (1 - S[i]);
        break;
    }
}

double mli_act_d1(mli_act act, double h)
{
    switch (act) {
    case MLI_ACT_RELU:
        return h > 0 ? 1 : 0;
    case MLI_ACT_TANH: {
        double t = tanh(h);
        return 1 - t * t;
    }
    case MLI_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-h));
        return s * (1 - s);
    }
    default:
        return 1;
    }
}

double mli_act_d2(mli_act act, double h)
{
    switch (act) {
    case MLI_ACT_TANH: {
        double t = tanh(h);
        return -2 * t * (1 - t * t);
    }
    case MLI_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-h));
        return s * (1 - s) * (1 - 2 * s);
    }
    default: /* identity, and relu away from its kink */
        return 0;
    }
}

void mli_act_tangent(mli_act act, mli_real *S, const mli_real *H, size_t n)
{
    const mli_real *H0 = H, *H1 = H + n, *H2 = H + 2 * n;
    mli_real *S0 = S, *S1 = S + n, *S2 = S + 2 * n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) { /* σ″ = 0 */
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H0[i] > 0 ? 1 : 0;
            S0[i] = H0[i] * m;
            S1[i] = H1[i] * m;
            S2[i] = H2[i] * m;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double d1, d2, s;
        if (act == MLI_ACT_TANH) {
            s = tanh(H0[i]);
            d1 = 1 - s * s;
            d2 = -2 * s * d1;
        } else {
            s = 1 / (1 + exp(-H0[i]));
            d1 = s * (1 - s);
            d2 = d1 * (1 - 2 * s);
        }
        S0[i] = (mli_real)s;
        S1[i] = (mli_real)(d1 * H1[i]);
        S2[i] = (mli_real)(d2 * H1[i] * H1[i] + d1 * H2[i]);
    }
}

/* ---- R-op (Hessian-vector products) ---- */

int mli_act_rop_needs_grad(mli_act act) { return act == MLI_ACT_TANH || act == MLI_ACT_SIGMOID; }

/* σ′ from s = σ(h) for the smooth activations (as mli_act_d1) */
static inline mli_real d1_of_s(mli_act act, mli_real s)
{
    return act == MLI_ACT_TANH ? 1 - s * s : s * (1 - s);
}

/* σ″ from s and σ′ (as mli_act_d2): tanh −2sσ′, sigmoid σ′(1 − 2s) */
static inline mli_real d2_of_s(mli_act act, mli_real s, mli_real d1)
{
    return act == MLI_ACT_TANH ? -2 * s * d1 : d1 * (1 - 2 * s);
}

void mli_act_rop_forward(mli_act act, mli_real *SR, const mli_real *HR, size_t n)
{
    const mli_real *H = HR, *RH = HR + n;
    mli_real *S = SR, *RS = SR + n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) {
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0; /* σ′, with σ′(0) = 0 */
            S[i] = H[i] * m;
            RS[i] = RH[i] * m;
        }
        return;
    }
    mli_act_forward(act, S, H, n);
    for (size_t i = 0; i < n; i++)
        RS[i] = d1_of_s(act, S[i]) * RH[i];
}

void mli_act_rop_backward(mli_act act, mli_real *dHR, int want_dh, const mli_real *dSR,
                          const mli_real *HR, const mli_real *S, size_t n)
{
    const mli_real *H = HR, *RH = HR + n, *RdS = dSR, *dS = dSR + n;
    mli_real *RdH = dHR, *dH = dHR + n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) { /* σ″ = 0: dS only passes through */
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0;
            RdH[i] = RdS[i] * m;
        }
        if (want_dh)
            for (size_t i = 0; i < n; i++) {
                mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0;
                dH[i] = dS[i] * m;
            }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        mli_real d1 = d1_of_s(act, S[i]), d2 = d2_of_s(act, S[i], d1);
        RdH[i] = RdS[i] * d1 + dS[i] * d2 * RH[i];
    }
    if (want_dh)
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * d1_of_s(act, S[i]);
}

/* ---- the operator ---------------------------------------------------------------------------- */

static mli_act act_of(const mli_node *n) { return (mli_act)n->attr[0]; }

static int act_infer(mli_node *n)
{
    if (n->nin != 1 || n->attr[0] < 0 || n->attr[0] > MLI_ACT_SIGMOID)
        return mli_err(MLI_EUSAGE, "%s: an activation takes one input", n->name);
    n->shape = n->ishape[0];
    return MLI_OK;
}

static void act_layout(mli_arch *a, mli_node *n) {}
static size_t act_save(const mli_node *n, int bmax) { return 0; }
static void act_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs) {}

static void op_act_forward(const mli_node *n, mli_opctx *c)
{
    mli_act_forward(act_of(n), c->y, c->x[0], (size_t)c->B * n->size);
}

static void op_act_backward(const mli_node *n, mli_opctx *c)
{
    if (c->dx[0])
        mli_act_backward(act_of(n), c->dx[0], c->dy, c->x[0], c->y, (size_t)c->B * n->size);
}

static void op_act_tangent(const mli_node *n, mli_opctx *c)
{
    mli_act_tangent(act_of(n), c->y, c->x[0], (size_t)c->B * n->size);
}

/* y = σ(P0 + αP1) in one sweep: the α loop's first pre-activation is never stored */
static void act_lincomb(const mli_node *n, mli_opctx *c)
{
    size_t len = (size_t)c->B * n->size;
    const mli_real al = (mli_real)c->alpha;
    const mli_real *restrict P0 = c->x[0], *restrict P1 = c->x[1];
    mli_real *restrict H = c->y;
    if (act_of(n) == MLI_ACT_RELU) {
        for (size_t k = 0; k < len; k++) {
            mli_real h = P0[k] + al * P1[k];
            H[k] = h > 0 ? h : 0;
        }
        return;
    }
    for (size_t k = 0; k < len; k++)
        H[k] = P0[k] + al * P1[k];
    mli_act_forward(act_of(n), H, H, len);
}

static void op_act_rop_forward(const mli_node *n, mli_opctx *c)
{
    mli_act_rop_forward(act_of(n), c->y, c->x[0], (size_t)c->B * n->size);
}

static void op_act_rop_backward(const mli_node *n, mli_opctx *c)
{
    if (c->dx[0])
        mli_act_rop_backward(act_of(n), c->dx[0], c->want_dx[0], c->dy, c->x[0], c->y, (size_t)c->B * n->size);
}

static int act_reads_grad(const mli_node *n, const int *has_r) { return mli_act_rop_needs_grad(act_of(n)); }

static mli_jac_form act_jac_form(const mli_node *n) { return MLI_JAC_NONE; }
static size_t act_jac_width(const mli_node *n) { return 0; }

/* every output block (row c·B + i) meets the same forward values of example i */
static void act_jac_backward(const mli_node *n, mli_opctx *c)
{
    if (!c->dx[0])
        return;
    size_t blk = (size_t)c->B * n->size;
    for (int o = 0; o < c->rows / c->B; o++)
        mli_act_backward(act_of(n), c->dx[0] + o * blk, c->dy + o * blk, c->x[0], c->y, blk);
}

/* σ in double; the float engine's σ errs by ≤ 2u|σ| (libm's tanh/exp within an ulp, one
 * rounding more for sigmoid's division), and σ is 1-Lipschitz (sigmoid ¼) in its input error */
static void act_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                       double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    mli_act act = act_of(n);
    double lip = act == MLI_ACT_SIGMOID ? 0.25 : 1;
    for (size_t o = 0; o < n->size; o++) {
        double v = hin[0][o];
        v = act == MLI_ACT_RELU      ? (v > 0 ? v : 0)
            : act == MLI_ACT_TANH    ? tanh(v)
            : act == MLI_ACT_SIGMOID ? 1 / (1 + exp(-v))
                                     : v;
        ho[o] = v;
        eo[o] = lip * ein[0][o] + 2 * fabs(v);
    }
}

static mli_pwl_role act_pwl(const mli_node *n)
{
    return act_of(n) == MLI_ACT_RELU ? MLI_PWL_RELU : act_of(n) == MLI_ACT_IDENTITY ? MLI_PWL_IDENTITY : MLI_PWL_NONE;
}

/* ONNX: one elementwise node of the same name */
static int act_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    static const char *const type[] = {[MLI_ACT_IDENTITY] = "Identity", [MLI_ACT_RELU] = "Relu",
                                       [MLI_ACT_TANH] = "Tanh", [MLI_ACT_SIGMOID] = "Sigmoid"};
    mli_onnx_add_node(e->m, type[act_of(n)], n->name, 1, e->in, 1, &e->out);
    return MLI_OK;
}

const mli_op mli_op_act = {
    /* structure */
    .name = "activation", .infer = act_infer, .layout = act_layout, .save_size = act_save, .init = act_init,
    /* first order */
    .forward = op_act_forward, .backward = op_act_backward,
    /* Taylor mode */
    .tangent = op_act_tangent, .forward_lincomb = act_lincomb,
    /* R-op */
    .rop_forward = op_act_rop_forward, .rop_backward = op_act_rop_backward, .rop_reads_grad = act_reads_grad,
    /* Jacobians */
    .jac_form = act_jac_form, .jac_width = act_jac_width, .jac_backward = act_jac_backward,
    /* the controls, the re-evaluation, statistics, the exact analysis */
    .rowwise = 1, .units = 0, .reeval = act_reeval, .pwl = act_pwl,
    /* export */
    .onnx_export = act_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c): Relu, Tanh, Sigmoid on one value ---- */
#include "nn/onnx_graph.h"

int mli_onnx_import_act(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    int act = !strcmp(nd->op_type, "Relu") ? MLI_ACT_RELU : !strcmp(nd->op_type, "Tanh") ? MLI_ACT_TANH : MLI_ACT_SIGMOID;
    return mli_onnx_emit(im, nd, &mli_op_act, &x, 1, &act, 1, NULL, 0) < 0 ? MLI_EINPUT : MLI_OK;
}
