/* Double-precision loss with the float32 error bound; see reeval.h. The per-node rules are
 * the operators' (mli_op.reeval); this file walks the graph and adds the loss. */
#include "geometry/reeval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/op.h"

/* 1 if every node reads only its predecessor (the first: the data): two buffers suffice */
static int is_chain(const mli_arch *a)
{
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].nin != 1 || a->nodes[i].in[0] != i - 1)
            return 0;
    return 1;
}

double mli_reeval_loss(const mli_reeval_ctx *c, const mli_real *x, int y, const mli_real *t, double alpha,
                      double *cond, double *work)
{
    const mli_arch *a = c->a;
    int wm = a->width_max, chain = is_chain(a);
    double *h0 = work, *e0 = work + wm, *own = NULL;
    for (int i = 0; i < a->input_size; i++) {
        h0[i] = x[i];
        e0[i] = 0; /* the data are what the float engine reads: exact */
    }
    const mli_real *bufs = NULL;
    if (c->bufs && c->n_alpha > 0) {
        long g = lround(alpha * (c->n_alpha - 1));
        g = g < 0 ? 0 : g >= c->n_alpha ? c->n_alpha - 1 : g;
        bufs = c->bufs + (size_t)g * a->nbuffers;
    }
    /* values and bounds of every node: ping-pong in work for a chain, else one block each */
    double *hv[MLI_MAX_NODES], *ev[MLI_MAX_NODES];
    if (!chain) {
        size_t tot = 0;
        for (int i = 0; i < a->nnodes; i++)
            tot += a->nodes[i].size;
        own = mli_malloc(sizeof(double) * 2 * tot);
        for (int i = 0, o = 0; i < a->nnodes; o += (int)a->nodes[i].size, i++) {
            hv[i] = own + o;
            ev[i] = own + tot + o;
        }
    } else
        for (int i = 0; i < a->nnodes; i++) {
            hv[i] = work + (i & 1 ? 0 : 2) * (size_t)wm;
            ev[i] = hv[i] + wm;
        }
    for (int i = 0; i < a->nnodes; i++) {
        const mli_node *n = &a->nodes[i];
        const double *hin[MLI_NODE_MAXIN], *ein[MLI_NODE_MAXIN];
        for (int k = 0; k < n->nin; k++) {
            hin[k] = n->in[k] == MLI_GRAPH_INPUT ? h0 : hv[n->in[k]];
            ein[k] = n->in[k] == MLI_GRAPH_INPUT ? e0 : ev[n->in[k]];
        }
        n->op->reeval(n, c->theta0, c->theta1, bufs, alpha, hin, ein, hv[i], ev[i]);
    }
    const double *h = hv[a->nnodes - 1], *e = ev[a->nnodes - 1];
    int k = a->nout;
    double l = 0, K = 0;
    if (a->loss == MLI_LOSS_CE) {
        double mx = h[0], s = 0;
        for (int j = 1; j < k; j++)
            mx = fmax(mx, h[j]);
        for (int j = 0; j < k; j++)
            s += exp(h[j] - mx);
        double lse = mx + log(s);
        l = lse - h[y];
        for (int j = 0; j < k; j++)
            K += (exp(h[j] - lse) + (j == y)) * e[j];
    } else {
        for (int j = 0; j < k; j++) {
            double target = t ? (double)t[j] : (double)(j == y);
            double r = h[j] - target;
            l += r * r;
            K += 2 * fabs(r) * e[j];
        }
    }
    free(own);
    if (cond)
        *cond = K;
    return l;
}
