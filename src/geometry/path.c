#include "geometry/path.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "io/err.h"
#include "nn/layers.h"
#include "nn/op.h"
#include "nn/net.h"
#include "nn/taylor.h"

typedef struct {
    int h;            /* the hoisted node (mli_graph_hoisted), −1: none */
    int fuse;         /* its only consumer is elementwise (mli_op.forward_lincomb): applied in the same pass */
    mli_real *theta, *p0, *p1;
    mli_real *delta;  /* Δ with the hoisted node's parameters zeroed: they live in P0/P1 */
    mli_real *vprev; /* velocities at the previous α, chunk × nout */
    mli_ws *ws;
    mli_tws *tws;
    double *l, *dl, *gn, *cv;
} chunk_ws;

static void chunk_ws_init(chunk_ws *w, const mli_arch *a, int chunk, int taylor)
{
    w->h = mli_graph_hoisted(a);
    size_t n1 = w->h >= 0 ? a->nodes[w->h].size : 1;
    w->fuse = 0;
    if (w->h >= 0 && a->nodes[w->h].nuse == 1 && w->h + 1 < a->nnodes) {
        const mli_node *s = &a->nodes[w->h + 1];
        w->fuse = s->nin == 1 && s->in[0] == w->h && s->op->forward_lincomb;
    }
    w->theta = mli_malloc(sizeof(mli_real) * a->nparams);
    w->delta = mli_malloc(sizeof(mli_real) * a->nparams);
    w->p0 = mli_malloc(sizeof(mli_real) * chunk * n1);
    w->p1 = mli_malloc(sizeof(mli_real) * chunk * n1);
    w->ws = mli_ws_new(a, chunk);
    w->tws = taylor ? mli_tws_new(a, chunk) : NULL;
    w->vprev = mli_malloc(sizeof(mli_real) * (size_t)chunk * a->nout);
    w->l = mli_malloc(sizeof(double) * 4 * (size_t)chunk);
    w->dl = w->l + chunk;
    w->gn = w->dl + chunk;
    w->cv = w->gn + chunk;
}

static void chunk_ws_free(chunk_ws *w)
{
    free(w->theta);
    free(w->delta);
    free(w->p0);
    free(w->p1);
    mli_ws_free(w->ws);
    mli_tws_free(w->tws);
    free(w->vprev);
    free(w->l);
}

/* 1 if tensor t belongs to node h (its parameters are folded into P0/P1) */
static int hoisted_tensor(const mli_arch *a, int h, int t)
{
    if (h < 0)
        return 0;
    for (int k = 0; k < a->nodes[h].nt; k++)
        if (a->nodes[h].tensor[k] == t)
            return 1;
    return 0;
}

/* θ(α) for every parameter tensor but the hoisted node's: its products with the inputs,
 * constant term folded in, are computed once per chunk (first_layer) and combined per α. */
static void interpolate(const mli_path_ctx *c, const chunk_ws *w, double alpha, mli_real *theta)
{
    const mli_arch *a = c->a;
    for (int t = 0; t < a->ntensors; t++) {
        const mli_tensor *T = &a->tensors[t];
        if (T->is_buffer || hoisted_tensor(a, w->h, t))
            continue;
        for (size_t i = T->off; i < T->off + T->numel; i++)
            theta[i] = c->theta0[i] + (mli_real)alpha * c->delta[i];
    }
}

static const mli_real *bufs_at(const mli_path_ctx *c, int j)
{
    return c->bufs ? c->bufs + (size_t)j * c->a->nbuffers : NULL;
}

/* P0 = f(X; θ₀) and P1 = f(X; Δ) of the hoisted node for the m rows of the chunk (the FCNet:
 * X W₀ᵀ + b₀, X ΔWᵀ + Δb): its output at α is then P0 + αP1, with no GEMM and no bias pass
 * per α. */
static void first_layer(const mli_path_ctx *c, chunk_ws *w, const mli_real *X, int m)
{
    if (w->h >= 0)
        mli_taylor_hoisted_outputs(c->a, c->theta0, c->delta, X, m, w->p0, w->p1);
}

