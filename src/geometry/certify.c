#include "geometry/certify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "geometry/reeval.h"
#include "io/err.h"

int mli_cert_monotone(const double *alpha, const double *l, const double *tol, int n, double *first)
{
    double m = INFINITY; /* running minimum of l_i + tol_i over i < j */
    for (int j = 0; j < n; j++) {
        double t = tol ? tol[j] : 0;
        if (j > 0 && !(l[j] - t <= m)) { /* a NaN is a violation too */
            if (first)
                *first = alpha[j];
            return 0;
        }
        m = fmin(m, l[j] + t);
    }
    if (first)
        *first = -1;
    return 1;
}

double mli_cert_max_rise(const double *l, int n, int *ip, int *jp)
{
    double best = 0, m = n > 0 ? l[0] : 0;
    int im = 0, bi = 0, bj = 0;
    for (int j = 1; j < n; j++) {
        if (isnan(l[j]) || isnan(m)) {
            if (ip)
                *ip = im;
            if (jp)
                *jp = j;
            return NAN;
        }
        if (l[j] - m > best) {
            best = l[j] - m;
            bi = im;
            bj = j;
        }
        if (l[j] < m) {
            m = l[j];
            im = j;
        }
    }
    if (ip)
        *ip = bi;
    if (jp)
        *jp = bj;
    return best;
}

/* Model-free condition number: a float32 result of a well-conditioned evaluation. */
static double cond_free(double l) { return 8 * fabs(l); }

typedef struct {
    int monotone;
    double first;
    int rechecked, undecided, float_only;
} fine_verdict;

/* The fine check of one example (certify.h, steps 1–3). decisive: a counterexample rests on
 * the verdict. *budget: multiply-adds left for double re-evaluations that decide no
 * counterexample. work holds 2·n doubles. */
static fine_verdict judge_fine(const double *alpha, const double *l, int n, int e, int decisive,
                               const mli_cert_exact *ex, double *budget, double *work)
{
    fine_verdict v = {1, -1, 0, 0, 0};
    int i, j;
    double R = mli_cert_max_rise(l, n, &i, &j);
    if (R == 0)
        return v;
    double Ki, Kj, di = 0, dj = 0;
    if (ex && !isnan(R)) {
        di = ex->fn(ex->ctx, e, alpha[i], &Ki);
        dj = ex->fn(ex->ctx, e, alpha[j], &Kj);
    } else {
        Ki = cond_free(l[i]);
        Kj = cond_free(l[j]);
    }
    double tpair = 2 * MLI_U32 * (Ki + Kj);
    double *tol = work;
    if (isnan(R) || R > MLI_CERT_FEW * tpair) { /* decided in float32 */
        for (int q = 0; q < n; q++)
            tol[q] = tpair / 2;
        if (mli_cert_monotone(alpha, l, tol, n, &v.first))
            v.first = alpha[j];
        v.monotone = 0;
        return v;
    }
    /* The largest float rise, recomputed in double at its two ends: confirmed beyond the
     * double error bound, it is a rise (a witness pair), whatever the float bound says. */
    if (ex && dj - di > 2 * MLI_U64 * (Ki + Kj)) {
        v.monotone = 0;
        v.rechecked = 1;
        for (int q = 0; q < n; q++)
            tol[q] = 0;
        v.first = alpha[j];
        double f;
        if (!mli_cert_monotone(alpha, l, tol, n, &f) && f <= alpha[j])
            v.first = f; /* the first float rise, no later than the witness */
        return v;
    }
    if (ex && (decisive || *budget >= ex->cost * n)) { /* within a few float tolerances: decide in double */
        if (!decisive)
            *budget -= ex->cost * n;
        double *d = work + n;
        for (int q = 0; q < n; q++) {
            double K;
            d[q] = ex->fn(ex->ctx, e, alpha[q], &K);
            tol[q] = 2 * MLI_U64 * K;
        }
        v.rechecked = 1;
        v.monotone = mli_cert_monotone(alpha, d, tol, n, &v.first);
        return v;
    }
    if (decisive) { /* no double evaluation available: say so, count it as monotone */
        v.undecided = 1;
        return v;
    }
    v.float_only = 1; /* the budget of double evaluations is spent: judged in float32 */
    if (R > tpair) {
        v.monotone = 0;
        v.first = alpha[j];
        for (int q = 0; q < n; q++)
            tol[q] = tpair / 2;
        double f;
        if (!mli_cert_monotone(alpha, l, tol, n, &f))
            v.first = f;
    }
    return v;
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
        double *tol = mli_malloc(sizeof(double) * (size_t)n_fine);
        for (int j = 0; j < n_fine; j++)
            tol[j] = 2 * MLI_U32 * cond_free(mf[j]);
        sum->dataset_monotone = mli_cert_monotone(alpha_fine, mf, tol, n_fine, &sum->dataset_first_violation_alpha);
        free(tol);
        free(mf);
    } else {
        for (int j = 0; j < n; j++)
            m[4 * n + j] = 2 * MLI_U32 * cond_free(m[j]);
        sum->dataset_monotone = mli_cert_monotone(alpha, m, m + 4 * n, n, &sum->dataset_first_violation_alpha);
    }
    free(mean);
}

void mli_certify(mli_loss loss, const double *alpha, const mli_path_examples *ex,
                 const double *alpha_fine, int n_fine, const double *fine, const mli_cert_exact *exact,
                 mli_cert_example *out, mli_cert_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    int n = ex->n_alpha, nw = fine && n_fine > n ? n_fine : n;
    double budget = MLI_CERT_DOUBLE_BUDGET;
    double *scratch = mli_malloc(sizeof(double) * 3 * (size_t)n), *work = mli_malloc(sizeof(double) * 2 * (size_t)nw);
    sum->counterexamples = mli_malloc(sizeof(int) * (size_t)(ex->n + 1));
    for (int e = 0; e < ex->n; e++) {
        ex_view v = view(ex, alpha, e);
        mli_cert_example *o = &out[e];
        certify_one(loss, &v, scratch, o);
        o->max_curvature = 0;
        for (int j = 0; j < n; j++)
            o->max_curvature = fmax(o->max_curvature, ex->curvature[(size_t)e * n + j]);
        int decisive = o->c1 == 1 || o->c2 == 1 || o->c12 == 1;
        fine_verdict fv = fine ? judge_fine(alpha_fine, fine + (size_t)e * n_fine, n_fine, e, decisive, exact,
                                            &budget, work)
                               : judge_fine(alpha, v.l, n, e, decisive, exact, &budget, work);
        o->monotone = fv.monotone;
        o->first_violation_alpha = fv.first;
        sum->rechecked_double += fv.rechecked;
        sum->undecided += fv.undecided;
        sum->judged_float += fv.float_only;
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
    free(work);
}
