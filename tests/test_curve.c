/* Curve geometry (src/geometry/curve.c): pointwise speed, curvature and Gauss speed on curves
 * whose values are known in closed form (lines, circles, a helix, a parabola, the
 * reference's sin/cos test), zero-speed points, grid integrals, adaptive quadrature, and
 * bumps of hand-made loss sequences with the expected (start, end, height, width) written
 * out by hand. */
#include "testutil.h" /* includes io/real.h, which must precede any GSL header */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "geometry/curve.h"
#include "io/err.h"

#define NGRID 50
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (|diff| %.3g > tol %.3g)", what, got, want,
                 fabs(got - want), tol);
}

static double norm(const double *x, int k)
{
    double s = 0;
    for (int i = 0; i < k; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* Deterministic numbers in [-1, 1). */
static void fill_rand(double *x, int n, unsigned long long seed)
{
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = -1.0 + 2.0 * (double)(s >> 11) / 9007199254740992.0;
    }
}

/* ---- A generic curve description used both on the grid and by the adaptive routine ---- */

#define KMAX 8
typedef void (*va_fn)(double alpha, double *v, double *a, void *ctx);

typedef struct {
    double G, S, Gcum_last;
    int ndegenerate, nnan;
} grid_result;

/* Evaluate v, a on the n-point linspace grid, then trapezoid G and S. */
static grid_result on_grid(va_fn f, void *ctx, int k, int n)
{
    double alpha[201], gs[201], sp[201], cum[201], v[KMAX], a[KMAX];
    assert_true(n <= 201 && k <= KMAX);
    mli_linspace01(alpha, n);
    grid_result r = {0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        f(alpha[i], v, a, ctx);
        mli_curve_point p = mli_curve_point_eval(v, a, k);
        r.ndegenerate += p.degenerate;
        r.nnan += isnan(p.speed) || isnan(p.curvature) || isnan(p.gauss_speed);
        gs[i] = p.gauss_speed;
        sp[i] = p.speed;
    }
    r.G = mli_trapz(alpha, gs, n);
    r.S = mli_trapz(alpha, sp, n);
    mli_trapz_cum(alpha, gs, n, cum);
    r.Gcum_last = cum[n - 1];
    return r;
}

/* z = p + φ(α) d in ℝᵏ with φ = α (power 1) or α² (power 2). */
typedef struct {
    int k, power;
    double d[KMAX];
} line_ctx;

static void line_fn(double alpha, double *v, double *a, void *ctx)
{
    line_ctx *c = ctx;
    double dphi = c->power == 1 ? 1.0 : 2.0 * alpha, ddphi = c->power == 1 ? 0.0 : 2.0;
    for (int i = 0; i < c->k; i++) {
        v[i] = dphi * c->d[i];
        a[i] = ddphi * c->d[i];
    }
}

/* z = (α − α₀)² d: stops at α₀ and turns back. */
typedef struct {
    int k;
    double a0, d[KMAX];
} turn_ctx;

static void turn_fn(double alpha, double *v, double *a, void *ctx)
{
    turn_ctx *c = ctx;
    for (int i = 0; i < c->k; i++) {
        v[i] = 2.0 * (alpha - c->a0) * c->d[i];
        a[i] = 2.0 * c->d[i];
    }
}

/* z = p + R (cos φα e1 + sin φα e2) with orthonormal e1, e2 in ℝᵏ. */
typedef struct {
    int k;
    double R, phi, e1[KMAX], e2[KMAX];
} circle_ctx;

static void circle_fn(double alpha, double *v, double *a, void *ctx)
{
    circle_ctx *c = ctx;
    double t = c->phi * alpha, cs = cos(t), sn = sin(t);
    for (int i = 0; i < c->k; i++) {
        v[i] = c->R * c->phi * (-sn * c->e1[i] + cs * c->e2[i]);
        a[i] = -c->R * c->phi * c->phi * (cs * c->e1[i] + sn * c->e2[i]);
    }
}

static circle_ctx circle_2d(double R, double phi)
{
    circle_ctx c;
    memset(&c, 0, sizeof c);
    c.k = 2;
    c.R = R;
    c.phi = phi;
    c.e1[0] = 1;
    c.e2[1] = 1;
    return c;
}

/* Helix (R cos t, R sin t, c t), t = ωα. */
typedef struct {
    double R, c, w;
} helix_ctx;

static void helix_fn(double alpha, double *v, double *a, void *ctx)
{
    helix_ctx *h = ctx;
    double t = h->w * alpha, cs = cos(t), sn = sin(t);
    v[0] = -h->R * h->w * sn;
    v[1] = h->R * h->w * cs;
    v[2] = h->c * h->w;
    a[0] = -h->R * h->w * h->w * cs;
    a[1] = -h->R * h->w * h->w * sn;
    a[2] = 0;
}

/* The reference's test: (sin(φ(α) + x), cos(φ(α) + x)), φ(0) = 0, φ(1) = π.
 * kind 0: φ = πα; 1: φ = πα²; 2: φ = π (1 − cos πα)/2. */
typedef struct {
    double x;
    int kind;
} sincos_ctx;

static void sincos_fn(double alpha, double *v, double *a, void *ctx)
{
    sincos_ctx *c = ctx;
    double phi, d1, d2;
    if (c->kind == 0) {
        phi = M_PI * alpha;
        d1 = M_PI;
        d2 = 0;
    } else if (c->kind == 1) {
        phi = M_PI * alpha * alpha;
        d1 = 2 * M_PI * alpha;
        d2 = 2 * M_PI;
    } else {
        phi = M_PI * (1 - cos(M_PI * alpha)) / 2;
        d1 = M_PI * M_PI / 2 * sin(M_PI * alpha);
        d2 = M_PI * M_PI * M_PI / 2 * cos(M_PI * alpha);
    }
    double s = sin(phi + c->x), co = cos(phi + c->x);
    /* z = (s, co); z' = d1 (co, −s); z'' = d2 (co, −s) + d1² (−s, −co) */
    v[0] = d1 * co;
    v[1] = -d1 * s;
    a[0] = d2 * co - d1 * d1 * s;
    a[1] = -d2 * s - d1 * d1 * co;
}

/* Parabola (α, cα²). */
typedef struct {
    double c;
} parab_ctx;

static void parab_fn(double alpha, double *v, double *a, void *ctx)
{
    parab_ctx *p = ctx;
    v[0] = 1;
    v[1] = 2 * p->c * alpha;
    a[0] = 0;
    a[1] = 2 * p->c;
}

/* ---- Lines ----------------------------------------------------------------------------- */

static void test_line_uniform(void **state)
{
    line_ctx c = {4, 1, {1.5, -2.0, 0.25, 3.0}};
    double dn = norm(c.d, 4);
    double v[4], a[4];
    line_fn(0.3, v, a, &c);
    mli_curve_point p = mli_curve_point_eval(v, a, 4);
    assert_int_equal(p.degenerate, 0);
    assert_close(p.speed, dn, 1e-14, "speed");
    assert_true(p.curvature == 0 && p.gauss_speed == 0);

    grid_result g = on_grid(line_fn, &c, 4, NGRID);
    assert_int_equal(g.ndegenerate, 0);
    assert_true(g.G == 0);
    assert_close(g.S, dn, 1e-13, "arc length (grid)");

    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(line_fn, &c, 4, 1e-12, 1e-12, &G, &S, &err),
                     MLI_OK);
    assert_true(G == 0);
    assert_close(S, dn, 1e-12, "arc length (adaptive)");
}

