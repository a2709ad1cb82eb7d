#include "nn/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/parallel.h"
#include "nn/layers.h"
#include "nn/op.h"

int mli_graph_has_fanout(const mli_arch *a)
{
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].nuse > 1)
            return 1;
    return 0;
}

void mli_graph_grad_route(const mli_arch *a, int i, mli_real *const *grads, mli_real *acc, size_t acc_stride,
                          unsigned char *seen, mli_real **dx)
{
    const mli_node *n = &a->nodes[i];
    for (int k = 0; k < n->nin; k++) {
        int p = n->in[k];
        if (p == MLI_GRAPH_INPUT)
            dx[k] = NULL;
        else if (!seen[p]) { /* the last consumer in topological order writes first */
            dx[k] = grads[p];
            seen[p] = 1;
        } else
            dx[k] = acc + (size_t)k * acc_stride;
    }
}

void mli_graph_grad_collect(const mli_arch *a, int i, mli_real *const *grads, mli_real *acc, size_t acc_stride,
                            mli_real *const *dx, const size_t *len)
{
    const mli_node *n = &a->nodes[i];
    for (int k = 0; k < n->nin; k++)
        if (dx[k] && dx[k] == acc + (size_t)k * acc_stride) {
            mli_real *g = grads[n->in[k]];
            for (size_t e = 0; e < len[k]; e++)
                g[e] += dx[k][e];
        }
}

mli_ws *mli_ws_new(const mli_arch *a, int bmax)
{
    mli_ws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        size_t len = (size_t)bmax * n->size, sv = n->op->save_size(n, bmax);
        w->out[i] = mli_malloc(sizeof(mli_real) * len);
        w->save[i] = sv ? mli_malloc(sizeof(mli_real) * sv) : NULL;
        w->g[i] = i + 1 < a->nnodes ? mli_malloc(sizeof(mli_real) * len) : NULL;
    }
    w->acc = mli_graph_has_fanout(a)
                 ? mli_malloc(sizeof(mli_real) * MLI_NODE_MAXIN * (size_t)bmax * (size_t)a->width_max)
                 : NULL;
    w->dz = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)a->nout);
    w->loss = mli_malloc(sizeof(double) * (size_t)bmax);
    w->scratch = mli_malloc(sizeof(double) * 3 * (size_t)a->width_max);
    w->work = mli_malloc(sizeof(mli_real) * mli_graph_work_size(a));
    return w;
}

int mli_ws_eval_rows(const mli_arch *a, int B)
{
    size_t per = 0;
    for (int i = 0; i < a->nnodes; i++)
        per += a->nodes[i].size * sizeof(mli_real);
    size_t rows = per ? MLI_WS_EVAL_BYTES / per : 1000;
    rows = rows > 1000 ? 1000 : rows < 1 ? 1 : rows;
    return (int)rows > B ? (int)rows : B;
}

void mli_ws_free(mli_ws *w)
{
    if (!w)
        return;
    for (int i = 0; i < MLI_MAX_NODES; i++) {
        free(w->out[i]);
        free(w->save[i]);
        free(w->g[i]);
    }
    free(w->acc);
    free(w->dz);
    free(w->loss);
    free(w->scratch);
    free(w->work);
    free(w);
}

/* A rowwise node (mli_op.rowwise) on many examples runs its rule on ranges of examples, one
 * per BLAS thread: these memory-bound passes (activations, pools, sums) sit between the
 * convolutions' threaded GEMMs and would otherwise leave the other cores idle. Each example's
 * values are computed as in one call, so the results do not depend on the split. */

typedef struct {
    const mli_node *n;
    const mli_opctx *c;
    int backward;
} rowwise_job;

static void rowwise_range(void *ctx, int i0, int i1, int t)
{
    const rowwise_job *j = ctx;
    const mli_node *n = j->n;
    mli_opctx c = *j->c;
    c.B = i1 - i0;
    for (int k = 0; k < n->nin; k++) {
        size_t nx = (size_t)i0 * mli_shape_numel(&n->ishape[k]);
        c.x[k] = c.x[k] ? c.x[k] + nx : NULL;
        c.dx[k] = c.dx[k] ? c.dx[k] + nx : NULL;
    }
    c.y = c.y ? c.y + (size_t)i0 * n->size : NULL;
    c.dy = c.dy ? c.dy + (size_t)i0 * n->size : NULL;
    if (j->backward)
        n->op->backward(n, &c);
    else
        n->op->forward(n, &c);
}

static void node_run(const mli_node *n, mli_opctx *c, int backward)
{
    size_t len = (size_t)c->B * n->size;
    int nt = mli_parallel_threads();
    if (!n->op->rowwise || nt < 2 || c->B < 2 || len < MLI_PARALLEL_MIN_VALUES) {
        if (backward)
            n->op->backward(n, c);
        else
            n->op->forward(n, c);
        return;
    }
    rowwise_job j = {n, c, backward};
    mli_parallel_tasks(c->B, nt, rowwise_range, &j);
}

