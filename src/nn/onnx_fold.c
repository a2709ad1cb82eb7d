/* Constant folding at import (onnx_fold.h): each foldable op_type evaluated by ONNX's
 * definition on INT64 and float constants, with a tag per element saying whether it is known,
 * the batch size itself or computed from it. */
#include "nn/onnx_fold.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/onnx_graph.h"

typedef struct {
    const mli_onnx_tensor *t;
    const unsigned char *tag; /* NULL: every element known */
} cval;

static unsigned char tagof(const cval *v, size_t i) { return v->tag ? v->tag[i] : MLI_FOLD_KNOWN; }

static int refuse(const mli_onnx_folder *f, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(const mli_onnx_folder *f, int k, const char *fmt, ...)
{
    const mli_onnx_node *nd = &f->m->nodes[k];
    char msg[512], who[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (nd->name[0])
        snprintf(who, sizeof who, "node '%s' (%s)", nd->name, nd->op_type);
    else
        snprintf(who, sizeof who, "node #%d (%s)", k, nd->op_type);
    return mli_err(MLI_EINPUT, "%s: %s: %s", f->label, who, msg);
}

static const char *const FOLDED[] = {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat",
                                     "Cast", "Slice", "Add", "Sub", "Mul", "Div", "ConstantOfShape",
                                     "Range", "Reshape", "Identity", "Transpose"};

int mli_onnx_fold_op(const char *op_type)
{
    for (size_t k = 0; k < sizeof FOLDED / sizeof FOLDED[0]; k++)
        if (!strcmp(FOLDED[k], op_type))
            return 1;
    return 0;
}

void mli_onnx_fold_init(mli_onnx_folder *f, const mli_onnx_model *m, const char *label, mli_onnx_shape_fn shape,
                        void *ctx)
{
    *f = (mli_onnx_folder){.m = m, .label = label, .shape = shape, .ctx = ctx};
    f->voff = mli_malloc(sizeof(int) * ((size_t)m->nnodes + 1));
    int n = 0;
    for (int k = 0; k < m->nnodes; k++)
        f->voff[k] = n, n += m->nodes[k].noutputs;
    f->vals = mli_calloc((size_t)n + 1, sizeof *f->vals);
}

void mli_onnx_fold_free(mli_onnx_folder *f)
{
    if (!f->vals)
        return;
    for (int k = 0; k < f->m->nnodes; k++)
        for (int j = 0; j < f->m->nodes[k].noutputs; j++) {
            mli_onnx_const *c = &f->vals[f->voff[k] + j];
            if (c->set) {
                free(c->t.name);
                free(c->t.f);
                free(c->t.i);
                free(c->tag);
            }
        }
    free(f->vals);
    free(f->voff);
    f->vals = NULL;
}

/* the folded value `name`, or NULL */
static const mli_onnx_const *folded(const mli_onnx_folder *f, const char *name)
{
    for (int k = 0; k < f->m->nnodes; k++)
        for (int j = 0; j < f->m->nodes[k].noutputs; j++)
            if (f->m->nodes[k].outputs[j][0] && !strcmp(f->m->nodes[k].outputs[j], name))
                return f->vals[f->voff[k] + j].set ? &f->vals[f->voff[k] + j] : NULL;
    return NULL;
}

const mli_onnx_tensor *mli_onnx_fold_const(const mli_onnx_folder *f, const char *name, const unsigned char **tag)
{
    const mli_onnx_tensor *t = mli_onnx_find_init(f->m, name);
    const mli_onnx_const *c = t ? NULL : folded(f, name);
    if (tag)
        *tag = c ? c->tag : NULL;
    return t ? t : c ? &c->t : NULL;
}

/* ---- the result ---------------------------------------------------------------------------- */

/* node k's output 0 as a new tensor of the given type and dims (values and tags zeroed) */
static mli_onnx_const *result(mli_onnx_folder *f, int k, int type, int ndim, const int64_t *dims)
{
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0 || dims[d] > MLI_FOLD_MAX_NUMEL)
            return refuse(f, k, "the result's dim %d would be %lld", d, (long long)dims[d]), NULL;
        numel *= (size_t)dims[d];
        if (numel > MLI_FOLD_MAX_NUMEL)
            return refuse(f, k, "the result would hold more than %d values (mli folds small shape computations "
                          "only)", MLI_FOLD_MAX_NUMEL), NULL;
    }
    mli_onnx_const *c = &f->vals[f->voff[k]];
    c->t.name = mli_strdup(f->m->nodes[k].outputs[0]);
    c->t.elem_type = type == MLI_ONNX_FLOAT ? MLI_ONNX_FLOAT : MLI_ONNX_INT64;
    c->t.file_type = type;
    c->t.ndim = ndim;
    for (int d = 0; d < ndim; d++)
        c->t.dims[d] = dims[d];
    c->t.numel = numel;
    if (c->t.elem_type == MLI_ONNX_FLOAT)
        c->t.f = mli_calloc(numel + 1, sizeof(float));
    else
        c->t.i = mli_calloc(numel + 1, sizeof(int64_t));
    c->tag = mli_calloc(numel + 1, 1);
    c->set = 1;
    return c;
}

