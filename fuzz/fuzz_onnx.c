/* libFuzzer target for the ONNX reader: any input must either be refused with a message or
 * yield a model that passes the graph check, whose every tensor holds as many values as its
 * dims say, and that the writer writes back in a form the reader accepts with the same
 * contents. The same bytes are also tried as a lone TensorProto. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

/* Touch every value, so that ASan sees a short buffer; check the count against the dims. */
static void walk_tensor(const mli_onnx_tensor *t)
{
    size_t numel = 1;
    for (int k = 0; k < t->ndim; k++)
        numel *= (size_t)t->dims[k];
    if (t->ndim < 0 || t->ndim > MLI_ONNX_MAX_DIMS || numel != t->numel)
        abort();
    if ((t->elem_type == MLI_ONNX_FLOAT) == !t->f && numel)
        abort();
    for (size_t k = 0; k < t->numel; k++)
        sink += t->f ? t->f[k] == t->f[k] : (unsigned)t->i[k];
}

static int same_tensor(const mli_onnx_tensor *a, const mli_onnx_tensor *b)
{
    if (strcmp(a->name, b->name) || a->elem_type != b->elem_type || a->ndim != b->ndim || a->numel != b->numel)
        return 0;
    if (a->ndim && memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims))
        return 0;
    size_t bytes = a->numel * (a->f ? sizeof *a->f : sizeof *a->i);
    return !bytes || !memcmp(a->f ? (void *)a->f : (void *)a->i, b->f ? (void *)b->f : (void *)b->i, bytes);
}

static void rewrite(const mli_onnx_model *m)
{
    size_t len;
    unsigned char *b = mli_onnx_serialize(m, &len);
    mli_onnx_model *r;
    if (!b || mli_onnx_parse(b, len, "rewrite", &r) != MLI_OK) {
        fprintf(stderr, "rewrite failed: %s\n", mli_errmsg());
        abort();
    }
    if (r->nnodes != m->nnodes || r->ninits != m->ninits || r->ninputs != m->ninputs ||
        r->noutputs != m->noutputs || r->nopsets != m->nopsets || strcmp(r->graph_name, m->graph_name))
        abort();
    for (int k = 0; k < m->ninits; k++)
        if (!same_tensor(&m->inits[k], &r->inits[k]))
            abort();
    for (int i = 0; i < m->nnodes; i++) {
        const mli_onnx_node *x = &m->nodes[i], *y = &r->nodes[i];
        if (strcmp(x->op_type, y->op_type) || strcmp(x->name, y->name) || x->ninputs != y->ninputs ||
            x->noutputs != y->noutputs || x->nattrs != y->nattrs)
            abort();
        for (int k = 0; k < x->ninputs; k++)
            if (strcmp(x->inputs[k], y->inputs[k]))
                abort();
        for (int k = 0; k < x->nattrs; k++) {
            const mli_onnx_attr *a = &x->attrs[k], *c = &y->attrs[k];
            if (strcmp(a->name, c->name) || a->type != c->type)
                abort();
            if (a->type == MLI_ONNX_ATTR_TENSOR && !same_tensor(a->t, c->t))
                abort();
            if (a->type == MLI_ONNX_ATTR_STRING && (a->slen != c->slen || memcmp(a->s, c->s, a->slen)))
                abort();
            if (a->type == MLI_ONNX_ATTR_INTS && (a->n != c->n || (a->n && memcmp(a->ints, c->ints, a->n * 8))))
                abort();
        }
    }
    mli_onnx_free(r);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mli_onnx_model *m;
    mli_err_clear();
    if (mli_onnx_parse(data, size, "fuzz", &m) != MLI_OK) {
        if (!mli_errmsg()[0] || m)
            abort(); /* every refusal says why, and leaves nothing behind */
    } else {
        int *order = malloc((size_t)(m->nnodes + 1) * sizeof *order);
        if (!order || mli_onnx_sort(m, "fuzz", order) != MLI_OK)
            abort(); /* the reader ran the same check */
        unsigned char *seen = calloc((size_t)m->nnodes + 1, 1);
        for (int k = 0; k < m->nnodes; k++) {
            if (order[k] < 0 || order[k] >= m->nnodes || seen[order[k]])
                abort(); /* a permutation of the nodes */
            seen[order[k]] = 1;
        }
        free(seen);
        free(order);
        for (int k = 0; k < m->ninits; k++) {
            walk_tensor(&m->inits[k]);
            if (mli_onnx_find_init(m, m->inits[k].name) != &m->inits[k])
                abort(); /* names are unique */
        }
        for (int i = 0; i < m->nnodes; i++)
            for (int k = 0; k < m->nodes[i].nattrs; k++) {
                const mli_onnx_attr *a = &m->nodes[i].attrs[k];
                if (a->type == MLI_ONNX_ATTR_TENSOR)
                    walk_tensor(a->t);
                if (mli_onnx_find_attr(&m->nodes[i], a->name) != a)
                    abort();
                for (size_t j = 0; j < a->n; j++)
                    sink += a->floats ? a->floats[j] == a->floats[j] : a->ints ? (unsigned)a->ints[j]
                                                                         : (unsigned)strlen(a->strings[j]);
            }
        rewrite(m);
        mli_onnx_free(m);
    }

    mli_onnx_tensor t;
    mli_err_clear();
    if (mli_onnx_parse_tensor(data, size, "fuzz", &t) != MLI_OK) {
        if (!mli_errmsg()[0] || t.f || t.i || t.name)
            abort();
        return 0;
    }
    walk_tensor(&t);
    size_t len;
    unsigned char *b = mli_onnx_serialize_tensor(&t, &len);
    mli_onnx_tensor u;
    if (!b || mli_onnx_parse_tensor(b, len, "rewrite", &u) != MLI_OK || !same_tensor(&t, &u))
        abort();
    mli_onnx_tensor_free(&u);
    free(b);
    mli_onnx_tensor_free(&t);
    return 0;
}
