/* Two ONNX models for one path θ(α) = (1−α)θ₀ + αθ₁: the same graph (nodes, their inputs,
 * outputs and attributes, the graph's inputs and outputs) and the same initializer names and
 * shapes, compared before either is imported so that the message names the first difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/onnx_graph.h"

static void dims_str(char *buf, size_t len, int ndim, const int64_t *dims)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < ndim && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", k ? ", " : "", (long long)dims[k]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

static int same_dims(int n0, const int64_t *d0, int n1, const int64_t *d1)
{
    return n0 == n1 && (n0 <= 0 || !memcmp(d0, d1, sizeof(int64_t) * (size_t)n0));
}

static int same_attr(const mli_onnx_attr *x, const mli_onnx_attr *y)
{
    if (strcmp(x->name, y->name) || x->type != y->type)
        return 0;
    switch (x->type) {
    case MLI_ONNX_ATTR_FLOAT: return x->f == y->f;
    case MLI_ONNX_ATTR_INT: return x->i == y->i;
    case MLI_ONNX_ATTR_STRING: return x->slen == y->slen && !memcmp(x->s, y->s, x->slen);
    case MLI_ONNX_ATTR_FLOATS: return x->n == y->n && !memcmp(x->floats, y->floats, sizeof(float) * x->n);
    case MLI_ONNX_ATTR_INTS: return x->n == y->n && !memcmp(x->ints, y->ints, sizeof(int64_t) * x->n);
    default: return 1; /* strings lists, tensors: not read by any supported node */
    }
}

static const char *nname(const mli_onnx_node *nd, int k)
{
    static __thread char buf[300];
    if (nd->name[0])
        snprintf(buf, sizeof buf, "node '%s' (%s)", nd->name, nd->op_type);
    else
        snprintf(buf, sizeof buf, "node #%d (%s)", k, nd->op_type);
    return buf;
}

#define DIFF(...) return mli_err(MLI_EINPUT, "%s and %s describe different networks: " __VA_ARGS__)