/* Values only for rows [r0, r1) of the chunk: returns Σℓ and adds to *correct. */
static double values(const mli_path_ctx *c, chunk_ws *w, const mli_data *d, int i0, int r0, int r1,
                     int j, long *correct)
{
    const mli_arch *a = c->a;
    int B = r1 - r0;
    mli_batch bt = mli_batch_rows(d, i0 + r0, B);
    const mli_real *Z;
    if (w->h < 0)
        Z = mli_net_forward(a, w->theta, (mli_real *)bufs_at(c, j), w->ws, bt.x, B, MLI_MODE_EVAL);
    else {
        size_t n1 = a->nodes[w->h].size, n = (size_t)B * n1;
        const mli_real al = (mli_real)c->alpha[j];
        const mli_real *restrict P0 = w->p0 + (size_t)r0 * n1, *restrict P1 = w->p1 + (size_t)r0 * n1;
        /* when an elementwise node follows, apply it in the same pass (one sweep over memory less) */
        if (w->fuse) {
            const mli_node *s = &a->nodes[w->h + 1];
            mli_opctx oc = {.a = a, .B = B, .y = w->ws->out[w->h + 1], .alpha = c->alpha[j]};
            oc.x[0] = P0;
            oc.x[1] = P1;
            s->op->forward_lincomb(s, &oc);
        } else {
            mli_real *restrict H = w->ws->out[w->h];
            for (size_t k = 0; k < n; k++)
                H[k] = P0[k] + al * P1[k];
        }
        Z = mli_net_forward_from(a, w->theta, (mli_real *)bufs_at(c, j), w->ws, w->h + 1 + w->fuse, bt.x, B,
                                 MLI_MODE_EVAL);
    }
    const mli_real *T = a->loss == MLI_LOSS_RECON ? bt.x : bt.t;
    return mli_loss_eval(a->loss, Z, B, a->nout, bt.y, T, NULL, w->l, correct);
}

static double angle(const mli_real *u, const mli_real *v, int k)
{
    double uv = 0, uu = 0, vv = 0;
    for (int i = 0; i < k; i++) {
        uv += (double)u[i] * v[i];
        uu += (double)u[i] * u[i];
        vv += (double)v[i] * v[i];
    }
    if (uu == 0 || vv == 0)
        return 0;
    double c = uv / sqrt(uu * vv);
    return acos(c > 1 ? 1 : c < -1 ? -1 : c);
}

/* rows of this call are examples e0 .. e0+B−1; their chunk rows start at r0 */
static void record_geometry(const mli_path_ctx *c, const mli_real *Z, int Bz, int B, int e0, int r0,
                            chunk_ws *w, int j, mli_path_examples *ex)
{
    int k = c->a->nout;
    size_t blk = (size_t)Bz * k;
    for (int i = 0; i < B; i++) {
        const mli_real *v = Z + blk + (size_t)i * k;
        mli_real *vp = w->vprev + (size_t)(r0 + i) * k;
        size_t at = (size_t)(e0 + i) * c->n_alpha + j;
#ifdef MLI_DOUBLE
        mli_curve_point p = mli_curve_point_eval(Z + blk + (size_t)i * k, Z + 2 * blk + (size_t)i * k, k);
#else
        mli_curve_point p = mli_curve_point_evalf(Z + blk + (size_t)i * k, Z + 2 * blk + (size_t)i * k, k);
#endif
        ex->loss[at] = w->l[i];
        ex->dl[at] = w->dl[i];
        ex->d2l_gn[at] = w->gn[i];
        ex->d2l_curv[at] = w->cv[i];
        ex->speed[at] = p.speed;
        ex->curvature[at] = p.curvature;
        ex->gauss_speed[at] = p.gauss_speed;
        ex->degenerate[at] = (unsigned char)p.degenerate;
        ex->turn[at] = j ? angle(vp, v, k) : 0;
        memcpy(vp, v, sizeof(mli_real) * (size_t)k);
    }
}

/* Taylor mode for rows [r0, r1): Σℓ, Σdℓ, Σgn, Σcurv into s[4]. */
static void derivs(const mli_path_ctx *c, chunk_ws *w, const mli_data *d, int i0, int r0, int r1, int j,
                   long *correct, double *s, mli_path_examples *ex, int n_geo)
{
    const mli_arch *a = c->a;
    int B = r1 - r0;
    size_t n1 = w->h >= 0 ? a->nodes[w->h].size : 0;
    mli_batch bt = mli_batch_rows(d, i0 + r0, B);
    const mli_real *Z = mli_net_tangent(a, w->theta, w->delta, bufs_at(c, j), w->tws, bt.x, B,
                                        w->h >= 0 ? w->p0 + (size_t)r0 * n1 : NULL,
                                        w->h >= 0 ? w->p1 + (size_t)r0 * n1 : NULL, c->alpha[j]);
    const mli_real *T = a->loss == MLI_LOSS_RECON ? bt.x : bt.t;
    s[0] += mli_loss_tangent(a->loss, Z, B, a->nout, bt.y, T, w->l, w->dl, w->gn, w->cv, correct);
    for (int i = 0; i < B; i++) {
        s[1] += w->dl[i];
        s[2] += w->gn[i];
        s[3] += w->cv[i];
    }
    int geo = n_geo - (i0 + r0);
    if (ex && geo > 0)
        record_geometry(c, Z, B, geo < B ? geo : B, i0 + r0, r0, w, j, ex);
}