/* The inputs of node i: the data or earlier nodes' outputs (vals) */
static void node_inputs(const mli_node *n, mli_real *const *vals, const mli_real *X, const mli_real **x)
{
    for (int k = 0; k < n->nin; k++)
        x[k] = n->in[k] == MLI_GRAPH_INPUT ? X : vals[n->in[k]];
}

const mli_real *mli_net_forward(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                mli_ws *w, const mli_real *X, int B, mli_mode mode)
{
    return mli_net_forward_from(a, theta, bufs, w, 0, X, B, mode);
}

const mli_real *mli_net_forward_from(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                     mli_ws *w, int n0, const mli_real *X, int B, mli_mode mode)
{
    mli_net_forward_range(a, theta, bufs, w, n0, a->nnodes, X, B, mode);
    return w->out[a->nnodes - 1];
}

void mli_net_forward_range(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w, int n0, int n1,
                           const mli_real *X, int B, mli_mode mode)
{
    mli_opctx c = {.a = a, .B = B, .mode = mode, .theta = theta, .bufs = bufs, .scratch = w->scratch,
                   .work = w->work};
    for (int i = n0; i < n1; i++) {
        const mli_node *n = &a->nodes[i];
        node_inputs(n, w->out, X, c.x);
        c.y = w->out[i];
        c.save = w->save[i];
        node_run(n, &c, 0);
    }
}

void mli_net_forward_node(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w, int i,
                          const mli_real *const *x, mli_real *y, int B, mli_mode mode)
{
    const mli_node *n = &a->nodes[i];
    mli_opctx c = {.a = a, .B = B, .mode = mode, .theta = theta, .bufs = bufs, .scratch = w->scratch,
                   .work = w->work, .y = y, .save = w->save[i]};
    for (int k = 0; k < n->nin; k++)
        c.x[k] = x[k];
    node_run(n, &c, 0);
}

void mli_net_backward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                      mli_ws *w, const mli_real *X, int B, mli_mode mode, const mli_real *dZ,
                      mli_real *grad)
{
    unsigned char seen[MLI_MAX_NODES] = {0};
    size_t stride = (size_t)w->bmax * (size_t)a->width_max, len[MLI_NODE_MAXIN];
    mli_opctx c = {.a = a, .B = B, .mode = mode, .theta = theta, .bufs = (mli_real *)bufs, .scratch = w->scratch,
                   .grad = grad, .work = w->work};
    for (int i = a->nnodes - 1; i >= 0; i--) {
        const mli_node *n = &a->nodes[i];
        node_inputs(n, w->out, X, c.x);
        c.y = w->out[i];
        c.save = w->save[i];
        c.dy = i == a->nnodes - 1 ? dZ : w->g[i];
        mli_graph_grad_route(a, i, w->g, w->acc, stride, seen, c.dx);
        node_run(n, &c, 1);
        for (int k = 0; k < n->nin; k++)
            len[k] = (size_t)B * mli_shape_numel(&n->ishape[k]);
        mli_graph_grad_collect(a, i, w->g, w->acc, stride, c.dx, len);
    }
}

double mli_net_loss_grad(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w,
                         const mli_batch *b, mli_mode mode, mli_real *grad, long *correct)
{
    const mli_real *Z = mli_net_forward(a, theta, bufs, w, b->x, b->n, mode);
    const mli_real *T = a->loss == MLI_LOSS_RECON ? b->x : b->t;
    double sum = mli_loss_eval(a->loss, Z, b->n, a->nout, b->y, T, grad ? w->dz : NULL, w->loss,
                               correct);
    if (grad)
        mli_net_backward(a, theta, bufs, w, b->x, b->n, mode, w->dz, grad);
    return sum / b->n;
}

mli_batch mli_batch_rows(const mli_data *d, int i0, int n)
{
    mli_batch b = {n, d->x + (size_t)i0 * d->d, d->y ? d->y + i0 : NULL,
                   d->t ? d->t + (size_t)i0 * d->k : NULL};
    return b;
}

void mli_net_evaluate(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_ws *w,
                      const mli_data *d, double *loss, double *acc, double *per_example)
{
    double sum = 0;
    long correct = 0;
    for (int i0 = 0; i0 < d->n; i0 += w->bmax) {
        int n = d->n - i0 < w->bmax ? d->n - i0 : w->bmax;
        mli_batch b = mli_batch_rows(d, i0, n);
        /* eval mode never writes the buffers: the cast only satisfies the shared signature */
        sum += n * mli_net_loss_grad(a, theta, (mli_real *)bufs, w, &b, MLI_MODE_EVAL, NULL, &correct);
        if (per_example)
            memcpy(per_example + i0, w->loss, sizeof(double) * (size_t)n);
    }
    *loss = sum / d->n;
    *acc = a->loss == MLI_LOSS_RECON ? NAN : (double)correct / d->n;
}

double mli_param_dist(const mli_real *a, const mli_real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? b[i] : 0);
        s += d * d;
    }
    return sqrt(s);
}
