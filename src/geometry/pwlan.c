/* The exact analysis of a piecewise-linear network: see pwlan.h. */
#include "geometry/pwlan.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "geometry/pieces.h"
#include "geometry/pwlsum.h"
#include "io/err.h"
#include "io/parallel.h"
#include "io/text.h"

#define CHUNK 2048

typedef struct {
    const mli_pwl *net;
    mli_loss loss;
    const mli_data *d;
    int i0;              /* first example of the chunk */
    const double *P, *Q; /* the chunk's first-layer rows */
    const double *H1;    /* and its second layer at α = 0 (three Linear layers or more), or NULL */
    size_t h1_stride;
    int n_alpha;
    int n_fine;          /* squared error: losses on this grid too (fine NULL: not) */
    const double *alpha_fine;
    double *fine;
    /* per thread */
    mli_pwl_ws *pw[MLI_PARALLEL_MAX];
    mli_pwlgeo_ws *gw[MLI_PARALLEL_MAX];
    mli_pwlsum sum[MLI_PARALLEL_MAX];
    double *cells[MLI_PARALLEL_MAX][5]; /* per cell: Σ ℓ_lo, Σ ℓ_hi, Σ ℓ′_lo, Σ ℓ′_hi; Σ ℓ at the edges */
    double *scratch[MLI_PARALLEL_MAX];
    double *lbuf[MLI_PARALLEL_MAX]; /* loss pieces of the example in hand */
    size_t lcap[MLI_PARALLEL_MAX];
    int ncells;
    /* outputs */
    mli_pwl_result *res;
    int *grid_monotone;
} job;

/* The targets of example i: the regression targets, the input itself (recon), or NULL
 * (one-hot of the label). */
#define H1_ROW(j, q) ((j)->H1 ? (j)->H1 + (size_t)(q) * (j)->net->width[2] : NULL)

static const double *targets(const job *j, int i, double *buf)
{
    const mli_data *d = j->d;
    const mli_real *src = j->loss == MLI_LOSS_RECON ? d->x + (size_t)i * d->d
                          : d->t                   ? d->t + (size_t)i * d->k
                                                   : NULL;
    if (!src)
        return NULL;
    for (int o = 0; o < j->net->width[j->net->nlin]; o++)
        buf[o] = src[o];
    return buf;
}

/* The example's own loss on the analysis grid has no sampled rise beyond its tolerance. */
static int grid_monotone(const mli_pwl_path *pp, mli_loss loss, int y, const double *t,
                         int n_alpha, double tol, const double *lc, double *z)
{
    double prev = 0;
    mli_ppoly p = {pp->npieces, 2 * pp->deg, pp->brk, lc};
    for (int g = 0; g < n_alpha; g++) {
        double al = (double)g / (n_alpha - 1);
        double l = loss == MLI_LOSS_CE ? mli_pwlgeo_ce_loss(pp, y, al, z) : mli_ppoly_eval(&p, al);
        if (g > 0 && l > prev + tol)
            return 0;
        prev = l;
    }
    (void)t;
    return 1;
}

static void examples_rows(void *ctx, int q0, int q1, int th)
{
    job *j = ctx;
    int w1 = j->net->width[1];
    double *tb = j->scratch[th];
    for (int q = q0; q < q1; q++) {
        int i = j->i0 + q;
        const mli_pwl_path *pp =
            mli_pwl_sweep(j->net, j->pw[th], j->P + (size_t)q * w1, j->Q + (size_t)q * w1, H1_ROW(j, q), j->h1_stride);
        const double *t = targets(j, i, tb);
        mli_pwl_result *r = &j->res[i];
        mli_pwlgeo_example(pp, j->loss, j->d->y[i], t, j->gw[th], r);
        if (j->fine && j->loss != MLI_LOSS_CE) { /* the verification grid from the loss pieces */
            mli_ppoly lp = {pp->npieces, 2 * pp->deg, pp->brk, mli_pwlgeo_loss_coef(j->gw[th])};
            for (int g = 0; g < j->n_fine; g++)
                j->fine[(size_t)i * j->n_fine + g] = mli_ppoly_eval(&lp, j->alpha_fine[g]);
        }
        /* a proved-monotone loss is monotone on every grid: sample only the others */
        j->grid_monotone[i] = r->monotone == 1 ||
                              grid_monotone(pp, j->loss, j->d->y[i], t, j->n_alpha, r->tol,
                                            mli_pwlgeo_loss_coef(j->gw[th]),
                                            tb + j->net->width[j->net->nlin]);
    }
}