/* z = p + α² d: speed varies, a ∥ v, so G is still 0 (up to rounding noise). */
static void test_line_nonuniform(void **state)
{
    line_ctx c = {4, 2, {1.5, -2.0, 0.25, 3.0}};
    double dn = norm(c.d, 4);
    grid_result g = on_grid(line_fn, &c, 4, NGRID);
    assert_int_equal(g.ndegenerate, 1); /* α = 0: v = 0 */
    assert_int_equal(g.nnan, 0);
    assert_close(g.G, 0, 1e-12, "Gauss length (grid)");
    assert_close(g.S, dn, 1e-13, "arc length (grid)"); /* ‖v‖ = 2α‖d‖ is linear: exact */

    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(line_fn, &c, 4, 1e-10, 1e-10, &G, &S, &err),
                     MLI_OK);
    assert_close(G, 0, 1e-10, "Gauss length (adaptive)");
    assert_close(S, dn, 1e-10, "arc length (adaptive)");
}

/* ---- Circles ---------------------------------------------------------------------------- */

static void check_circle(circle_ctx *c)
{
    double v[KMAX], a[KMAX];
    for (int i = 0; i <= 10; i++) {
        circle_fn(i / 10.0, v, a, c);
        mli_curve_point p = mli_curve_point_eval(v, a, c->k);
        assert_int_equal(p.degenerate, 0);
        assert_close(p.speed, c->R * c->phi, 1e-13, "circle speed");
        assert_close(p.curvature, 1 / c->R, 1e-13, "circle curvature");
        assert_close(p.gauss_speed, c->phi, 1e-13, "circle Gauss speed");
        /* float inputs */
        float vf[KMAX], af[KMAX];
        for (int j = 0; j < c->k; j++) {
            vf[j] = (float)v[j];
            af[j] = (float)a[j];
        }
        mli_curve_point q = mli_curve_point_evalf(vf, af, c->k);
        assert_int_equal(q.degenerate, 0);
        assert_close(q.curvature, 1 / c->R, 1e-5, "circle curvature (float)");
        assert_close(q.gauss_speed, c->phi, 1e-5 * c->phi, "circle Gauss speed (float)");
    }
    /* constant integrands: the 50-point trapezoid is exact */
    grid_result g = on_grid(circle_fn, c, c->k, NGRID);
    assert_close(g.G, c->phi, 1e-12, "circle G (grid)");
    assert_close(g.S, c->R * c->phi, 1e-12, "circle S (grid)");
    assert_true(g.Gcum_last == g.G);

    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(circle_fn, c, c->k, 0, 1e-12, &G, &S, &err),
                     MLI_OK);
    assert_close(G, c->phi, 1e-11, "circle G (adaptive)");
    assert_close(S, c->R * c->phi, 1e-11, "circle S (adaptive)");
    assert_true(err <= 1e-10);
}

static void test_circle_2d(void **state)
{
    circle_ctx c = circle_2d(2.5, 3.0);
    check_circle(&c);
    circle_ctx h = circle_2d(1.0, M_PI); /* half circle: G = π */
    check_circle(&h);
    circle_ctx s = circle_2d(0.01, 0.5); /* small radius, large curvature */
    check_circle(&s);
}