/* θ and Δ as the per-α passes see them: the hoisted node's parameters are zero in both,
 * since they are folded into P0 and P1. */
static void prepare(const mli_path_ctx *c, chunk_ws *w)
{
    const mli_arch *a = c->a;
    memcpy(w->theta, c->theta0, sizeof(mli_real) * a->nparams);
    memcpy(w->delta, c->delta, sizeof(mli_real) * a->nparams);
    for (int k = 0; w->h >= 0 && k < a->nodes[w->h].nt; k++) {
        const mli_tensor *T = &a->tensors[a->nodes[w->h].tensor[k]];
        if (T->is_buffer)
            continue;
        memset(mli_node_view(&a->nodes[w->h], k, w->theta), 0, sizeof(mli_real) * T->numel);
        memset(mli_node_view(&a->nodes[w->h], k, w->delta), 0, sizeof(mli_real) * T->numel);
    }
}

static double *alloc_or_null(int want, int n) { return want ? mli_calloc((size_t)n, sizeof(double)) : NULL; }

static void examples_alloc(mli_path_examples *ex, int n, int n_alpha)
{
    size_t m = (size_t)n * n_alpha;
    ex->n = n;
    ex->n_alpha = n_alpha;
    ex->loss = mli_calloc(m * 8, sizeof(double));
    ex->dl = ex->loss + m;
    ex->d2l_gn = ex->dl + m;
    ex->d2l_curv = ex->d2l_gn + m;
    ex->speed = ex->d2l_curv + m;
    ex->curvature = ex->speed + m;
    ex->gauss_speed = ex->curvature + m;
    ex->turn = ex->gauss_speed + m;
    ex->degenerate = mli_calloc(m, 1);
}

void mli_path_eval(const mli_path_ctx *c, const mli_data *d, int derivs_all, int n_geo,
                   mli_path_means *means, mli_path_examples *ex)
{
    const mli_arch *a = c->a;
    int na = c->n_alpha, chunk = c->chunk > 0 ? c->chunk : 1024;
    n_geo = n_geo < d->n ? n_geo : d->n;
    int n_taylor = derivs_all ? d->n : n_geo;
    chunk_ws w;
    chunk_ws_init(&w, a, chunk, n_taylor > 0);
    memset(means, 0, sizeof *means);
    means->loss = mli_calloc((size_t)na, sizeof(double));
    means->acc = mli_calloc((size_t)na, sizeof(double));
    means->dl = alloc_or_null(derivs_all, na);
    means->d2l = alloc_or_null(derivs_all, na);
    means->d2l_gn = alloc_or_null(derivs_all, na);
    means->d2l_curv = alloc_or_null(derivs_all, na);
    if (ex && n_geo > 0)
        examples_alloc(ex, n_geo, na);
    long *correct = mli_calloc((size_t)na, sizeof(long));
    double *sums = mli_calloc(4 * (size_t)na, sizeof(double));
    prepare(c, &w);
    int nchunks = (d->n + chunk - 1) / chunk;
    for (int i0 = 0, ci = 0; i0 < d->n; i0 += chunk, ci++) {
        int m = d->n - i0 < chunk ? d->n - i0 : chunk;
        first_layer(c, &w, d->x + (size_t)i0 * d->d, m);
        int split = n_taylor - i0; /* rows [0, split) of the chunk take Taylor mode */
        split = split < 0 ? 0 : split > m ? m : split;
        for (int j = 0; j < na; j++) {
            interpolate(c, &w, c->alpha[j], w.theta);
            if (split > 0) {
                double s[4] = {0};
                derivs(c, &w, d, i0, 0, split, j, &correct[j], s, ex && n_geo > 0 ? ex : NULL, n_geo);
                for (int q = 0; q < 4; q++)
                    sums[4 * j + q] += s[q];
            }
            if (split < m)
                sums[4 * j] += values(c, &w, d, i0, split, m, j, &correct[j]);
            if (c->progress)
                mli_progress_show(c->progress, "%s: chunk %d/%d  alpha %d/%d", c->label, ci + 1, nchunks, j + 1, na);
        }
    }
    for (int j = 0; j < na; j++) {
        means->loss[j] = sums[4 * j] / d->n;
        means->acc[j] = a->loss == MLI_LOSS_RECON ? NAN : (double)correct[j] / d->n;
        if (derivs_all) {
            means->dl[j] = sums[4 * j + 1] / d->n;
            means->d2l_gn[j] = sums[4 * j + 2] / d->n;
            means->d2l_curv[j] = sums[4 * j + 3] / d->n;
            means->d2l[j] = means->d2l_gn[j] + means->d2l_curv[j];
        }
    }
    free(correct);
    free(sums);
    chunk_ws_free(&w);
}