static int compare(const mli_onnx_model *m0, const mli_onnx_model *m1, const char *p0, const char *p1)
{
    char s0[200], s1[200];
    if (m0->ninputs != m1->ninputs)
        DIFF("%d and %d graph inputs", p0, p1, m0->ninputs, m1->ninputs);
    for (int i = 0; i < m0->ninputs; i++) {
        const mli_onnx_value *a = &m0->inputs[i], *b = &m1->inputs[i];
        if (strcmp(a->name, b->name))
            DIFF("graph input %d is '%s' and '%s'", p0, p1, i, a->name, b->name);
        if (!same_dims(a->ndim, a->dims, b->ndim, b->dims)) {
            dims_str(s0, sizeof s0, a->ndim, a->dims);
            dims_str(s1, sizeof s1, b->ndim, b->dims);
            DIFF("graph input '%s' has dims %s and %s", p0, p1, a->name, s0, s1);
        }
    }
    if (m0->nnodes != m1->nnodes)
        DIFF("%d and %d nodes", p0, p1, m0->nnodes, m1->nnodes);
    for (int k = 0; k < m0->nnodes; k++) {
        const mli_onnx_node *a = &m0->nodes[k], *b = &m1->nodes[k];
        if (strcmp(a->op_type, b->op_type) || strcmp(a->name, b->name))
            DIFF("node #%d is %s in the first and %s in the second", p0, p1, k, nname(a, k),
                 strcpy(s1, nname(b, k)));
        if (a->ninputs != b->ninputs || a->noutputs != b->noutputs || a->nattrs != b->nattrs)
            DIFF("%s has %d/%d inputs, %d/%d outputs, %d/%d attributes", p0, p1, nname(a, k), a->ninputs,
                 b->ninputs, a->noutputs, b->noutputs, a->nattrs, b->nattrs);
        for (int j = 0; j < a->ninputs; j++)
            if (strcmp(a->inputs[j], b->inputs[j]))
                DIFF("%s reads '%s' and '%s' as input %d", p0, p1, nname(a, k), a->inputs[j], b->inputs[j], j);
        for (int j = 0; j < a->noutputs; j++)
            if (strcmp(a->outputs[j], b->outputs[j]))
                DIFF("%s writes '%s' and '%s' as output %d", p0, p1, nname(a, k), a->outputs[j], b->outputs[j], j);
        for (int j = 0; j < a->nattrs; j++)
            if (!same_attr(&a->attrs[j], &b->attrs[j]))
                DIFF("%s: attribute '%s' differs", p0, p1, nname(a, k), a->attrs[j].name);
    }
    if (m0->noutputs != m1->noutputs)
        DIFF("%d and %d graph outputs", p0, p1, m0->noutputs, m1->noutputs);
    for (int i = 0; i < m0->noutputs; i++)
        if (strcmp(m0->outputs[i].name, m1->outputs[i].name))
            DIFF("graph output %d is '%s' and '%s'", p0, p1, i, m0->outputs[i].name, m1->outputs[i].name);
    if (m0->ninits != m1->ninits)
        DIFF("%d and %d initializers", p0, p1, m0->ninits, m1->ninits);
    for (int i = 0; i < m0->ninits; i++) {
        const mli_onnx_tensor *a = &m0->inits[i], *b = mli_onnx_find_init(m1, m0->inits[i].name);
        if (!b)
            DIFF("initializer '%s' is only in the first", p0, p1, a->name);
        if (!same_dims(a->ndim, a->dims, b->ndim, b->dims) || a->elem_type != b->elem_type) {
            dims_str(s0, sizeof s0, a->ndim, a->dims);
            dims_str(s1, sizeof s1, b->ndim, b->dims);
            DIFF("initializer '%s' has shape %s and %s", p0, p1, a->name, s0, s1);
        }
        if (a->elem_type == MLI_ONNX_INT64 && memcmp(a->i, b->i, sizeof(int64_t) * a->numel))
            DIFF("initializer '%s' (INT64: a shape, not a parameter) differs", p0, p1, a->name);
    }
    return MLI_OK;
}

int mli_onnx_load_pair(const char *init, const char *final, mli_loss loss, mli_arch *a, mli_real **theta0,
                       mli_real **bufs0, mli_real **theta1, mli_real **bufs1)
{
    mli_onnx_model *m0 = NULL, *m1 = NULL;
    mli_arch *a1 = mli_malloc(sizeof *a1);
    *theta0 = *bufs0 = *theta1 = *bufs1 = NULL;
    int rc = mli_onnx_read(init, &m0);
    if (!rc)
        rc = mli_onnx_read(final, &m1);
    if (!rc)
        rc = compare(m0, m1, init, final);
    if (!rc)
        rc = mli_onnx_graph(m0, init, loss, a, theta0, bufs0);
    if (!rc)
        rc = mli_onnx_graph(m1, final, loss, a1, theta1, bufs1);
    if (!rc && (a1->nparams != a->nparams || a1->nbuffers != a->nbuffers)) /* guaranteed by compare */
        rc = mli_err(MLI_EINPUT, "%s and %s describe different networks", init, final);
    /* constants, not parameters: θ(α) does not interpolate them, so they must agree */
    if (!rc && (a1->norm_c != a->norm_c || memcmp(a1->norm_mean, a->norm_mean, sizeof a->norm_mean) ||
                memcmp(a1->norm_std, a->norm_std, sizeof a->norm_std)))
        rc = mli_err(MLI_EINPUT, "%s and %s describe different networks: the data's normalisation (the Sub and Div "
                     "constants) differs", init, final);
    if (rc) {
        free(*theta0), free(*bufs0), free(*theta1), free(*bufs1);
        *theta0 = *bufs0 = *theta1 = *bufs1 = NULL;
    }
    free(a1);
    mli_onnx_free(m0);
    mli_onnx_free(m1);
    return rc;
}