static void test_circle_embedded_r5(void **state)
{
    circle_ctx c;
    memset(&c, 0, sizeof c);
    c.k = 5;
    c.R = 0.7;
    c.phi = 2.2;
    /* a random 2-plane: Gram–Schmidt on two random vectors */
    fill_rand(c.e1, 5, 11);
    fill_rand(c.e2, 5, 12);
    double n1 = norm(c.e1, 5);
    for (int i = 0; i < 5; i++)
        c.e1[i] /= n1;
    double d = 0;
    for (int i = 0; i < 5; i++)
        d += c.e1[i] * c.e2[i];
    for (int i = 0; i < 5; i++)
        c.e2[i] -= d * c.e1[i];
    double n2 = norm(c.e2, 5);
    for (int i = 0; i < 5; i++)
        c.e2[i] /= n2;
    check_circle(&c);
}

/* ---- Helix -------------------------------------------------------------------------- */

static void test_helix(void **state)
{
    helix_ctx h = {1.5, 0.7, 4.0};
    double q = sqrt(h.R * h.R + h.c * h.c);
    double kappa = h.R / (q * q), gspeed = h.w * h.R / q, speed = h.w * q;
    double v[3], a[3];
    for (int i = 0; i <= 8; i++) {
        helix_fn(i / 8.0, v, a, &h);
        mli_curve_point p = mli_curve_point_eval(v, a, 3);
        assert_close(p.speed, speed, 1e-13, "helix speed");
        assert_close(p.curvature, kappa, 1e-14, "helix curvature");
        assert_close(p.gauss_speed, gspeed, 1e-13, "helix Gauss speed");
    }
    grid_result g = on_grid(helix_fn, &h, 3, NGRID);
    assert_close(g.G, gspeed, 1e-12, "helix G (grid)");
    assert_close(g.S, speed, 1e-12, "helix S (grid)");
    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(helix_fn, &h, 3, 0, 1e-12, &G, &S, &err),
                     MLI_OK);
    assert_close(G, gspeed, 1e-11, "helix G (adaptive)");
    assert_close(S, speed, 1e-11, "helix S (adaptive)");
}

/* ---- The reference's sin/cos test ------------------------------------------------------ */

static void test_reference_sincos(void **state)
{
    const double xs[] = {0.0, 0.3, -1.2, 2.0, 10.0};
    for (size_t ix = 0; ix < sizeof xs / sizeof xs[0]; ix++) {
        for (int kind = 0; kind < 3; kind++) {
            sincos_ctx c = {xs[ix], kind};
            char what[96];
            double G, S, err;
            snprintf(what, sizeof what, "sin/cos x = %g, phi kind %d: G (adaptive)", c.x, kind);
            assert_int_equal(
                mli_curve_lengths_adaptive(sincos_fn, &c, 2, 0, 1e-12, &G, &S, &err), MLI_OK);
            assert_close(G, M_PI, 1e-10, what);
            assert_close(S, M_PI, 1e-10, what); /* unit circle: S = G */
            grid_result g = on_grid(sincos_fn, &c, 2, NGRID);
            assert_int_equal(g.nnan, 0);
            snprintf(what, sizeof what, "sin/cos x = %g, phi kind %d: G (grid)", c.x, kind);
            if (kind < 2) {
                /* Gauss speed π or 2πα: linear in α, so the trapezoid is exact */
                assert_close(g.G, M_PI, 1e-12, what);
            } else {
                /* Gauss speed (π²/2) sin πα: the trapezoid is off by O(h²) */
                assert_close(g.G, M_PI, 2e-3, what);
                assert_true(fabs(g.G - M_PI) > 1e-5);
            }
        }
    }
}

/* ---- Zero speed ------------------------------------------------------------------------- */

static void assert_degenerate(mli_curve_point p)
{
    assert_int_equal(p.degenerate, 1);
    assert_true(p.speed == 0 && p.curvature == 0 && p.gauss_speed == 0);
}

static void test_zero_speed(void **state)
{
    double z3[3] = {0, 0, 0}, a3[3] = {1, -2, 3};
    assert_degenerate(mli_curve_point_eval(z3, a3, 3));
    assert_degenerate(mli_curve_point_eval(z3, z3, 3));
    float zf[3] = {0, 0, 0}, af[3] = {1, -2, 3};
    assert_degenerate(mli_curve_point_evalf(zf, af, 3));
    assert_degenerate(mli_curve_point_eval(z3, a3, 0));

    /* below the rounding of a: degenerate */
    double vt[2] = {1e-20, 0}, at[2] = {0, 1};
    assert_degenerate(mli_curve_point_eval(vt, at, 2));
    /* below the absolute threshold, even with a = 0 */
    double vs[2] = {1e-310, 0}, as[2] = {0, 0};
    assert_degenerate(mli_curve_point_eval(vs, as, 2));

    /* small but resolvable speed: not degenerate, large finite curvature */
    double vm[2] = {1e-10, 0}, am[2] = {0, 1};
    mli_curve_point p = mli_curve_point_eval(vm, am, 2);
    assert_int_equal(p.degenerate, 0);
    assert_close(p.speed, 1e-10, 1e-24, "small speed");
    assert_close(p.gauss_speed / 1e10, 1, 1e-14, "Gauss speed 1e10");
    assert_close(p.curvature / 1e20, 1, 1e-14, "curvature 1e20");

    /* tiny scale with a nonzero a: scaling keeps it exact (no underflow of squares) */
    double vu[2] = {3e-200, 4e-200}, au[2] = {-4e-200, 3e-200};
    p = mli_curve_point_eval(vu, au, 2);
    assert_int_equal(p.degenerate, 0);
    assert_close(p.speed / 5e-200, 1, 1e-15, "tiny speed");
    assert_close(p.gauss_speed, 1, 1e-15, "tiny-scale Gauss speed");
    /* huge scale: no overflow of squares */
    double vh[2] = {3e200, 4e200}, ah[2] = {-4e200, 3e200};
    p = mli_curve_point_eval(vh, ah, 2);
    assert_close(p.speed / 5e200, 1, 1e-15, "huge speed");
    assert_close(p.gauss_speed, 1, 1e-15, "huge-scale Gauss speed");
    /* extremes of the double range: near DBL_MAX, and a subnormal acceleration */
    double vx[2] = {1.5e308, 0}, ax[2] = {0, 1e308};
    p = mli_curve_point_eval(vx, ax, 2);
    assert_close(p.speed / 1.5e308, 1, 1e-15, "speed near DBL_MAX");
    assert_close(p.gauss_speed, 1 / 1.5, 1e-15, "Gauss speed near DBL_MAX");
    double vd[2] = {1e-290, 0}, ad[2] = {0, 1e-310};
    p = mli_curve_point_eval(vd, ad, 2);
    assert_int_equal(p.degenerate, 0);
    assert_close(p.gauss_speed / 1e-20, 1, 1e-4, "Gauss speed, subnormal a");
    assert_close(p.curvature / 1e270, 1, 1e-4, "curvature, subnormal a");

    /* a nearly parallel to v: the explicit a⊥ keeps the small normal part accurate
     * (‖a‖² − (T·a)² would cancel to 0 or noise here) */
    double vp[2] = {1, 0}, ap[2] = {1e8, 1e-3};
    p = mli_curve_point_eval(vp, ap, 2);
    assert_close(p.gauss_speed / 1e-3, 1, 1e-12, "normal part of a nearly parallel a");

    /* non-finite input: NaN out, not degenerate */
    double vn[2] = {NAN, 1}, an[2] = {0, 1};
    p = mli_curve_point_eval(vn, an, 2);
    assert_true(isnan(p.speed) && isnan(p.gauss_speed) && p.degenerate == 0);
}