/* Cross-entropy: on each cell of [0,1], bounds of one example's loss and of its slope
 * (mli_pwlgeo_ce_bounds on every piece part of the cell), added into the sums lo, hi, slo,
 * shi; and its exact values at the cell edges, added into edge. */
static void ce_cells(const mli_pwl_path *pp, int y, int ncells, double *const acc[5], double *z)
{
    int j = 0;
    for (int c = 0; c < ncells; c++) {
        double a = (double)c / ncells, b = (double)(c + 1) / ncells;
        double cl = INFINITY, ch = -INFINITY, dl = INFINITY, dh = -INFINITY;
        while (j < pp->npieces - 1 && pp->brk[j + 1] <= a)
            j++;
        for (int jj = j; jj < pp->npieces && pp->brk[jj] < b; jj++) {
            double bd[4];
            mli_pwlgeo_ce_bounds(pp, jj, y, fmax(a, pp->brk[jj]), fmin(b, pp->brk[jj + 1]), bd);
            cl = fmin(cl, bd[0]);
            ch = fmax(ch, bd[1]);
            dl = fmin(dl, bd[2]);
            dh = fmax(dh, bd[3]);
        }
        acc[0][c] += cl;
        acc[1][c] += ch;
        acc[2][c] += dl;
        acc[3][c] += dh;
    }
    for (int c = 0; c <= ncells; c++)
        acc[4][c] += mli_pwlgeo_ce_loss(pp, y, (double)c / ncells, z);
}

static void train_rows(void *ctx, int q0, int q1, int th)
{
    job *j = ctx;
    int w1 = j->net->width[1], D2 = 2 * j->net->nlin;
    double *tb = j->scratch[th];
    for (int q = q0; q < q1; q++) {
        int i = j->i0 + q;
        const mli_pwl_path *pp =
            mli_pwl_sweep(j->net, j->pw[th], j->P + (size_t)q * w1, j->Q + (size_t)q * w1, H1_ROW(j, q), j->h1_stride);
        if (j->loss == MLI_LOSS_CE) {
            ce_cells(pp, j->d->y[i], j->ncells, j->cells[th], tb);
            continue;
        }
        size_t need = (size_t)pp->npieces * (D2 + 1);
        if (need > j->lcap[th]) { /* grows with the largest piece count seen, then stays */
            j->lcap[th] = 2 * need;
            j->lbuf[th] = mli_realloc(j->lbuf[th], sizeof(double) * j->lcap[th]);
        }
        mli_pwlgeo_loss_pieces(pp, j->d->y[i], targets(j, i, tb), j->lbuf[th]);
        mli_pwlsum_add(&j->sum[th], pp->brk, j->lbuf[th], pp->npieces, mli_pwlgeo_loss_tol(pp, j->lbuf[th]));
    }
}

/* Sweep `n` examples of d chunk by chunk: the first layer by GEMM, then rows on threads. */
/* Sweep `n` examples of d chunk by chunk: the first layers by GEMMs on every BLAS thread, then
 * the examples on as many threads of ours, each calling BLAS single-threaded. */
static void run_chunks(job *j, const mli_data *d, int n, void (*rows)(void *, int, int, int),
                       int progress, const char *what)
{
    mli_progress pr = mli_progress_make(progress);
    int w1 = j->net->width[1], two = j->net->nlin >= 3, nt = openblas_get_num_threads();
    double *P = mli_malloc(sizeof(double) * CHUNK * w1), *Q = mli_malloc(sizeof(double) * CHUNK * w1);
    double *H1 = two ? mli_malloc(sizeof(double) * 3 * CHUNK * j->net->width[2]) : NULL;
    j->d = d;
    j->P = P;
    j->Q = Q;
    j->H1 = H1;
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int B = n - i0 < CHUNK ? n - i0 : CHUNK;
        mli_pwl_first_layer(j->net, d->x + (size_t)i0 * d->d, B, P, Q);
        if (two)
            mli_pwl_second_layer(j->net, P, Q, B, H1);
        j->h1_stride = (size_t)B * (two ? j->net->width[2] : 0);
        j->i0 = i0;
        openblas_set_num_threads(1);
        mli_parallel_rows_n(B, nt, rows, j);
        openblas_set_num_threads(nt);
        mli_progress_show(&pr, "%s %d/%d", what, i0 + B, n);
    }
    mli_progress_end(&pr);
    free(P);
    free(Q);
    free(H1);
}

/* The exact loss of the first few examples on a fine grid and at their breakpoints, for the
 * report's figure (swept again, one by one: a handful of examples). */
