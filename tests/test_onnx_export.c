/* ONNX export (nn/onnx_export.c and each operator's onnx_export rule): graphs are exported,
 * written, read back with the distrustful reader, and checked
 *   - in structure: producer, opset, the graph input and output with the symbolic batch,
 *     the node list and every attribute, every initializer's name, shape and values against θ
 *     and the buffers;
 *   - in meaning: a small ONNX interpreter written here from the operator definitions of the
 *     ONNX specification (Gemm, MatMul, Transpose, Add, BatchNormalization, the activations),
 *     in double, runs the file read back on random inputs, and its outputs must equal mli's
 *     eval-mode forward pass (net.c) to float rounding.
 * FCNets of every activation, with and without batch norm, of 1 to 4 hidden layers; a residual
 * graph with a three-input Add; a Linear over the last dimension of an N-D input with batch
 * norm over its channels (MatMul with the weight stored in × out); names that collide;
 * refusals. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "io/err.h"
#include "io/onnx.h"
#include "nn/arch.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/onnx_export.h"
#include "nn/onnx_graph.h"
#include "nn/op.h"

/* ------------------------------------------------------------------ a model and its file */

typedef struct {
    mli_arch a;
    mli_real *theta, *bufs;
    mli_onnx_model *m; /* the file read back */
    char path[512];
} fx;

/* θ at random, and batch-norm statistics away from their initial 0 and 1 so that they matter */
static void fx_fill(fx *f, uint64_t seed)
{
    f->theta = malloc(sizeof(mli_real) * (f->a.nparams + 1));
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    tu_fill_uniform(f->theta, f->a.nparams, -0.6, 0.6, seed);
    for (int t = 0; t < f->a.ntensors; t++) {
        const mli_tensor *x = &f->a.tensors[t];
        if (!x->is_buffer)
            continue;
        int var = strstr(x->name, "running_var") != NULL;
        tu_fill_uniform(f->bufs + x->off, x->numel, var ? 0.3 : -0.5, var ? 2.0 : 0.5, seed + 1 + (uint64_t)t);
    }
}

static void fx_export(fx *f, const char *tag)
{
    snprintf(f->path, sizeof f->path, "%s/%s.onnx", tu_tmpdir("onnx_export"), tag);
    int rc = mli_onnx_export_file(f->path, &f->a, f->theta, f->bufs);
    if (rc)
        fail_msg("%s: %s", tag, mli_errmsg());
    rc = mli_onnx_read(f->path, &f->m);
    if (rc)
        fail_msg("%s read back: %s", tag, mli_errmsg());
}

static void fx_free(fx *f)
{
    free(f->theta);
    free(f->bufs);
    mli_onnx_free(f->m);
}

/* ------------------------------------------------------------------ an ONNX interpreter */

/* A value of the interpreter: dims and doubles. */
typedef struct {
    const char *name;
    int ndim;
    int64_t dims[MLI_ONNX_MAX_DIMS];
    size_t n;
    double *v;
} val;

typedef struct {
    int nv;
    val v[1024];
} env;

static val *env_get(env *e, const char *name)
{
    for (int k = 0; k < e->nv; k++)
        if (!strcmp(e->v[k].name, name))
            return &e->v[k];
    fail_msg("value '%s' is not defined", name);
    return NULL;
}

static val *env_new(env *e, const char *name, int ndim, const int64_t *dims)
{
    assert_true(e->nv < 1024);
    val *x = &e->v[e->nv++];
    x->name = name;
    x->ndim = ndim;
    x->n = 1;
    for (int d = 0; d < ndim; d++) {
        x->dims[d] = dims[d];
        x->n *= (size_t)dims[d];
    }
    x->v = calloc(x->n ? x->n : 1, sizeof(double));
    return x;
}

static double attr_f(const mli_onnx_node *n, const char *name, double dflt)
{
    const mli_onnx_attr *a = mli_onnx_find_attr(n, name);
    return a ? a->f : dflt;
}

static int64_t attr_i(const mli_onnx_node *n, const char *name, int64_t dflt)
{
    const mli_onnx_attr *a = mli_onnx_find_attr(n, name);
    return a ? a->i : dflt;
}

/* Gemm: Y = alpha A' B' + beta C, A' = A or Aᵀ (transA), B' likewise; C (optional) broadcast
 * to M×N */
static void op_gemm(env *e, const mli_onnx_node *n)
{
    val *A = env_get(e, n->inputs[0]), *Bm = env_get(e, n->inputs[1]);
    val *C = n->ninputs > 2 && n->inputs[2][0] ? env_get(e, n->inputs[2]) : NULL; /* optional */
    int ta = (int)attr_i(n, "transA", 0), tb = (int)attr_i(n, "transB", 0);
    assert_int_equal(A->ndim, 2);
    assert_int_equal(Bm->ndim, 2);
    int64_t M = ta ? A->dims[1] : A->dims[0], K = ta ? A->dims[0] : A->dims[1];
    int64_t N = tb ? Bm->dims[0] : Bm->dims[1];
    assert_int_equal(tb ? Bm->dims[1] : Bm->dims[0], K);
    val *Y = env_new(e, n->outputs[0], 2, (int64_t[]){M, N});
    double alpha = attr_f(n, "alpha", 1), beta = attr_f(n, "beta", 1);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += A->v[ta ? k * M + i : i * K + k] * Bm->v[tb ? j * K + k : k * N + j];
            double c = !C ? 0 : C->n == 1 ? C->v[0] : C->ndim == 1 ? C->v[j] : C->v[i * N + j];
            Y->v[i * N + j] = alpha * s + beta * c;
        }
}

/* MatMul: A (…, M, K) × B (K, N), the leading dimensions of A kept */
static void op_matmul(env *e, const mli_onnx_node *n)
{
    val *A = env_get(e, n->inputs[0]), *Bm = env_get(e, n->inputs[1]);
    assert_int_equal(Bm->ndim, 2);
    int64_t K = A->dims[A->ndim - 1], N = Bm->dims[1];
    assert_int_equal(Bm->dims[0], K);
    int64_t dims[MLI_ONNX_MAX_DIMS];
    memcpy(dims, A->dims, sizeof dims);
    dims[A->ndim - 1] = N;
    val *Y = env_new(e, n->outputs[0], A->ndim, dims);
    size_t rows = A->n / (size_t)K;
    for (size_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += A->v[r * (size_t)K + (size_t)k] * Bm->v[k * N + j];
            Y->v[r * (size_t)N + (size_t)j] = s;
        }
}

