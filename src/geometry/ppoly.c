/* Polynomials and continuous piecewise polynomials on [0,1]: see ppoly.h. */
#include "geometry/ppoly.h"

#include <float.h>
#include <math.h>
#include <pthread.h>

#include "io/err.h"

double mli_poly_eval(const double *c, int deg, double x)
{
    double p = 0;
    for (int k = deg; k >= 0; k--)
        p = p * x + c[k];
    return p;
}

void mli_poly_eval2(const double *c, int deg, double x, double *p, double *dp)
{
    double v = 0, d = 0;
    for (int k = deg; k >= 0; k--) {
        d = d * x + v;
        v = v * x + c[k];
    }
    *p = v;
    *dp = d;
}

void mli_poly_deriv(const double *c, int deg, double *d)
{
    for (int k = 1; k <= deg; k++)
        d[k - 1] = k * c[k];
}

void mli_poly_mul(const double *a, int da, const double *b, int db, double *r)
{
    for (int k = 0; k <= da + db; k++)
        r[k] = 0;
    for (int i = 0; i <= da; i++)
        for (int j = 0; j <= db; j++)
            r[i + j] += a[i] * b[j];
}

void mli_poly_taylor(const double *c, int deg, double t, double *s)
{
    for (int m = 0; m <= deg; m++)
        s[m] = c[m];
    for (int i = 0; i < deg; i++)
        for (int m = deg - 1; m >= i; m--)
            s[m] += t * s[m + 1];
}

int mli_poly_degree(const double *c, int deg)
{
    while (deg >= 0 && c[deg] == 0)
        deg--;
    return deg;
}

static int sgn(double x) { return (x > 0) - (x < 0); }

/* The sign change of p inside [lo, hi], where p is monotone and sign(p(lo)) = −sign(p(hi)) ≠ 0.
 * Newton steps from the better end while they stay inside the shrinking bracket, bisection
 * otherwise: quadratic near a simple root, never worse than bisection. Stops when the bracket
 * is a few ulps wide or p evaluates to exactly 0. */
static double root_bracketed(const double *c, int deg, double lo, double hi, int slo)
{
    double x = 0.5 * (lo + hi);
    for (int it = 0; it < 200; it++) {
        double p, dp;
        mli_poly_eval2(c, deg, x, &p, &dp);
        int s = sgn(p);
        if (s == 0)
            return x;
        if (s == slo)
            lo = x;
        else
            hi = x;
        if (hi - lo <= 4 * DBL_EPSILON * fmax(fabs(lo), fabs(hi)) || hi - lo < 1e-300)
            break;
        double xn = dp != 0 ? x - p / dp : NAN;
        x = (xn > lo && xn < hi) ? xn : 0.5 * (lo + hi);
    }
    return 0.5 * (lo + hi);
}

int mli_poly_roots(const double *c, int deg, double a, double b, double *roots, int max)
{
    if (deg > MLI_POLY_MAXDEG || !(a <= b))
        return -1;
    for (int k = 0; k <= deg; k++)
        if (!isfinite(c[k]))
            return -1;
    deg = mli_poly_degree(c, deg);
    if (deg < 1 || a == b)
        return 0;

    /* Turning points of p inside (a, b): the sign changes of p′. */
    double pts[MLI_POLY_MAXDEG + 2];
    int np = 0;
    pts[np++] = a;
    if (deg >= 2) {
        double d[MLI_POLY_MAXDEG];
        mli_poly_deriv(c, deg, d);
        int nc = mli_poly_roots(d, deg - 1, a, b, pts + 1, MLI_POLY_MAXDEG);
        if (nc < 0)
            return -1;
        np += nc;
    }
    pts[np++] = b;

    /* p is monotone on each [pts[i], pts[i+1]]. A zero at an interior turning point is a
     * root when the nearest non-zero values on its two sides differ in sign. */
    int s[MLI_POLY_MAXDEG + 2];
    for (int i = 0; i < np; i++)
        s[i] = sgn(mli_poly_eval(c, deg, pts[i]));
    int count = 0;
    for (int i = 0; i + 1 < np; i++) {
        if (s[i] != 0 && s[i + 1] != 0 && s[i] != s[i + 1]) {
            double r = root_bracketed(c, deg, pts[i], pts[i + 1], s[i]);
            if (count < max)
                roots[count] = r;
            count++;
        } else if (s[i + 1] == 0 && i + 2 < np) {
            int left = s[i], j = i + 2;
            while (j < np - 1 && s[j] == 0)
                j++;
            if (left != 0 && s[j] != 0 && left != s[j]) {
                if (count < max)
                    roots[count] = pts[i + 1];
                count++;
            }
        }
    }
    return count;
}