/* element i of v into element o of c (same type) */
static void copy_elem(mli_onnx_const *c, size_t o, const cval *v, size_t i)
{
    if (c->t.f)
        c->t.f[o] = v->t->f[i];
    else
        c->t.i[o] = v->t->i[i];
    c->tag[o] = tagof(v, i);
}

/* ---- reading inputs ------------------------------------------------------------------------ */

/* input j of node k as a list of n ≤ cap known integers (a scalar or a 1-D INT64 constant) */
static int ints_in(mli_onnx_folder *f, int k, const cval *v, int j, const char *what, int64_t *out, int cap, int *n)
{
    if (v->t->elem_type != MLI_ONNX_INT64 || v->t->ndim > 1 || v->t->numel > (size_t)cap)
        return refuse(f, k, "input %d (%s) must be an INT64 scalar or list of at most %d entries (it is %s of %d "
                      "dims, %zu values)", j, what, cap, mli_onnx_type_name(v->t->file_type), v->t->ndim,
                      v->t->numel);
    for (size_t i = 0; i < v->t->numel; i++) {
        if (tagof(v, i))
            return refuse(f, k, "input %d (%s) depends on the batch size, which mli leaves free: the result's "
                          "size would change with it", j, what);
        out[i] = v->t->i[i];
    }
    *n = (int)v->t->numel;
    return MLI_OK;
}

/* an INTS attribute as a list of at most cap entries; *n = -1 when absent */
static int ints_attr(mli_onnx_folder *f, int k, const char *name, int64_t *out, int cap, int *n)
{
    const mli_onnx_attr *at = mli_onnx_find_attr(&f->m->nodes[k], name);
    *n = -1;
    if (!at)
        return MLI_OK;
    if (at->type != MLI_ONNX_ATTR_INTS || at->n > (size_t)cap)
        return refuse(f, k, "attribute %s must be at most %d integers", name, cap);
    for (size_t i = 0; i < at->n; i++)
        out[i] = at->ints[i];
    *n = (int)at->n;
    return MLI_OK;
}

/* axis a of a rank-r tensor, negative counted from the end */
static int axis_of(mli_onnx_folder *f, int k, int64_t a, int r, int64_t *out)
{
    if (a < -r || a >= r)
        return refuse(f, k, "axis %lld is outside a tensor of rank %d", (long long)a, r);
    *out = a < 0 ? a + r : a;
    return MLI_OK;
}

static size_t prod(const int64_t *d, int from, int to)
{
    size_t p = 1;
    for (int i = from; i < to; i++)
        p *= (size_t)d[i];
    return p;
}

/* ---- the op_types -------------------------------------------------------------------------- */

static int fold_constant(mli_onnx_folder *f, int k, const mli_onnx_node *nd)
{
    if (nd->nattrs != 1)
        return refuse(f, k, "a Constant needs exactly one attribute (value, value_int, value_ints, value_float "
                      "or value_floats)");
    const mli_onnx_attr *at = &nd->attrs[0];
    mli_onnx_const *c;
    int64_t n;
    if (!strcmp(at->name, "value") && at->type == MLI_ONNX_ATTR_TENSOR) {
        if (!(c = result(f, k, at->t->elem_type, at->t->ndim, at->t->dims)))
            return MLI_EINPUT;
        c->t.file_type = at->t->file_type;
        if (c->t.numel)
            memcpy(c->t.f ? (void *)c->t.f : (void *)c->t.i, at->t->f ? (void *)at->t->f : (void *)at->t->i,
                   c->t.numel * (c->t.f ? sizeof(float) : sizeof(int64_t)));
    } else if (!strcmp(at->name, "value_int") && at->type == MLI_ONNX_ATTR_INT) {
        if (!(c = result(f, k, MLI_ONNX_INT64, 0, NULL)))
            return MLI_EINPUT;
        c->t.i[0] = at->i;
    } else if (!strcmp(at->name, "value_float") && at->type == MLI_ONNX_ATTR_FLOAT) {
        if (!(c = result(f, k, MLI_ONNX_FLOAT, 0, NULL)))
            return MLI_EINPUT;
        c->t.f[0] = at->f;
    } else if (!strcmp(at->name, "value_ints") && at->type == MLI_ONNX_ATTR_INTS) {
        n = (int64_t)at->n;
        if (!(c = result(f, k, MLI_ONNX_INT64, 1, &n)))
            return MLI_EINPUT;
        if (at->n)
            memcpy(c->t.i, at->ints, at->n * sizeof(int64_t));
    } else if (!strcmp(at->name, "value_floats") && at->type == MLI_ONNX_ATTR_FLOATS) {
        n = (int64_t)at->n;
        if (!(c = result(f, k, MLI_ONNX_FLOAT, 1, &n)))
            return MLI_EINPUT;
        if (at->n)
            memcpy(c->t.f, at->floats, at->n * sizeof(float));
    } else
        return refuse(f, k, "attribute '%s' is not supported (value as a FLOAT or INT64 tensor, value_int, "
                      "value_ints, value_float, value_floats)", at->name);
    return MLI_OK;
}