static void op_transpose(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]);
    const mli_onnx_attr *p = mli_onnx_find_attr(n, "perm");
    assert_int_equal(X->ndim, 2);
    assert_true(!p || (p->n == 2 && p->ints[0] == 1 && p->ints[1] == 0));
    val *Y = env_new(e, n->outputs[0], 2, (int64_t[]){X->dims[1], X->dims[0]});
    for (int64_t i = 0; i < X->dims[0]; i++)
        for (int64_t j = 0; j < X->dims[1]; j++)
            Y->v[j * X->dims[0] + i] = X->v[i * X->dims[1] + j];
}

/* Add with multidirectional broadcasting, as far as needed here: B right-aligned with A, each
 * of its dims equal to A's or 1 */
static void op_add(env *e, const mli_onnx_node *n)
{
    val *A = env_get(e, n->inputs[0]), *Bv = env_get(e, n->inputs[1]);
    if (Bv->ndim > A->ndim) {
        val *t = A;
        A = Bv;
        Bv = t;
    }
    int off = A->ndim - Bv->ndim;
    for (int d = 0; d < Bv->ndim; d++)
        assert_true(Bv->dims[d] == 1 || Bv->dims[d] == A->dims[off + d]);
    val *Y = env_new(e, n->outputs[0], A->ndim, A->dims);
    for (size_t i = 0; i < A->n; i++) {
        size_t rest = i, j = 0, stride = 1;
        for (int d = A->ndim - 1; d >= off; d--) { /* A's index along d, B's where it is not 1 */
            size_t id = rest % (size_t)A->dims[d];
            rest /= (size_t)A->dims[d];
            if (Bv->dims[d - off] != 1)
                j += id * stride;
            stride *= (size_t)Bv->dims[d - off];
        }
        Y->v[i] = *n->op_type == 'S' ? A->v[i] - Bv->v[j] : *n->op_type == 'D' ? A->v[i] / Bv->v[j] : A->v[i] + Bv->v[j];
    }
}

/* Pad, constant mode with 0: pads (an INT64 input) begins, then ends, of every axis */
static void op_pad(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]), *P = env_get(e, n->inputs[1]);
    assert_int_equal(P->n, 2 * (size_t)X->ndim);
    assert_true(n->ninputs == 2);
    const mli_onnx_attr *md = mli_onnx_find_attr(n, "mode");
    assert_true(!md || !strcmp(md->s, "constant"));
    int64_t dims[MLI_ONNX_MAX_DIMS];
    for (int d = 0; d < X->ndim; d++)
        dims[d] = X->dims[d] + (int64_t)P->v[d] + (int64_t)P->v[X->ndim + d];
    val *Y = env_new(e, n->outputs[0], X->ndim, dims);
    memset(Y->v, 0, sizeof(double) * Y->n);
    for (size_t i = 0; i < X->n; i++) { /* X's index, shifted by the begins, in Y */
        size_t rest = i, j = 0, stride = 1;
        for (int d = X->ndim - 1; d >= 0; d--) {
            size_t id = rest % (size_t)X->dims[d];
            rest /= (size_t)X->dims[d];
            j += (id + (size_t)P->v[d]) * stride;
            stride *= (size_t)dims[d];
        }
        Y->v[j] = X->v[i];
    }
}

/* BatchNormalization, inference: Y = scale (X − mean) / √(var + ε) + B over axis 1 */
static void op_bn(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]), *sc = env_get(e, n->inputs[1]), *b = env_get(e, n->inputs[2]);
    val *mu = env_get(e, n->inputs[3]), *var = env_get(e, n->inputs[4]);
    assert_int_equal(attr_i(n, "training_mode", 0), 0);
    double eps = attr_f(n, "epsilon", 1e-5);
    int64_t C = X->dims[1];
    size_t S = X->n / (size_t)(X->dims[0] * C);
    val *Y = env_new(e, n->outputs[0], X->ndim, X->dims);
    for (size_t i = 0; i < X->n; i++) {
        size_t c = (i / S) % (size_t)C;
        Y->v[i] = sc->v[c] * (X->v[i] - mu->v[c]) / sqrt(var->v[c] + eps) + b->v[c];
    }
}

/* Flatten(axis): [Π dims before axis, Π dims from it]; Reshape(x, shape): 0 copies the
 * input's dim, −1 is inferred. The values are unchanged. */
static void op_reshape(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]);
    int64_t dims[MLI_ONNX_MAX_DIMS];
    int nd;
    if (!strcmp(n->op_type, "Flatten")) {
        int64_t axis = attr_i(n, "axis", 1), lead = 1;
        for (int d = 0; d < axis; d++)
            lead *= X->dims[d];
        dims[0] = lead;
        dims[1] = (int64_t)X->n / lead;
        nd = 2;
    } else {
        val *S = env_get(e, n->inputs[1]);
        nd = (int)S->n;
        int64_t known = 1;
        int infer = -1;
        for (int d = 0; d < nd; d++) {
            dims[d] = (int64_t)S->v[d];
            if (dims[d] == 0)
                dims[d] = X->dims[d];
            if (dims[d] == -1)
                infer = d;
            else
                known *= dims[d];
        }
        if (infer >= 0)
            dims[infer] = (int64_t)X->n / known;
    }
    val *Y = env_new(e, n->outputs[0], nd, dims);
    assert_int_equal(Y->n, X->n);
    memcpy(Y->v, X->v, sizeof(double) * X->n);
}

static void op_unary(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]);
    val *Y = env_new(e, n->outputs[0], X->ndim, X->dims);
    const char *t = n->op_type;
    for (size_t i = 0; i < X->n; i++) {
        double x = X->v[i];
        Y->v[i] = !strcmp(t, "Relu")      ? (x > 0 ? x : 0)
                  : !strcmp(t, "Tanh")    ? tanh(x)
                  : !strcmp(t, "Sigmoid") ? 1 / (1 + exp(-x))
                                          : x;
    }
}

