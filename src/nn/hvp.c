/* Hessian-vector products over the graph: R-forward, loss R-op, R-backward. */
#include "nn/hvp.h"

#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/layers.h"
#include "nn/op.h"

mli_hvp_ws *mli_hvp_ws_new(const mli_arch *a, int bmax)
{
    mli_hvp_ws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    w->nparams = a->nparams;
    for (int i = 0; i < a->nnodes; i++) {
        w->f[i] = mli_malloc(sizeof(mli_real) * 2 * (size_t)bmax * a->nodes[i].size);
        w->g[i] = mli_malloc(sizeof(mli_real) * 2 * (size_t)bmax * a->nodes[i].size);
    }
    w->xr = mli_calloc(2 * (size_t)bmax * (size_t)a->input_size, sizeof(mli_real));
    w->acc = mli_graph_has_fanout(a)
                 ? mli_malloc(sizeof(mli_real) * MLI_NODE_MAXIN * 2 * (size_t)bmax * (size_t)a->width_max)
                 : NULL;
    w->loss = mli_malloc(sizeof(double) * (size_t)bmax);
    w->scratch = mli_malloc(sizeof(double) * 3 * (size_t)a->width_max);
    w->u = mli_malloc(sizeof(mli_real) * a->nparams);
    w->hv = mli_malloc(sizeof(mli_real) * a->nparams);
    w->work = mli_malloc(sizeof(mli_real) * mli_graph_work_size(a));
    return w;
}

void mli_hvp_ws_free(mli_hvp_ws *w)
{
    if (!w)
        return;
    for (int i = 0; i < MLI_MAX_NODES; i++) {
        free(w->f[i]);
        free(w->g[i]);
    }
    free(w->xr);
    free(w->acc);
    free(w->loss);
    free(w->scratch);
    free(w->u);
    free(w->hv);
    free(w->work);
    free(w);
}

/* Whether input k of node n carries an R block: every node's output does, the data does not
 * (unless the node's rules need one: then the engine passes [X; 0]). */
static int input_has_r(const mli_node *n, int k)
{
    return n->in[k] != MLI_GRAPH_INPUT || !n->op->rop_const_input;
}

/* need[i] = 1 if the gradient dY at node i's output must be computed: node i reads it, or
 * must pass it on to an input that needs it. Nodes are in topological order, so the inputs'
 * needs are known first. */
static void grad_needs(const mli_arch *a, int *need)
{
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        int has_r[MLI_NODE_MAXIN];
        for (int k = 0; k < n->nin; k++)
            has_r[k] = input_has_r(n, k);
        need[i] = n->op->rop_reads_grad(n, has_r);
        for (int k = 0; k < n->nin; k++)
            need[i] |= n->in[k] != MLI_GRAPH_INPUT && need[n->in[k]];
    }
}

/* The inputs of node n for the R-op: producers' [Y; R{Y}], the data alone or as [X; 0] */
static void rop_inputs(const mli_node *n, mli_hvp_ws *w, const mli_real *X, mli_opctx *c)
{
    for (int k = 0; k < n->nin; k++) {
        c->has_r[k] = input_has_r(n, k);
        c->x[k] = n->in[k] != MLI_GRAPH_INPUT ? w->f[n->in[k]] : c->has_r[k] ? w->xr : X;
    }
}

/* [Y; R{Y}] for every node; returns the top block [Z; R{Z}]. */
static const mli_real *rop_forward(const mli_arch *a, mli_opctx *c, mli_hvp_ws *w, const mli_real *X)
{
    int xr = 0;
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        rop_inputs(n, w, X, c);
        for (int k = 0; k < n->nin; k++)
            if (c->x[k] == w->xr && !xr) {
                memcpy(w->xr, X, sizeof(mli_real) * (size_t)c->B * a->input_size);
                memset(w->xr + (size_t)c->B * a->input_size, 0, sizeof(mli_real) * (size_t)c->B * a->input_size);
                xr = 1;
            }
        c->y = w->f[i];
        n->op->rop_forward(n, c);
    }
    return w->f[a->nnodes - 1];
}

/* From [R{dZ}; dZ] in w->g[last], R{∇θ} into c->grad. */
static void rop_backward(const mli_arch *a, mli_opctx *c, mli_hvp_ws *w, const mli_real *X)
{
    int need[MLI_MAX_NODES];
    unsigned char seen[MLI_MAX_NODES] = {0};
    size_t stride = 2 * (size_t)w->bmax * (size_t)a->width_max, len[MLI_NODE_MAXIN];
    grad_needs(a, need);
    for (int i = a->nnodes - 1; i >= 0; i--) {
        const mli_node *n = &a->nodes[i];
        rop_inputs(n, w, X, c);
        c->y = w->f[i];
        c->dy = w->g[i];
        mli_graph_grad_route(a, i, w->g, w->acc, stride, seen, c->dx);
        for (int k = 0; k < n->nin; k++) {
            int p = n->in[k];
            c->want_dx[k] = p != MLI_GRAPH_INPUT && need[p];
            len[k] = p == MLI_GRAPH_INPUT ? 0 : (size_t)(c->want_dx[k] ? 2 : 1) * c->B * a->nodes[p].size;
        }
        n->op->rop_backward(n, c);
        mli_graph_grad_collect(a, i, w->g, w->acc, stride, c->dx, len);
    }
}

double mli_net_hvp(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                   mli_hvp_ws *w, const mli_batch *b, const mli_real *u, mli_real *hv)
{
    int B = b->n, k = a->nout;
    mli_opctx c = {.a = a, .B = B, .mode = MLI_MODE_EVAL, .theta = theta, .dir = u, .bufs = (mli_real *)bufs,
                   .scratch = w->scratch, .grad = hv, .work = w->work};
    const mli_real *ZR = rop_forward(a, &c, w, b->x);
    const mli_real *T = a->loss == MLI_LOSS_RECON ? b->x : b->t;
    mli_real *G = w->g[a->nnodes - 1];
    /* G = [R{dZ}; dZ]: dZ is the gradient of the mean loss, R{dZ} its R-op */
    double sum = mli_loss_eval(a->loss, ZR, B, k, b->y, T, G + (size_t)B * k, w->loss, NULL);
    mli_loss_rop(a->loss, ZR, ZR + (size_t)B * k, B, k, G);
    rop_backward(a, &c, w, b->x);
    return sum / B;
}

double mli_hvp_gemm_flops(const mli_arch *a, double n)
{
    int need[MLI_MAX_NODES];
    grad_needs(a, need);
    double fl = 0;
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *nd = &a->nodes[i];
        if (!nd->op->flops)
            continue;
        int p = nd->in[0];
        fl += nd->op->flops(nd, n, 1, input_has_r(nd, 0), p != MLI_GRAPH_INPUT && need[p]);
    }
    return fl;
}

double mli_grad_gemm_flops(const mli_arch *a, double n)
{
    double fl = 0;
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *nd = &a->nodes[i];
        if (nd->op->flops)
            fl += nd->op->flops(nd, n, 0, nd->in[0] != MLI_GRAPH_INPUT, 0);
    }
    return fl;
}
