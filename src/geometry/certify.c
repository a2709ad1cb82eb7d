#include "geometry/certify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "io/err.h"

int mli_cert_monotone(const double *alpha, const double *l, int n, double *first)
{
    double lmax = 0;
    for (int j = 0; j < n; j++)
        lmax = fmax(lmax, fabs(l[j]));
    for (int j = 0; j + 1 < n; j++)
        if (!(l[j + 1] <= l[j] + 1e-5 * fabs(l[j]) + 1e-6 * lmax)) {
            if (first)
                *first = alpha[j + 1];
            return 0;
        }
    if (first)
        *first = -1;
    return 1;
}

/* Trapezoid with a Richardson estimate of its error (the grid every other point). */
static double trapz_err(const double *x, const double *y, int n, double *err)
{
    double fine = mli_trapz(x, y, n), coarse = 0;
    int j = 0;
    for (; j + 2 < n; j += 2)
        coarse += (x[j + 2] - x[j]) * (y[j] + y[j + 2]) / 2;
    if (j + 1 < n) /* odd number of intervals: the last one at the fine spacing */
        coarse += (x[j + 1] - x[j]) * (y[j] + y[j + 1]) / 2;
    *err = n > 2 ? fabs(fine - coarse) / 3 : 0;
    return fine;
}

typedef struct {
    const double *alpha;
    int n;
    const double *l, *dl, *gn, *cv, *speed, *gs, *turn;
} ex_view;

static ex_view view(const mli_path_examples *ex, const double *alpha, int e)
{
    size_t o = (size_t)e * ex->n_alpha;
    ex_view v = {alpha, ex->n_alpha, ex->loss + o, ex->dl + o, ex->d2l_gn + o, ex->d2l_curv + o,
                 ex->speed + o, ex->gauss_speed + o, ex->turn + o};
    return v;
}

static int cell_c2(const ex_view *v, int i)
{
    double a = v->gn[i] + v->cv[i], b = v->gn[i + 1] + v->cv[i + 1];
    double h = v->alpha[i + 1] - v->alpha[i], sec = (v->l[i + 1] - v->l[i]) / h;
    double tol = 1e-6 * (fabs(v->dl[i]) + fabs(v->dl[i + 1])) + 1e-9;
    return fmin(a, b) >= fabs(b - a) && v->dl[i] <= sec + tol && sec <= v->dl[i + 1] + tol;
}

/* C2 on the cells from index i0 to the end, with dℓ/dα(1) ≤ 0. */
static int c2_from(const ex_view *v, int i0)
{
    if (v->dl[v->n - 1] > 0)
        return 0;
    for (int i = i0; i + 1 < v->n; i++)
        if (!cell_c2(v, i))
            return 0;
    return 1;
}

static int grid_c0(const ex_view *v)
{
    double lmax = 0;
    for (int j = 0; j < v->n; j++)
        lmax = fmax(lmax, fabs(v->l[j]));
    for (int j = 0; j < v->n; j++) {
        if (v->dl[j] > 1e-7 * lmax)
            return 0;
        if (j + 1 < v->n && v->l[j + 1] > v->l[j] + 1e-7 * lmax)
            return 0;
    }
    return 1;
}

/* Index of the last grid point up to which every C1 cell from 0 is certified (0: none). */
static int c1_prefix(const ex_view *v, double *G, double *S)
{
    int n = v->n;
    double errG, errS, *turncum = G + n;
    trapz_err(v->alpha, v->gs, n, &errG);
    trapz_err(v->alpha, v->speed, n, &errS);
    mli_trapz_cum(v->alpha, v->gs, n, G);
    mli_trapz_cum(v->alpha, v->speed, n, S);
    turncum[0] = 0;
    for (int j = 1; j < n; j++)
        turncum[j] = turncum[j - 1] + v->turn[j];
    double r1 = sqrt(fmax(v->l[n - 1], 0));
    int last = 0;
    for (int i = 0; i + 1 < n; i++) {
        double g_up = fmax(G[n - 1] - G[i] + 3 * errG, turncum[n - 1] - turncum[i]);
        double s_low = fmax(0, S[n - 1] - S[i + 1] - 3 * errS);
        if (!(g_up < M_PI / 2 && cos(g_up) * s_low >= r1 * (1 + 1e-9)))
            break;
        last = i + 1;
    }
    return last;
}

