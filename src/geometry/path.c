#include "geometry/path.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "io/err.h"
#include "nn/layers.h"
#include "nn/net.h"
#include "nn/taylor.h"

typedef struct {
    mli_real *theta, *p0, *p1;
    mli_real *delta;  /* Δ with the first layer's bias zeroed: that bias lives in P0/P1 */
    mli_real *vprev; /* velocities at the previous α, chunk × nout */
    mli_ws *ws;
    mli_tws *tws;
    double *l, *dl, *gn, *cv;
} chunk_ws;

static void chunk_ws_init(chunk_ws *w, const mli_arch *a, int chunk, int taylor)
{
    size_t n1 = (size_t)a->layers[0].out;
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

/* θ(α) for every layer but the first: its products with the inputs, bias folded in, are
 * computed once per chunk (first_layer) and combined per α. */
static void interpolate(const mli_path_ctx *c, double alpha, mli_real *theta)
{
    const mli_layer *L0 = &c->a->layers[0];
    size_t from = L0->p + (size_t)L0->out * (L0->in + 1);
    for (size_t i = from; i < c->a->nparams; i++)
        theta[i] = c->theta0[i] + (mli_real)alpha * c->delta[i];
}

static const mli_real *bufs_at(const mli_path_ctx *c, int j)
{
    return c->bufs ? c->bufs + (size_t)j * c->a->nbuffers : NULL;
}

/* P0 = X W₀ᵀ + b₀ and P1 = X ΔWᵀ + Δb for the m rows of the chunk: the first layer's
 * pre-activation at α is then P0 + αP1, with no GEMM and no bias pass per α. */
static void first_layer(const mli_path_ctx *c, chunk_ws *w, const mli_real *X, int m)
{
    const mli_layer *L0 = &c->a->layers[0];
    size_t wb = (size_t)L0->out * L0->in;
    const mli_real *b0 = c->theta0 + L0->p + wb, *db = c->delta + L0->p + wb;
    mli_taylor_first_layer(c->a, c->theta0, c->delta, X, m, w->p0, w->p1);
    for (int i = 0; i < m; i++)
        for (int u = 0; u < L0->out; u++) {
            w->p0[(size_t)i * L0->out + u] += b0[u];
            w->p1[(size_t)i * L0->out + u] += db[u];
        }
}

/* Values only for rows [r0, r1) of the chunk: returns Σℓ and adds to *correct. */
static double values(const mli_path_ctx *c, chunk_ws *w, const mli_data *d, int i0, int r0, int r1,
                     int j, long *correct)
{
    const mli_arch *a = c->a;
    int B = r1 - r0, n1 = a->layers[0].out;
    size_t n = (size_t)B * n1;
    const mli_real al = (mli_real)c->alpha[j];
    const mli_real *restrict P0 = w->p0 + (size_t)r0 * n1, *restrict P1 = w->p1 + (size_t)r0 * n1;
    /* when an activation follows, apply it in the same pass (one sweep over memory less) */
    int fuse = a->nlayers > 1 && a->layers[1].kind == MLI_LAYER_ACT;
    mli_real *restrict H = w->ws->out[fuse];
    if (fuse && a->act == MLI_ACT_RELU)
        for (size_t k = 0; k < n; k++) {
            mli_real h = P0[k] + al * P1[k];
            H[k] = h > 0 ? h : 0;
        }
    else {
        for (size_t k = 0; k < n; k++)
            H[k] = P0[k] + al * P1[k];
        if (fuse)
            mli_act_forward(a->act, H, H, n);
    }
    const mli_real *Z = mli_net_forward_from(a, w->theta, (mli_real *)bufs_at(c, j), w->ws, 1 + fuse, H, B,
                                             MLI_MODE_EVAL);
    mli_batch bt = mli_batch_rows(d, i0 + r0, B);
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
    int B = r1 - r0, n1 = a->layers[0].out;
    const mli_real *Z = mli_net_tangent(a, w->theta, w->delta, bufs_at(c, j), w->tws, NULL, B,
                                        w->p0 + (size_t)r0 * n1, w->p1 + (size_t)r0 * n1, c->alpha[j]);
    mli_batch bt = mli_batch_rows(d, i0 + r0, B);
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

/* θ and Δ as the per-α passes see them: the first layer's bias is zero in both, since it
 * is folded into P0 and P1. */
static void prepare(const mli_path_ctx *c, chunk_ws *w)
{
    const mli_layer *L0 = &c->a->layers[0];
    size_t b = L0->p + (size_t)L0->out * L0->in;
    memcpy(w->theta, c->theta0, sizeof(mli_real) * c->a->nparams);
    memcpy(w->delta, c->delta, sizeof(mli_real) * c->a->nparams);
    memset(w->theta + b, 0, sizeof(mli_real) * (size_t)L0->out);
    memset(w->delta + b, 0, sizeof(mli_real) * (size_t)L0->out);
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
            interpolate(c, c->alpha[j], w.theta);
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
            interpolate(c, c->alpha[j], w.theta);
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

/* Population statistics, one batch-norm layer at a time: the input of layer l depends on the
 * statistics of the batch-norm layers before it, which are final by then. */
static void bn_exact(const mli_arch *a, const mli_real *theta, const mli_data *train, mli_ws *ws, mli_real *bufs)
{
    mli_arch_init_buffers(a, bufs);
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind != MLI_LAYER_BN)
            continue;
        double *sum = mli_calloc(2 * (size_t)L->out, sizeof(double)), *sq = sum + L->out;
        /* shift by the first example's values: the variance of large-mean data stays exact */
        double *shift = mli_calloc((size_t)L->out, sizeof(double));
        for (int i0 = 0; i0 < train->n; i0 += ws->bmax) {
            int m = train->n - i0 < ws->bmax ? train->n - i0 : ws->bmax;
            mli_net_forward(a, theta, bufs, ws, train->x + (size_t)i0 * train->d, m, MLI_MODE_EVAL);
            const mli_real *in = ws->out[l - 1];
            for (int i = 0; i < m; i++)
                for (int u = 0; u < L->out; u++) {
                    if (i0 == 0 && i == 0)
                        shift[u] = in[u];
                    double x = in[(size_t)i * L->out + u] - shift[u];
                    sum[u] += x;
                    sq[u] += x * x;
                }
        }
        double n = train->n;
        for (int u = 0; u < L->out; u++) {
            double mean = sum[u] / n;
            bufs[L->s + u] = (mli_real)(shift[u] + mean);
            bufs[L->s + L->out + u] = (mli_real)(n > 1 ? (sq[u] - n * mean * mean) / (n - 1) : 0);
        }
        free(sum);
        free(shift);
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