static int fold_shape(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t d[MLI_ONNX_MAX_DIMS];
    int r, batch = 0;
    if (in[0].t) {
        r = in[0].t->ndim;
        memcpy(d, in[0].t->dims, sizeof(int64_t) * (size_t)r);
    } else {
        r = f->shape ? f->shape(f->ctx, nd->inputs[0], d) : -1;
        if (r < 1 || r > MLI_ONNX_MAX_DIMS)
            return refuse(f, k, "the shape of input 0 '%s' is not known at import", nd->inputs[0]);
        batch = 1;
    }
    int64_t s = mli_onnx_attr_i(nd, "start", 0), e = mli_onnx_attr_i(nd, "end", r);
    s = s < 0 ? s + r : s;
    e = e < 0 ? e + r : e;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < s ? s : e > r ? r : e;
    int64_t n = e - s;
    mli_onnx_const *c = result(f, k, MLI_ONNX_INT64, 1, &n);
    if (!c)
        return MLI_EINPUT;
    for (int64_t i = s; i < e; i++) {
        c->t.i[i - s] = d[i];
        c->tag[i - s] = batch && i == 0 ? MLI_FOLD_BATCH : MLI_FOLD_KNOWN;
    }
    return MLI_OK;
}

static int fold_gather(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    const mli_onnx_tensor *x = in[0].t, *ix = in[1].t;
    int64_t axis = 0, d[MLI_ONNX_MAX_DIMS];
    if (axis_of(f, k, mli_onnx_attr_i(nd, "axis", 0), x->ndim, &axis))
        return MLI_EINPUT;
    if (ix->elem_type != MLI_ONNX_INT64 || x->ndim - 1 + ix->ndim > MLI_ONNX_MAX_DIMS)
        return refuse(f, k, "input 1 (indices) must be INT64, of at most %d dims with the data's",
                      MLI_ONNX_MAX_DIMS);
    int r = 0;
    for (int a = 0; a < x->ndim; a++)
        if (a != axis)
            d[r++] = x->dims[a];
        else
            for (int b = 0; b < ix->ndim; b++)
                d[r++] = ix->dims[b];
    mli_onnx_const *c = result(f, k, x->elem_type, r, d);
    if (!c)
        return MLI_EINPUT;
    size_t outer = prod(x->dims, 0, (int)axis), inner = prod(x->dims, (int)axis + 1, x->ndim), o = 0;
    int64_t dim = x->dims[axis];
    for (size_t a = 0; a < outer; a++)
        for (size_t j = 0; j < ix->numel; j++) {
            int64_t i = ix->i[j];
            if (tagof(&in[1], j))
                return refuse(f, k, "input 1 (indices) depends on the batch size, which mli leaves free");
            if (i < -dim || i >= dim)
                return refuse(f, k, "index %lld is outside axis %lld of size %lld", (long long)i, (long long)axis,
                              (long long)dim);
            i = i < 0 ? i + dim : i;
            for (size_t b = 0; b < inner; b++)
                copy_elem(c, o++, &in[0], (a * (size_t)dim + (size_t)i) * inner + b);
        }
    return MLI_OK;
}