static void show_examples(job *j, const mli_data *d, mli_pwlan *r)
{
    int w1 = j->net->width[1], D2 = 2 * j->net->nlin;
    r->nshow = d->n < MLI_PWLAN_SHOW ? d->n : MLI_PWLAN_SHOW;
    if (r->nshow > r->n)
        r->nshow = r->n;
    double *P = mli_malloc(sizeof(double) * w1), *Q = mli_malloc(sizeof(double) * w1);
    double *tb = j->scratch[0], *z = tb + j->net->width[j->net->nlin];
    j->d = d;
    for (int e = 0; e < r->nshow; e++) {
        mli_pwl_first_layer(j->net, d->x + (size_t)e * d->d, 1, P, Q);
        const mli_pwl_path *pp = mli_pwl_sweep(j->net, j->pw[0], P, Q, NULL, 0);
        const double *t = targets(j, e, tb);
        double *lc = NULL;
        if (j->loss != MLI_LOSS_CE) {
            lc = mli_malloc(sizeof(double) * pp->npieces * (D2 + 1));
            mli_pwlgeo_loss_pieces(pp, d->y[e], t, lc);
        }
        mli_ppoly p = {pp->npieces, D2, pp->brk, lc};
#define LOSS_AT(al) (lc ? mli_ppoly_eval(&p, (al)) : mli_pwlgeo_ce_loss(pp, d->y[e], (al), z))
        for (int g = 0; g < MLI_PWLAN_SAMPLES; g++)
            r->show_loss[e][g] = LOSS_AT((double)g / (MLI_PWLAN_SAMPLES - 1));
        r->show_nbrk[e] = pp->npieces - 1;
        r->show_brk[e] = mli_malloc(sizeof(double) * (pp->npieces + 1));
        r->show_brk_loss[e] = mli_malloc(sizeof(double) * (pp->npieces + 1));
        for (int q = 1; q < pp->npieces; q++) {
            r->show_brk[e][q - 1] = pp->brk[q];
            r->show_brk_loss[e][q - 1] = LOSS_AT(pp->brk[q]);
        }
#undef LOSS_AT
        free(lc);
    }
    free(P);
    free(Q);
}