static void certify_one(mli_loss loss, const ex_view *v, double *scratch, mli_cert_example *o)
{
    int n = v->n;
    double *G = scratch, *S = scratch + 2 * n;
    o->gauss_length = mli_trapz(v->alpha, v->gs, n);
    o->arc_length = mli_trapz(v->alpha, v->speed, n);
    o->gauss_chord = 0;
    for (int j = 0; j < n; j++)
        o->gauss_chord += v->turn[j];
    o->c0 = grid_c0(v);
    o->c2 = c2_from(v, 0);
    if (loss == MLI_LOSS_CE) {
        o->c1 = o->c12 = -1;
        o->c1_prefix = -1;
        return;
    }
    int p = c1_prefix(v, G, S);
    o->c1_prefix = v->alpha[p];
    o->c1 = p == n - 1;
    o->c12 = o->c1 || c2_from(v, p);
}

static void count(mli_cert_count *c, int cert, int monotone)
{
    if (cert < 0)
        return;
    c->n_examples++;
    c->certified += cert == 1;
    c->monotone += monotone;
    c->counterexamples += cert == 1 && !monotone;
}

static void dataset_verdict(mli_loss loss, const double *alpha, const mli_path_examples *ex, int n_fine,
                            const double *alpha_fine, const double *fine, mli_cert_summary *sum)
{
    int n = ex->n_alpha;
    double *mean = mli_calloc(6 * (size_t)n, sizeof(double)), *m = mean;
    for (int e = 0; e < ex->n; e++)
        for (int j = 0; j < n; j++) {
            size_t o = (size_t)e * n + j;
            m[j] += ex->loss[o] / ex->n;
            m[n + j] += ex->dl[o] / ex->n;
            m[2 * n + j] += ex->d2l_gn[o] / ex->n;
            m[3 * n + j] += ex->d2l_curv[o] / ex->n;
        }
    ex_view v = {alpha, n, m, m + n, m + 2 * n, m + 3 * n, NULL, NULL, NULL};
    sum->dataset_c0 = grid_c0(&v);
    sum->dataset_c2 = c2_from(&v, 0);
    /* the mean of non-increasing functions is non-increasing */
    sum->dataset_c12 = loss == MLI_LOSS_CE ? -1 : sum->c12.certified == sum->c12.n_examples;
    if (fine) {
        double *mf = mli_calloc((size_t)n_fine, sizeof(double));
        for (int e = 0; e < ex->n; e++)
            for (int j = 0; j < n_fine; j++)
                mf[j] += fine[(size_t)e * n_fine + j] / ex->n;
        sum->dataset_monotone = mli_cert_monotone(alpha_fine, mf, n_fine, &sum->dataset_first_violation_alpha);
        free(mf);
    } else
        sum->dataset_monotone = mli_cert_monotone(alpha, m, n, &sum->dataset_first_violation_alpha);
    free(mean);
}

void mli_certify(mli_loss loss, const double *alpha, const mli_path_examples *ex,
                 const double *alpha_fine, int n_fine, const double *fine, mli_cert_example *out,
                 mli_cert_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    int n = ex->n_alpha;
    double *scratch = mli_malloc(sizeof(double) * 3 * (size_t)n);
    sum->counterexamples = mli_malloc(sizeof(int) * (size_t)(ex->n + 1));
    for (int e = 0; e < ex->n; e++) {
        ex_view v = view(ex, alpha, e);
        mli_cert_example *o = &out[e];
        certify_one(loss, &v, scratch, o);
        o->max_curvature = 0;
        for (int j = 0; j < n; j++)
            o->max_curvature = fmax(o->max_curvature, ex->curvature[(size_t)e * n + j]);
        if (fine)
            o->monotone = mli_cert_monotone(alpha_fine, fine + (size_t)e * n_fine, n_fine, &o->first_violation_alpha);
        else
            o->monotone = mli_cert_monotone(alpha, v.l, n, &o->first_violation_alpha);
        count(&sum->c0, o->c0, o->monotone);
        count(&sum->c1, o->c1, o->monotone);
        count(&sum->c2, o->c2, o->monotone);
        count(&sum->c12, o->c12, o->monotone);
        sum->c0.missed_by_grid += o->c0 == 1 && !o->monotone;
        /* C0 is evidence only: its "counterexamples" are grid misses, not failed theorems */
        if ((o->c1 == 1 || o->c2 == 1 || o->c12 == 1) && !o->monotone)
            sum->counterexamples[sum->n_counterexamples++] = e;
    }
    sum->c0.counterexamples = 0;
    dataset_verdict(loss, alpha, ex, n_fine, alpha_fine, fine, sum);
    free(scratch);
}