/* Unsqueeze and Squeeze: axes from the attribute (opset < 13) or input 1 */
static int axes_list(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in, int64_t *ax, int *n)
{
    if (ints_attr(f, k, "axes", ax, MLI_ONNX_MAX_DIMS, n))
        return MLI_EINPUT;
    if (*n >= 0 && in[1].t)
        return refuse(f, k, "axes are given both as an attribute and as input 1");
    if (in[1].t && ints_in(f, k, &in[1], 1, "axes", ax, MLI_ONNX_MAX_DIMS, n))
        return MLI_EINPUT;
    return MLI_OK;
}

static int fold_unsqueeze(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t ax[MLI_ONNX_MAX_DIMS], d[MLI_ONNX_MAX_DIMS];
    int n, r = in[0].t->ndim, seen = 0;
    if (axes_list(f, k, nd, in, ax, &n))
        return MLI_EINPUT;
    if (n < 0 || r + n > MLI_ONNX_MAX_DIMS)
        return refuse(f, k, "axes are missing, or the result would have more than %d dims", MLI_ONNX_MAX_DIMS);
    for (int j = 0; j < n; j++) {
        int64_t a = 0;
        if (axis_of(f, k, ax[j], r + n, &a))
            return MLI_EINPUT;
        if (seen & 1 << a)
            return refuse(f, k, "axis %lld is given twice", (long long)a);
        seen |= 1 << a;
    }
    for (int a = 0, s = 0; a < r + n; a++)
        d[a] = seen & 1 << a ? 1 : in[0].t->dims[s++];
    mli_onnx_const *c = result(f, k, in[0].t->elem_type, r + n, d);
    if (!c)
        return MLI_EINPUT;
    for (size_t i = 0; i < c->t.numel; i++)
        copy_elem(c, i, &in[0], i);
    return MLI_OK;
}

static int fold_squeeze(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t ax[MLI_ONNX_MAX_DIMS], d[MLI_ONNX_MAX_DIMS];
    int n, r = in[0].t->ndim, drop = 0, o = 0;
    if (axes_list(f, k, nd, in, ax, &n))
        return MLI_EINPUT;
    for (int j = 0; j < n; j++) {
        int64_t a = 0;
        if (axis_of(f, k, ax[j], r, &a))
            return MLI_EINPUT;
        if (in[0].t->dims[a] != 1)
            return refuse(f, k, "axis %lld has size %lld, not 1", (long long)a, (long long)in[0].t->dims[a]);
        drop |= 1 << a;
    }
    for (int a = 0; a < r; a++)
        if (!(n < 0 ? in[0].t->dims[a] == 1 : drop >> a & 1))
            d[o++] = in[0].t->dims[a];
    mli_onnx_const *c = result(f, k, in[0].t->elem_type, o, d);
    if (!c)
        return MLI_EINPUT;
    for (size_t i = 0; i < c->t.numel; i++)
        copy_elem(c, i, &in[0], i);
    return MLI_OK;
}

static int fold_concat(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    const mli_onnx_tensor *x = in[0].t;
    if (!mli_onnx_find_attr(nd, "axis") || x->ndim < 1)
        return refuse(f, k, "attribute axis is missing, or input 0 is a scalar");
    int64_t axis = 0, d[MLI_ONNX_MAX_DIMS];
    if (axis_of(f, k, mli_onnx_attr_i(nd, "axis", 0), x->ndim, &axis))
        return MLI_EINPUT;
    memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    d[axis] = 0;
    for (int j = 0; j < nd->ninputs; j++) {
        const mli_onnx_tensor *y = in[j].t;
        int same = y->elem_type == x->elem_type && y->ndim == x->ndim;
        for (int a = 0; same && a < x->ndim; a++)
            same = a == axis || y->dims[a] == x->dims[a];
        if (!same)
            return refuse(f, k, "input %d differs from input 0 in type, rank or a dim other than the axis", j);
        d[axis] += y->dims[axis];
    }
    mli_onnx_const *c = result(f, k, x->elem_type, x->ndim, d);
    if (!c)
        return MLI_EINPUT;
    size_t outer = prod(d, 0, (int)axis), inner = prod(d, (int)axis + 1, x->ndim), o = 0;
    for (size_t a = 0; a < outer; a++)
        for (int j = 0; j < nd->ninputs; j++) {
            size_t blk = (size_t)in[j].t->dims[axis] * inner;
            for (size_t b = 0; b < blk; b++)
                copy_elem(c, o++, &in[j], a * blk + b);
        }
    return MLI_OK;
}