void mli_path_losses(const mli_path_ctx *c, const mli_data *d, int n, double *out)
{
    int chunk = c->chunk > 0 ? c->chunk : 1024;
    n = n < d->n ? n : d->n;
    chunk_ws w;
    chunk_ws_init(&w, c->a, chunk, 0);
    prepare(c, &w);
    for (int i0 = 0; i0 < n; i0 += chunk) {
        int m = n - i0 < chunk ? n - i0 : chunk;
        first_layer(c, &w, d->x + (size_t)i0 * d->d, m);
        for (int j = 0; j < c->n_alpha; j++) {
            interpolate(c, &w, c->alpha[j], w.theta);
            values(c, &w, d, i0, 0, m, j, NULL);
            for (int i = 0; i < m; i++)
                out[(size_t)(i0 + i) * c->n_alpha + j] = w.l[i];
            if (c->progress)
                mli_progress_show(c->progress, "%s: examples %d/%d  alpha %d/%d", c->label, i0 + m, n, j + 1,
                                  c->n_alpha);
        }
    }
    chunk_ws_free(&w);
}

void mli_path_means_free(mli_path_means *m)
{
    free(m->loss);
    free(m->acc);
    free(m->dl);
    free(m->d2l);
    free(m->d2l_gn);
    free(m->d2l_curv);
    memset(m, 0, sizeof *m);
}

void mli_path_examples_free(mli_path_examples *e)
{
    free(e->loss);
    free(e->degenerate);
    memset(e, 0, sizeof *e);
}

/* ---- batch-norm statistics along the path ---- */

static void interpolate_all(const mli_arch *a, const mli_real *t0, const mli_real *d, double alpha, mli_real *t)
{
    for (size_t i = 0; i < a->nparams; i++)
        t[i] = t0[i] + (mli_real)alpha * d[i];
}

double mli_path_bn_reset_weight(int n, int batchsize, mli_bn_stats mode)
{
    if (mode != MLI_BN_EMA || batchsize < 1)
        return 0;
    int b = 0;
    for (int i0 = 0; i0 + 1 < n; i0 += batchsize) /* the batches bn_ema passes */
        b += n - i0 >= 2;
    return pow(1 - MLI_BN_MOMENTUM, b);
}

static void bn_ema(const mli_arch *a, const mli_real *theta, const mli_data *train, int B, mli_ws *ws,
                   mli_real *bufs)
{
    mli_arch_init_buffers(a, bufs);
    for (int i0 = 0; i0 + 1 < train->n; i0 += B) {
        int m = train->n - i0 < B ? train->n - i0 : B;
        if (m < 2)
            break; /* as in training: batch norm is undefined on one example */
        mli_net_forward(a, theta, bufs, ws, train->x + (size_t)i0 * train->d, m, MLI_MODE_TRAIN);
    }
}

/* Node-major exact statistics: every node's output over the whole set is computed once, in
 * chunks of ws->bmax examples, and kept until its last reader has run, so each batch-norm node
 * gets its statistics from a tensor that is already there. One forward pass in all, instead of
 * one (partial) pass per batch-norm node; the chunks, and so every sum, are those of the
 * node-at-a-time passes below. Returns 0 (nothing done) when the live tensors would exceed
 * MLI_BN_EXACT_MEM bytes. */
