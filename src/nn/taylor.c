/* Taylor mode over the nodes of the graph; see taylor.h. */
#include "nn/taylor.h"

#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

mli_tws *mli_tws_new(const mli_arch *a, int bmax)
{
    mli_tws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    for (int i = 0; i < a->nnodes; i++)
        w->out[i] = mli_malloc(sizeof(mli_real) * 3 * (size_t)bmax * a->nodes[i].size);
    int h = mli_graph_hoisted(a);
    size_t hs = h >= 0 ? a->nodes[h].size : 1;
    w->p0 = mli_malloc(sizeof(mli_real) * (size_t)bmax * hs);
    w->p1 = mli_malloc(sizeof(mli_real) * (size_t)bmax * hs);
    w->r = mli_malloc(sizeof(mli_real) * 2 * hs);
    w->x3 = mli_calloc(3 * (size_t)bmax * (size_t)a->input_size, sizeof(mli_real));
    w->work = mli_malloc(sizeof(mli_real) * mli_graph_work_size(a));
    return w;
}

void mli_tws_free(mli_tws *w)
{
    if (!w)
        return;
    for (int i = 0; i < MLI_MAX_NODES; i++)
        free(w->out[i]);
    free(w->p0);
    free(w->p1);
    free(w->r);
    free(w->x3);
    free(w->work);
    free(w);
}

/* node h's hoist rule at θ (X NULL: its response to a zero input, one example; work: the
 * rules' workspace, not read then) */
static void hoist(const mli_arch *a, int h, const mli_real *theta, const mli_real *X, int B, mli_real *P,
                  mli_real *work)
{
    mli_opctx c = {.a = a, .B = B, .theta = theta, .y = P, .work = work};
    c.x[0] = X;
    a->nodes[h].op->hoist(&a->nodes[h], &c);
}

void mli_taylor_first_layer(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const mli_real *X, int B, mli_real *P0, mli_real *P1)
{
    int h = mli_graph_hoisted(a);
    if (h < 0)
        return;
    /* once per call (a chunk of examples): the caller holds no workspace */
    mli_real *work = mli_malloc(sizeof(mli_real) * mli_graph_work_size(a));
    hoist(a, h, theta0, X, B, P0, work);
    hoist(a, h, delta, X, B, P1, work);
    free(work);
}

void mli_taylor_hoisted_outputs(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                                const mli_real *X, int B, mli_real *P0, mli_real *P1)
{
    int h = mli_graph_hoisted(a);
    if (h < 0)
        return;
    size_t n = a->nodes[h].size;
    mli_real *r = mli_malloc(sizeof(mli_real) * 2 * n);
    mli_taylor_first_layer(a, theta0, delta, X, B, P0, P1);
    hoist(a, h, theta0, NULL, 1, r, NULL);
    hoist(a, h, delta, NULL, 1, r + n, NULL);
    for (int i = 0; i < B; i++)
        for (size_t u = 0; u < n; u++) {
            P0[(size_t)i * n + u] += r[u];
            P1[(size_t)i * n + u] += r[n + u];
        }
    free(r);
}

/* The hoisted node at α: Y0 = P0 + αP1 + r₀, Y1 = P1 + r₁, Y2 = 0, with r₀, r₁ its responses
 * to a zero input at θ(α) and Δ (the FCNet: b(α) and Δb). No GEMM. */
static void hoisted_tangent(const mli_arch *a, int h, const mli_real *theta, const mli_real *delta, mli_tws *w,
                            const mli_real *P0, const mli_real *P1, double alpha, int B)
{
    size_t n = a->nodes[h].size, blk = (size_t)B * n;
    const mli_real al = (mli_real)alpha;
    mli_real *Y = w->out[h], *r0 = w->r, *r1 = w->r + n;
    hoist(a, h, theta, NULL, 1, r0, NULL);
    hoist(a, h, delta, NULL, 1, r1, NULL);
    for (int i = 0; i < B; i++)
        for (size_t j = 0; j < n; j++) {
            size_t k = (size_t)i * n + j;
            Y[k] = P0[k] + al * P1[k] + r0[j];
            Y[blk + k] = P1[k] + r1[j];
            Y[2 * blk + k] = 0;
        }
}

const mli_real *mli_net_tangent(const mli_arch *a, const mli_real *theta, const mli_real *delta,
                                const mli_real *bufs, mli_tws *w, const mli_real *X, int B,
                                const mli_real *P0, const mli_real *P1, double alpha)
{
    int h = mli_graph_hoisted(a), x3 = 0;
    if (h >= 0) {
        if (!P0) {
            /* θ₀ = θ(α) − αΔ: the products at θ₀ follow from those at θ(α) */
            size_t n = (size_t)B * a->nodes[h].size;
            hoist(a, h, theta, X, B, w->p0, w->work);
            hoist(a, h, delta, X, B, w->p1, w->work);
            MLI_AXPY((int)n, (mli_real)-alpha, w->p1, 1, w->p0, 1);
            P0 = w->p0;
            P1 = w->p1;
        }
        hoisted_tangent(a, h, theta, delta, w, P0, P1, alpha, B);
    }
    mli_opctx c = {.a = a, .B = B, .mode = MLI_MODE_EVAL, .theta = theta, .dir = delta, .bufs = (mli_real *)bufs,
                   .work = w->work};
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        if (i == h)
            continue;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] != MLI_GRAPH_INPUT) {
                c.x[k] = w->out[n->in[k]];
                continue;
            }
            if (!x3) { /* the data has no velocity or acceleration: [X; 0; 0] */
                memcpy(w->x3, X, sizeof(mli_real) * (size_t)B * a->input_size);
                memset(w->x3 + (size_t)B * a->input_size, 0, sizeof(mli_real) * 2 * (size_t)B * a->input_size);
                x3 = 1;
            }
            c.x[k] = w->x3;
        }
        c.y = w->out[i];
        n->op->tangent(n, &c);
    }
    return w->out[a->nnodes - 1];
}