/* an INTS attribute, or dflt (n values) */
static void attr_ints(const mli_onnx_node *n, const char *name, int cnt, const int64_t *dflt, int64_t *v)
{
    const mli_onnx_attr *a = mli_onnx_find_attr(n, name);
    assert_true(!a || a->n == (size_t)cnt);
    for (int k = 0; k < cnt; k++)
        v[k] = a ? a->ints[k] : dflt[k];
}

/* Conv (2-D, NOTSET padding): Y[n, k, oh, ow] = B[k] + Σ_{c < C/group, a, b} W[k, c, a, b] ·
 * X[n, g·C/group + c, oh·s − p_begin + a·d, ow·s − p_begin + b·d], g = k/(K/group), zeros
 * outside X; the output size ⌊(H + p_begin + p_end − d(kh − 1) − 1)/s⌋ + 1 */
static void op_conv(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]), *W = env_get(e, n->inputs[1]);
    val *Bv = n->ninputs > 2 && n->inputs[2][0] ? env_get(e, n->inputs[2]) : NULL;
    int64_t one[4] = {1, 1, 1, 1}, zero[4] = {0}, st[2], dl[2], p[4], ks[2];
    attr_ints(n, "strides", 2, one, st);
    attr_ints(n, "dilations", 2, one, dl);
    attr_ints(n, "pads", 4, zero, p);
    attr_ints(n, "kernel_shape", 2, W->dims + 2, ks);
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], Wd = X->dims[3], K = W->dims[0], G = attr_i(n, "group", 1);
    int64_t Cg = C / G, Kg = K / G;
    int64_t dims[4] = {N, K, (H + p[0] + p[2] - dl[0] * (ks[0] - 1) - 1) / st[0] + 1,
                       (Wd + p[1] + p[3] - dl[1] * (ks[1] - 1) - 1) / st[1] + 1};
    val *Y = env_new(e, n->outputs[0], 4, dims);
    for (int64_t i = 0; i < N; i++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t oh = 0; oh < dims[2]; oh++)
                for (int64_t ow = 0; ow < dims[3]; ow++) {
                    double acc = Bv ? Bv->v[k] : 0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t a = 0; a < ks[0]; a++)
                            for (int64_t b = 0; b < ks[1]; b++) {
                                int64_t ih = oh * st[0] - p[0] + a * dl[0], iw = ow * st[1] - p[1] + b * dl[1];
                                if (ih >= 0 && ih < H && iw >= 0 && iw < Wd)
                                    acc += W->v[((k * Cg + c) * ks[0] + a) * ks[1] + b] *
                                           X->v[((i * C + k / Kg * Cg + c) * H + ih) * Wd + iw];
                            }
                    Y->v[((i * K + k) * dims[2] + oh) * dims[3] + ow] = acc;
                }
}

/* MaxPool / AveragePool (ceil_mode 0): the max or the mean over the window's positions inside
 * X (AveragePool with count_include_pad: the sum over kh·kw) */
static void op_pool(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]);
    int avg = !strcmp(n->op_type, "AveragePool"), incl = (int)attr_i(n, "count_include_pad", 0);
    int64_t one[2] = {1, 1}, zero[4] = {0}, st[2], dl[2], p[4], ks[2];
    attr_ints(n, "kernel_shape", 2, one, ks);
    attr_ints(n, "strides", 2, one, st);
    attr_ints(n, "dilations", 2, one, dl);
    attr_ints(n, "pads", 4, zero, p);
    assert_int_equal(attr_i(n, "ceil_mode", 0), 0);
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], Wd = X->dims[3];
    int64_t dims[4] = {N, C, (H + p[0] + p[2] - dl[0] * (ks[0] - 1) - 1) / st[0] + 1,
                       (Wd + p[1] + p[3] - dl[1] * (ks[1] - 1) - 1) / st[1] + 1};
    val *Y = env_new(e, n->outputs[0], 4, dims);
    for (int64_t i = 0; i < N * C; i++)
        for (int64_t oh = 0; oh < dims[2]; oh++)
            for (int64_t ow = 0; ow < dims[3]; ow++) {
                double acc = avg ? 0 : -INFINITY, cnt = 0;
                for (int64_t a = 0; a < ks[0]; a++)
                    for (int64_t b = 0; b < ks[1]; b++) {
                        int64_t ih = oh * st[0] - p[0] + a * dl[0], iw = ow * st[1] - p[1] + b * dl[1];
                        if (ih < 0 || ih >= H || iw < 0 || iw >= Wd)
                            continue;
                        double x = X->v[(i * H + ih) * Wd + iw];
                        acc = avg ? acc + x : fmax(acc, x);
                        cnt++;
                    }
                Y->v[(i * dims[2] + oh) * dims[3] + ow] = avg ? acc / (incl ? (double)(ks[0] * ks[1]) : cnt) : acc;
            }
}

/* GlobalAveragePool, and ReduceMean over axes [2, 3] (keepdims) of N×C×H×W */
static void op_gap(env *e, const mli_onnx_node *n)
{
    val *X = env_get(e, n->inputs[0]);
    int keep = 1;
    if (!strcmp(n->op_type, "ReduceMean")) {
        int64_t ax[2], none[2] = {-1, -1};
        attr_ints(n, "axes", 2, none, ax);
        assert_true(ax[0] == 2 && ax[1] == 3);
        keep = (int)attr_i(n, "keepdims", 1);
    }
    int64_t dims[4] = {X->dims[0], X->dims[1], 1, 1};
    size_t S = (size_t)(X->dims[2] * X->dims[3]);
    val *Y = env_new(e, n->outputs[0], keep ? 4 : 2, dims);
    for (size_t i = 0; i < Y->n; i++) {
        double acc = 0;
        for (size_t j = 0; j < S; j++)
            acc += X->v[i * S + j];
        Y->v[i] = acc / (double)S;
    }
}