static int fold_cast(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t to = mli_onnx_attr_i(nd, "to", -1);
    if (to != MLI_ONNX_FLOAT && to != MLI_ONNX_DOUBLE && to != MLI_ONNX_INT64 && to != MLI_ONNX_INT32)
        return refuse(f, k, "to=%lld is not supported (FLOAT, DOUBLE, INT32, INT64)", (long long)to);
    const mli_onnx_tensor *x = in[0].t;
    mli_onnx_const *c = result(f, k, to == MLI_ONNX_DOUBLE ? MLI_ONNX_FLOAT : (int)to, x->ndim, x->dims);
    if (!c)
        return MLI_EINPUT;
    c->t.file_type = (int)to;
    for (size_t i = 0; i < x->numel; i++) {
        c->tag[i] = tagof(&in[0], i);
        if (c->t.f) {
            c->t.f[i] = x->f ? x->f[i] : (float)x->i[i];
            continue;
        }
        double lim = to == MLI_ONNX_INT32 ? 2147483648.0 : 9223372036854775808.0;
        if (x->f && !(x->f[i] > -lim - 1 && x->f[i] < lim))
            return refuse(f, k, "value %g does not fit %s", x->f[i], mli_onnx_type_name((int)to));
        int64_t v = x->f ? (int64_t)x->f[i] : x->i[i];
        if (to == MLI_ONNX_INT32 && (v < INT32_MIN || v > INT32_MAX))
            return refuse(f, k, "value %lld does not fit INT32", (long long)v);
        c->t.i[i] = v;
    }
    return MLI_OK;
}

/* Slice by ONNX's definition: negative bounds counted from the end, then clamped ([0, d] for a
 * positive step, [−1, d−1] for a negative one) */
static int fold_slice(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    const mli_onnx_tensor *x = in[0].t;
    int r = x->ndim, n, ne, na = -1, ns = -1;
    int64_t st[MLI_ONNX_MAX_DIMS], en[MLI_ONNX_MAX_DIMS], ax[MLI_ONNX_MAX_DIMS], sp[MLI_ONNX_MAX_DIMS];
    int64_t start[MLI_ONNX_MAX_DIMS], step[MLI_ONNX_MAX_DIMS], d[MLI_ONNX_MAX_DIMS];
    if (mli_onnx_find_attr(nd, "starts")) { /* opset < 10 */
        if (ints_attr(f, k, "starts", st, r, &n) || ints_attr(f, k, "ends", en, r, &ne) ||
            ints_attr(f, k, "axes", ax, r, &na))
            return MLI_EINPUT;
    } else {
        if (!in[1].t || !in[2].t)
            return refuse(f, k, "inputs 1 (starts) and 2 (ends) are required");
        if (ints_in(f, k, &in[1], 1, "starts", st, r, &n) || ints_in(f, k, &in[2], 2, "ends", en, r, &ne) ||
            (in[3].t && ints_in(f, k, &in[3], 3, "axes", ax, r, &na)) ||
            (in[4].t && ints_in(f, k, &in[4], 4, "steps", sp, r, &ns)))
            return MLI_EINPUT;
    }
    if (ne != n || (na >= 0 && na != n) || (ns >= 0 && ns != n))
        return refuse(f, k, "starts, ends, axes and steps must have one length");
    for (int a = 0; a < r; a++)
        start[a] = 0, step[a] = 1, d[a] = x->dims[a];
    int seen = 0;
    for (int j = 0; j < n; j++) {
        int64_t a = 0, s = st[j], e = en[j], t = ns >= 0 ? sp[j] : 1;
        if (axis_of(f, k, na >= 0 ? ax[j] : j, r, &a))
            return MLI_EINPUT;
        if (seen & 1 << a || t == 0 || t == INT64_MIN)
            return refuse(f, k, "axis %lld is sliced twice, or with a step of %lld", (long long)a, (long long)t);
        seen |= 1 << a;
        int64_t dim = x->dims[a];
        s = s < 0 ? s + dim : s;
        e = e < 0 ? e + dim : e;
        if (t > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            d[a] = e > s ? (e - s - 1) / t + 1 : 0; /* ⌈(e − s)/t⌉ without overflow for a huge t */
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            d[a] = s > e && dim > 0 ? (s - e - 1) / -t + 1 : 0; /* [0, d − 1] is empty when d = 0 */
        }
        start[a] = s, step[a] = t;
    }
    mli_onnx_const *c = result(f, k, x->elem_type, r, d);
    if (!c)
        return MLI_EINPUT;
    int64_t idx[MLI_ONNX_MAX_DIMS] = {0};
    for (size_t o = 0; o < c->t.numel; o++) {
        size_t from = 0;
        for (int a = 0; a < r; a++)
            from = from * (size_t)x->dims[a] + (size_t)(start[a] + idx[a] * step[a]);
        copy_elem(c, o, &in[0], from);
        for (int a = r - 1; a >= 0 && ++idx[a] == d[a]; a--)
            idx[a] = 0;
    }
    return MLI_OK;
}

