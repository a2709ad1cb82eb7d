/* ONNX models as operator graphs: the walk over the nodes, the helpers the operators' import
 * functions use, and θ and the buffers from the initializers. See onnx_graph.h. */
#include "nn/onnx_graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

#define NO_NODE (-2)

/* ---- helpers for the import functions ---------------------------------------------------- */

static int node_index(const mli_onnx_import *im, const mli_onnx_node *nd) { return (int)(nd - im->m->nodes); }

const char *mli_onnx_node_name(const mli_onnx_import *im, const mli_onnx_node *nd)
{
    static __thread char buf[320];
    if (nd->name[0])
        snprintf(buf, sizeof buf, "node '%s' (%s)", nd->name, nd->op_type);
    else
        snprintf(buf, sizeof buf, "node #%d (%s)", node_index(im, nd), nd->op_type);
    return buf;
}

int mli_onnx_refuse(const mli_onnx_import *im, const mli_onnx_node *nd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mli_err(MLI_EINPUT, "%s: %s: %s", im->label, mli_onnx_node_name(im, nd), msg);
}

int64_t mli_onnx_attr_i(const mli_onnx_node *nd, const char *name, int64_t def)
{
    const mli_onnx_attr *at = mli_onnx_find_attr(nd, name);
    return at && at->type == MLI_ONNX_ATTR_INT ? at->i : def;
}

double mli_onnx_attr_f(const mli_onnx_node *nd, const char *name, double def)
{
    const mli_onnx_attr *at = mli_onnx_find_attr(nd, name);
    return at && at->type == MLI_ONNX_ATTR_FLOAT ? at->f : def;
}

/* the graph node computing value `name`: MLI_GRAPH_INPUT, a node, or NO_NODE */
static int producer_of(const mli_onnx_import *im, const char *name)
{
    const mli_onnx_model *m = im->m;
    for (int i = 0; i < m->ninputs; i++)
        if (!strcmp(m->inputs[i].name, name) && !mli_onnx_find_init(m, name))
            return MLI_GRAPH_INPUT;
    for (int k = 0; k < m->nnodes; k++)
        for (int j = 0; j < m->nodes[k].noutputs; j++)
            if (m->nodes[k].outputs[j][0] && !strcmp(m->nodes[k].outputs[j], name))
                return im->vnode[im->voff[k] + j];
    return NO_NODE;
}

const mli_onnx_node *mli_onnx_producer(const mli_onnx_import *im, const char *name)
{
    for (int k = 0; k < im->m->nnodes; k++)
        for (int j = 0; j < im->m->nodes[k].noutputs; j++)
            if (im->m->nodes[k].outputs[j][0] && !strcmp(im->m->nodes[k].outputs[j], name))
                return &im->m->nodes[k];
    return NULL;
}

int mli_onnx_value_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k, int *producer)
{
    if (k >= nd->ninputs || !nd->inputs[k][0])
        return mli_onnx_refuse(im, nd, "input %d is missing", k);
    if (mli_onnx_fold_const(&im->fold, nd->inputs[k], NULL))
        return mli_onnx_refuse(im, nd, "input %d '%s' is %s where mli supports only a value computed from the "
                               "data", k, nd->inputs[k], mli_onnx_find_init(im->m, nd->inputs[k]) ? "an initializer"
                               : "a constant (folded at import)");
    *producer = producer_of(im, nd->inputs[k]);
    if (*producer == NO_NODE)
        return mli_onnx_refuse(im, nd, "input %d '%s' is not computed from the data by a supported node", k,
                               nd->inputs[k]);
    return MLI_OK;
}

const mli_shape *mli_onnx_shape(const mli_onnx_import *im, int producer)
{
    return producer == MLI_GRAPH_INPUT ? &im->a->in_shape : &im->a->nodes[producer].shape;
}

const mli_onnx_tensor *mli_onnx_init_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k)
{
    return k < nd->ninputs && nd->inputs[k][0] ? mli_onnx_find_init(im->m, nd->inputs[k]) : NULL;
}

const mli_onnx_tensor *mli_onnx_const_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k,
                                         const unsigned char **tag)
{
    if (tag)
        *tag = NULL;
    return k < nd->ninputs && nd->inputs[k][0] ? mli_onnx_fold_const(&im->fold, nd->inputs[k], tag) : NULL;
}

/* the folder's view of a value computed from the data: [batch, per-example dims], the batch
 * the file's (or 1: Shape tags it either way) */
