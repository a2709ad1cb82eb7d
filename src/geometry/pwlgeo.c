/* Exact analysis of one example's path through a piecewise-linear network: see pwlgeo.h. */
#include "geometry/pwlgeo.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "geometry/ppoly.h"
#include "io/err.h"

#define QAG_LIMIT 200
#define CE_MAX_INTERVALS 20000 /* per example; beyond it the example is undecided */

struct mli_pwlgeo_ws {
    int k, deg;
    gsl_integration_workspace *qw;
    int cap;            /* pieces (cells) the arrays hold */
    double *lc;         /* loss coefficients, cap × (2·deg + 1) */
    double *cell_a;     /* cells: start, turning (smooth, with the kink at its start), length */
    double *cell_g, *cell_k, *cell_s, *cell_e;
    double *tg, *tgp, *ts; /* tails from each cell's start (tg with kinks, tgp without) */
    double *v, *a, *z, *vb; /* k each */
};

mli_pwlgeo_ws *mli_pwlgeo_ws_new(int k, int deg)
{
    mli_pwlgeo_ws *w = mli_calloc(1, sizeof *w);
    w->k = k;
    w->deg = deg;
    w->qw = gsl_integration_workspace_alloc(QAG_LIMIT);
    if (!w->qw) {
        mli_err(MLI_EFAIL, "exact analysis: cannot allocate a GSL integration workspace");
        free(w);
        return NULL;
    }
    w->v = mli_malloc(sizeof(double) * 4 * k);
    w->a = w->v + k;
    w->z = w->a + k;
    w->vb = w->z + k;
    return w;
}

void mli_pwlgeo_ws_free(mli_pwlgeo_ws *w)
{
    if (!w)
        return;
    gsl_integration_workspace_free(w->qw);
    free(w->lc);
    free(w->cell_a);
    free(w->v);
    free(w);
}

const double *mli_pwlgeo_loss_coef(const mli_pwlgeo_ws *w) { return w->lc; }

static void reserve(mli_pwlgeo_ws *w, int npieces, int ncells)
{
    int need = npieces > ncells ? npieces : ncells;
    if (need <= w->cap)
        return;
    w->cap = need + need / 2;
    free(w->lc);
    free(w->cell_a);
    w->lc = mli_malloc(sizeof(double) * w->cap * (2 * w->deg + 1));
    w->cell_a = mli_malloc(sizeof(double) * w->cap * 8);
    w->cell_g = w->cell_a + w->cap;
    w->cell_k = w->cell_g + w->cap;
    w->cell_s = w->cell_k + w->cap;
    w->cell_e = w->cell_s + w->cap;
    w->tg = w->cell_e + w->cap;
    w->tgp = w->tg + w->cap;
    w->ts = w->tgp + w->cap;
}

/* ---- curve quantities on one piece ------------------------------------------------- */

typedef struct {
    const mli_pwl_path *pp;
    int piece;
    double *v, *a;
} piece_ctx;

static void piece_va(const piece_ctx *c, double al)
{
    const mli_pwl_path *pp = c->pp;
    int k = pp->k, D = pp->deg;
    for (int o = 0; o < k; o++) {
        const double *cf = pp->z + ((size_t)c->piece * k + o) * (D + 1);
        double f = 0, f1 = 0, f2 = 0;
        for (int m = D; m >= 0; m--) {
            f2 = f2 * al + 2 * f1;
            f1 = f1 * al + f;
            f = f * al + cf[m];
        }
        c->v[o] = f1;
        c->a[o] = f2;
    }
}

static double gauss_speed(double al, void *p)
{
    const piece_ctx *c = p;
    piece_va(c, al);
    return mli_curve_point_eval(c->v, c->a, c->pp->k).gauss_speed;
}

static double speed(double al, void *p)
{
    const piece_ctx *c = p;
    piece_va(c, al);
    return mli_curve_point_eval(c->v, c->a, c->pp->k).speed;
}

