/* Pointwise curve geometry, grid integrals, bumps, adaptive G and S. See curve.h. */
/* real.h first: it marks GSL's gsl_cblas.h as included (OpenBLAS provides cblas). */
#include "io/real.h"

#include "geometry/curve.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>

#include "io/err.h"

/* ---- Pointwise ---------------------------------------------------------------------- */

/* Threshold for a zero speed relative to ‖a‖, and the absolute one. */
#define DEGEN_REL DBL_EPSILON
#define DEGEN_ABS 1e-300

/* Element i of a double (isf = 0) or float (isf = 1) vector. Called with a constant isf from
 * the two public wrappers, so the branch is resolved at compile time after inlining. */
static inline double ld(const void *p, int isf, int i)
{
    return isf ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* max |x_i|, NaN if any x_i is NaN. */
static inline double absmax(const void *x, int isf, int k)
{
    double m = 0;
    for (int i = 0; i < k; i++) {
        double t = fabs(ld(x, isf, i));
        if (!(t <= m)) /* also takes NaN */
            m = t;
        if (isnan(m))
            return m;
    }
    return m;
}

/* Factors f1, f2 with x·f1·f2 ≈ x/s for 0 < s < inf, neither overflowing nor going subnormal:
 * f1 is a power of two (exact), f2 = 1/(s·f1). */
static inline void scale_factors(double s, double *f1, double *f2)
{
    *f1 = s < 0x1p-900 ? 0x1p600 : s > 0x1p900 ? 0x1p-600 : 1.0;
    *f2 = 1.0 / (s * *f1);
}

static inline mli_curve_point point_eval(const void *v, const void *a, int k, int isf)
{
    mli_curve_point r = {0, 0, 0, 1};
    if (k <= 0)
        return r;
    double sv = absmax(v, isf, k), sa = absmax(a, isf, k);
    if (!isfinite(sv) || !isfinite(sa)) {
        r.speed = r.curvature = r.gauss_speed = NAN;
        r.degenerate = 0;
        return r;
    }
    if (sv == 0)
        return r;
    /* Scaled vectors v̂ = v/sv, â = a/sa (components in [-1,1]): ‖v‖ = sv‖v̂‖, ‖a‖ = sa‖â‖. */
    double fv1, fv2, fa1 = 0, fa2 = 0;
    scale_factors(sv, &fv1, &fv2);
    if (sa > 0)
        scale_factors(sa, &fa1, &fa2);
    double svv = 0, saa = 0;
    for (int i = 0; i < k; i++) {
        double x = ld(v, isf, i) * fv1 * fv2, y = ld(a, isf, i) * fa1 * fa2;
        svv += x * x;
        saa += y * y;
    }
    double nv = sqrt(svv); /* in [1, √k] */
    double vn = sv * nv, an = sa * sqrt(saa);
    if (vn < DEGEN_ABS || vn <= DEGEN_REL * an)
        return r;
    r.degenerate = 0;
    r.speed = vn;
    if (sa == 0)
        return r; /* a = 0: no turning */
    /* T = v̂/‖v̂‖; c = T·â; ‖a⊥‖ = sa·sqrt(Σ (â_i − c T_i)²), each term formed explicitly. */
    double it = 1.0 / nv, c = 0;
    for (int i = 0; i < k; i++)
        c += (ld(v, isf, i) * fv1 * fv2 * it) * (ld(a, isf, i) * fa1 * fa2);
    double spp = 0;
    for (int i = 0; i < k; i++) {
        double p = ld(a, isf, i) * fa1 * fa2 - c * (ld(v, isf, i) * fv1 * fv2 * it);
        spp += p * p;
    }
    double pn = sa * sqrt(spp);
    r.gauss_speed = pn / vn;
    r.curvature = r.gauss_speed / vn;
    return r;
}

mli_curve_point mli_curve_point_eval(const double *v, const double *a, int k)
{
    return point_eval(v, a, k, 0);
}

mli_curve_point mli_curve_point_evalf(const float *v, const float *a, int k)
{
    return point_eval(v, a, k, 1);
}

/* ---- Integrals on a grid ------------------------------------------------------------- */

double mli_trapz(const double *x, const double *y, int n)
{
    double s = 0;
    for (int i = 1; i < n; i++)
        s += 0.5 * (x[i] - x[i - 1]) * (y[i - 1] + y[i]);
    return s;
}

void mli_trapz_cum(const double *x, const double *y, int n, double *cum)
{
    if (n < 1)
        return;
    double s = 0;
    cum[0] = 0;
    for (int i = 1; i < n; i++) {
        s += 0.5 * (x[i] - x[i - 1]) * (y[i - 1] + y[i]);
        cum[i] = s;
    }
}

void mli_linspace01(double *alpha, int n)
{
    if (n < 1)
        return;
    if (n == 1) {
        alpha[0] = 0;
        return;
    }
    for (int i = 0; i < n; i++)
        alpha[i] = (double)i / (double)(n - 1);
    alpha[n - 1] = 1.0;
}

/* ---- Bumps --------------------------------------------------------------------------- */

int mli_bumps(const double *alpha, const double *l, int n, mli_bump *out, int max)
{
    /* The reference's loop, statement for statement (curve.h), plus the NaN rule. */
    int count = 0, open = 0, start = 0;
    double height = 0;
    for (int i = 1; i < n; i++) {
        int end = -1;
        if (!open) {
            if (!(l[i] <= l[i - 1])) { /* a rise, or an unordered (NaN) pair */
                open = 1;
                start = i - 1;
                height = l[i] - l[i - 1];
                /* The reference records nothing for a rise that opens on the last step (it
                 * only closes bumps on later steps): Δ leaves it out, end_rise reports it.
                 * A NaN there is still a bump, so that Δ is NaN. */
                if (i == n - 1 && isnan(height))
                    end = i;
            }
        } else if (l[i] < l[start]) {
            open = 0;
            end = i;
        } else {
            double h = l[i] - l[start];
            if (isnan(h) || h > height)
                height = isnan(height) ? height : h;
            if (i == n - 1)
                end = i;
        }
        if (end < 0)
            continue;
        if (count < max && out) {
            out[count].start = start;
            out[count].end = end;
            out[count].height = height;
            out[count].width = alpha[end] - alpha[start];
        }
        count++;
    }
    return count;
}

double mli_end_rise(const double *l, int n)
{
    if (n < 2)
        return 0;
    double r = l[n - 1] - l[n - 2];
    return isnan(r) ? r : r > 0 ? r : 0;
}

double mli_bumps_max(const mli_bump *b, int nb)
{
    double m = 0;
    for (int i = 0; i < nb; i++) {
        if (isnan(b[i].height))
            return b[i].height;
        if (b[i].height > m)
            m = b[i].height;
    }
    return m;
}

/* ---- Adaptive quadrature -------------------------------------------------------------- */

typedef struct {
    mli_curve_fn f;
    void *ctx;
    int k;
    double *v, *a;
    int which;        /* 0: Gauss speed, 1: speed */
    int nonfinite;    /* f produced a non-finite v or a */
    double bad_alpha; /* where, the first time */
} integrand_ctx;

static double integrand(double alpha, void *p)
{
    integrand_ctx *c = p;
    if (c->nonfinite)
        return 0; /* let GSL finish quickly; the caller reports NaN */
    c->f(alpha, c->v, c->a, c->ctx);
    mli_curve_point q = mli_curve_point_eval(c->v, c->a, c->k);
    double y = c->which ? q.speed : q.gauss_speed;
    if (!isfinite(y)) {
        c->nonfinite = 1;
        c->bad_alpha = alpha;
        return 0;
    }
    return y;
}

int mli_curve_lengths_adaptive(mli_curve_fn f, void *ctx, int k, double epsabs, double epsrel,
                               double *gauss_length, double *arc_length, double *abserr)
{
    return mli_curve_lengths_adaptive_pts(f, ctx, k, NULL, 0, epsabs, epsrel, gauss_length,
                                          arc_length, abserr);
}

int mli_curve_lengths_adaptive_pts(mli_curve_fn f, void *ctx, int k, const double *breakpoints,
                                   int nbreak, double epsabs, double epsrel, double *gauss_length,
                                   double *arc_length, double *abserr)
{
    if (!f || k < 1)
        return mli_err(MLI_EUSAGE, "curve lengths: need a curve function and k >= 1 (k = %d)",
                       k);
    if (!(epsabs > 0) && !(epsrel > 0))
        return mli_err(MLI_EUSAGE,
                       "curve lengths: tolerances epsabs = %g, epsrel = %g: one must be > 0",
                       epsabs, epsrel);
    if (nbreak < 0 || (nbreak > 0 && !breakpoints))
        return mli_err(MLI_EUSAGE, "curve lengths: bad breakpoint list (%d points)", nbreak);
    for (int i = 0; i < nbreak; i++) {
        double lo = i ? breakpoints[i - 1] : 0.0;
        if (!(breakpoints[i] > lo && breakpoints[i] < 1.0))
            return mli_err(MLI_EUSAGE,
                           "curve lengths: breakpoint %d = %g: expected strictly increasing "
                           "values inside (0,1)",
                           i, breakpoints[i]);
    }
    if (epsabs < 0)
        epsabs = 0;
    if (epsrel < 0)
        epsrel = 0;

    integrand_ctx ic = {f, ctx, k, NULL, NULL, 0, 0, 0.0};
    ic.v = mli_malloc(2 * (size_t)k * sizeof *ic.v);
    ic.a = ic.v + k;
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(MLI_CURVE_QAG_LIMIT);
    if (!w) {
        free(ic.v);
        return mli_err(MLI_EFAIL, "curve lengths: cannot allocate the GSL workspace");
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();

    const char *names[2] = {"Gauss length", "arc length"};
    double res[2] = {0, 0}, err[2] = {0, 0};
    int status = MLI_OK;
    int npieces = nbreak + 1;
    for (int which = 0; which < 2; which++) {
        ic.which = which;
        gsl_function F = {integrand, &ic};
        for (int p = 0; p < npieces; p++) {
            double lo = p ? breakpoints[p - 1] : 0.0, hi = p < nbreak ? breakpoints[p] : 1.0;
            double r = 0, e = 0;
            int gs = gsl_integration_qag(&F, lo, hi, epsabs / npieces, epsrel,
                                         MLI_CURVE_QAG_LIMIT, GSL_INTEG_GAUSS21, w, &r, &e);
            res[which] += r;
            err[which] += e;
            if (ic.nonfinite)
                break;
            if (gs != GSL_SUCCESS && status == MLI_OK)
                status = mli_err(MLI_EFAIL,
                                 "curve lengths: %s on [%g, %g]: GSL qag failed: %s "
                                 "(estimate %g, error estimate %g, epsabs %g, epsrel %g)",
                                 names[which], lo, hi, gsl_strerror(gs), r, e, epsabs, epsrel);
        }
        if (ic.nonfinite)
            break;
    }

    gsl_set_error_handler(old);
    gsl_integration_workspace_free(w);
    free(ic.v);

    if (ic.nonfinite) {
        res[0] = res[1] = err[0] = err[1] = NAN;
        status = mli_err(MLI_EFAIL,
                         "curve lengths: the curve function gave a non-finite velocity or "
                         "acceleration at alpha = %.17g",
                         ic.bad_alpha);
    }
    if (gauss_length)
        *gauss_length = res[0];
    if (arc_length)
        *arc_length = res[1];
    if (abserr)
        *abserr = fmax(err[0], err[1]);
    return status;
}