double mli_ppoly_eval(const mli_ppoly *p, double alpha)
{
    int lo = 0, hi = p->n - 1;
    while (lo < hi) { /* last piece whose start is ≤ alpha */
        int mid = (lo + hi + 1) / 2;
        if (p->brk[mid] <= alpha)
            lo = mid;
        else
            hi = mid - 1;
    }
    return mli_poly_eval(p->coef + (size_t)lo * (p->deg + 1), p->deg, alpha);
}

/* The scan of mli_ppoly_bumps: the state of the reference loop, run over the values at the
 * turning points, each with the piece its segment lies in. */
typedef struct {
    double tol;
    int open;
    double min, min_at;   /* running minimum (= start of the open bump) */
    double max, max_at;   /* highest point of the open bump */
    double prev, prev_at; /* previous point */
    double drawup, drawup_s, drawup_e;
    double best; /* height of the highest bump recorded */
    mli_cmono *out;
    mli_cbump *bumps;
    int max_bumps;
} scan;

static void scan_close(scan *st, double end)
{
    double h = st->max - st->min;
    mli_cbump bp = {st->min_at, end, h, st->max_at};
    if (st->out->nbumps < st->max_bumps)
        st->bumps[st->out->nbumps] = bp;
    if (st->out->nbumps == 0)
        st->out->first_rise = st->min_at;
    st->out->nbumps++;
    if (h > st->best) {
        st->best = h;
        st->out->delta_start = st->min_at;
        st->out->delta_end = end;
    }
    st->open = 0;
}

/* One more point (t, v) of the curve, reached from the previous one along a monotone
 * stretch of the piece with coefficients c. */
static void scan_point(scan *st, const double *c, int deg, double t, double v)
{
    if (v - st->min > st->drawup) {
        st->drawup = v - st->min;
        st->drawup_s = st->min_at;
        st->drawup_e = t;
    }
    if (st->open) {
        if (v > st->max) {
            st->max = v;
            st->max_at = t;
        } else if (v < st->min) {
            /* ℓ falls through ℓ(s) on (prev, t]: the bump ends at that crossing. */
            double q[MLI_POLY_MAXDEG + 1];
            for (int k = 0; k <= deg; k++)
                q[k] = c[k];
            q[0] -= st->min;
            double e = t, r;
            if (st->prev > st->min && mli_poly_roots(q, deg, st->prev_at, t, &r, 1) >= 1)
                e = r;
            else if (st->prev <= st->min)
                e = st->prev_at;
            scan_close(st, e);
        }
    } else if (v > st->min + st->tol) {
        st->open = 1;
        st->max = v;
        st->max_at = t;
    }
    if (!st->open && v < st->min) {
        st->min = v;
        st->min_at = t;
    }
    st->prev = v;
    st->prev_at = t;
}

int mli_ppoly_bumps(const mli_ppoly *p, double tol, mli_cmono *out, mli_cbump *bumps, int max)
{
    if (p->n < 1 || p->deg < 0 || p->deg > MLI_POLY_MAXDEG)
        return mli_err(MLI_EUSAGE, "piecewise polynomial: %d pieces of degree %d", p->n, p->deg);
    for (int j = 0; j < p->n; j++)
        if (!(p->brk[j] < p->brk[j + 1]))
            return mli_err(MLI_EUSAGE, "piecewise polynomial: breakpoints %d and %d not increasing",
                           j, j + 1);
    *out = (mli_cmono){0, -1, -1, -1, 0, 0};
    scan st = {.tol = tol, .out = out, .bumps = bumps, .max_bumps = max, .drawup_s = -1,
               .drawup_e = -1, .best = -1};
    const int deg = p->deg;
    double c0v = mli_poly_eval(p->coef, deg, p->brk[0]);
    st.min = st.prev = c0v;
    st.min_at = st.prev_at = p->brk[0];
    for (int j = 0; j < p->n; j++) {
        const double *c = p->coef + (size_t)j * (deg + 1);
        double a = p->brk[j], b = p->brk[j + 1];
        double d[MLI_POLY_MAXDEG], t[MLI_POLY_MAXDEG + 1];
        int nt = 0;
        if (deg >= 1) {
            mli_poly_deriv(c, deg, d);
            nt = mli_poly_roots(d, deg - 1, a, b, t, MLI_POLY_MAXDEG);
            if (nt < 0)
                return mli_err(MLI_EUSAGE, "piecewise polynomial: piece %d is not finite", j);
        }
        /* Leaving the breakpoint with the right piece's value, then the turning points. */
        scan_point(&st, c, deg, a, mli_poly_eval(c, deg, a));
        for (int i = 0; i < nt; i++)
            scan_point(&st, c, deg, t[i], mli_poly_eval(c, deg, t[i]));
        scan_point(&st, c, deg, b, mli_poly_eval(c, deg, b));
        out->nextrema += nt + 1;
    }
    if (st.open)
        scan_close(&st, p->brk[p->n]);
    /* Δ is the largest rise over the running minimum, whether or not it exceeds tol. */
    out->delta = st.drawup;
    if (out->nbumps == 0) {
        out->delta_start = st.drawup > 0 ? st.drawup_s : -1;
        out->delta_end = st.drawup > 0 ? st.drawup_e : -1;
    }
    return MLI_OK;
}