/* Runs m on X (B examples) and returns the graph output (B × per-example size), malloc'd. */
static double *onnx_run(const mli_onnx_model *m, const mli_real *X, int B, size_t in_size)
{
    env *e = calloc(1, sizeof *e);
    int64_t dims[MLI_ONNX_MAX_DIMS];
    const mli_onnx_value *in = &m->inputs[0];
    dims[0] = B;
    for (int d = 1; d < in->ndim; d++)
        dims[d] = in->dims[d];
    val *x = env_new(e, in->name, in->ndim, dims);
    assert_int_equal(x->n, (size_t)B * in_size);
    for (size_t i = 0; i < x->n; i++)
        x->v[i] = X[i];
    for (int k = 0; k < m->ninits; k++) {
        const mli_onnx_tensor *t = &m->inits[k];
        val *w = env_new(e, t->name, t->ndim, t->dims);
        for (size_t i = 0; i < t->numel; i++)
            w->v[i] = t->f ? t->f[i] : (double)t->i[i];
    }
    int *order = malloc(sizeof(int) * (size_t)(m->nnodes + 1));
    assert_int_equal(mli_onnx_sort(m, "model", order), 0);
    for (int k = 0; k < m->nnodes; k++) {
        const mli_onnx_node *n = &m->nodes[order[k]];
        const char *t = n->op_type;
        if (!strcmp(t, "Gemm"))
            op_gemm(e, n);
        else if (!strcmp(t, "MatMul"))
            op_matmul(e, n);
        else if (!strcmp(t, "Transpose"))
            op_transpose(e, n);
        else if (!strcmp(t, "Add") || !strcmp(t, "Sub") || !strcmp(t, "Div"))
            op_add(e, n);
        else if (!strcmp(t, "Pad"))
            op_pad(e, n);
        else if (!strcmp(t, "BatchNormalization"))
            op_bn(e, n);
        else if (!strcmp(t, "Flatten") || !strcmp(t, "Reshape"))
            op_reshape(e, n);
        else if (!strcmp(t, "Conv"))
            op_conv(e, n);
        else if (!strcmp(t, "MaxPool") || !strcmp(t, "AveragePool"))
            op_pool(e, n);
        else if (!strcmp(t, "GlobalAveragePool") || !strcmp(t, "ReduceMean"))
            op_gap(e, n);
        else if (!strcmp(t, "Relu") || !strcmp(t, "Tanh") || !strcmp(t, "Sigmoid") || !strcmp(t, "Identity"))
            op_unary(e, n);
        else
            fail_msg("unexpected op_type %s", t);
    }
    val *y = env_get(e, m->outputs[0].name);
    double *out = malloc(sizeof(double) * y->n);
    memcpy(out, y->v, sizeof(double) * y->n);
    for (int k = 0; k < e->nv; k++)
        free(e->v[k].v);
    free(e);
    free(order);
    return out;
}

/* ------------------------------------------------------------------ checks */

/* producer, opset, the graph's input and output */
static void check_header(const fx *f)
{
    const mli_onnx_model *m = f->m;
    assert_string_equal(m->producer_name, "mli");
    assert_string_equal(m->producer_version, MLI_VERSION);
    assert_int_equal(m->ir_version, MLI_ONNX_IR_VERSION);
    assert_int_equal(mli_onnx_opset_version(m, ""), MLI_ONNX_EXPORT_OPSET);
    assert_int_equal(m->ninputs, 1);
    assert_int_equal(m->noutputs, 1);
    const mli_shape *shapes[2] = {&f->a.in_shape, &f->a.nodes[f->a.nnodes - 1].shape};
    const mli_onnx_value *vals[2] = {&m->inputs[0], &m->outputs[0]};
    for (int k = 0; k < 2; k++) {
        const mli_onnx_value *v = vals[k];
        assert_string_equal(v->name, k ? "output" : "input");
        assert_int_equal(v->elem_type, MLI_ONNX_FLOAT);
        assert_int_equal(v->ndim, shapes[k]->ndim + 1);
        assert_int_equal(v->dims[0], -1);
        assert_non_null(v->dim_params[0]);
        assert_string_equal(v->dim_params[0], "batch");
        for (int d = 0; d < shapes[k]->ndim; d++)
            assert_int_equal(v->dims[d + 1], shapes[k]->d[d]);
    }
}

/* Is tensor t the weight of a Linear over N-D values (stored transposed for MatMul)? */
static int stored_transposed(const mli_arch *a, int t)
{
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].op == &mli_op_linear && a->nodes[i].ishape[0].ndim > 1 && a->nodes[i].tensor[0] == t)
            return 1;
    return 0;
}

/* every tensor of θ and of the buffers is an initializer of its name, shape and values, and
 * there are no others */
static void check_inits(const fx *f)
{
    int nfloat = 0; /* the others: Reshape's INT64 shapes */
    for (int k = 0; k < f->m->ninits; k++)
        nfloat += f->m->inits[k].elem_type == MLI_ONNX_FLOAT;
    assert_int_equal(nfloat, f->a.ntensors + 2 * (f->a.norm_c > 0));
    for (int k = 0; k < 2 && f->a.norm_c; k++) { /* the normalisation's [1, C, 1, 1] constants */
        const mli_onnx_tensor *i = mli_onnx_find_init(f->m, k ? "input/std" : "input/mean");
        assert_non_null(i);
        assert_int_equal(i->ndim, 4);
        assert_true(i->dims[0] == 1 && i->dims[1] == f->a.norm_c && i->dims[2] == 1 && i->dims[3] == 1);
        for (int c = 0; c < f->a.norm_c; c++)
            assert_true(i->f[c] == (float)(k ? f->a.norm_std[c] : f->a.norm_mean[c]));
    }
    for (int t = 0; t < f->a.ntensors; t++) {
        const mli_tensor *x = &f->a.tensors[t];
        const mli_onnx_tensor *i = mli_onnx_find_init(f->m, x->name);
        if (!i)
            fail_msg("no initializer '%s'", x->name);
        int tr = stored_transposed(&f->a, t);
        assert_int_equal(i->elem_type, MLI_ONNX_FLOAT);
        assert_int_equal(i->file_type, MLI_ONNX_FLOAT);
        assert_int_equal(i->ndim, x->ndim);
        for (int d = 0; d < x->ndim; d++)
            assert_int_equal(i->dims[d], x->shape[tr ? 1 - d : d]);
        assert_int_equal(i->numel, x->numel);
        const mli_real *src = (x->is_buffer ? f->bufs : f->theta) + x->off;
        for (size_t j = 0; j < x->numel; j++) {
            /* element (r, c) of the in × out file tensor is W[c, r] */
            size_t k = tr ? (j % (size_t)x->shape[0]) * (size_t)x->shape[1] + j / (size_t)x->shape[0] : j;
            if (i->f[j] != (float)src[k])
                fail_msg("%s[%zu] = %g, expected %g", x->name, j, i->f[j], (double)src[k]);
        }
    }
}