static void curve_samples(mli_pwlan *r, const mli_ppoly *p, const double *edge, int M, int n_train)
{
    r->n_curve = p ? MLI_PWLAN_SAMPLES : M + 1;
    r->curve_alpha = mli_malloc(sizeof(double) * r->n_curve);
    r->curve_loss = mli_malloc(sizeof(double) * r->n_curve);
    for (int g = 0; g < r->n_curve; g++) {
        r->curve_alpha[g] = (double)g / (r->n_curve - 1);
        r->curve_loss[g] = p ? mli_ppoly_eval(p, r->curve_alpha[g]) : edge[g] / n_train;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarise(mli_pwlan *r)
{
    double *tt = mli_malloc(sizeof(double) * (r->n + 1));
    long pieces = 0;
    int below = 0, sbelow = 0;
    for (int i = 0; i < r->n; i++) {
        const mli_pwl_result *e = &r->ex[i];
        r->n_monotone += e->monotone == 1;
        r->n_violating += e->monotone == 0;
        r->n_undecided += e->monotone == -1;
        r->n_missed_by_grid += e->monotone == 0 && r->grid_monotone[i];
        r->c1 += e->c1 == 1;
        r->c2 += e->c2 == 1;
        r->c12 += e->c12 == 1;
        r->counterexamples += (e->c1 == 1 || e->c2 == 1 || e->c12 == 1) && e->monotone == 0;
        r->counterexamples += e->monotone == 0 && e->c1_prefix > e->first_rise;
        r->c1p_false += e->monotone == 0 && e->c1p_prefix > e->first_rise;
        pieces += e->npieces;
        if (e->npieces > r->pieces_max)
            r->pieces_max = e->npieces;
        r->turning_mean += e->total_turning;
        r->smooth_mean += e->smooth_turning;
        below += e->total_turning < M_PI / 2;
        sbelow += e->smooth_turning < M_PI / 2;
        tt[i] = e->total_turning;
    }
    if (r->n == 0) /* no example: no mean (null in geometry.json), not a zero */
        r->pieces_mean = r->turning_mean = r->smooth_mean = r->turning_median = r->frac_turning_below =
            r->frac_smooth_below = NAN;
    if (r->n > 0) {
        r->pieces_mean = (double)pieces / r->n;
        r->turning_mean /= r->n;
        r->smooth_mean /= r->n;
        r->frac_turning_below = (double)below / r->n;
        r->frac_smooth_below = (double)sbelow / r->n;
        qsort(tt, r->n, sizeof(double), cmp_double);
        r->turning_median = r->n % 2 ? tt[r->n / 2] : 0.5 * (tt[r->n / 2 - 1] + tt[r->n / 2]);
    }
    free(tt);
}

/* The reference's bump scan of the curve sampled on the analysis grid. */
static double sampled_delta(const mli_ppoly *p, int n_alpha)
{
    double *al = mli_malloc(sizeof(double) * n_alpha), *l = mli_malloc(sizeof(double) * n_alpha);
    mli_linspace01(al, n_alpha);
    for (int g = 0; g < n_alpha; g++)
        l[g] = mli_ppoly_eval(p, al[g]);
    int nb = mli_bumps(al, l, n_alpha, NULL, 0);
    mli_bump *b = mli_malloc(sizeof(mli_bump) * (nb + 1));
    mli_bumps(al, l, n_alpha, b, nb);
    double d = mli_bumps_max(b, nb);
    free(b);
    free(al);
    free(l);
    return d;
}

static void curve_exact(job *j, int nth, mli_pwlan *r, int n_train, int n_alpha)
{
    for (int t = 1; t < nth; t++)
        mli_pwlsum_merge(&j->sum[0], &j->sum[t]);
    mli_ppoly p;
    r->curve_pieces = mli_pwlsum_finish(&j->sum[0], 1.0 / n_train, &p);
    /* Δ of the computed curve, and the curve known to within E: the true Δ is within 2E */
    double E = j->sum[0].err;
    mli_cmono m;
    mli_ppoly_bumps(&p, 2 * E + 1e-300, &m, r->bumps, MLI_PWLAN_MAX_BUMPS);
    r->have_curve = r->curve_exact = 1;
    r->curve_err = E;
    r->delta = m.delta;
    r->delta_lo = fmax(0, m.delta - 2 * E);
    r->delta_hi = m.delta + 2 * E;
    r->delta_start = m.delta_start;
    r->delta_end = m.delta_end;
    r->first_rise = m.first_rise;
    r->nbumps = m.nbumps;
    r->grid_delta = sampled_delta(&p, n_alpha);
    curve_samples(r, &p, NULL, 0, n_train);
}

/* Enclosure of the mean cross-entropy L from its sums on cells of width h. On a cell [a, b]
 * with slope bounds D ≤ L′ ≤ U, L lies between the lines through the exact edge values:
 * L(α) ≤ min(L(a) + (α−a)U, L(b) − (b−α)D), L(α) ≥ max(L(a) + (α−a)D, L(b) − (b−α)U), and
 * within [lo, hi], its value bounds. Then Δ ≥ the largest sampled rise over the edges (exact
 * values), and Δ ≤ the larger of: a rise inside one cell (≤ h·max(U, 0)), and the highest
 * point of a cell over the lowest point of the cells before it. */
static void cell_envelope(double La, double Lb, double h, double D, double U, double *top, double *bot)
{
    /* the upper lines meet where La + xU = Lb − (h − x)D, x = α − a */
    double x = U - D > 0 ? (Lb - La + h * D) / (U - D) : 0;
    x = x < 0 ? 0 : x > h ? h : x;
    *top = fmax(fmax(fmin(La, Lb - h * D), fmin(La + h * U, Lb)), fmin(La + x * U, Lb - (h - x) * D));
    double y = U - D > 0 ? (Lb - La + h * U) / (U - D) : 0; /* La + yD = Lb − (h − y)U */
    y = y < 0 ? 0 : y > h ? h : y;
    *bot = fmin(fmin(fmax(La, Lb - h * U), fmax(La + h * D, Lb)), fmax(La + y * D, Lb - (h - y) * U));
}

static void curve_enclosure(job *j, int nth, mli_pwlan *r, int n_train, int n_alpha)
{
    int M = j->ncells;
    double *const *acc = j->cells[0];
    for (int t = 1; t < nth; t++)
        for (int q = 0; q < 5; q++)
            for (int c = 0; c <= M; c++)
                acc[q][c] += j->cells[t][q][c];
    double h = 1.0 / M, runmin = INFINITY, dlo = 0, dhi = 0, lowrun = INFINITY;
    for (int c = 0; c <= M; c++) {
        double v = acc[4][c] / n_train;
        runmin = fmin(runmin, v);
        dlo = fmax(dlo, v - runmin);
        if (c == M)
            break;
        double La = v, Lb = acc[4][c + 1] / n_train, D = acc[2][c] / n_train, U = acc[3][c] / n_train;
        double top, bot;
        cell_envelope(La, Lb, h, D, U, &top, &bot);
        top = fmin(top, acc[1][c] / n_train);
        bot = fmax(bot, acc[0][c] / n_train);
        dhi = fmax(dhi, fmin(h * fmax(U, 0), top - bot)); /* a rise inside the cell */
        dhi = fmax(dhi, top - lowrun);                     /* over the cells before it */
        lowrun = fmin(lowrun, bot);
    }
    dhi = fmax(dhi, dlo);
    r->have_curve = 1;
    r->curve_exact = 0;
    r->delta_lo = dlo;
    r->delta_hi = dhi;
    r->delta = dlo;
    r->delta_start = r->delta_end = r->first_rise = -1;
    r->curve_pieces = M;
    curve_samples(r, NULL, acc[4], M, n_train);
    /* the edge samples thinned to the analysis grid, for comparison */
    double *al = mli_malloc(sizeof(double) * n_alpha), *l = mli_malloc(sizeof(double) * n_alpha);
    mli_linspace01(al, n_alpha);
    for (int g = 0; g < n_alpha; g++)
        l[g] = acc[4][(int)lround(al[g] * M)] / n_train;
    int nb = mli_bumps(al, l, n_alpha, NULL, 0);
    mli_bump *b = mli_malloc(sizeof(mli_bump) * (nb + 1));
    mli_bumps(al, l, n_alpha, b, nb);
    r->grid_delta = mli_bumps_max(b, nb);
    free(b);
    free(al);
    free(l);
}

int mli_pwlan_run(const mli_arch *a, const mli_real *theta0, const mli_real *theta1,
                  const mli_data *examples, int n_examples, const mli_data *train,
                  const mli_pwlan_opts *o, mli_pwlan *out)
{
    memset(out, 0, sizeof *out);
    mli_pwl net;
    int st = mli_pwl_from_arch(a, theta0, theta1, &net);
    if (st)
        return st;
    job j = {.net = &net, .loss = a->loss, .n_alpha = o->n_alpha < 2 ? 2 : o->n_alpha,
             .ncells = o->ce_cells > 0 ? o->ce_cells : 256, .n_fine = o->n_fine, .alpha_fine = o->alpha_fine,
             .fine = o->n_fine > 0 && o->alpha_fine ? o->fine : NULL};
    for (int t = 0; t < MLI_PARALLEL_MAX; t++) {
        j.pw[t] = mli_pwl_ws_new(&net);
        j.gw[t] = mli_pwlgeo_ws_new(net.width[net.nlin], net.nlin);
        j.scratch[t] = mli_malloc(sizeof(double) * 4 * (a->nout + 1)); /* targets, loss scratch */
        if (!j.gw[t])
            return MLI_EFAIL;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();

    out->n = n_examples;
    out->ex = mli_calloc(n_examples + 1, sizeof(mli_pwl_result));
    out->grid_monotone = mli_calloc(n_examples + 1, sizeof(int));
    j.res = out->ex;
    j.grid_monotone = out->grid_monotone;
    run_chunks(&j, examples, n_examples, examples_rows, o->progress, "exact: examples");
    summarise(out);
    show_examples(&j, examples, out);

    if (o->curve && train && train->n > 0) {
        int nth = MLI_PARALLEL_MAX;
        out->n_train = train->n;
        for (int t = 0; t < nth; t++) {
            mli_pwlsum_init(&j.sum[t], 2 * net.nlin);
            for (int q = 0; q < 5; q++)
                j.cells[t][q] = mli_calloc(j.ncells + 1, sizeof(double));
        }
        run_chunks(&j, train, train->n, train_rows, o->progress, "exact: training curve");
        if (a->loss == MLI_LOSS_CE)
            curve_enclosure(&j, nth, out, train->n, j.n_alpha);
        else
            curve_exact(&j, nth, out, train->n, j.n_alpha);
        for (int t = 0; t < nth; t++) {
            mli_pwlsum_free(&j.sum[t]);
            for (int q = 0; q < 5; q++)
                free(j.cells[t][q]);
        }
    }
    gsl_set_error_handler(old);
    for (int t = 0; t < MLI_PARALLEL_MAX; t++) {
        mli_pwl_ws_free(j.pw[t]);
        mli_pwlgeo_ws_free(j.gw[t]);
        free(j.scratch[t]);
        free(j.lbuf[t]);
    }
    mli_pwl_free(&net);
    return MLI_OK;
}

void mli_pwlan_free(mli_pwlan *r)
{
    for (int e = 0; e < r->nshow; e++) {
        free(r->show_brk[e]);
        free(r->show_brk_loss[e]);
    }
    free(r->curve_alpha);
    free(r->curve_loss);
    free(r->ex);
    free(r->grid_monotone);
    memset(r, 0, sizeof *r);
}