/* B[deg][j][i] = C(j,i)/C(deg,i): the power-to-Bernstein conversion on [0,1] for the low
 * degrees, computed once (the exact sweep converts millions of small polynomials). */
#define BTAB 12
static double btab[BTAB + 1][BTAB + 1][BTAB + 1];
static pthread_once_t btab_once = PTHREAD_ONCE_INIT;

static void btab_init(void)
{
    for (int n = 0; n <= BTAB; n++)
        for (int j = 0; j <= n; j++) {
            double cji = 1, cdi = 1; /* C(j,i), C(n,i) built up with i */
            for (int i = 0; i <= j; i++) {
                btab[n][j][i] = cji / cdi;
                cji = cji * (j - i) / (i + 1);
                cdi = cdi * (n - i) / (i + 1);
            }
        }
}

/* beta[0..deg]: the Bernstein coefficients of p on [a, b]. */
static void bernstein(const double *c, int deg, double a, double b, double *beta)
{
    double t[MLI_POLY_MAXDEG + 1], h = b - a, hp = 1;
    mli_poly_taylor(c, deg, a, t); /* α = a + h u, u ∈ [0,1] */
    for (int m = 0; m <= deg; m++, hp *= h)
        t[m] *= hp;
    if (deg <= BTAB) {
        pthread_once(&btab_once, btab_init);
        for (int j = 0; j <= deg; j++) {
            double v = 0;
            for (int i = 0; i <= j; i++)
                v += btab[deg][j][i] * t[i];
            beta[j] = v;
        }
        return;
    }
    for (int j = 0; j <= deg; j++) { /* β_j = Σ_{i ≤ j} C(j,i)/C(deg,i) t_i */
        double v = 0, cji = 1, cdi = 1;
        for (int i = 0; i <= j; i++) {
            v += cji / cdi * t[i];
            cji = cji * (j - i) / (i + 1);
            cdi = cdi * (deg - i) / (i + 1);
        }
        beta[j] = v;
    }
}

int mli_poly_may_change_sign(const double *c, int deg, double a, double b)
{
    if (deg > MLI_POLY_MAXDEG)
        return 1;
    if (deg < 1)
        return 0;
    double beta[MLI_POLY_MAXDEG + 1];
    bernstein(c, deg, a, b, beta);
    /* The interior coefficients must share a strict sign; the end ones are p(a), p(b) and
     * may be 0 (no crossing inside). */
    int pos = 0, neg = 0;
    for (int j = 0; j <= deg; j++) {
        if (beta[j] > 0)
            pos = 1;
        else if (beta[j] < 0)
            neg = 1;
        else if (j > 0 && j < deg)
            return 1;
    }
    return pos && neg;
}

void mli_poly_range(const double *c, int deg, double a, double b, double *lo, double *hi)
{
    if (deg >= 0 && deg <= 2) { /* the exact range: the ends and, for a parabola, its vertex */
        double pa = mli_poly_eval(c, deg, a), pb = mli_poly_eval(c, deg, b);
        *lo = pa < pb ? pa : pb;
        *hi = pa < pb ? pb : pa;
        if (deg == 2 && c[2] != 0) {
            double v = -c[1] / (2 * c[2]);
            if (v > a && v < b) {
                double pv = mli_poly_eval(c, 2, v);
                *lo = pv < *lo ? pv : *lo;
                *hi = pv > *hi ? pv : *hi;
            }
        }
        return;
    }
    if (deg < 0 || deg > MLI_POLY_MAXDEG) {
        *lo = deg < 0 ? 0 : -INFINITY;
        *hi = deg < 0 ? 0 : INFINITY;
        return;
    }
    double beta[MLI_POLY_MAXDEG + 1];
    bernstein(c, deg, a, b, beta);
    *lo = *hi = beta[0];
    for (int j = 1; j <= deg; j++) {
        *lo = fmin(*lo, beta[j]);
        *hi = fmax(*hi, beta[j]);
    }
}