static const mli_onnx_node *node_named(const mli_onnx_model *m, const char *name)
{
    for (int k = 0; k < m->nnodes; k++)
        if (!strcmp(m->nodes[k].name, name))
            return &m->nodes[k];
    fail_msg("no node '%s'", name);
    return NULL;
}

/* the ONNX node(s) of each mli node: kinds, inputs, attributes */
static void check_nodes(const fx *f)
{
    int expect = 0;
    for (int i = 0; i < f->a.nnodes; i++) {
        const mli_node *n = &f->a.nodes[i];
        const mli_tensor *T = f->a.tensors;
        if (n->op == &mli_op_linear && n->ishape[0].ndim == 1) {
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "Gemm");
            assert_int_equal(g->ninputs, 1 + n->nt); /* C only with a bias */
            assert_string_equal(g->inputs[1], T[n->tensor[0]].name);
            if (n->nt > 1)
                assert_string_equal(g->inputs[2], T[n->tensor[1]].name);
            assert_int_equal(attr_i(g, "transB", 0), 1);
            assert_int_equal(attr_i(g, "transA", 0), 0);
            assert_true(attr_f(g, "alpha", 0) == 1 && attr_f(g, "beta", 0) == 1);
            expect += 1;
        } else if (n->op == &mli_op_linear) { /* N-D input: MatMul(x, Wᵀ), Add */
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "Add");
            assert_string_equal(g->inputs[1], T[n->tensor[1]].name);
            expect += 2;
        } else if (n->op == &mli_op_batchnorm) {
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "BatchNormalization");
            assert_int_equal(g->ninputs, 5);
            assert_int_equal(g->noutputs, 1);
            for (int k = 0; k < 4; k++)
                assert_string_equal(g->inputs[k + 1], T[n->tensor[k]].name);
            assert_true(attr_f(g, "epsilon", 0) == (float)MLI_BN_EPS);
            assert_true(attr_f(g, "momentum", 0) == (float)(1 - MLI_BN_MOMENTUM));
            assert_null(mli_onnx_find_attr(g, "training_mode"));
            expect += 1;
        } else if (n->op == &mli_op_act) {
            static const char *const type[] = {"Identity", "Relu", "Tanh", "Sigmoid"};
            assert_string_equal(node_named(f->m, n->name)->op_type, type[n->attr[0]]);
            expect += 1;
        } else if (n->op == &mli_op_reshape) {
            assert_string_equal(node_named(f->m, n->name)->op_type, n->shape.ndim == 1 ? "Flatten" : "Reshape");
            expect += 1;
        } else if (n->op == &mli_op_bias) {
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "Add");
            assert_string_equal(g->inputs[1], T[n->tensor[0]].name);
            expect += 1;
        } else if (n->op == &mli_op_add) {
            assert_string_equal(node_named(f->m, n->name)->op_type, "Add");
            expect += n->nin - 1;
        } else if (n->op == &mli_op_conv) {
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "Conv");
            assert_int_equal(g->ninputs, 1 + n->nt);
            assert_string_equal(g->inputs[1], T[n->tensor[0]].name);
            assert_int_equal(attr_i(g, "group", 0), n->attr[11] ? n->attr[11] : 1);
            int64_t p[4];
            attr_ints(g, "pads", 4, (int64_t[4]){-1, -1, -1, -1}, p);
            for (int k = 0; k < 4; k++)
                assert_int_equal(p[k], n->attr[5 + k]);
            expect += 1;
        } else if (n->op == &mli_op_maxpool || n->op == &mli_op_avgpool) {
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, n->op == &mli_op_maxpool ? "MaxPool" : "AveragePool");
            int64_t k[2];
            attr_ints(g, "kernel_shape", 2, (int64_t[2]){-1, -1}, k);
            assert_true(k[0] == n->attr[0] && k[1] == n->attr[1]);
            expect += 1;
        } else if (n->op == &mli_op_padc) { /* Pad(x, [0, 0, 0, 0, 0, E, 0, 0]) */
            const mli_onnx_node *g = node_named(f->m, n->name);
            assert_string_equal(g->op_type, "Pad");
            assert_int_equal(g->ninputs, 2);
            const mli_onnx_tensor *p = mli_onnx_find_init(f->m, g->inputs[1]);
            assert_non_null(p);
            assert_int_equal(p->elem_type, MLI_ONNX_INT64);
            assert_int_equal(p->numel, 8);
            for (int k = 0; k < 8; k++)
                assert_int_equal(p->i[k], k == 5 ? n->attr[0] : 0);
            expect += 1;
        } else if (n->op == &mli_op_gap) {
            assert_string_equal(node_named(f->m, n->name)->op_type, n->attr[0] ? "ReduceMean" : "GlobalAveragePool");
            expect += 1;
        } else
            fail_msg("unknown operator %s", n->op->name);
    }
    if (f->a.norm_c) { /* Sub, then Div, reading the data first */
        assert_string_equal(node_named(f->m, "input/Sub")->op_type, "Sub");
        assert_string_equal(node_named(f->m, "input/Sub")->inputs[0], "input");
        assert_string_equal(node_named(f->m, "input/Div")->inputs[0], node_named(f->m, "input/Sub")->outputs[0]);
        expect += 2;
    }
    assert_int_equal(f->m->nnodes, expect);
}

/* the file's meaning: the interpreter on the file equals mli's eval-mode forward pass */
static void check_outputs(const fx *f, uint64_t seed)
{
    enum { B = 7 };
    size_t in_size = mli_shape_numel(&f->a.in_shape);
    mli_real *X = malloc(sizeof(mli_real) * B * in_size);
    tu_fill_uniform(X, B * in_size, -1.5, 1.5, seed);
    double *Y = onnx_run(f->m, X, B, in_size); /* the file normalises the data itself */
    mli_data d = {.n = B, .d = (int)in_size, .x = X};
    if (f->a.norm_c)
        mli_data_normalize(&d, f->a.in_shape.d, f->a.norm_mean, f->a.norm_std);
    mli_ws *w = mli_ws_new(&f->a, B);
    mli_real *bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    memcpy(bufs, f->bufs, sizeof(mli_real) * f->a.nbuffers);
    const mli_real *Z = mli_net_forward(&f->a, f->theta, bufs, w, X, B, MLI_MODE_EVAL);
    size_t nout = f->a.nodes[f->a.nnodes - 1].size;
    for (size_t i = 0; i < B * nout; i++) {
        double err = fabs(Y[i] - Z[i]) / fmax(1, fabs(Y[i]));
        if (err > 2e-5)
            fail_msg("output %zu: ONNX %.9g, mli %.9g", i, Y[i], (double)Z[i]);
    }
    free(Y);
    free(bufs);
    free(X);
    mli_ws_free(w);
}