/* z = (α − 0.5)² d stops at α = 0.5 and turns back: no NaN anywhere. */
static void test_turn_back(void **state)
{
    turn_ctx c = {3, 0.5, {1.0, 2.0, -2.0}}; /* ‖d‖ = 3 */
    /* 51 points: α = 0.5 is a grid point, where v = 0 exactly */
    grid_result g = on_grid(turn_fn, &c, 3, 51);
    assert_int_equal(g.ndegenerate, 1);
    assert_int_equal(g.nnan, 0);
    assert_true(isfinite(g.G));
    assert_close(g.G, 0, 1e-12, "turn-back G (grid)");
    assert_close(g.S, 1.5, 1e-13, "turn-back S (grid)"); /* ∫ 2|α − ½| · 3 = 1.5 */
    g = on_grid(turn_fn, &c, 3, NGRID);                   /* 0.5 is not on the grid */
    assert_int_equal(g.nnan, 0);
    assert_close(g.G, 0, 1e-12, "turn-back G (50-point grid)");

    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(turn_fn, &c, 3, 1e-10, 1e-10, &G, &S, &err),
                     MLI_OK);
    assert_true(isfinite(G));
    assert_close(G, 0, 1e-9, "turn-back G (adaptive)");
    assert_close(S, 1.5, 1e-9, "turn-back S (adaptive)");
    const double brk[1] = {0.5};
    assert_int_equal(mli_curve_lengths_adaptive_pts(turn_fn, &c, 3, brk, 1, 1e-10, 1e-10, &G, &S,
                                                    &err),
                     MLI_OK);
    assert_close(G, 0, 1e-9, "turn-back G (adaptive, breakpoint)");
    assert_close(S, 1.5, 1e-12, "turn-back S (adaptive, breakpoint)");
}

/* ---- Grid integrals ------------------------------------------------------------------ */

static void test_trapz_cum(void **state)
{
    double x[40], y[40], cum[40];
    x[0] = 0;
    for (int i = 1; i < 40; i++)
        x[i] = x[i - 1] + 0.01 + 0.05 * (0.5 + 0.5 * sin(3.0 * i)); /* non-uniform */
    for (int i = 0; i < 40; i++)
        y[i] = 1.0 + sin(5 * x[i]) * sin(5 * x[i]) + (i % 7 == 3 ? 0.0 : 0.1 * i); /* >= 0 */
    y[10] = 0;
    y[11] = 0; /* a flat zero piece: cum stays equal there */
    mli_trapz_cum(x, y, 40, cum);
    assert_true(cum[0] == 0);
    assert_true(cum[39] == mli_trapz(x, y, 40));
    for (int i = 1; i < 40; i++)
        assert_true(cum[i] >= cum[i - 1]);
    assert_true(cum[11] == cum[10]);
    assert_true(cum[39] > 0);

    /* linear integrands are exact on any grid: ∫ (2x + 1) dx */
    double yl[40];
    for (int i = 0; i < 40; i++)
        yl[i] = 2 * x[i] + 1;
    mli_trapz_cum(x, yl, 40, cum);
    for (int i = 0; i < 40; i++)
        assert_close(cum[i], x[i] * x[i] + x[i], 1e-13, "cumulative trapezoid of 2x + 1");

    /* degenerate sizes */
    double c1[1] = {42};
    mli_trapz_cum(x, y, 1, c1);
    assert_true(c1[0] == 0);
    assert_true(mli_trapz(x, y, 1) == 0);
    assert_true(mli_trapz(x, y, 0) == 0);
    /* NaN propagates */
    y[5] = NAN;
    assert_true(isnan(mli_trapz(x, y, 40)));
}