static int value_shape(void *ctx, const char *name, int64_t *dims)
{
    const mli_onnx_import *im = ctx;
    int p = producer_of(im, name);
    if (p == NO_NODE)
        return -1;
    const mli_shape *s = mli_onnx_shape(im, p);
    dims[0] = im->batch > 0 ? im->batch : 1;
    for (int k = 0; k < s->ndim; k++)
        dims[k + 1] = s->d[k];
    return 1 + s->ndim;
}

/* readers of value `name`: node inputs, plus one per graph output naming it */
static int readers(const mli_onnx_import *im, const char *name, const mli_onnx_node **last)
{
    int n = 0;
    for (int k = 0; k < im->m->nnodes; k++)
        for (int j = 0; j < im->m->nodes[k].ninputs; j++)
            if (!strcmp(im->m->nodes[k].inputs[j], name)) {
                n++;
                *last = &im->m->nodes[k];
            }
    for (int i = 0; i < im->m->noutputs; i++)
        if (!strcmp(im->m->outputs[i].name, name))
            n++, *last = NULL;
    return n;
}

const mli_onnx_node *mli_onnx_sole_consumer(const mli_onnx_import *im, const mli_onnx_node *nd)
{
    const mli_onnx_node *c = NULL;
    return nd->noutputs && readers(im, nd->outputs[0], &c) == 1 ? c : NULL;
}

int mli_onnx_emit(mli_onnx_import *im, const mli_onnx_node *nd, const mli_op *op, const int *inputs, int nin,
                  const int *attr, int nattr, const double *fattr, int nfattr)
{
    const mli_onnx_node *c;
    for (int j = 1; j < nd->noutputs; j++)
        if (nd->outputs[j][0] && readers(im, nd->outputs[j], &c))
            return mli_onnx_refuse(im, nd, "output %d '%s' is used; mli supports only the first output of %s", j,
                                   nd->outputs[j], nd->op_type),
                   -1;
    char name[64];
    snprintf(name, sizeof name, "%s", nd->name[0] ? nd->name : nd->outputs[0]);
    int id = mli_graph_add_attrs(im->a, op, inputs, nin, attr, nattr, fattr, nfattr, name);
    if (id < 0)
        return mli_onnx_refuse(im, nd, "%s", mli_errmsg()), -1;
    im->vnode[im->voff[node_index(im, nd)]] = id;
    return id;
}

int mli_onnx_param(mli_onnx_import *im, const mli_onnx_node *nd, int node, int k, const mli_onnx_tensor *t,
                   int trans)
{
    int ti = im->a->nodes[node].tensor[k], ii = (int)(t - im->m->inits);
    mli_tensor *g = &im->a->tensors[ti];
    if (t->elem_type != MLI_ONNX_FLOAT || t->numel != g->numel)
        return mli_onnx_refuse(im, nd, "initializer '%s' has %zu %s values, the operator needs %zu floats",
                               t->name, t->numel, mli_onnx_type_name(t->file_type), g->numel);
    if (im->owner[ii] >= 0)
        return mli_onnx_refuse(im, nd, "initializer '%s' is read by two nodes (shared parameters are not "
                               "supported)", t->name);
    im->owner[ii] = ti;
    im->src[ti] = ii;
    im->trans[ti] = trans;
    snprintf(g->name, sizeof g->name, "%s", t->name);
    return MLI_OK;
}

/* an INTS attribute of n values (within [lo, 2^24)) into v; absent: v unchanged. A 1-D node's
 * lists (n = 1 or, for pads, 2) fill the W entries: v[1] (and v[3]). */
static int ints_attr(const mli_onnx_import *im, const mli_onnx_node *nd, const char *name, int n, int lo, int *v,
                     int one_d)
{
    const mli_onnx_attr *at = mli_onnx_find_attr(nd, name);
    if (!at)
        return MLI_OK;
    if (at->type != MLI_ONNX_ATTR_INTS || at->n != (size_t)n)
        return mli_onnx_refuse(im, nd, "attribute %s must be %d integers (a %d-D %s: mli supports only 1-D and 2-D "
                               "ones)", name, n, 2 - one_d, nd->op_type);
    for (int j = 0; j < n; j++) {
        if (at->ints[j] < lo || at->ints[j] >= 1 << 24)
            return mli_onnx_refuse(im, nd, "attribute %s[%d] = %lld is out of range (at least %d)", name, j,
                                   (long long)at->ints[j], lo);
        v[one_d ? 2 * j + 1 : j] = (int)at->ints[j];
    }
    return MLI_OK;
}