/* the round trip through mli's import (nn/onnx_graph.c): the same tensors under the same
 * names with the same values, and the same outputs bit for bit (the same rules run) */
static void check_round_trip(const fx *f, uint64_t seed, int same_graph)
{
    mli_arch *b = calloc(1, sizeof *b);
    mli_real *th, *bu;
    if (mli_onnx_load(f->path, f->a.loss, b, &th, &bu))
        fail_msg("import of %s: %s", f->path, mli_errmsg());
    assert_int_equal(b->nparams, f->a.nparams);
    assert_int_equal(b->nbuffers, f->a.nbuffers);
    assert_int_equal(b->norm_c, f->a.norm_c); /* the normalisation, as float32 constants */
    for (int c = 0; c < f->a.norm_c; c++)
        assert_true(b->norm_mean[c] == (float)f->a.norm_mean[c] && b->norm_std[c] == (float)f->a.norm_std[c]);
    if (same_graph) { /* one ONNX node per mli node: the same nodes, inputs and attributes */
        assert_int_equal(b->nnodes, f->a.nnodes);
        for (int i = 0; i < b->nnodes; i++) {
            const mli_node *x = &f->a.nodes[i], *y = &b->nodes[i];
            assert_ptr_equal(y->op, x->op);
            assert_string_equal(y->name, x->name);
            assert_int_equal(y->nin, x->nin);
            for (int k = 0; k < x->nin; k++)
                assert_int_equal(y->in[k], x->in[k]);
            for (int k = 0; k < MLI_NODE_MAXATTR; k++)
                if (y->attr[k] != x->attr[k])
                    fail_msg("node '%s' attribute %d: %d after the round trip, %d before", x->name, k, y->attr[k],
                             x->attr[k]);
            assert_int_equal(y->shape.ndim, x->shape.ndim);
        }
    }
    for (int t = 0; t < f->a.ntensors; t++) {
        const mli_tensor *x = &f->a.tensors[t], *y = NULL;
        for (int u = 0; u < b->ntensors && !y; u++)
            if (!strcmp(b->tensors[u].name, x->name))
                y = &b->tensors[u];
        if (!y)
            fail_msg("the import has no tensor '%s'", x->name);
        assert_int_equal(y->is_buffer, x->is_buffer);
        assert_int_equal(y->numel, x->numel);
        const mli_real *vx = (x->is_buffer ? f->bufs : f->theta) + x->off, *vy = (y->is_buffer ? bu : th) + y->off;
        assert_memory_equal(vx, vy, sizeof(mli_real) * x->numel);
    }
    enum { B = 5 };
    size_t in_size = mli_shape_numel(&f->a.in_shape), nout = f->a.nodes[f->a.nnodes - 1].size;
    assert_int_equal(mli_shape_numel(&b->in_shape), in_size);
    assert_int_equal(b->nodes[b->nnodes - 1].size, nout);
    mli_real *X = malloc(sizeof(mli_real) * B * in_size), *Z = malloc(sizeof(mli_real) * B * nout);
    tu_fill_uniform(X, B * in_size, -1, 1, seed);
    mli_ws *w = mli_ws_new(&f->a, B), *wb = mli_ws_new(b, B);
    memcpy(Z, mli_net_forward(&f->a, f->theta, f->bufs, w, X, B, MLI_MODE_EVAL), sizeof(mli_real) * B * nout);
    const mli_real *Zb = mli_net_forward(b, th, bu, wb, X, B, MLI_MODE_EVAL);
    assert_memory_equal(Z, Zb, sizeof(mli_real) * B * nout);
    mli_ws_free(w);
    mli_ws_free(wb);
    free(X);
    free(Z);
    free(th);
    free(bu);
    free(b);
}

static void check_all(fx *f, const char *tag, uint64_t seed)
{
    fx_export(f, tag);
    check_header(f);
    check_inits(f);
    check_nodes(f);
    check_outputs(f, seed);
    check_round_trip(f, seed + 1, 0);
}

/* ------------------------------------------------------------------ the tests */

static void test_fcnets(void **state)
{
    static const int hs[4][5] = {{3}, {9, 4}, {11, 7, 5}, {8, 6, 6, 5, 2}};
    static const int nh[4] = {1, 2, 3, 5};
    uint64_t seed = 100;
    for (int act = MLI_ACT_IDENTITY; act <= MLI_ACT_SIGMOID; act++)
        for (int bn = 0; bn <= 1; bn++)
            for (int d = 0; d < 4; d++) {
                fx f = {0};
                assert_int_equal(mli_arch_init(&f.a, 13, hs[d], nh[d], (mli_act)act, bn, MLI_LOSS_CE), 0);
                fx_fill(&f, ++seed);
                char tag[64];
                snprintf(tag, sizeof tag, "fc_%s_bn%d_depth%d", mli_act_name((mli_act)act), bn, nh[d]);
                check_all(&f, tag, seed);
                /* the reference's names: Gemm layers.0 reads the input */
                const mli_onnx_node *g = node_named(f.m, "layers.0");
                assert_string_equal(g->inputs[0], "input");
                assert_non_null(mli_onnx_find_init(f.m, "layers.0.weight"));
                if (bn && nh[d] > 1) /* batch norm sits between hidden layers */
                    assert_non_null(mli_onnx_find_init(f.m, "layers.1.running_var"));
                fx_free(&f);
            }
}

