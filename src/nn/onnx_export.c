/* The graph walker of the ONNX export: see onnx_export.h. */
#include "nn/onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/model.h"
#include "nn/op.h"

#define VNAME 80 /* a value name: a node name (64) or "node<i>" */

/* tensor k as FLOAT (whatever the engine's precision: the double build converts), transposed
 * (a 2-D out×in stored in×out) when trans */
static void export_tensor(const mli_node *n, int k, const mli_onnx_ectx *e, int trans)
{
    const mli_tensor *t = &e->a->tensors[n->tensor[k]];
    const mli_real *src = mli_node_view(n, k, t->is_buffer ? e->bufs : e->theta);
    float *v = mli_malloc(sizeof(float) * (t->numel ? t->numel : 1));
    int64_t dims[MLI_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++)
        dims[d] = t->shape[d];
    if (trans) {
        int rows = t->shape[0], cols = t->shape[1];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                v[(size_t)j * rows + i] = (float)src[(size_t)i * cols + j];
        dims[0] = cols;
        dims[1] = rows;
    } else
        for (size_t j = 0; j < t->numel; j++)
            v[j] = (float)src[j];
    mli_onnx_add_init_float(e->m, t->name, t->ndim, dims, v);
    free(v);
}

void mli_onnx_export_tensor(const mli_node *n, int k, const mli_onnx_ectx *e) { export_tensor(n, k, e, 0); }

void mli_onnx_export_tensor_t(const mli_node *n, int k, const mli_onnx_ectx *e) { export_tensor(n, k, e, 1); }

const char *mli_onnx_export_name(const mli_onnx_ectx *e, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", e->out, what);
    return buf;
}

/* Is s the name of a tensor, of the graph's input or output, or of an earlier node's value? */
static int name_taken(const mli_arch *a, char (*vname)[VNAME], int upto, const char *s)
{
    if (!*s || !strcmp(s, "input") || !strcmp(s, "output"))
        return 1;
    for (int t = 0; t < a->ntensors; t++)
        if (!strcmp(s, a->tensors[t].name))
            return 1;
    for (int j = 0; j < upto; j++)
        if (!strcmp(s, vname[j]))
            return 1;
    return 0;
}

/* [batch, d0, d1, ...] with the batch symbolic */
static void value_dims(const mli_shape *s, int64_t *dims, const char **params)
{
    dims[0] = -1;
    params[0] = "batch";
    for (int d = 0; d < s->ndim; d++) {
        dims[d + 1] = s->d[d];
        params[d + 1] = NULL;
    }
}

/* The data's normalisation (mli_arch.norm_c) as Sub(input, mean) then Div(·, std), the
 * constants float initializers [1, C, 1, 1] broadcast over N, H and W: the name of the
 * normalised value, which the graph's first nodes read instead of "input" */
static const char *export_norm(const mli_arch *a, mli_onnx_model *m)
{
    int64_t dims[4] = {1, a->norm_c, 1, 1};
    float mean[MLI_NORM_MAXC], std[MLI_NORM_MAXC];
    for (int c = 0; c < a->norm_c; c++) {
        mean[c] = (float)a->norm_mean[c];
        std[c] = (float)a->norm_std[c];
    }
    mli_onnx_add_init_float(m, "input/mean", 4, dims, mean);
    mli_onnx_add_init_float(m, "input/std", 4, dims, std);
    const char *sub[2] = {"input", "input/mean"}, *div[2] = {"input/centred", "input/std"};
    mli_onnx_add_node(m, "Sub", "input/Sub", 2, sub, 1, &div[0]);
    static const char *const out = "input/normalized";
    mli_onnx_add_node(m, "Div", "input/Div", 2, div, 1, &out);
    return out;
}

int mli_onnx_export(const mli_arch *a, const mli_real *theta, const mli_real *bufs, const char *label,
                    mli_onnx_model **out)
{
    *out = NULL;
    if (a->nnodes < 1)
        return mli_err(MLI_EUSAGE, "%s: the graph has no nodes", label);
    if (a->nbuffers > 0 && !bufs)
        return mli_err(MLI_EUSAGE, "%s: the graph has buffers but none were given", label);
    if (a->norm_c && (a->norm_c > MLI_NORM_MAXC || a->in_shape.ndim != 3 || a->in_shape.d[0] != a->norm_c))
        return mli_err(MLI_EUSAGE, "%s: a normalisation of %d channels on an input of %d dims", label, a->norm_c,
                       a->in_shape.ndim);
    mli_onnx_model *m = mli_onnx_model_new("mli", MLI_ONNX_EXPORT_OPSET);
    free(m->producer_version);
    m->producer_version = mli_strdup(MLI_VERSION);
    /* node i's output value: its name when that is free, else "node<i>" */
    char(*vname)[VNAME] = mli_calloc((size_t)a->nnodes, VNAME);
    for (int i = 0; i < a->nnodes; i++) {
        snprintf(vname[i], VNAME, "%s", a->nodes[i].name);
        if (name_taken(a, vname, i, vname[i]))
            snprintf(vname[i], VNAME, "node%d", i);
    }
    int64_t dims[MLI_MAX_DIMS + 1];
    const char *params[MLI_MAX_DIMS + 1];
    value_dims(&a->in_shape, dims, params);
    mli_onnx_add_input(m, "input", MLI_ONNX_FLOAT, a->in_shape.ndim + 1, dims, params);
    const char *data = a->norm_c ? export_norm(a, m) : "input";
    int rc = MLI_OK;
    for (int i = 0; i < a->nnodes && !rc; i++) {
        const mli_node *n = &a->nodes[i];
        mli_onnx_ectx e = {.m = m, .a = a, .theta = theta, .bufs = bufs};
        for (int k = 0; k < n->nin; k++)
            e.in[k] = n->in[k] == MLI_GRAPH_INPUT ? data : vname[n->in[k]];
        e.out = i == a->nnodes - 1 ? "output" : vname[i];
        if (!n->op->onnx_export)
            rc = mli_err(MLI_EUSAGE, "%s: node '%s' (%s) has no ONNX form", label, n->name, n->op->name);
        else
            rc = n->op->onnx_export(n, &e);
    }
    free(vname);
    if (!rc) {
        const mli_node *last = &a->nodes[a->nnodes - 1];
        value_dims(&last->shape, dims, params);
        mli_onnx_add_output(m, "output", MLI_ONNX_FLOAT, last->shape.ndim + 1, dims, params);
        /* every input defined, no name twice, no cycle: what any reader will check */
        rc = mli_onnx_sort(m, label, NULL);
    }
    if (rc) {
        mli_onnx_free(m);
        return rc;
    }
    *out = m;
    return MLI_OK;
}

int mli_onnx_export_file(const char *path, const mli_arch *a, const mli_real *theta, const mli_real *bufs)
{
    mli_onnx_model *m;
    int rc = mli_onnx_export(a, theta, bufs, path, &m);
    if (!rc)
        rc = mli_onnx_write(path, m);
    mli_onnx_free(m);
    return rc;
}