/* ∫ f over [a, b] by GSL's adaptive Gauss–Kronrod rule; *err += its error estimate. */
static double integrate(double (*f)(double, void *), piece_ctx *c, double a, double b,
                        gsl_integration_workspace *qw, double *err)
{
    gsl_function F = {f, c};
    double r = 0, e = 0;
    gsl_integration_qag(&F, a, b, 1e-13, 1e-10, QAG_LIMIT, GSL_INTEG_GAUSS21, qw, &r, &e);
    *err += e;
    return r;
}

/* Angle between two vectors of ℝᵏ (0 when either is zero: no direction). */
static double angle(const double *u, const double *v, int k)
{
    double d = 0, n1 = 0, n2 = 0;
    for (int o = 0; o < k; o++) {
        d += u[o] * v[o];
        n1 += u[o] * u[o];
        n2 += v[o] * v[o];
    }
    if (n1 == 0 || n2 == 0)
        return 0;
    double c = d / sqrt(n1 * n2);
    return acos(c > 1 ? 1 : c < -1 ? -1 : c);
}

/* ∫ √(u² + s) du from u1 to u2 (s ≥ 0), in the asinh form that has no cancellation. */
static double sqrt_quad_integral(double u1, double u2, double s)
{
    if (s <= 0)
        return 0.5 * (u2 * fabs(u2) - u1 * fabs(u1));
    double rs = sqrt(s);
    return 0.5 * (u2 * sqrt(u2 * u2 + s) + s * asinh(u2 / rs)) -
           0.5 * (u1 * sqrt(u1 * u1 + s) + s * asinh(u1 / rs));
}

/* Closed forms on [x1, x2] of a piece of degree ≤ 2, where the velocity v0 + α·acc is linear:
 * the tangent turns in one plane, by the angle between its end directions, and the speed is
 * the root of a quadratic. */
static void linear_velocity_lengths(const double *v1, const double *v2, const double *acc,
                                    int k, double x1, double x2, double *g, double *len)
{
    *g = angle(v1, v2, k);
    double A = 0, B = 0, C = 0; /* ‖v1 + u·acc‖² = A u² + B u + C, u = α − x1 */
    for (int o = 0; o < k; o++) {
        A += acc[o] * acc[o];
        B += 2 * v1[o] * acc[o];
        C += v1[o] * v1[o];
    }
    double h = x2 - x1;
    if (A == 0) {
        *len = sqrt(C) * h;
        return;
    }
    double c = B / (2 * A), s = fmax(C / A - c * c, 0);
    *len = sqrt(A) * sqrt_quad_integral(c, h + c, s);
}

/* The 15-point Gauss–Kronrod rule and its embedded 7-point Gauss rule on [−1, 1] (the nodes
 * ±xk[i], the centre last). */