/* x → lin1 → tanh → lin2, lin3(x), Add(lin2, lin3, lin1) → relu → Add(relu, relu) → lin4 */
static void test_residual(void **state)
{
    fx f = {0};
    int in = 6, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f.a, &in, 1, MLI_LOSS_MSE);
    int h = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 5, "lin1");
    int a = mli_graph_add(&f.a, &mli_op_act, &h, 1, MLI_ACT_TANH, "act");
    int l2 = mli_graph_add(&f.a, &mli_op_linear, &a, 1, 5, "lin2");
    int l3 = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 5, "lin3");
    int sum = mli_graph_add(&f.a, &mli_op_add, (int[]){l2, l3, h}, 3, 0, "add");
    int r = mli_graph_add(&f.a, &mli_op_act, &sum, 1, MLI_ACT_RELU, "relu");
    int twice = mli_graph_add(&f.a, &mli_op_add, (int[]){r, r}, 2, 0, "twice");
    int out = mli_graph_add(&f.a, &mli_op_linear, &twice, 1, 3, "lin4");
    assert_true(h >= 0 && a >= 0 && l2 >= 0 && l3 >= 0 && sum >= 0 && r >= 0 && twice >= 0 && out >= 0);
    assert_int_equal(mli_graph_end(&f.a), 0);
    fx_fill(&f, 7);
    check_all(&f, "residual", 8);
    /* the three-input Add is a chain in the rules' order: (lin2 + lin3) + lin1 */
    const mli_onnx_node *first = node_named(f.m, "add/Add1"), *last = node_named(f.m, "add");
    assert_string_equal(first->inputs[0], "lin2");
    assert_string_equal(first->inputs[1], "lin3");
    assert_string_equal(last->inputs[0], first->outputs[0]);
    assert_string_equal(last->inputs[1], "lin1");
    const mli_onnx_node *tw = node_named(f.m, "twice");
    assert_string_equal(tw->inputs[0], "relu");
    assert_string_equal(tw->inputs[1], "relu");
    assert_string_equal(node_named(f.m, "lin4")->outputs[0], "output");
    fx_free(&f);
}

/* Linear over the last dimension of 3×5 examples, batch norm over the 3 channels, sigmoid,
 * Linear: MatMul with the transposed weight, BatchNormalization on N×C×L */
static void test_nd(void **state)
{
    fx f = {0};
    int shape[2] = {3, 5}, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f.a, shape, 2, MLI_LOSS_MSE);
    int n = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 4, "lin0");
    n = mli_graph_add(&f.a, &mli_op_batchnorm, &n, 1, 0, "bn");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_SIGMOID, "act");
    n = mli_graph_add(&f.a, &mli_op_linear, &n, 1, 2, "lin1");
    assert_true(n >= 0);
    assert_int_equal(mli_graph_end(&f.a), 0);
    fx_fill(&f, 21);
    check_all(&f, "nd", 22);
    const mli_onnx_node *t = node_named(f.m, "lin0/MatMul");
    assert_string_equal(t->op_type, "MatMul");
    assert_string_equal(t->inputs[1], "lin0.weight");
    assert_int_equal(mli_onnx_find_init(f.m, "lin0.weight")->dims[0], 5); /* in × out */
    assert_int_equal(f.m->outputs[0].ndim, 3);
    fx_free(&f);
}

/* the operators of ONNX imports: Reshape to 2×3 (Reshape), batch norm over its 2 channels, a
 * Bias broadcast over the last dim, a Flatten back to vectors, a Bias of one value, a Linear
 * without bias */
static void test_reshape_bias(void **state)
{
    fx f = {0};
    int in = 12, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f.a, &in, 1, MLI_LOSS_MSE);
    int n = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 6, "lin0");
    n = mli_graph_add_attrs(&f.a, &mli_op_reshape, &n, 1, (int[]){2, 2, 3}, 3, NULL, 0, "to2x3");
    n = mli_graph_add(&f.a, &mli_op_batchnorm, &n, 1, 0, "bn");
    n = mli_graph_add_attrs(&f.a, &mli_op_bias, &n, 1, (int[]){1, 3}, 2, NULL, 0, "b3");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_TANH, "act");
    n = mli_graph_add_attrs(&f.a, &mli_op_reshape, &n, 1, (int[]){1, 6}, 2, NULL, 0, "flat");
    n = mli_graph_add_attrs(&f.a, &mli_op_bias, &n, 1, (int[]){0}, 1, NULL, 0, "b1");
    n = mli_graph_add_attrs(&f.a, &mli_op_linear, &n, 1, (int[]){3, 1}, 2, NULL, 0, "nobias");
    assert_true(n >= 0);
    assert_int_equal(mli_graph_end(&f.a), 0);
    assert_int_equal(f.a.nodes[n].nt, 1);
    fx_fill(&f, 51);
    check_all(&f, "reshape_bias", 52);
    const mli_onnx_node *g = node_named(f.m, "nobias");
    assert_string_equal(g->op_type, "Gemm");
    assert_int_equal(g->ninputs, 2);
    const mli_onnx_tensor *shape = mli_onnx_find_init(f.m, "to2x3/shape");
    assert_non_null(shape);
    assert_int_equal(shape->elem_type, MLI_ONNX_INT64);
    assert_true(shape->numel == 3 && shape->i[0] == 0 && shape->i[1] == 2 && shape->i[2] == 3);
    assert_int_equal(attr_i(node_named(f.m, "flat"), "axis", 0), 1);
    fx_free(&f);
}

/* node names that are empty, repeated, or those of the graph's input or of a tensor still give
 * unique value names (the node keeps its name; its output is "node<i>") */
/* A small CNN on 2×9×9 inputs: conv (stride 2, pads, groups 2, no bias) → batch norm → relu →
 * max pool (pads, dilation) → avg pool (count_include_pad) → conv 3×3 → relu, conv 1×1
 * shortcut, residual Add → GAP (ReduceMean, keepdims 0) → Linear; and the same ending in
 * GlobalAveragePool, Flatten. The round trip gives the same graph node for node. */