/* SAME_*: the output is ⌈n/s⌉ and the padding the least that gives it, split evenly with the
 * odd one at the end (UPPER) or at the beginning (LOWER) */
static void same_pads(int n, int k, int s, int d, int upper, int *begin, int *end)
{
    int out = (n + s - 1) / s, total = (out - 1) * s + (k - 1) * d + 1 - n;
    total = total > 0 ? total : 0;
    *begin = upper ? total / 2 : total - total / 2;
    *end = total - *begin;
}

int mli_onnx_spatial(const mli_onnx_import *im, const mli_onnx_node *nd, const mli_shape *x, int *k, int *s, int *d,
                     int *p)
{
    int given[2] = {k[0], k[1]}, one_d = x->ndim == 2, n = 2 - one_d, H = one_d ? 1 : x->d[1], W = x->d[x->ndim - 1];
    s[0] = s[1] = d[0] = d[1] = 1;
    p[0] = p[1] = p[2] = p[3] = 0;
    if (one_d)
        k[0] = 1;
    if (ints_attr(im, nd, "kernel_shape", n, 1, k, one_d) || ints_attr(im, nd, "strides", n, 1, s, one_d) ||
        ints_attr(im, nd, "dilations", n, 1, d, one_d) || ints_attr(im, nd, "pads", 2 * n, 0, p, one_d))
        return MLI_EINPUT;
    if (k[0] < 1 || k[1] < 1)
        return mli_onnx_refuse(im, nd, "attribute kernel_shape (2 integers) is missing");
    if (given[0] > 0 && (given[0] != k[0] || given[1] != k[1]))
        return mli_onnx_refuse(im, nd, "kernel_shape [%d, %d] differs from the weight's %d×%d", k[0], k[1], given[0],
                               given[1]);
    for (int j = 0; j < 2; j++) /* the dilated kernel's extent, so that no size overflows below */
        if ((long long)d[j] * (k[j] - 1) + 1 > (j ? W : H) + p[j] + p[j + 2] + (1LL << 20))
            return mli_onnx_refuse(im, nd, "kernel %d with dilation %d spans far more than the input (%d)", k[j], d[j],
                                   j ? W : H);
    const mli_onnx_attr *ap = mli_onnx_find_attr(nd, "auto_pad");
    const char *mode = ap && ap->type == MLI_ONNX_ATTR_STRING ? ap->s : "NOTSET";
    if (!strcmp(mode, "NOTSET"))
        return MLI_OK;
    if (mli_onnx_find_attr(nd, "pads"))
        return mli_onnx_refuse(im, nd, "auto_pad %s and pads are both given", mode);
    if (!strcmp(mode, "VALID"))
        return MLI_OK;
    int upper = !strcmp(mode, "SAME_UPPER");
    if (!upper && strcmp(mode, "SAME_LOWER"))
        return mli_onnx_refuse(im, nd, "auto_pad '%s' is not supported (supported: NOTSET, VALID, SAME_UPPER, "
                               "SAME_LOWER)", mode);
    same_pads(H, k[0], s[0], d[0], upper, &p[0], &p[2]);
    same_pads(W, k[1], s[1], d[1], upper, &p[1], &p[3]);
    return MLI_OK;
}

int mli_onnx_emit_spatial(mli_onnx_import *im, const mli_onnx_node *nd, const mli_op *op, int x, const int *attr,
                          int nattr)
{
    const mli_shape *s = mli_onnx_shape(im, x);
    if (s->ndim != 2)
        return mli_onnx_emit(im, nd, op, &x, 1, attr, nattr, NULL, 0);
    char name[64], uname[80];
    snprintf(name, sizeof name, "%s", nd->name[0] ? nd->name : nd->outputs[0]);
    snprintf(uname, sizeof uname, "%s/unsqueeze", name);
    int up[4] = {3, s->d[0], 1, s->d[1]};
    int u = mli_graph_add_attrs(im->a, &mli_op_reshape, &x, 1, up, 4, NULL, 0, uname);
    int id = u < 0 ? -1 : mli_graph_add_attrs(im->a, op, &u, 1, attr, nattr, NULL, 0, name);
    if (id < 0)
        return mli_onnx_refuse(im, nd, "%s", mli_errmsg()), -1;
    const mli_shape *o = &im->a->nodes[id].shape;
    int down[3] = {2, o->d[0], o->d[2]};
    return mli_onnx_emit(im, nd, &mli_op_reshape, &id, 1, down, 3, NULL, 0) < 0 ? -1 : id;
}