static void test_linspace01(void **state)
{
    double a[NGRID];
    mli_linspace01(a, NGRID);
    assert_true(a[0] == 0.0 && a[NGRID - 1] == 1.0);
    for (int i = 0; i < NGRID; i++)
        assert_true(a[i] == (double)i / 49.0);
    for (int i = 1; i < NGRID; i++)
        assert_true(a[i] > a[i - 1]);
    double b[3];
    mli_linspace01(b, 3);
    assert_true(b[0] == 0 && b[1] == 0.5 && b[2] == 1);
    double c[1] = {7};
    mli_linspace01(c, 1);
    assert_true(c[0] == 0);
}

/* ---- Adaptive quadrature ------------------------------------------------------------ */

/* Parabola (α, cα²): κ = 2c/(1 + 4c²α²)^{3/2}, Gauss speed 2c/(1 + 4c²α²), G = atan(2c),
 * S = (u√(1+u²) + asinh u)/(4c) with u = 2c. Non-constant integrands: the adaptive result
 * is accurate to 1e-8, the 50-point trapezoid visibly is not. */
static void test_adaptive_parabola(void **state)
{
    parab_ctx c = {3.0};
    double v[2], a[2];
    for (int i = 0; i <= 4; i++) {
        double al = i / 4.0, q = 1 + 4 * c.c * c.c * al * al;
        parab_fn(al, v, a, &c);
        mli_curve_point p = mli_curve_point_eval(v, a, 2);
        assert_close(p.curvature, 2 * c.c / pow(q, 1.5), 1e-14, "parabola curvature");
        assert_close(p.gauss_speed, 2 * c.c / q, 1e-14, "parabola Gauss speed");
    }
    double u = 2 * c.c;
    double Gx = atan(u), Sx = (u * sqrt(1 + u * u) + asinh(u)) / (4 * c.c);
    double G, S, err;
    assert_int_equal(mli_curve_lengths_adaptive(parab_fn, &c, 2, 1e-12, 1e-12, &G, &S, &err),
                     MLI_OK);
    assert_close(G, Gx, 1e-8, "parabola G (adaptive)");
    assert_close(S, Sx, 1e-8, "parabola S (adaptive)");
    assert_true(err < 1e-8);
    grid_result g = on_grid(parab_fn, &c, 2, NGRID);
    double eg = fabs(g.G - Gx), ea = fabs(G - Gx);
    assert_true(eg > 1e-6);      /* the trapezoid error is O(h²) ≈ 1e-5 here */
    assert_true(eg > 100 * ea); /* and far larger than the adaptive one */
    assert_true(fabs(g.S - Sx) > 1e-6);

    /* splitting at breakpoints gives the same values */
    const double brk[3] = {0.1, 0.25, 0.7};
    assert_int_equal(
        mli_curve_lengths_adaptive_pts(parab_fn, &c, 2, brk, 3, 1e-12, 1e-12, &G, &S, &err),
        MLI_OK);
    assert_close(G, Gx, 1e-8, "parabola G (adaptive, breakpoints)");
    assert_close(S, Sx, 1e-8, "parabola S (adaptive, breakpoints)");
}

static void nan_fn(double alpha, double *v, double *a, void *ctx)
{
    v[0] = 1;
    v[1] = alpha > 0.7 ? NAN : alpha;
    a[0] = 0;
    a[1] = 1;
}

static int custom_handler_calls;
static void custom_handler(const char *reason, const char *file, int line, int gsl_errno)
{
    custom_handler_calls++;
}

static void test_adaptive_errors(void **state)
{
    parab_ctx c = {3.0};
    double G = -1, S = -1, err = -1;
    gsl_error_handler_t *before = gsl_set_error_handler(custom_handler);

    /* bad arguments */
    assert_int_equal(mli_curve_lengths_adaptive(NULL, &c, 2, 1e-8, 1e-8, &G, &S, &err),
                     MLI_EUSAGE);
    assert_int_equal(mli_curve_lengths_adaptive(parab_fn, &c, 0, 1e-8, 1e-8, &G, &S, &err),
                     MLI_EUSAGE);
    assert_int_equal(mli_curve_lengths_adaptive(parab_fn, &c, 2, 0, 0, &G, &S, &err),
                     MLI_EUSAGE);
    const double bad1[2] = {0.5, 0.5}, bad2[1] = {1.0};
    assert_int_equal(
        mli_curve_lengths_adaptive_pts(parab_fn, &c, 2, bad1, 2, 1e-8, 1e-8, &G, &S, &err),
        MLI_EUSAGE);
    assert_int_equal(
        mli_curve_lengths_adaptive_pts(parab_fn, &c, 2, bad2, 1, 1e-8, 1e-8, &G, &S, &err),
        MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "breakpoint"));

    /* a tolerance GSL refuses (epsabs 0, epsrel < 50 ε): mapped to MLI_EFAIL, no abort */
    mli_err_clear();
    assert_int_equal(mli_curve_lengths_adaptive(parab_fn, &c, 2, 0, 1e-16, &G, &S, &err),
                     MLI_EFAIL);
    assert_non_null(strstr(mli_errmsg(), "GSL"));

    /* a curve function that returns NaN: MLI_EFAIL, NaN results, the α named */
    mli_err_clear();
    assert_int_equal(mli_curve_lengths_adaptive(nan_fn, NULL, 2, 1e-8, 1e-8, &G, &S, &err),
                     MLI_EFAIL);
    assert_true(isnan(G) && isnan(S));
    assert_non_null(strstr(mli_errmsg(), "non-finite"));

    /* the caller's handler was restored and GSL never called it */
    assert_ptr_equal(gsl_set_error_handler(before), custom_handler);
    assert_int_equal(custom_handler_calls, 0);
}