static int bn_exact_node_major(const mli_arch *a, const mli_real *theta, const mli_data *train, mli_ws *ws,
                               mli_real *bufs)
{
    int last_stats = -1, last_use[MLI_MAX_NODES];
    for (int i = 0; i < a->nnodes; i++) {
        last_use[i] = -1;
        if (a->nodes[i].op->stats)
            last_stats = i;
        for (int k = 0; k < a->nodes[i].nin; k++)
            if (a->nodes[i].in[k] != MLI_GRAPH_INPUT)
                last_use[a->nodes[i].in[k]] = i;
    }
    size_t live = 0, peak = 0, N = (size_t)train->n;
    for (int i = 0; i < last_stats; i++) { /* the nodes after the last batch norm's input are not needed */
        live += N * a->nodes[i].size * sizeof(mli_real);
        peak = live > peak ? live : peak;
        for (int j = 0; j <= i; j++)
            if (last_use[j] == i)
                live -= N * a->nodes[j].size * sizeof(mli_real);
    }
    if (peak > MLI_BN_EXACT_MEM)
        return 0;
    mli_real *full[MLI_MAX_NODES] = {0};
    for (int i = 0; i <= last_stats; i++) {
        const mli_node *n = &a->nodes[i];
        const mli_real *x[MLI_NODE_MAXIN];
        if (n->op->stats) {
            double *acc = mli_calloc(n->op->stats_size(n), sizeof(double));
            const mli_real *in = n->in[0] == MLI_GRAPH_INPUT ? train->x : full[n->in[0]];
            size_t d = n->in[0] == MLI_GRAPH_INPUT ? (size_t)train->d : (size_t)a->nodes[n->in[0]].size;
            for (int i0 = 0; i0 < train->n; i0 += ws->bmax) {
                int m = train->n - i0 < ws->bmax ? train->n - i0 : ws->bmax;
                n->op->stats(n, in + (size_t)i0 * d, m, acc, i0 == 0);
            }
            n->op->stats_final(n, acc, train->n, bufs);
            free(acc);
        }
        if (i == last_stats)
            break;
        full[i] = mli_malloc(sizeof(mli_real) * N * n->size);
        for (int i0 = 0; i0 < train->n; i0 += ws->bmax) {
            int m = train->n - i0 < ws->bmax ? train->n - i0 : ws->bmax;
            for (int k = 0; k < n->nin; k++)
                x[k] = n->in[k] == MLI_GRAPH_INPUT ? train->x + (size_t)i0 * train->d
                                                   : full[n->in[k]] + (size_t)i0 * a->nodes[n->in[k]].size;
            mli_net_forward_node(a, theta, bufs, ws, i, x, full[i] + (size_t)i0 * n->size, m, MLI_MODE_EVAL);
        }
        for (int j = 0; j <= i; j++)
            if (last_use[j] == i) {
                free(full[j]);
                full[j] = NULL;
            }
    }
    for (int i = 0; i < a->nnodes; i++)
        free(full[i]);
    return 1;
}

/* Population statistics, one node at a time (mli_op.stats: batch norm): the input of node l
 * depends on the statistics of the nodes before it, which are final by then. Node-major when
 * the tensors fit (above); otherwise each pass runs only the nodes before l, so a network with
 * many batch-norm nodes (a ResNet-20 has 19) costs about half a forward pass per node. */
static void bn_exact(const mli_arch *a, const mli_real *theta, const mli_data *train, mli_ws *ws, mli_real *bufs)
{
    mli_arch_init_buffers(a, bufs);
    if (!getenv("MLI_BN_NODE_AT_A_TIME") && bn_exact_node_major(a, theta, train, ws, bufs))
        return;
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *n = &a->nodes[l];
        if (!n->op->stats)
            continue;
        double *acc = mli_calloc(n->op->stats_size(n), sizeof(double));
        for (int i0 = 0; i0 < train->n; i0 += ws->bmax) {
            int m = train->n - i0 < ws->bmax ? train->n - i0 : ws->bmax;
            const mli_real *X = train->x + (size_t)i0 * train->d;
            mli_net_forward_range(a, theta, bufs, ws, 0, l, X, m, MLI_MODE_EVAL);
            n->op->stats(n, n->in[0] == MLI_GRAPH_INPUT ? X : ws->out[n->in[0]], m, acc, i0 == 0);
        }
        n->op->stats_final(n, acc, train->n, bufs);
        free(acc);
    }
}

mli_real *mli_path_bn_stats(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const double *alpha, int n_alpha, const mli_data *train, int batchsize,
                            mli_bn_stats mode, mli_progress *progress)
{
    mli_real *all = mli_malloc(sizeof(mli_real) * (size_t)n_alpha * (a->nbuffers + 1));
    mli_real *theta = mli_malloc(sizeof(mli_real) * a->nparams);
    int B = mode == MLI_BN_EMA ? batchsize : 1024;
    mli_ws *ws = mli_ws_new(a, B);
    for (int j = 0; j < n_alpha; j++) {
        interpolate_all(a, theta0, delta, alpha[j], theta);
        mli_real *bufs = all + (size_t)j * a->nbuffers;
        if (mode == MLI_BN_EMA)
            bn_ema(a, theta, train, B, ws, bufs);
        else
            bn_exact(a, theta, train, ws, bufs);
        if (progress)
            mli_progress_show(progress, "batch-norm statistics: alpha %d/%d", j + 1, n_alpha);
    }
    mli_ws_free(ws);
    free(theta);
    return all;
}