void mli_onnx_absorb(mli_onnx_import *im, const mli_onnx_node *later, int node)
{
    im->absorbed[node_index(im, later)] = 1;
    im->vnode[im->voff[node_index(im, later)]] = node;
}

/* ---- the data's normalisation ------------------------------------------------------------- */

/* t holds one float per channel of C, broadcast over N, H and W: dims [1, C, 1, 1] or [C, 1, 1] */
static int per_channel(const mli_onnx_tensor *t, int C)
{
    if (!t || t->elem_type != MLI_ONNX_FLOAT || t->numel != (size_t)C || t->ndim < 3 || t->ndim > 4)
        return 0;
    const int64_t *d = t->dims + t->ndim - 3;
    return (t->ndim == 3 || t->dims[0] == 1) && d[0] == C && d[1] == 1 && d[2] == 1;
}

/* Sub(data, mean) whose only reader is Div(·, std): mli_arch.norm_c, not a node (the analyses
 * apply it to the data, as to a native run's). Both nodes' outputs become the data. */
int mli_onnx_import_norm(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    mli_arch *a = im->a;
    const mli_onnx_node *div = mli_onnx_sole_consumer(im, nd), *last = NULL;
    int C = a->in_shape.d[0];
    if (x != MLI_GRAPH_INPUT || a->in_shape.ndim != 3 || C > MLI_NORM_MAXC || a->norm_c ||
        readers(im, nd->inputs[0], &last) != 1 || !div || strcmp(div->op_type, "Div") || div->ninputs != 2 ||
        strcmp(div->inputs[0], nd->outputs[0]))
        return mli_onnx_refuse(im, nd, "mli supports Sub only as the data's normalisation: Sub(data, mean) read by "
                               "Div(·, std) alone, the data N×C×H×W (C <= %d) and read by the Sub alone",
                               MLI_NORM_MAXC);
    const mli_onnx_tensor *mean = mli_onnx_init_in(im, nd, 1), *std = mli_onnx_init_in(im, div, 1);
    if (!per_channel(mean, C) || !per_channel(std, C))
        return mli_onnx_refuse(im, nd, "the mean (Sub) and the std (Div) must be float initializers [1, %d, 1, 1] "
                               "(one value per channel of the data)", C);
    for (int c = 0; c < C; c++) {
        if (!isfinite(mean->f[c]) || !isfinite(std->f[c]) || std->f[c] == 0)
            return mli_onnx_refuse(im, nd, "channel %d: mean %g, std %g (finite, std not 0)", c, mean->f[c],
                                   std->f[c]);
        a->norm_mean[c] = mean->f[c];
        a->norm_std[c] = std->f[c];
    }
    a->norm_c = C;
    mli_onnx_absorb(im, nd, MLI_GRAPH_INPUT);
    mli_onnx_absorb(im, div, MLI_GRAPH_INPUT);
    return MLI_OK;
}

/* ---- the walk ------------------------------------------------------------------------------ */

typedef int (*import_fn)(mli_onnx_import *, const mli_onnx_node *);
static const struct {
    const char *op_type;
    import_fn fn;
} kinds[] = {
    {"Gemm", mli_onnx_import_gemm},           {"MatMul", mli_onnx_import_matmul},
    {"Add", mli_onnx_import_add},             {"Relu", mli_onnx_import_act},
    {"Tanh", mli_onnx_import_act},            {"Sigmoid", mli_onnx_import_act},
    {"BatchNormalization", mli_onnx_import_batchnorm},
    {"Flatten", mli_onnx_import_reshape},     {"Reshape", mli_onnx_import_reshape},
    {"Identity", mli_onnx_import_reshape},    {"Dropout", mli_onnx_import_reshape},
    {"Transpose", mli_onnx_import_transpose},
    {"Conv", mli_onnx_import_conv},           {"MaxPool", mli_onnx_import_pool},
    {"AveragePool", mli_onnx_import_pool},    {"GlobalAveragePool", mli_onnx_import_gap},
    {"ReduceMean", mli_onnx_import_reducemean}, {"Pad", mli_onnx_import_pad},
    {"Sub", mli_onnx_import_norm},            {"Slice", mli_onnx_import_slice},
};
#define SUPPORTED                                                                                           \
    "Gemm, MatMul, Add, Relu, Tanh, Sigmoid, BatchNormalization, Flatten, Reshape, Identity, Dropout, "        \
    "Conv, MaxPool, AveragePool, GlobalAveragePool, ReduceMean over axes [2, 3]; Pad appending zero "       \
    "channels; Slice x[:, :, ::s, ::t]; Sub then Div by per-channel constants on the data; Transpose of a "  \
    "weight; shape arithmetic on constants (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, "     \
    "Slice, Add, Sub, Mul, Div, ConstantOfShape, Range, Reshape, Identity, Transpose), folded at import"