static void test_cnn(void **state)
{
    for (int flat = 0; flat <= 1; flat++) {
        fx f = {0};
        int shape[3] = {2, 9, 9}, X = MLI_GRAPH_INPUT;
        mli_graph_begin(&f.a, shape, 3, MLI_LOSS_CE);
        int c0[13] = {4, 3, 3, 2, 2, 1, 1, 2, 1, 1, 1, 2, 0};
        int n = mli_graph_add_attrs(&f.a, &mli_op_conv, &X, 1, c0, 13, NULL, 0, "conv0");
        n = mli_graph_add(&f.a, &mli_op_batchnorm, &n, 1, 0, "bn0");
        n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_RELU, "relu0");
        int mp[11] = {2, 2, 1, 1, 1, 0, 0, 1, 2, 1, 0};
        n = mli_graph_add_attrs(&f.a, &mli_op_maxpool, &n, 1, mp, 11, NULL, 0, "pool0");
        int ap[11] = {2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1};
        int p1 = mli_graph_add_attrs(&f.a, &mli_op_avgpool, &n, 1, ap, 11, NULL, 0, "pool1");
        int c1[13] = {6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        int b1 = mli_graph_add_attrs(&f.a, &mli_op_conv, &p1, 1, c1, 13, NULL, 0, "block.conv");
        b1 = mli_graph_add(&f.a, &mli_op_act, &b1, 1, MLI_ACT_RELU, "block.relu");
        int c2[13] = {6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
        int sc = mli_graph_add_attrs(&f.a, &mli_op_conv, &p1, 1, c2, 13, NULL, 0, "block.shortcut");
        n = mli_graph_add(&f.a, &mli_op_add, (int[]){b1, sc}, 2, 0, "block.add");
        n = mli_graph_add(&f.a, &mli_op_gap, &n, 1, !flat, "gap");
        if (flat)
            n = mli_graph_add_attrs(&f.a, &mli_op_reshape, &n, 1, (int[]){1, 6}, 2, NULL, 0, "flatten");
        n = mli_graph_add(&f.a, &mli_op_linear, &n, 1, 3, "fc");
        assert_true(n >= 0);
        assert_int_equal(mli_graph_end(&f.a), 0);
        fx_fill(&f, 51 + (uint64_t)flat);
        check_all(&f, flat ? "cnn_flatten" : "cnn", 52);
        check_round_trip(&f, 53, 1);
        const mli_onnx_node *c = node_named(f.m, "conv0");
        assert_int_equal(c->ninputs, 2); /* no bias */
        assert_int_equal(attr_i(c, "group", 0), 2);
        fx_free(&f);
    }
}

/* The CIFAR ResNet of nn/arch_cnn.c (the option-A shortcut: AveragePool, [BatchNormalization],
 * Pad of zero channels), with and without batch norm, with and without the data's normalisation
 * (Sub, Div): the same graph node for node after the import, and the normalisation with it. */
static void test_resnet(void **state)
{
    for (int bn = 0; bn <= 1; bn++) {
        fx f = {0};
        int shape[3] = {3, 8, 8};
        assert_int_equal(mli_arch_cnn(&f.a, MLI_ARCH_RESNET, shape, 8, 2, MLI_ACT_RELU, bn, MLI_LOSS_CE, 4), MLI_OK);
        if (bn) { /* any constants: the CIFAR-10 ones are checked end to end (tests/e2e_export.sh) */
            f.a.norm_c = 3;
            for (int c = 0; c < 3; c++) {
                f.a.norm_mean[c] = 0.1 + 0.3 * c;
                f.a.norm_std[c] = 0.7 - 0.2 * c;
            }
        }
        fx_fill(&f, 61 + (uint64_t)bn);
        check_all(&f, bn ? "resnet_bn" : "resnet", 62);
        check_round_trip(&f, 63, 1);
        fx_free(&f);
    }
}

static void test_names(void **state)
{
    fx f = {0};
    int in = 4, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f.a, &in, 1, MLI_LOSS_MSE);
    int n = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 4, "input");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_RELU, "same");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_TANH, "same");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_SIGMOID, "input.weight");
    n = mli_graph_add(&f.a, &mli_op_act, &n, 1, MLI_ACT_IDENTITY, "");
    n = mli_graph_add(&f.a, &mli_op_linear, &n, 1, 2, "output");
    assert_true(n >= 0);
    assert_int_equal(mli_graph_end(&f.a), 0);
    fx_fill(&f, 31);
    fx_export(&f, "names");
    check_inits(&f);
    check_outputs(&f, 32);
    static const char *const outs[] = {"node0", "same", "node2", "node3", "node4", "output"};
    for (int k = 0; k < 6; k++)
        assert_string_equal(f.m->nodes[k].outputs[0], outs[k]);
    fx_free(&f);
}

/* refusals: an operator without an ONNX form, buffers missing; nothing is written */
static void test_refusals(void **state)
{
    mli_op noexport = mli_op_act;
    noexport.onnx_export = NULL;
    fx f = {0};
    int in = 4, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f.a, &in, 1, MLI_LOSS_MSE);
    int n = mli_graph_add(&f.a, &mli_op_linear, &X, 1, 3, "lin");
    n = mli_graph_add(&f.a, &noexport, &n, 1, MLI_ACT_RELU, "odd");
    n = mli_graph_add(&f.a, &mli_op_linear, &n, 1, 2, "lin2");
    assert_int_equal(mli_graph_end(&f.a), 0);
    fx_fill(&f, 41);
    char path[512];
    snprintf(path, sizeof path, "%s/refused.onnx", tu_tmpdir("onnx_export"));
    assert_int_equal(mli_onnx_export_file(path, &f.a, f.theta, f.bufs), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "node 'odd' (activation) has no ONNX form"));
    FILE *fp = fopen(path, "rb");
    assert_null(fp);
    fx_free(&f);

    fx g = {0};
    int h2[2] = {5, 3};
    assert_int_equal(mli_arch_init(&g.a, 6, h2, 2, MLI_ACT_RELU, 1, MLI_LOSS_CE), 0);
    assert_true(g.a.nbuffers > 0);
    fx_fill(&g, 42);
    mli_onnx_model *m = NULL;
    assert_int_equal(mli_onnx_export(&g.a, g.theta, NULL, "nobufs", &m), MLI_EUSAGE);
    assert_null(m);
    assert_non_null(strstr(mli_errmsg(), "buffers"));
    fx_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fcnets),
        cmocka_unit_test(test_residual),
        cmocka_unit_test(test_nd),
        cmocka_unit_test(test_reshape_bias),
        cmocka_unit_test(test_cnn),
        cmocka_unit_test(test_resnet),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