static const double xk[8] = {0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                             0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                             0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                             0.207784955007898467600689403773245, 0.0};
static const double wk[8] = {0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                             0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                             0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                             0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
static const double wg[4] = {0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                             0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

/* Turning and arc length of a cell [a, b] of one piece in one pass of the 15-point rule (both
 * integrands from the same v, a); |Kronrod − Gauss| is the error estimate. Returns 0 when that
 * estimate is above what the analysis needs (the caller then integrates adaptively). */
static int gk15_lengths(piece_ctx *c, double a, double b, double *g, double *len, double *err)
{
    double h = 0.5 * (b - a), m = 0.5 * (a + b), kg = 0, ks = 0, gg = 0, gs = 0;
    for (int i = 0; i < 8; i++)
        for (int sgn = -1; sgn <= (i < 7 ? 1 : -1); sgn += 2) {
            piece_va(c, m + sgn * h * xk[i]);
            mli_curve_point p = mli_curve_point_eval(c->v, c->a, c->pp->k);
            kg += wk[i] * p.gauss_speed;
            ks += wk[i] * p.speed;
            if (i % 2) {
                gg += wg[i / 2] * p.gauss_speed;
                gs += wg[i / 2] * p.speed;
            }
        }
    *g = h * kg;
    *len = h * ks;
    double eg = fabs(h * (kg - gg)), es = fabs(h * (ks - gs));
    *err += eg + es;
    return eg <= 1e-10 * fabs(*g) + 1e-13 && es <= 1e-10 * fabs(*len) + 1e-13;
}

/* The angle between the tangents of pieces j−1 and j at their common breakpoint. */
static double kink_angle(const mli_pwl_path *pp, int j, double *v1, double *v2, double *a)
{
    piece_ctx c1 = {pp, j - 1, v1, a}, c2 = {pp, j, v2, a};
    piece_va(&c1, pp->brk[j]);
    piece_va(&c2, pp->brk[j]);
    return angle(v1, v2, pp->k); /* 0 at a stop: no tangent on one side */
}

/* ---- squared error ----------------------------------------------------------------- */

void mli_pwlgeo_loss_pieces(const mli_pwl_path *pp, int y, const double *t, double *lc)
{
    int k = pp->k, D = pp->deg, D2 = 2 * D;
    for (int j = 0; j < pp->npieces; j++) {
        double *l = lc + (size_t)j * (D2 + 1);
        memset(l, 0, sizeof(double) * (D2 + 1));
        for (int o = 0; o < k; o++) { /* l += r², r = z_o − t_o, the product written out */
            const double *z = pp->z + ((size_t)j * k + o) * (D + 1);
            double r0 = z[0] - (t ? t[o] : (o == y));
            for (int a = 0; a <= D; a++) {
                double ra = a ? z[a] : r0;
                l[2 * a] += ra * ra;
                for (int b = a + 1; b <= D; b++)
                    l[a + b] += 2 * ra * z[b];
            }
        }
    }
}

static double coef_scale(const double *c, int deg)
{
    double s = 0;
    for (int m = 0; m <= deg; m++)
        s += fabs(c[m]);
    return s;
}

/* min of p on [a, b]: at an end or at a sign change of p′ inside. */
static double poly_min(const double *c, int deg, double a, double b)
{
    double m = fmin(mli_poly_eval(c, deg, a), mli_poly_eval(c, deg, b));
    if (deg >= 2) {
        double d[MLI_POLY_MAXDEG], r[MLI_POLY_MAXDEG];
        mli_poly_deriv(c, deg, d);
        int nr = mli_poly_roots(d, deg - 1, a, b, r, MLI_POLY_MAXDEG);
        for (int i = 0; i < nr && i < MLI_POLY_MAXDEG; i++)
            m = fmin(m, mli_poly_eval(c, deg, r[i]));
    }
    return m;
}

/* C2 on [from, 1]: ℓ″ ≥ 0 on every piece part, ℓ′ not dropping at a kink, ℓ′(1) ≤ 0, each
 * up to the rounding allowance of the polynomial tested. */
static int convex_from(const mli_pwl_path *pp, const double *lc, double from, double rnd)
{
    int D2 = 2 * pp->deg;
    double d1[MLI_POLY_MAXDEG], d2[MLI_POLY_MAXDEG], prev_slope = 0;
    for (int j = 0; j < pp->npieces; j++) {
        double a = pp->brk[j], b = pp->brk[j + 1];
        const double *l = lc + (size_t)j * (D2 + 1);
        mli_poly_deriv(l, D2, d1);
        if (b <= from) {
            prev_slope = mli_poly_eval(d1, D2 - 1, b);
            continue;
        }
        double a0 = a > from ? a : from;
        if (a > from && j > 0) {
            double s = mli_poly_eval(d1, D2 - 1, a);
            if (s < prev_slope - rnd * coef_scale(d1, D2 - 1))
                return 0; /* concave kink */
        }
        mli_poly_deriv(d1, D2 - 1, d2);
        if (poly_min(d2, D2 - 2, a0, b) < -rnd * coef_scale(d2, D2 - 2))
            return 0;
        prev_slope = mli_poly_eval(d1, D2 - 1, b);
    }
    return prev_slope <= rnd * coef_scale(d1, D2 - 1);
}

/* ---- cross-entropy ----------------------------------------------------------------- */

double mli_pwlgeo_ce_loss(const mli_pwl_path *pp, int y, double al, double *z)
{
    mli_pwl_path_eval(pp, al, z, NULL, NULL);
    double m = z[0];
    for (int o = 1; o < pp->k; o++)
        m = fmax(m, z[o]);
    double s = 0;
    for (int o = 0; o < pp->k; o++)
        s += exp(z[o] - m);
    return m + log(s) - z[y];
}

#define CE_KMAX 1024

void mli_pwlgeo_ce_bounds(const mli_pwl_path *pp, int j, int y, double a, double b, double out[4])
{
    int k = pp->k, D = pp->deg;
    if (k > CE_KMAX) { /* no enclosure for so many classes: nothing is proved */
        out[0] = out[2] = -INFINITY;
        out[1] = out[3] = INFINITY;
        return;
    }
    double dl[CE_KMAX], du[CE_KMAX], ul[CE_KMAX], uu[CE_KMAX], el[CE_KMAX], eu[CE_KMAX];
    const double *zy = pp->z + ((size_t)j * k + y) * (D + 1);
    for (int i = 0; i < k; i++) {
        double c[MLI_POLY_MAXDEG + 1], dc[MLI_POLY_MAXDEG];
        const double *zi = pp->z + ((size_t)j * k + i) * (D + 1);
        for (int m = 0; m <= D; m++)
            c[m] = zi[m] - zy[m];
        mli_poly_range(c, D, a, b, &dl[i], &du[i]);
        mli_poly_deriv(c, D, dc);
        mli_poly_range(dc, D - 1, a, b, &ul[i], &uu[i]);
        el[i] = i == y ? 1 : exp(dl[i]);
        eu[i] = i == y ? 1 : exp(du[i]);
    }
    /* ℓ = log Σ_i e^{d_i} is increasing in every d_i = z_i − z_y. */
    double sl = 0, sh = 0;
    for (int i = 0; i < k; i++) {
        sl += el[i];
        sh += eu[i];
    }
    out[0] = log(sl);
    out[1] = log(sh);
    /* p_i ≤ e^{du_i} / (e^{du_i} + Σ_{q≠i} e^{dl_q}), p_i ≥ e^{dl_i} / (e^{dl_i} + Σ_{q≠i} e^{du_q});
     * the sums are formed directly (no total minus a term, which could round the wrong way). */
    double lo = 0, hi = 0;
    for (int i = 0; i < k; i++) {
        if (i == y)
            continue;
        double rest_lo = 0, rest_hi = 0;
        for (int q = 0; q < k; q++)
            if (q != i) {
                rest_lo += el[q];
                rest_hi += eu[q];
            }
        double pmax = eu[i] / (eu[i] + rest_lo), pmin = el[i] / (el[i] + rest_hi);
        hi += uu[i] >= 0 ? pmax * uu[i] : pmin * uu[i];
        lo += ul[i] >= 0 ? pmin * ul[i] : pmax * ul[i];
    }
    out[2] = lo;
    out[3] = hi;
}

typedef struct {
    const mli_pwl_path *pp;
    int y;
    double tol;
    long budget;
    double *z;
    int undecided;
    double w1, w2, rise;
} ce_state;

/* Prove ℓ non-increasing on [a, b] of piece j, or find a witness; 1 proved, 0 witness found,
 * −1 undecided. */
static int ce_interval(ce_state *s, int j, double a, double b, int depth)
{
    if (--s->budget < 0)
        return -1;
    double bd[4];
    mli_pwlgeo_ce_bounds(s->pp, j, s->y, a, b, bd);
    if (bd[3] <= -s->tol * 1e-3)
        return 1;
    double m = 0.5 * (a + b), lm = mli_pwlgeo_ce_loss(s->pp, s->y, m, s->z);
    for (double h = b - m; h > (b - a) * 1e-6; h *= 0.5) {
        double l2 = mli_pwlgeo_ce_loss(s->pp, s->y, m + h, s->z);
        if (l2 - lm > s->tol) {
            s->w1 = m;
            s->w2 = m + h;
            s->rise = l2 - lm;
            return 0;
        }
    }
    if (depth >= 40 || b - a < 1e-12)
        return -1;
    int r1 = ce_interval(s, j, a, m, depth + 1);
    if (r1 == 0)
        return 0;
    int r2 = ce_interval(s, j, m, b, depth + 1);
    if (r2 == 0)
        return 0;
    return r1 < 0 || r2 < 0 ? -1 : 1;
}

/* ---- one example ------------------------------------------------------------------- */

double mli_pwlgeo_loss_tol(const mli_pwl_path *pp, const double *lc)
{
    int D2 = 2 * pp->deg;
    double lscale = 0;
    for (int j = 0; j < pp->npieces; j++)
        lscale = fmax(lscale, coef_scale(lc + (size_t)j * (D2 + 1), D2));
    return 64 * (pp->nswitch > 64 ? pp->nswitch : 64) * DBL_EPSILON * lscale + 1e-300;
}

void mli_pwlgeo_example(const mli_pwl_path *pp, mli_loss loss, int y, const double *t,
                        mli_pwlgeo_ws *w, mli_pwl_result *out)
{
    int n = pp->npieces, k = pp->k, D = pp->deg, D2 = 2 * D;
    int nsub = n >= 64 ? 1 : (64 + n - 1) / n, ncell = n * nsub;
    reserve(w, n, ncell);
    memset(out, 0, sizeof *out);
    out->npieces = n;
    out->witness[0] = out->witness[1] = -1;
    out->first_rise = -1;
    out->c1 = out->c2 = out->c12 = out->c1p = -1;
    out->c1_prefix = out->c1p_prefix = -1;
    /* Rounding allowance: the sweep adds ~nswitch rank-one terms into each coefficient. */
    double zscale = 0;
    for (int j = 0; j < n; j++)
        for (int o = 0; o < k; o++)
            zscale = fmax(zscale, coef_scale(pp->z + ((size_t)j * k + o) * (D + 1), D));
    double rnd = 64 * (pp->nswitch > 64 ? pp->nswitch : 64) * DBL_EPSILON;

    /* Turning and arc length, cell by cell; kinks at the pieces' starts. */
    double err = 0, *v2 = w->z;
    for (int j = 0; j < n; j++) {
        piece_ctx c = {pp, j, w->v, w->a};
        double a = pp->brk[j], b = pp->brk[j + 1], kink = j > 0 ? kink_angle(pp, j, w->v, v2, w->a) : 0;
        for (int s = 0; s < nsub; s++) {
            int ci = j * nsub + s;
            double ca = a + (b - a) * s / nsub, cb = s + 1 == nsub ? b : a + (b - a) * (s + 1) / nsub;
            w->cell_a[ci] = ca;
            w->cell_e[ci] = cb;
            w->cell_k[ci] = s == 0 ? kink : 0;
            if (D <= 2) {
                piece_va(&c, cb); /* v at the cell's end; the acceleration is constant */
                memcpy(w->vb, w->v, sizeof(double) * k);
                piece_va(&c, ca);
                linear_velocity_lengths(w->v, w->vb, w->a, k, ca, cb, &w->cell_g[ci],
                                        &w->cell_s[ci]);
            } else {
                double e15 = 0;
                if (gk15_lengths(&c, ca, cb, &w->cell_g[ci], &w->cell_s[ci], &e15))
                    err += e15;
                else { /* not smooth enough for one rule (a near-stop of the output): adaptive */
                    w->cell_g[ci] = integrate(gauss_speed, &c, ca, cb, w->qw, &err);
                    w->cell_s[ci] = integrate(speed, &c, ca, cb, w->qw, &err);
                }
            }
            out->smooth_turning += w->cell_g[ci];
            out->total_turning += w->cell_g[ci] + w->cell_k[ci];
            out->arc_length += w->cell_s[ci];
        }
    }
    double tg = 0, tgp = 0, ts = 0;
    for (int ci = ncell - 1; ci >= 0; ci--) {
        tg += w->cell_g[ci] + w->cell_k[ci];
        tgp += w->cell_g[ci];
        w->tg[ci] = tg;
        w->tgp[ci] = tgp;
        w->ts[ci] = ts; /* S[b, 1]: the cells after this one */
        ts += w->cell_s[ci];
    }

    if (loss == MLI_LOSS_CE) {
        double zmax = zscale;
        ce_state s = {pp, y, 2 * rnd * zmax + 1e-14, CE_MAX_INTERVALS, w->z, 0, -1, -1, 0};
        out->tol = s.tol;
        out->loss0 = mli_pwlgeo_ce_loss(pp, y, 0, w->z);
        out->loss1 = mli_pwlgeo_ce_loss(pp, y, 1, w->z);
        int verdict = 1;
        for (int j = 0; j < n && verdict != 0; j++) {
            int r = ce_interval(&s, j, pp->brk[j], pp->brk[j + 1], 0);
            if (r == 0 || (r < 0 && verdict > 0))
                verdict = r;
        }
        out->monotone = verdict;
        if (verdict == 0) {
            out->witness[0] = s.w1;
            out->witness[1] = s.w2;
            out->max_bump = s.rise;
            out->first_rise = s.w1;
        }
        return;
    }

    /* Squared error: the loss pieces, their exact bumps. */
    mli_pwlgeo_loss_pieces(pp, y, t, w->lc);
    out->tol = mli_pwlgeo_loss_tol(pp, w->lc);
    mli_ppoly p = {n, D2, pp->brk, w->lc};
    mli_cmono m;
    mli_cbump b1[1];
    mli_ppoly_bumps(&p, out->tol, &m, b1, 1);
    out->monotone = m.nbumps == 0;
    out->max_bump = m.delta;
    out->first_rise = m.first_rise;
    if (m.nbumps > 0) {
        out->witness[0] = b1[0].start;
        out->witness[1] = b1[0].peak;
    }
    out->loss0 = mli_poly_eval(w->lc, D2, 0);
    out->loss1 = mli_poly_eval(w->lc + (size_t)(n - 1) * (D2 + 1), D2, 1);

    /* C1 cell by cell, with quadrature margins: G[α,1] ≤ G[a,1] + err, S[α,1] ≥ S[b,1] − err. */
    /* r(1) = 0 (to the rounding of ℓ(1) = ‖r(1)‖²) reduces the condition to G[α,1] < π/2. */
    double r1 = sqrt(fmax(out->loss1, 0)), margin = 2 * err;
    if (r1 <= sqrt(out->tol))
        r1 = 0;
    double prefix = 1, prefixp = 1;
    for (int ci = 0; ci < ncell; ci++) {
        double sl = fmax(w->ts[ci] - margin, 0), gu = w->tg[ci] + margin, gp = w->tgp[ci] + margin;
        if (prefix == 1 && !(gu < M_PI / 2 && (r1 == 0 || cos(gu) * sl >= r1)))
            prefix = w->cell_a[ci];
        if (prefixp == 1 && !(gp < M_PI / 2 && (r1 == 0 || cos(gp) * sl >= r1)))
            prefixp = w->cell_a[ci];
    }
    out->c1_prefix = prefix;
    out->c1p_prefix = prefixp;
    out->c1 = prefix >= 1;
    out->c1p = prefixp >= 1;
    out->c2 = convex_from(pp, w->lc, 0, rnd);
    /* C12 needs C2 only on [prefix, 1]: implied by C1 or C2, and no different from C2 when
     * the prefix is empty */
    out->c12 = out->c1 || out->c2 || (prefix > 0 && convex_from(pp, w->lc, prefix, rnd));
}