/* the data: the one graph input that is not an initializer, with a batch dim and 1 to
 * MLI_MAX_DIMS known per-example dims */
static int data_input(mli_onnx_import *im, mli_loss loss)
{
    const mli_onnx_model *m = im->m;
    const mli_onnx_value *x = NULL;
    for (int i = 0; i < m->ninputs; i++) {
        if (mli_onnx_find_init(m, m->inputs[i].name))
            continue;
        if (x)
            return mli_err(MLI_EINPUT, "%s: graph inputs '%s' and '%s': mli supports one data input (every "
                           "other input must be an initializer)", im->label, x->name, m->inputs[i].name);
        x = &m->inputs[i];
    }
    if (!x)
        return mli_err(MLI_EINPUT, "%s: the graph has no input that is not an initializer (no data input)", im->label);
    if (x->elem_type != MLI_ONNX_FLOAT && x->elem_type != MLI_ONNX_DOUBLE)
        return mli_err(MLI_EINPUT, "%s: graph input '%s' is %s (expected FLOAT or DOUBLE)", im->label, x->name,
                       mli_onnx_type_name(x->elem_type));
    if (x->ndim < 2 || x->ndim > 1 + MLI_MAX_DIMS)
        return mli_err(MLI_EINPUT, "%s: graph input '%s' has %s%d dims: mli needs a batch dim and 1 to %d "
                       "per-example dims", im->label, x->name, x->ndim < 0 ? "no shape, " : "",
                       x->ndim < 0 ? 0 : x->ndim, MLI_MAX_DIMS);
    int d[MLI_MAX_DIMS];
    for (int k = 1; k < x->ndim; k++) {
        if (x->dims[k] < 1 || x->dims[k] > 1 << 24)
            return mli_err(MLI_EINPUT, "%s: graph input '%s': dim %d is %s: the per-example dims must be known "
                           "sizes", im->label, x->name, k, x->dims[k] < 0 ? "symbolic or unknown" : "out of range");
        d[k - 1] = (int)x->dims[k];
    }
    im->batch = x->dims[0] > 0 && x->dims[0] < 1 << 30 ? (int)x->dims[0] : -1;
    mli_graph_begin(im->a, d, x->ndim - 1, loss);
    return MLI_OK;
}

static int walk(mli_onnx_import *im, const int *order)
{
    const mli_onnx_model *m = im->m;
    for (int s = 0; s < m->nnodes; s++) {
        const mli_onnx_node *nd = &m->nodes[order[s]];
        if (im->absorbed[order[s]])
            continue;
        if (nd->domain[0] && strcmp(nd->domain, "ai.onnx"))
            return mli_onnx_refuse(im, nd, "domain '%s' is not supported (only the default ONNX domain)",
                                   nd->domain);
        if (nd->noutputs < 1 || !nd->outputs[0][0])
            return mli_onnx_refuse(im, nd, "no output (every supported node computes one value)");
        int folded = mli_onnx_fold_node(&im->fold, order[s]);
        if (folded == 1)
            continue;
        if (folded)
            return folded;
        size_t k = 0;
        while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].op_type, nd->op_type))
            k++;
        if (k == sizeof kinds / sizeof kinds[0] && mli_onnx_fold_op(nd->op_type))
            return mli_onnx_refuse(im, nd, "%s is evaluated at import only on constants (initializers other than "
                                   "parameters, Constant nodes, the shapes of values): mli has no operator computing "
                                   "it from the data", nd->op_type);
        if (k == sizeof kinds / sizeof kinds[0])
            return mli_onnx_refuse(im, nd, "op_type %s is not supported (supported: " SUPPORTED ")", nd->op_type);
        int rc = kinds[k].fn(im, nd);
        if (rc)
            return rc;
    }
    if (m->noutputs != 1)
        return mli_err(MLI_EINPUT, "%s: the graph has %d outputs: mli supports one", im->label, m->noutputs);
    int out = producer_of(im, m->outputs[0].name);
    if (out < 0 || out != im->a->nnodes - 1)
        return mli_err(MLI_EINPUT, "%s: graph output '%s' is %s", im->label, m->outputs[0].name,
                       out == MLI_GRAPH_INPUT ? "the data itself: the graph computes nothing"
                       : out == NO_NODE   ? "an initializer, not computed from the data"
                                          : "not computed last: a node's result is not used");
    if (mli_graph_end(im->a))
        return mli_err(MLI_EINPUT, "%s: %s", im->label, mli_errmsg());
    return MLI_OK;
}