static int fold_transpose(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    const mli_onnx_tensor *x = in[0].t;
    int r = x->ndim, n, seen = 0;
    int64_t perm[MLI_ONNX_MAX_DIMS], d[MLI_ONNX_MAX_DIMS], stride[MLI_ONNX_MAX_DIMS], idx[MLI_ONNX_MAX_DIMS] = {0};
    if (ints_attr(f, k, "perm", perm, MLI_ONNX_MAX_DIMS, &n))
        return MLI_EINPUT;
    for (int a = 0; n < 0 && a < r; a++)
        perm[a] = r - 1 - a;
    for (int a = 0; a < r; a++) {
        if ((n >= 0 && n != r) || perm[a] < 0 || perm[a] >= r || seen & 1 << perm[a])
            return refuse(f, k, "perm is not a permutation of the %d axes", r);
        seen |= 1 << perm[a];
        d[a] = x->dims[perm[a]];
    }
    for (int a = r - 1, s = 1; a >= 0; s *= (int)x->dims[a], a--)
        stride[a] = s;
    mli_onnx_const *c = result(f, k, x->elem_type, r, d);
    if (!c)
        return MLI_EINPUT;
    for (size_t o = 0; o < c->t.numel; o++) {
        size_t from = 0;
        for (int a = 0; a < r; a++)
            from += (size_t)(idx[a] * stride[perm[a]]);
        copy_elem(c, o, &in[0], from);
        for (int a = r - 1; a >= 0 && ++idx[a] == d[a]; a--)
            idx[a] = 0;
    }
    return MLI_OK;
}

/* Add, Sub, Mul, Div with numpy broadcasting; an element computed from a tagged one is DEP */
static int fold_arith(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    const mli_onnx_tensor *x = in[0].t, *y = in[1].t;
    if (x->elem_type != y->elem_type)
        return refuse(f, k, "inputs of types %s and %s (they must be one type)", mli_onnx_type_name(x->file_type),
                      mli_onnx_type_name(y->file_type));
    int r = x->ndim > y->ndim ? x->ndim : y->ndim;
    int64_t d[MLI_ONNX_MAX_DIMS], dx[MLI_ONNX_MAX_DIMS], dy[MLI_ONNX_MAX_DIMS], idx[MLI_ONNX_MAX_DIMS] = {0};
    for (int a = 0; a < r; a++) {
        dx[a] = a < r - x->ndim ? 1 : x->dims[a - (r - x->ndim)];
        dy[a] = a < r - y->ndim ? 1 : y->dims[a - (r - y->ndim)];
        if (dx[a] != dy[a] && dx[a] != 1 && dy[a] != 1)
            return refuse(f, k, "shapes that do not broadcast (dim %d: %lld and %lld)", a, (long long)dx[a],
                          (long long)dy[a]);
        d[a] = dx[a] == 1 ? dy[a] : dx[a];
    }
    mli_onnx_const *c = result(f, k, x->elem_type, r, d);
    if (!c)
        return MLI_EINPUT;
    char op = nd->op_type[0];
    for (size_t o = 0; o < c->t.numel; o++) {
        size_t i = 0, j = 0;
        for (int a = 0; a < r; a++) {
            i = i * (size_t)dx[a] + (size_t)(dx[a] == 1 ? 0 : idx[a]);
            j = j * (size_t)dy[a] + (size_t)(dy[a] == 1 ? 0 : idx[a]);
        }
        for (int a = r - 1; a >= 0 && ++idx[a] == d[a]; a--)
            idx[a] = 0;
        c->tag[o] = tagof(&in[0], i) || tagof(&in[1], j) ? MLI_FOLD_DEP : MLI_FOLD_KNOWN;
        if (c->t.f) {
            float u = x->f[i], v = y->f[j];
            c->t.f[o] = op == 'A' ? u + v : op == 'S' ? u - v : op == 'M' ? u * v : u / v;
            continue;
        }
        int64_t u = x->i[i], v = y->i[j], w = 0;
        if (op == 'D' && c->tag[o])
            continue; /* a divisor computed from the batch: the value is never read */
        if (op == 'D' && (v == 0 || (u == INT64_MIN && v == -1)))
            return refuse(f, k, "integer division %lld / %lld", (long long)u, (long long)v);
        int over = op == 'A' ? __builtin_add_overflow(u, v, &w)
                 : op == 'S' ? __builtin_sub_overflow(u, v, &w)
                 : op == 'M' ? __builtin_mul_overflow(u, v, &w)
                             : (w = u / v, 0);
        if (over && !c->tag[o])
            return refuse(f, k, "%lld %s %lld overflows INT64", (long long)u, nd->op_type, (long long)v);
        c->t.i[o] = w;
    }
    return MLI_OK;
}