/* ---- Bumps ---------------------------------------------------------------------------- */

typedef struct {
    int start, end;
    double height, width;
} want_bump;

static void check_bumps(const double *alpha, const double *l, int n, const want_bump *want,
                        int nwant, double want_delta, const char *what)
{
    mli_bump b[16];
    int nb = mli_bumps(alpha, l, n, b, 16);
    if (nb != nwant)
        fail_msg("%s: %d bumps, want %d", what, nb, nwant);
    for (int i = 0; i < nb; i++) {
        if (b[i].start != want[i].start || b[i].end != want[i].end)
            fail_msg("%s: bump %d is [%d, %d], want [%d, %d]", what, i, b[i].start, b[i].end,
                     want[i].start, want[i].end);
        assert_close(b[i].height, want[i].height, 1e-15, what);
        assert_close(b[i].width, want[i].width, 1e-15, what);
    }
    assert_close(mli_bumps_max(b, nb), want_delta, 1e-15, what);
}

static void test_bumps_monotone_decreasing(void **state)
{
    const double al[5] = {0, 0.25, 0.5, 0.75, 1}, l[5] = {5, 4, 3, 2, 1};
    check_bumps(al, l, 5, NULL, 0, 0.0, "monotone decreasing");
    assert_true(mli_bumps_max(NULL, 0) == 0);
}

static void test_bumps_one_in_middle(void **state)
{
    /* 4 → 4.5 opens at 1 (l_start = 4); max 6 − 4 = 2; 3.5 < 4 closes at 4 */
    const double al[6] = {0, 0.1, 0.2, 0.4, 0.7, 1.0}, l[6] = {5, 4, 4.5, 6, 3.5, 2};
    const want_bump w[1] = {{1, 4, 2.0, 0.6}};
    check_bumps(al, l, 6, w, 1, 2.0, "one bump in the middle");
}

static void test_bumps_open_at_end(void **state)
{
    /* opens at 2 (l_start = 1); 1.5, 1.25 never drop below 1: ends at the last point */
    const double al[5] = {0, 0.25, 0.5, 0.75, 1}, l[5] = {3, 2, 1, 1.5, 1.25};
    const want_bump w[1] = {{2, 4, 0.5, 0.5}};
    check_bumps(al, l, 5, w, 1, 0.5, "bump open at the end");
    /* n = 2, increasing: the rise opens on the last step, which the reference never
     * records: no bump, Δ = 0; end_rise reports the step */
    const double l2[2] = {0, 1};
    check_bumps(al, l2, 2, NULL, 0, 0.0, "two increasing points");
    assert_true(mli_end_rise(l2, 2) == 1.0);
    check_bumps(al, l2, 1, NULL, 0, 0.0, "one point");
    check_bumps(al, l2, 0, NULL, 0, 0.0, "no points");
}

static void test_bumps_plateaus(void **state)
{
    const double al[7] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    const double l[7] = {3, 3, 2, 2, 2, 1, 1};
    check_bumps(al, l, 7, NULL, 0, 0.0, "plateaus only");
    const double c[7] = {2, 2, 2, 2, 2, 2, 2};
    check_bumps(al, c, 7, NULL, 0, 0.0, "constant");
    /* plateau before the rise starts nothing; the rise opens at 1 (not 0); the plateau at
     * the top does not close it; 1 < 2 closes at 4 */
    const double l2[5] = {2, 2, 3, 3, 1};
    const want_bump w[1] = {{1, 4, 1.0, 0.3}};
    check_bumps(al, l2, 5, w, 1, 1.0, "plateau before and on top of a bump");
}

static void test_bumps_tie_with_start(void **state)
{
    /* opens at 1 (l_start = 2); l_3 == 2 ties with the start and does NOT close it; then 3.5
     * raises the height to 1.5; 1 < 2 closes at 5. One bump, not two. */
    const double al[6] = {0, 0.1, 0.2, 0.3, 0.5, 0.9}, l[6] = {4, 2, 3, 2, 3.5, 1};
    const want_bump w[1] = {{1, 5, 1.5, 0.8}};
    check_bumps(al, l, 6, w, 1, 1.5, "tie with the start value");
}

static void test_bumps_two_separate(void **state)
{
    /* (1: 4 → 4.5, closes at 3 with 3 < 4), plateau 3, 3; (4: 3 → 3.75, closes at 6) */
    const double al[8] = {0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0};
    const double l[8] = {5, 4, 4.5, 3, 3, 3.75, 2, 1};
    const want_bump w[2] = {{1, 3, 0.5, 0.2}, {4, 6, 0.75, 0.35}};
    check_bumps(al, l, 8, w, 2, 0.75, "two separate bumps");
    /* the second bump starts at the end index of the first */
    const double l2[5] = {1, 2, 0.5, 1.5, 0};
    const want_bump w2[2] = {{0, 2, 1.0, 0.2}, {2, 4, 1.0, 0.25}};
    check_bumps(al, l2, 5, w2, 2, 1.0, "bump starting where the previous ends");
}

static void test_bumps_start_at_zero(void **state)
{
    /* 1 → 3 opens at 0 (l_start = 1); max 2; 0.5 < 1 closes at 3 */
    const double al[4] = {0, 0.2, 0.5, 0.9}, l[4] = {1, 3, 2, 0.5};
    const want_bump w[1] = {{0, 3, 2.0, 0.9}};
    check_bumps(al, l, 4, w, 1, 2.0, "bump at index 0");
}