/* θ and the buffers from the initializers, transposing where the file stores in×out */
static int fill(const mli_onnx_import *im, mli_real *theta, mli_real *bufs)
{
    const mli_arch *a = im->a;
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *g = &a->tensors[i];
        const mli_onnx_tensor *t = &im->m->inits[im->src[i]];
        mli_real *dst = (g->is_buffer ? bufs : theta) + g->off;
        int rows = g->shape[0], cols = g->ndim == 2 ? g->shape[1] : 1; /* transposed: t is cols×rows */
        for (size_t j = 0; j < g->numel; j++) {
            size_t from = im->trans[i] ? (j % (size_t)cols) * (size_t)rows + j / (size_t)cols : j;
            float v = t->f[from];
            if (!isfinite(v))
                return mli_err(MLI_EINPUT, "%s: initializer '%s' holds a non-finite value at index %zu", im->label,
                               t->name, from);
            dst[j] = (mli_real)v;
        }
    }
    for (int k = 0; k < a->nnodes; k++) /* batch norm's running variance: tensor 3 */
        if (a->nodes[k].op == &mli_op_batchnorm) {
            const mli_node *n = &a->nodes[k];
            for (int c = 0; c < n->shape.d[0]; c++)
                if (mli_node_view(n, 3, bufs)[c] < 0)
                    return mli_err(MLI_EINPUT, "%s: initializer '%s' holds a negative variance", im->label,
                                   a->tensors[n->tensor[3]].name);
        }
    return MLI_OK;
}

int mli_onnx_graph(const mli_onnx_model *m, const char *label, mli_loss loss, mli_arch *a, mli_real **theta,
                   mli_real **bufs)
{
    *theta = *bufs = NULL;
    mli_onnx_import im = {.m = m, .label = label, .a = a};
    int nout = 0;
    for (int k = 0; k < m->nnodes; k++)
        nout += m->nodes[k].noutputs;
    im.voff = mli_malloc(sizeof(int) * ((size_t)m->nnodes + 1));
    im.vnode = mli_malloc(sizeof(int) * ((size_t)nout + 1));
    im.absorbed = mli_calloc((size_t)m->nnodes + 1, 1);
    im.owner = mli_malloc(sizeof(int) * ((size_t)m->ninits + 1));
    int *order = mli_malloc(sizeof(int) * ((size_t)m->nnodes + 1));
    for (int k = 0, o = 0; k < m->nnodes; o += m->nodes[k++].noutputs)
        im.voff[k] = o;
    for (int j = 0; j < nout; j++)
        im.vnode[j] = NO_NODE;
    for (int i = 0; i < m->ninits; i++)
        im.owner[i] = -1;
    mli_onnx_fold_init(&im.fold, m, label, value_shape, &im);
    int rc = mli_onnx_sort(m, label, order);
    if (!rc)
        rc = data_input(&im, loss);
    if (!rc)
        rc = walk(&im, order);
    if (!rc && loss == MLI_LOSS_RECON && a->nout != a->input_size)
        rc = mli_err(MLI_EINPUT, "%s: loss_fn=recon needs as many outputs (%d) as inputs (%d)", label, a->nout,
                     a->input_size);
    if (!rc) {
        *theta = mli_malloc(sizeof(mli_real) * (a->nparams + 1));
        *bufs = mli_malloc(sizeof(mli_real) * (a->nbuffers + 1));
        rc = fill(&im, *theta, *bufs);
        if (rc) {
            free(*theta);
            free(*bufs);
            *theta = *bufs = NULL;
        }
    }
    free(order);
    free(im.voff);
    free(im.vnode);
    free(im.absorbed);
    free(im.owner);
    mli_onnx_fold_free(&im.fold);
    return rc;
}

int mli_onnx_load(const char *path, mli_loss loss, mli_arch *a, mli_real **theta, mli_real **bufs)
{
    mli_onnx_model *m;
    int rc = mli_onnx_read(path, &m);
    if (rc)
        return rc;
    rc = mli_onnx_graph(m, path, loss, a, theta, bufs);
    mli_onnx_free(m);
    return rc;
}

int mli_onnx_path(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && !strcmp(path + n - 5, ".onnx");
}