static int fold_constant_of_shape(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t d[MLI_ONNX_MAX_DIMS];
    int n;
    if (ints_in(f, k, &in[0], 0, "shape", d, MLI_ONNX_MAX_DIMS, &n))
        return MLI_EINPUT;
    const mli_onnx_attr *at = mli_onnx_find_attr(nd, "value");
    if (at && (at->type != MLI_ONNX_ATTR_TENSOR || at->t->numel != 1))
        return refuse(f, k, "attribute value must be a tensor of one value");
    mli_onnx_const *c = result(f, k, at ? at->t->elem_type : MLI_ONNX_FLOAT, n, d);
    if (!c)
        return MLI_EINPUT;
    for (size_t i = 0; i < c->t.numel; i++)
        if (c->t.f)
            c->t.f[i] = at ? at->t->f[0] : 0;
        else
            c->t.i[i] = at->t->i[0];
    return MLI_OK;
}

static int fold_range(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    for (int j = 0; j < 3; j++)
        if (in[j].t->numel != 1 || in[j].t->ndim > 1 || in[j].t->elem_type != in[0].t->elem_type || tagof(&in[j], 0))
            return refuse(f, k, "start, limit and delta must be scalars of one type, known at import (not computed "
                          "from the batch size)");
    mli_onnx_const *c;
    int64_t n;
    if (in[0].t->f) {
        double s = in[0].t->f[0], l = in[1].t->f[0], t = in[2].t->f[0], q = t ? (l - s) / t : 0;
        if (t == 0 || !(q < MLI_FOLD_MAX_NUMEL + 1.0))
            return refuse(f, k, "delta 0, or more than %d values", MLI_FOLD_MAX_NUMEL);
        n = q > 0 ? (int64_t)q + (q > (int64_t)q) : 0;
        if (!(c = result(f, k, MLI_ONNX_FLOAT, 1, &n)))
            return MLI_EINPUT;
        for (int64_t i = 0; i < n; i++)
            c->t.f[i] = (float)(s + (double)i * t);
        return MLI_OK;
    }
    int64_t s = in[0].t->i[0], l = in[1].t->i[0], t = in[2].t->i[0];
    __int128 span = (__int128)l - s, cnt = 0; /* ⌈span / t⌉, in 128 bits: no INT64 overflows */
    if (t > 0 && span > 0)
        cnt = (span - 1) / t + 1;
    else if (t < 0 && span < 0)
        cnt = (-span - 1) / -(__int128)t + 1;
    if (t == 0 || cnt > MLI_FOLD_MAX_NUMEL)
        return refuse(f, k, "delta 0, or more than %d values", MLI_FOLD_MAX_NUMEL);
    n = (int64_t)cnt;
    if (!(c = result(f, k, MLI_ONNX_INT64, 1, &n)))
        return MLI_EINPUT;
    for (int64_t i = 0; i < n; i++)
        c->t.i[i] = s + i * t;
    return MLI_OK;
}

static int fold_reshape(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    int64_t d[MLI_ONNX_MAX_DIMS], known = 1;
    int n, infer = -1;
    if (ints_in(f, k, &in[1], 1, "shape", d, MLI_ONNX_MAX_DIMS, &n))
        return MLI_EINPUT;
    const mli_onnx_tensor *x = in[0].t;
    int allowzero = (int)mli_onnx_attr_i(nd, "allowzero", 0);
    for (int a = 0; a < n; a++) {
        if (d[a] == 0 && !allowzero) {
            if (a >= x->ndim)
                return refuse(f, k, "shape entry %d copies a dim the input does not have", a);
            d[a] = x->dims[a];
        }
        if (d[a] == -1 && infer < 0)
            infer = a;
        else if (d[a] < 0 || d[a] > MLI_FOLD_MAX_NUMEL)
            return refuse(f, k, "shape entry %d is %lld", a, (long long)d[a]);
        else if ((known *= d[a]) > MLI_FOLD_MAX_NUMEL)
            return refuse(f, k, "the shape holds more than %d values", MLI_FOLD_MAX_NUMEL);
    }
    if (infer >= 0) {
        if (known < 1 || x->numel % (size_t)known)
            return refuse(f, k, "the shape does not fit the input's %zu values", x->numel);
        d[infer] = (int64_t)x->numel / known;
        known = (int64_t)x->numel;
    }
    if ((size_t)known != x->numel)
        return refuse(f, k, "the shape holds %lld values, the input %zu", (long long)known, x->numel);
    mli_onnx_const *c = result(f, k, x->elem_type, n, d);
    if (!c)
        return MLI_EINPUT;
    for (size_t i = 0; i < x->numel; i++)
        copy_elem(c, i, &in[0], i);
    return MLI_OK;
}