static void test_bumps_max_smaller_than_count(void **state)
{
    /* zigzag: bumps [0,2], [2,4], [4,6], [6,8], each of height 1 — n/2 = 4, the bound */
    double al[9];
    mli_linspace01(al, 9);
    const double l[9] = {0, 1, -1, 0, -2, -1, -3, -2, -4};
    const want_bump w[4] = {{0, 2, 1, 0.25}, {2, 4, 1, 0.25}, {4, 6, 1, 0.25}, {6, 8, 1, 0.25}};
    check_bumps(al, l, 9, w, 4, 1.0, "zigzag");
    mli_bump b[4];
    memset(b, 0, sizeof b);
    b[2].start = b[3].start = -7;
    assert_int_equal(mli_bumps(al, l, 9, b, 2), 4);
    assert_int_equal(b[0].start, 0);
    assert_int_equal(b[1].start, 2);
    assert_int_equal(b[1].end, 4);
    assert_int_equal(b[2].start, -7); /* untouched */
    assert_int_equal(b[3].start, -7);
    assert_int_equal(mli_bumps(al, l, 9, NULL, 0), 4);
}

static void test_bumps_nan(void **state)
{
    const double al[5] = {0, 0.25, 0.5, 0.75, 1};
    mli_bump b[4];
    /* NaN after a decrease: opens a bump at 1 (unordered pair), height NaN, 1 < 2 closes */
    const double l1[5] = {3, 2, NAN, 1, 0.5};
    assert_int_equal(mli_bumps(al, l1, 5, b, 4), 1);
    assert_int_equal(b[0].start, 1);
    assert_int_equal(b[0].end, 3);
    assert_true(isnan(b[0].height));
    assert_true(isnan(mli_bumps_max(b, 1)));
    /* NaN inside an open bump: the height becomes NaN */
    const double l2[4] = {1, 2, NAN, 0};
    assert_int_equal(mli_bumps(al, l2, 4, b, 4), 1);
    assert_int_equal(b[0].end, 3);
    assert_true(isnan(b[0].height));
    /* NaN first: opens at 0 and never closes */
    const double l3[3] = {NAN, 2, 1};
    assert_int_equal(mli_bumps(al, l3, 3, b, 4), 1);
    assert_int_equal(b[0].start, 0);
    assert_int_equal(b[0].end, 2);
    assert_true(isnan(mli_bumps_max(b, 1)));
    /* NaN last, after a finite bump: Δ is NaN even though the other bump is larger */
    const double l4[5] = {1, 5, 0, -1, NAN};
    int nb = mli_bumps(al, l4, 5, b, 4);
    assert_int_equal(nb, 2);
    assert_true(b[0].height == 4.0);
    assert_int_equal(b[1].start, 3);
    assert_int_equal(b[1].end, 4);
    assert_true(isnan(mli_bumps_max(b, nb)));
}

/* The example and every edge of the reference loop, answers worked out by hand from
 * the loop stated in curve.h. */
static void test_bumps_reference_edges(void **state)
{
    const double al[6] = {0, 0.2, 0.4, 0.6, 0.8, 1.0}, a3[3] = {0, 0.5, 1};
    /* 1.0, 0.9, 0.95: the rise opens on the last step: no bump, Δ = 0, end_rise 0.05 */
    const double l1[3] = {1.0, 0.9, 0.95};
    check_bumps(a3, l1, 3, NULL, 0, 0.0, "rise on the last step only");
    assert_close(mli_end_rise(l1, 3), 0.95 - 0.9, 1e-15, "end_rise of 1.0 0.9 0.95");
    /* rise at the first step, never coming back below 1: recorded at the last index */
    const double l2[3] = {1, 2, 1.5};
    const want_bump w2[1] = {{0, 2, 1.0, 1.0}};
    check_bumps(a3, l2, 3, w2, 1, 1.0, "rise at the first step, open to the end");
    assert_true(mli_end_rise(l2, 3) == 0);
    /* a bump open before the last step that rises again on it: recorded, height includes
     * the last value; end_rise is the last step's rise */
    const double l3[4] = {1, 1.5, 1.2, 1.7};
    const want_bump w3[1] = {{0, 3, 0.7, 0.6}};
    check_bumps(al, l3, 4, w3, 1, 0.7, "open bump rising on the last step");
    assert_close(mli_end_rise(l3, 4), 0.5, 1e-15, "end_rise inside an open bump");
    /* a bump closes at index 3 and a new rise opens on the last step (index 4 → 5): only the
     * first is recorded */
    const double l4[6] = {3, 2, 2.5, 1, 0.5, 0.75};
    const want_bump w4[1] = {{1, 3, 0.5, 0.4}};
    check_bumps(al, l4, 6, w4, 1, 0.5, "close, then a rise on the last step");
    /* closing on the last step itself: recorded by the closing branch, end = n−1 */
    const double l5[4] = {2, 3, 2.5, 1};
    const want_bump w5[1] = {{0, 3, 1.0, 0.6}};
    check_bumps(al, l5, 4, w5, 1, 1.0, "closes on the last step");
    /* equal values: returning exactly to l_start does not close, and a plateau at the end
     * keeps the bump open to the last index */
    const double l6[5] = {2, 3, 2, 2, 2};
    const want_bump w6[1] = {{0, 4, 1.0, 0.8}};
    check_bumps(al, l6, 5, w6, 1, 1.0, "ties with the start up to the end");
    assert_true(mli_end_rise(l6, 5) == 0);
    /* a plateau then a rise on the last step: nothing recorded */
    const double l7[4] = {2, 2, 2, 2.5};
    check_bumps(al, l7, 4, NULL, 0, 0.0, "plateau, then a last-step rise");
    /* a bump closing at i, immediately reopening at i (the pair (i, i+1)) */
    const double l8[6] = {1, 2, 0, 1, -1, -2};
    const want_bump w8[2] = {{0, 2, 1.0, 0.4}, {2, 4, 1.0, 0.4}};
    check_bumps(al, l8, 6, w8, 2, 1.0, "reopen at the closing index");
    /* the height is the largest excursion above l_start, not the first step's rise */
    const double l9[6] = {1, 1.1, 1.05, 1.4, 1.3, 0.2};
    const want_bump w9[1] = {{0, 5, 0.4, 1.0}};
    check_bumps(al, l9, 6, w9, 1, 0.4, "height is the maximum excursion");
    /* a NaN on the last step is still a bump (our NaN rule): Δ NaN */
    const double l10[3] = {1, 0.5, NAN};
    mli_bump b[2];
    assert_int_equal(mli_bumps(a3, l10, 3, b, 2), 1);
    assert_true(isnan(mli_bumps_max(b, 1)));
    assert_true(isnan(mli_end_rise(l10, 3)));
    assert_true(mli_end_rise(l10, 1) == 0);
}

