#include "nn/jacobian.h"

#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

mli_jws *mli_jws_new(const mli_arch *a, int bmax)
{
    mli_jws *w = mli_calloc(1, sizeof *w);
    size_t rows = (size_t)a->nout * (size_t)bmax;
    w->bmax = bmax;
    w->ws = mli_ws_new(a, bmax);
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        w->g[i] = mli_malloc(sizeof(mli_real) * rows * n->size);
        mli_jac_form form = n->op->jac_form(n);
        if (form == MLI_JAC_EXPLICIT)
            w->fac[i] = mli_malloc(sizeof(mli_real) * rows * n->op->jac_width(n));
        w->G[i] = form == MLI_JAC_OUTER ? w->g[i] : w->fac[i];
    }
    w->acc = mli_graph_has_fanout(a) ? mli_malloc(sizeof(mli_real) * MLI_NODE_MAXIN * rows * (size_t)a->width_max)
                                     : NULL;
    return w;
}

void mli_jws_free(mli_jws *w)
{
    if (!w)
        return;
    mli_ws_free(w->ws);
    for (int i = 0; i < MLI_MAX_NODES; i++) {
        free(w->g[i]);
        free(w->fac[i]);
    }
    free(w->acc);
    free(w);
}

const mli_real *mli_jws_input(const mli_arch *a, const mli_jws *w, const mli_real *X, int l)
{
    int p = a->nodes[l].in[0];
    return p == MLI_GRAPH_INPUT ? X : w->ws->out[p];
}

void mli_net_jacobian(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_jws *w,
                      const mli_real *X, int B)
{
    int k = a->nout, last = a->nnodes - 1;
    size_t rows = (size_t)k * (size_t)B, stride = rows * (size_t)a->width_max, len[MLI_NODE_MAXIN];
    unsigned char seen[MLI_MAX_NODES] = {0};
    mli_net_forward(a, theta, (mli_real *)bufs, w->ws, X, B, MLI_MODE_EVAL); /* eval: bufs only read */
    /* ∂z_c/∂z = e_c in every row of block c */
    mli_real *gz = w->g[last];
    memset(gz, 0, sizeof(mli_real) * rows * (size_t)k);
    for (int c = 0; c < k; c++)
        for (int i = 0; i < B; i++)
            gz[((size_t)c * B + i) * k + c] = 1;
    mli_opctx c = {.a = a, .B = B, .mode = MLI_MODE_EVAL, .theta = theta, .bufs = (mli_real *)bufs,
                   .rows = (int)rows, .work = w->ws->work};
    for (int i = last; i >= 0; i--) {
        const mli_node *n = &a->nodes[i];
        mli_graph_grad_route(a, i, w->g, w->acc, stride, seen, c.dx);
        int any = w->fac[i] != NULL;
        for (int q = 0; q < n->nin; q++) {
            c.x[q] = n->in[q] == MLI_GRAPH_INPUT ? X : w->ws->out[n->in[q]];
            len[q] = rows * mli_shape_numel(&n->ishape[q]);
            any |= c.dx[q] != NULL;
        }
        if (!any) /* the first Linear: its factor g is there already */
            continue;
        c.y = w->ws->out[i];
        c.dy = w->g[i];
        c.fac = w->fac[i];
        n->op->jac_backward(n, &c);
        mli_graph_grad_collect(a, i, w->g, w->acc, stride, c.dx, len);
    }
}

void mli_jacobian_row(const mli_arch *a, const mli_jws *w, const mli_real *X, int B, int c, int i,
                      mli_real *row)
{
    size_t r = (size_t)c * B + (size_t)i;
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *n = &a->nodes[l];
        mli_jac_form form = n->op->jac_form(n);
        if (form == MLI_JAC_OUTER) { /* (g ⊗ x, g) into the views of its two tensors */
            int in = (int)mli_shape_numel(&n->ishape[0]), out = (int)n->size;
            const mli_real *g = w->G[l] + r * out, *x = mli_jws_input(a, w, X, l) + (size_t)i * in;
            mli_real *W = mli_node_view(n, 0, row), *b = mli_node_view(n, 1, row);
            for (int u = 0; u < out; u++) {
                for (int v = 0; v < in; v++)
                    W[(size_t)u * in + v] = g[u] * x[v];
                b[u] = g[u];
            }
        } else if (form == MLI_JAC_EXPLICIT) { /* the node's parameters, in tensor order */
            size_t wd = n->op->jac_width(n);
            memcpy(mli_node_view(n, 0, row), w->G[l] + r * wd, sizeof(mli_real) * wd);
        }
    }
}