static int fold_identity(mli_onnx_folder *f, int k, const mli_onnx_node *nd, const cval *in)
{
    mli_onnx_const *c = result(f, k, in[0].t->elem_type, in[0].t->ndim, in[0].t->dims);
    if (!c)
        return MLI_EINPUT;
    c->t.file_type = in[0].t->file_type;
    for (size_t i = 0; i < c->t.numel; i++)
        copy_elem(c, i, &in[0], i);
    return MLI_OK;
}

/* ---- the dispatch -------------------------------------------------------------------------- */

typedef int (*fold_fn)(mli_onnx_folder *, int, const mli_onnx_node *, const cval *);
static const struct {
    const char *op_type;
    fold_fn fn;
    int min_in, max_in; /* the inputs it takes */
} kinds[] = {
    {"Shape", fold_shape, 1, 1},         {"Gather", fold_gather, 2, 2},
    {"Unsqueeze", fold_unsqueeze, 1, 2}, {"Squeeze", fold_squeeze, 1, 2},
    {"Concat", fold_concat, 1, 64},      {"Cast", fold_cast, 1, 1},
    {"Slice", fold_slice, 1, 5},         {"Add", fold_arith, 2, 2},
    {"Sub", fold_arith, 2, 2},           {"Mul", fold_arith, 2, 2},
    {"Div", fold_arith, 2, 2},           {"ConstantOfShape", fold_constant_of_shape, 1, 1},
    {"Range", fold_range, 3, 3},         {"Reshape", fold_reshape, 2, 2},
    {"Identity", fold_identity, 1, 1},   {"Transpose", fold_transpose, 1, 1},
};

/* the result's tags: NULL when every element is known */
static void settle(mli_onnx_const *c)
{
    for (size_t i = 0; i < c->t.numel; i++)
        if (c->tag[i])
            return;
    free(c->tag);
    c->tag = NULL;
}

int mli_onnx_fold_node(mli_onnx_folder *f, int k)
{
    const mli_onnx_node *nd = &f->m->nodes[k];
    if ((nd->domain[0] && strcmp(nd->domain, "ai.onnx")) || nd->noutputs < 1 || !nd->outputs[0][0] ||
        !mli_onnx_fold_op(nd->op_type))
        return 0;
    int rc;
    if (!strcmp(nd->op_type, "Constant")) {
        if (nd->ninputs)
            return refuse(f, k, "a Constant takes no input");
        rc = fold_constant(f, k, nd);
    } else {
        size_t q = 0;
        while (strcmp(kinds[q].op_type, nd->op_type))
            q++;
        cval in[64] = {{0}};
        int shape_of_value = 0;
        for (int j = 0; j < nd->ninputs && j < 64; j++) {
            if (!nd->inputs[j][0])
                continue;
            in[j].t = mli_onnx_fold_const(f, nd->inputs[j], &in[j].tag);
            if (in[j].t && in[j].t->elem_type == MLI_ONNX_FLOAT && mli_onnx_find_init(f->m, nd->inputs[j]) &&
                q != 0)
                return 0; /* a parameter: θ interpolates it, it is never a constant */
            if (!in[j].t && q == 0)
                shape_of_value = 1;
            else if (!in[j].t)
                return 0; /* computed from the data */
        }
        if (nd->ninputs < kinds[q].min_in || nd->ninputs > kinds[q].max_in)
            return refuse(f, k, "%d inputs (%s takes %d to %d)", nd->ninputs, nd->op_type, kinds[q].min_in,
                          kinds[q].max_in);
        for (int j = 0; j < kinds[q].min_in; j++)
            if (!in[j].t && !shape_of_value)
                return refuse(f, k, "input %d is missing", j);
        rc = kinds[q].fn(f, k, nd, in);
    }
    mli_onnx_const *c = &f->vals[f->voff[k]];
    if (rc) {
        if (c->set) {
            free(c->t.name), free(c->t.f), free(c->t.i), free(c->tag);
            memset(c, 0, sizeof *c);
        }
        return rc;
    }
    settle(c);
    return 1;
}