/* The reference's eval_monotonic transliterated line by line (Python → C), kept apart from
 * the library so that the randomized test compares two independent statements of it. */
static int ref_eval_monotonic(const double *alphas, const double *losses, int steps, double *widths,
                              double *heights)
{
    int increasing = 0, first_desc_idx = 0, last_desc_idx = first_desc_idx, nb = 0;
    double active_bump_height = 0;
    for (int i = 1; i < steps; i++) {
        double loss = losses[i];
        if (!increasing) {
            if (loss > losses[i - 1]) {
                increasing = 1;
                first_desc_idx = i - 1;
                active_bump_height = loss - losses[i - 1];
            }
        } else {
            if (loss < losses[first_desc_idx]) {
                increasing = 0;
                last_desc_idx = i;
                widths[nb] = alphas[last_desc_idx] - alphas[first_desc_idx];
                heights[nb++] = active_bump_height;
            } else {
                double bump_height = losses[i] - losses[first_desc_idx];
                if (bump_height > active_bump_height)
                    active_bump_height = bump_height;
                if (i == steps - 1) {
                    last_desc_idx = i;
                    widths[nb] = alphas[last_desc_idx] - alphas[first_desc_idx];
                    heights[nb++] = active_bump_height;
                }
            }
        }
    }
    return nb;
}

static void test_bumps_random_vs_reference(void **state)
{
    enum { NMAX = 40 };
    double al[NMAX], l[NMAX], w[NMAX], h[NMAX];
    mli_bump b[NMAX];
    unsigned long long s = 12345;
    int sequences = 0, last_step_rises = 0;
    for (int trial = 0; trial < 20000; trial++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = (int)((s >> 33) % NMAX) + 1;
        int levels = 2 + (int)((s >> 20) % 6); /* few levels: many ties and plateaus */
        mli_linspace01(al, n);
        for (int i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            l[i] = (trial % 3 == 0) ? (double)((s >> 33) % levels) : (double)((s >> 11) % 1000003) / 1e3;
        }
        int nr = ref_eval_monotonic(al, l, n, w, h);
        int nb = mli_bumps(al, l, n, b, NMAX);
        if (nb != nr)
            fail_msg("trial %d (n %d): %d bumps, the reference loop %d", trial, n, nb, nr);
        double dref = 0;
        for (int i = 0; i < nr; i++) {
            if (b[i].height != h[i] || b[i].width != w[i])
                fail_msg("trial %d bump %d: height %.17g width %.17g, reference %.17g %.17g", trial, i,
                         b[i].height, b[i].width, h[i], w[i]);
            dref = h[i] > dref ? h[i] : dref; /* np.max(heights), 0 if none */
        }
        if (mli_bumps_max(b, nb) != dref)
            fail_msg("trial %d: delta %.17g, reference %.17g", trial, mli_bumps_max(b, nb), dref);
        last_step_rises += n >= 2 && l[n - 1] > l[n - 2] && mli_end_rise(l, n) > 0;
        sequences++;
    }
    assert_int_equal(sequences, 20000);
    assert_true(last_step_rises > 1000); /* the edge the reference leaves out was exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_uniform),
        cmocka_unit_test(test_line_nonuniform),
        cmocka_unit_test(test_circle_2d),
        cmocka_unit_test(test_circle_embedded_r5),
        cmocka_unit_test(test_helix),
        cmocka_unit_test(test_reference_sincos),
        cmocka_unit_test(test_zero_speed),
        cmocka_unit_test(test_turn_back),
        cmocka_unit_test(test_trapz_cum),
        cmocka_unit_test(test_linspace01),
        cmocka_unit_test(test_adaptive_parabola),
        cmocka_unit_test(test_adaptive_errors),
        cmocka_unit_test(test_bumps_monotone_decreasing),
        cmocka_unit_test(test_bumps_one_in_middle),
        cmocka_unit_test(test_bumps_open_at_end),
        cmocka_unit_test(test_bumps_plateaus),
        cmocka_unit_test(test_bumps_tie_with_start),
        cmocka_unit_test(test_bumps_two_separate),
        cmocka_unit_test(test_bumps_start_at_zero),
        cmocka_unit_test(test_bumps_max_smaller_than_count),
        cmocka_unit_test(test_bumps_nan),
        cmocka_unit_test(test_bumps_reference_edges),
        cmocka_unit_test(test_bumps_random_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
