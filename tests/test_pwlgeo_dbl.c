/* Exact per-example analysis (src/geometry/pwlgeo.c): hand-made output paths with known
 * answers (a straight path to the target, a parabola whose turning is atan 2, a kinked path
 * whose pointwise Gauss length is 0 but whose loss rises first, a bump narrower than the
 * 50-point grid), then random ReLU networks in the double build: the exact decision against
 * a dense grid of the engine's own losses (squared error and cross-entropy), and no
 * certificate ever wrong. */
#include "testutil.h"

#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/pieces.h"
#include "geometry/pwlgeo.h"
#include "geometry/pwlsum.h"
#include "io/err.h"
#include "nn/layers.h"
#include "nn/net.h"

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (|diff| %.3g > %.3g)", what, got, want,
                 fabs(got - want), tol);
}

/* A path of n pieces in ℝᵏ of degree deg; z filled by the caller. */
typedef struct {
    mli_pwl_path p;
    double brk[8], z[8 * 4 * 4];
    int layer[8];
} hand_path;

static void hand_init(hand_path *h, int n, int k, int deg, const double *brk)
{
    memset(h, 0, sizeof *h);
    h->p.npieces = n;
    h->p.k = k;
    h->p.deg = deg;
    h->p.brk = h->brk;
    h->p.z = h->z;
    h->p.layer = h->layer;
    memcpy(h->brk, brk, sizeof(double) * (n + 1));
}

static double *coef(hand_path *h, int piece, int o)
{
    return h->z + ((size_t)piece * h->p.k + o) * (h->p.deg + 1);
}

static mli_pwl_result analyse(const mli_pwl_path *p, mli_loss loss, const double *t)
{
    mli_pwlgeo_ws *w = mli_pwlgeo_ws_new(p->k, p->deg);
    mli_pwl_result r;
    mli_pwlgeo_example(p, loss, 0, t, w, &r);
    mli_pwlgeo_ws_free(w);
    return r;
}

/* z(α) = (1 − α) z₀ + α t: straight to the target. */
static void test_straight_path_to_target(void **state)
{
    double brk[2] = {0, 1}, t[2] = {0.5, -1};
    hand_path h;
    hand_init(&h, 1, 2, 1, brk);
    double z0[2] = {2, 1};
    for (int o = 0; o < 2; o++) {
        coef(&h, 0, o)[0] = z0[o];
        coef(&h, 0, o)[1] = t[o] - z0[o];
    }
    mli_pwl_result r = analyse(&h.p, MLI_LOSS_MSE, t);
    assert_int_equal(r.monotone, 1);
    assert_close(r.max_bump, 0, 1e-15, "max bump");
    assert_close(r.total_turning, 0, 1e-12, "turning");
    assert_close(r.arc_length, sqrt(1.5 * 1.5 + 2 * 2), 1e-10, "arc length");
    assert_close(r.loss0, 1.5 * 1.5 + 4, 1e-14, "loss at 0");
    assert_int_equal(r.c1, 1);
    assert_int_equal(r.c2, 1);
    assert_int_equal(r.c12, 1);
}

/* z(α) = (α, α²): the tangent turns from (1, 0) to (1, 2), total turning atan 2, arc length
 * (2√5 + asinh 2)/4; no kink, so the pointwise part is all of it. */
static void test_parabola_turning(void **state)
{
    double brk[2] = {0, 1};
    hand_path h;
    hand_init(&h, 1, 2, 2, brk);
    coef(&h, 0, 0)[1] = 1;
    coef(&h, 0, 1)[2] = 1;
    double t[2] = {5, 5};
    mli_pwl_result r = analyse(&h.p, MLI_LOSS_MSE, t);
    assert_close(r.total_turning, atan(2.0), 1e-9, "parabola turning");
    assert_close(r.smooth_turning, atan(2.0), 1e-9, "parabola pointwise turning");
    assert_close(r.arc_length, (2 * sqrt(5.0) + asinh(2.0)) / 4, 1e-9, "parabola arc length");
}

/* Target 0. Piece 1 moves from (1, 0) to (1, 0.5): straight, away from the target, so ℓ rises
 * from 1 to 1.25. Piece 2 runs straight to 0. The tangent turns by the angle between (0, 1)
 * and (−1, −0.5) at the kink; the pointwise Gauss length is 0. The pointwise condition
 * "certifies" the whole path, the total turning (kink included) certifies nothing before the
 * kink, and the exact decision finds the rise at 0. */
static void test_kink_breaks_pointwise_condition(void **state)
{
    double brk[3] = {0, 0.5, 1}, t[2] = {0, 0};
    hand_path h;
    hand_init(&h, 2, 2, 1, brk);
    coef(&h, 0, 0)[0] = 1;                          /* x = 1 */
    coef(&h, 0, 1)[1] = 1;                          /* y = α */
    coef(&h, 1, 0)[0] = 2, coef(&h, 1, 0)[1] = -2;  /* x = 2 − 2α: 1 at 0.5, 0 at 1 */
    coef(&h, 1, 1)[0] = 1, coef(&h, 1, 1)[1] = -1;  /* y = 1 − α: 0.5 at 0.5, 0 at 1 */
    mli_pwl_result r = analyse(&h.p, MLI_LOSS_MSE, t);
    double kink = acos(-0.5 / sqrt(1.25));
    assert_close(r.total_turning, kink, 1e-12, "total turning = the kink");
    assert_close(r.smooth_turning, 0, 1e-12, "pointwise Gauss length");
    assert_int_equal(r.monotone, 0);
    assert_close(r.first_rise, 0, 0, "first rise");
    assert_close(r.max_bump, 0.25, 1e-14, "max bump");
    assert_close(r.c1p_prefix, 1, 0, "pointwise condition certifies everything");
    assert_int_equal(r.c1p, 1);
    assert_true(r.c1_prefix <= 0.5 + 1e-12); /* the kink's turning > π/2 before it */
    assert_int_equal(r.c1, 0);
    assert_int_equal(r.c2, 0);
    assert_int_equal(r.c12, 0);
}

/* A scalar output whose squared loss has a tent-shaped bump on [0.29, 0.31]: caught exactly,
 * and invisible to the 50-point grid. */
static void test_narrow_bump(void **state)
{
    double brk[5] = {0, 0.29, 0.30, 0.31, 1};
    hand_path h;
    hand_init(&h, 4, 1, 1, brk);
    /* z = 2 − α, then up to 2 − 0.29 + 0.01 at 0.30, down to 2 − 0.31 at 0.31, then 2 − α */
    double v[5] = {2, 1.71, 1.72, 1.69, 1};
    for (int j = 0; j < 4; j++) {
        double s = (v[j + 1] - v[j]) / (brk[j + 1] - brk[j]);
        coef(&h, j, 0)[1] = s;
        coef(&h, j, 0)[0] = v[j] - s * brk[j];
    }
    double t[1] = {0};
    mli_pwl_result r = analyse(&h.p, MLI_LOSS_MSE, t);
    assert_int_equal(r.monotone, 0);
    assert_close(r.first_rise, 0.29, 1e-14, "first rise");
    assert_close(r.max_bump, 1.72 * 1.72 - 1.71 * 1.71, 1e-12, "bump height");
    int grid_monotone = 1;
    double prev = 4;
    for (int i = 1; i < 50; i++) {
        double z;
        mli_pwl_path_eval(&h.p, i / 49.0, &z, NULL, NULL);
        grid_monotone &= z * z <= prev;
        prev = z * z;
    }
    assert_int_equal(grid_monotone, 1);
    assert_int_equal(r.c2, 0);
}

/* ---- random ReLU networks, double engine -------------------------------------------- */

typedef struct {
    mli_arch a;
    mli_real *t0, *t1, *th, *bufs;
    mli_ws *ws;
} eng;

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const mli_real *engine_at_loss_free(eng *e, const mli_real *x, double al)
{
    for (size_t i = 0; i < e->a.nparams; i++)
        e->th[i] = e->t0[i] + al * (e->t1[i] - e->t0[i]);
    return mli_net_forward(&e->a, e->th, e->bufs, e->ws, x, 1, MLI_MODE_EVAL);
}

static double engine_loss(eng *e, const mli_real *x, int y, const mli_real *t, double al)
{
    for (size_t i = 0; i < e->a.nparams; i++)
        e->th[i] = e->t0[i] + al * (e->t1[i] - e->t0[i]);
    const mli_real *z = mli_net_forward(&e->a, e->th, e->bufs, e->ws, x, 1, MLI_MODE_EVAL);
    double l;
    mli_loss_eval(e->a.loss, z, 1, e->a.nout, &y, t, NULL, &l, NULL);
    return l;
}

static int n_cert; /* examples certified by C1, C2 or C12 */

/* A random relu network of the double engine: θ₀ uniform on ±1, θ₁ on ±1.5. */
static void eng_make(eng *e, int in, const int *h, int nh, mli_loss loss, uint64_t seed)
{
    assert_int_equal(mli_arch_init(&e->a, in, h, nh, MLI_ACT_RELU, 0, loss), 0);
    size_t P = e->a.nparams;
    e->t0 = malloc(sizeof(mli_real) * P);
    e->t1 = malloc(sizeof(mli_real) * P);
    e->th = malloc(sizeof(mli_real) * P);
    e->bufs = calloc(1, sizeof(mli_real));
    e->ws = mli_ws_new(&e->a, 1);
    tu_fill_uniform(e->t0, P, -1, 1, seed);
    tu_fill_uniform(e->t1, P, -1.5, 1.5, seed + 1000);
}

static void eng_free(eng *e)
{
    mli_ws_free(e->ws);
    free(e->t0);
    free(e->t1);
    free(e->th);
    free(e->bufs);
}

static void random_networks(mli_loss loss, int *n_mono, int *n_viol, int *n_undec)
{
    static const int shapes[][3] = {{8, 3, 0}, {6, 5, 3}, {5, 4, 3}};
    static const int nhs[] = {2, 3, 3};
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    enum { NG = 20001 };
    for (int s = 0; s < 3; s++)
        for (int trial = 0; trial < 8; trial++) {
            eng e;
            assert_int_equal(mli_arch_init(&e.a, 3, shapes[s], nhs[s], MLI_ACT_RELU, 0, loss), 0);
            size_t P = e.a.nparams;
            e.t0 = malloc(sizeof(mli_real) * P);
            e.t1 = malloc(sizeof(mli_real) * P);
            e.th = malloc(sizeof(mli_real) * P);
            e.bufs = calloc(1, sizeof(mli_real));
            e.ws = mli_ws_new(&e.a, 1);
            tu_fill_uniform(e.t0, P, -1, 1, 900 + 10 * s + trial);
            tu_fill_uniform(e.t1, P, -1.5, 1.5, 1900 + 10 * s + trial);
            mli_pwl pwl;
            assert_int_equal(mli_pwl_from_arch(&e.a, e.t0, e.t1, &pwl), 0);
            mli_pwl_ws *pw = mli_pwl_ws_new(&pwl);
            int k = e.a.nout;
            mli_pwlgeo_ws *gw = mli_pwlgeo_ws_new(k, pwl.nlin);
            for (int ex = 0; ex < 6; ex++) {
                mli_real x[3], tt[8];
                double td[8];
                tu_fill_uniform(x, 3, -2, 2, 77 * trial + ex + 1000 * s);
                tu_fill_uniform(tt, k, -1, 1, 5 + ex);
                if (ex % 2 == 0) { /* half the targets where the path ends: r(1) = 0 */
                    for (size_t i = 0; i < P; i++)
                        e.th[i] = e.t1[i];
                    const mli_real *z1 =
                        mli_net_forward(&e.a, e.th, e.bufs, e.ws, x, 1, MLI_MODE_EVAL);
                    memcpy(tt, z1, sizeof(mli_real) * k);
                }
                for (int o = 0; o < k; o++)
                    td[o] = tt[o];
                int y = ex % k;
                double p[8], q[8];
                mli_pwl_first_layer(&pwl, x, 1, p, q);
                const mli_pwl_path *pp = mli_pwl_sweep(&pwl, pw, p, q, NULL, 0);
                mli_pwl_result r;
                const mli_real *tp = loss == MLI_LOSS_CE ? NULL : tt;
                mli_pwlgeo_example(pp, loss, y, loss == MLI_LOSS_CE ? NULL : td, gw, &r);
                /* the engine on a dense grid */
                double runmin = INFINITY, gd = 0, l0 = 0;
                for (int g = 0; g < NG; g++) {
                    double l = engine_loss(&e, x, y, tp, (double)g / (NG - 1));
                    if (g == 0)
                        l0 = l;
                    runmin = fmin(runmin, l);
                    gd = fmax(gd, l - runmin);
                }
                if (loss != MLI_LOSS_CE) {
                    assert_close(r.loss0, l0, 1e-9 * (1 + fabs(l0)), "loss at 0");
                    /* exact Δ ≥ the grid's, and the grid resolves it to its step */
                    if (r.max_bump < gd - 1e-9 * (1 + l0))
                        fail_msg("shape %d trial %d ex %d: exact bump %.17g < grid %.17g", s,
                                 trial, ex, r.max_bump, gd);
                    if (r.monotone == 1 && gd > 1e-9 * (1 + l0))
                        fail_msg("shape %d trial %d ex %d: proved monotone, grid rises by %g", s,
                                 trial, ex, gd);
                } else {
                    if (r.monotone == 1 && gd > 1e-9 * (1 + l0))
                        fail_msg("ce shape %d trial %d ex %d: proved monotone, grid rises by %g",
                                 s, trial, ex, gd);
                    if (r.monotone == 0) {
                        double a1 = engine_loss(&e, x, y, NULL, r.witness[0]);
                        double a2 = engine_loss(&e, x, y, NULL, r.witness[1]);
                        if (!(r.witness[0] < r.witness[1] && a2 > a1))
                            fail_msg("ce witness (%g, %g): losses %.17g, %.17g", r.witness[0],
                                     r.witness[1], a1, a2);
                    }
                }
                /* certificates never wrong */
                if ((r.c1 == 1 || r.c2 == 1 || r.c12 == 1) && r.monotone != 1)
                    fail_msg("shape %d trial %d ex %d: certified (C1 %d C2 %d C12 %d) but not "
                             "monotone", s, trial, ex, r.c1, r.c2, r.c12);
                if (r.monotone == 0 && r.c1_prefix > r.first_rise && r.c1_prefix >= 0)
                    fail_msg("C1 prefix %g beyond the first rise %g", r.c1_prefix, r.first_rise);
                n_cert += r.c1 == 1 || r.c2 == 1 || r.c12 == 1;
                *n_mono += r.monotone == 1;
                *n_viol += r.monotone == 0;
                *n_undec += r.monotone == -1;
            }
            mli_pwlgeo_ws_free(gw);
            mli_pwl_ws_free(pw);
            mli_pwl_free(&pwl);
            mli_ws_free(e.ws);
            free(e.t0);
            free(e.t1);
            free(e.th);
            free(e.bufs);
        }
    gsl_set_error_handler(old);
}

static void test_random_mse_against_engine(void **state)
{
    int m = 0, v = 0, u = 0;
    n_cert = 0;
    random_networks(MLI_LOSS_MSE, &m, &v, &u);
    print_message("squared error: %d monotone, %d not, %d undecided, %d certified\n", m, v, u,
                  n_cert);
    assert_int_equal(u, 0);
    assert_true(n_cert > 0); /* the certificates are exercised, not vacuous */
    assert_true(m > 0 && v > 0); /* both verdicts occur */
}

static void test_random_ce_against_engine(void **state)
{
    int m = 0, v = 0, u = 0;
    random_networks(MLI_LOSS_CE, &m, &v, &u);
    print_message("cross-entropy: %d monotone, %d not, %d undecided\n", m, v, u);
    assert_true(m > 0 && v > 0);
    assert_true(u <= (m + v + u) / 10); /* undecided is the exception */
}

/* A network built so that its loss has a bump narrower than the 50-point grid: input x = 1,
 * hidden units 2 − α (the descent) and α − 0.29, α − 0.30, α − 0.31 (a tent of height 0.02 in
 * z through output weights 2, −4, 2), target 1: ℓ = (z − 1)² rises from 0.71² at 0.29 to
 * 0.72² at 0.30. The engine's own 50-point grid sees a monotone loss; the exact analysis finds
 * the bump, its height and where it starts. */
static void test_network_bump_narrower_than_grid(void **state)
{
    mli_arch a;
    int h[2] = {4, 1};
    assert_int_equal(mli_arch_init(&a, 1, h, 2, MLI_ACT_RELU, 0, MLI_LOSS_MSE), 0);
    assert_int_equal((int)a.nparams, 4 + 4 + 4 + 1);
    mli_real t0[13] = {2, -0.29, -0.30, -0.31, 0, 0, 0, 0, 1, 2, -4, 2, 0};
    mli_real t1[13] = {1, 0.71, 0.70, 0.69, 0, 0, 0, 0, 1, 2, -4, 2, 0};
    eng e = {a, t0, t1, malloc(sizeof(mli_real) * 13), calloc(1, sizeof(mli_real)), mli_ws_new(&a, 1)};
    mli_real x[1] = {1}, t[1] = {1};
    int grid_monotone = 1;
    double prev = INFINITY;
    for (int g = 0; g < 50; g++) {
        double l = engine_loss(&e, x, 0, t, g / 49.0);
        grid_monotone &= l <= prev;
        prev = l;
    }
    assert_int_equal(grid_monotone, 1);
    mli_pwl pwl;
    assert_int_equal(mli_pwl_from_arch(&a, t0, t1, &pwl), 0);
    mli_pwl_ws *pw = mli_pwl_ws_new(&pwl);
    double p[4], q[4], td[1] = {1};
    mli_pwl_first_layer(&pwl, x, 1, p, q);
    const mli_pwl_path *pp = mli_pwl_sweep(&pwl, pw, p, q, NULL, 0);
    assert_int_equal(pp->npieces, 4); /* switches at 0.29, 0.30, 0.31 */
    mli_pwlgeo_ws *gw = mli_pwlgeo_ws_new(1, 2);
    mli_pwl_result r;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    mli_pwlgeo_example(pp, MLI_LOSS_MSE, 0, td, gw, &r);
    gsl_set_error_handler(old);
    assert_int_equal(r.monotone, 0);
    assert_close(r.first_rise, 0.29, 1e-12, "the bump starts at the first switch");
    assert_close(r.max_bump, 0.72 * 0.72 - 0.71 * 0.71, 1e-12, "its height");
    mli_pwlgeo_ws_free(gw);
    mli_pwl_ws_free(pw);
    mli_pwl_free(&pwl);
    mli_ws_free(e.ws);
    free(e.th);
    free(e.bufs);
}

/* Random networks of depth 1–3 (one to three hidden layers), squared error: the exact Δ of each
 * example, and of the mean of 12 examples (the data-set curve, summed on the union of their
 * pieces), against the double engine's own losses on a dense grid of 10⁵ + 1 points plus every
 * breakpoint (where a kink's peak is reached): equal to 1e-9 relative, never below the
 * 50-point grid's. */
static double dense_delta(eng *e, mli_real *const *xs, const mli_real *const *ts, int nx, const double *extra,
                          int nextra, double *scale)
{
    enum { NG = 100001 };
    int n = NG + nextra;
    double *al = malloc(sizeof(double) * n);
    for (int g = 0; g < NG; g++)
        al[g] = (double)g / (NG - 1);
    for (int q = 0; q < nextra; q++)
        al[NG + q] = extra[q];
    qsort(al, n, sizeof(double), cmp_dbl);
    double runmin = INFINITY, d = 0;
    *scale = 0;
    for (int g = 0; g < n; g++) {
        double l = 0;
        for (int i = 0; i < nx; i++)
            l += engine_loss(e, xs[i], 0, ts[i], al[g]) / nx;
        runmin = fmin(runmin, l);
        d = fmax(d, l - runmin);
        *scale = fmax(*scale, fabs(l));
    }
    free(al);
    return d;
}

static void test_exact_delta_equals_dense_grid(void **state)
{
    static const int shapes[][4] = {{6, 2}, {5, 4, 2}, {4, 5, 3, 2}};
    static const int nhs[] = {2, 3, 4};
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    for (int s = 0; s < 3; s++) {
        eng e;
        eng_make(&e, 3, shapes[s], nhs[s], MLI_LOSS_MSE, 31 + s);
        mli_pwl pwl;
        assert_int_equal(mli_pwl_from_arch(&e.a, e.t0, e.t1, &pwl), 0);
        mli_pwl_ws *pw = mli_pwl_ws_new(&pwl);
        mli_pwlgeo_ws *gw = mli_pwlgeo_ws_new(2, pwl.nlin);
        enum { NX = 12 };
        mli_real xbuf[NX][3], tbuf[NX][2];
        mli_real *xs[NX], *ts[NX];
        mli_pwlsum sum;
        mli_pwlsum_init(&sum, 2 * pwl.nlin);
        double allbrk[NX * 256];
        int nall = 0;
        for (int i = 0; i < NX; i++) {
            xs[i] = xbuf[i];
            ts[i] = tbuf[i];
            tu_fill_uniform(xs[i], 3, -2, 2, 500 + 17 * i + s);
            tu_fill_uniform(ts[i], 2, -1, 1, 900 + i);
            double td[2] = {ts[i][0], ts[i][1]}, p[8], q[8];
            mli_pwl_first_layer(&pwl, xs[i], 1, p, q);
            const mli_pwl_path *pp = mli_pwl_sweep(&pwl, pw, p, q, NULL, 0);
            mli_pwl_result r;
            mli_pwlgeo_example(pp, MLI_LOSS_MSE, 0, td, gw, &r);
            mli_pwlsum_add(&sum, pp->brk, mli_pwlgeo_loss_coef(gw), pp->npieces, r.tol);
            double scale, d = dense_delta(&e, &xs[i], (const mli_real *const *)&ts[i], 1, pp->brk + 1,
                                          pp->npieces - 1, &scale);
            if (fabs(r.max_bump - d) > 1e-9 * (1 + scale))
                fail_msg("depth %d example %d: exact delta %.17g, dense grid %.17g", s + 1, i, r.max_bump, d);
            for (int j = 1; j < pp->npieces && nall < NX * 256; j++)
                allbrk[nall++] = pp->brk[j];
        }
        mli_ppoly mean;
        mli_pwlsum_finish(&sum, 1.0 / NX, &mean);
        mli_cmono m;
        mli_ppoly_bumps(&mean, 1e-13, &m, NULL, 0);
        double scale, d = dense_delta(&e, xs, (const mli_real *const *)ts, NX, allbrk, nall, &scale);
        if (fabs(m.delta - d) > 1e-9 * (1 + scale))
            fail_msg("depth %d: exact data-set delta %.17g, dense grid %.17g", s + 1, m.delta, d);
        double g50 = 0, runmin = INFINITY;
        for (int g = 0; g < 50; g++) {
            double l = mli_ppoly_eval(&mean, g / 49.0);
            runmin = fmin(runmin, l);
            g50 = fmax(g50, l - runmin);
        }
        assert_true(m.delta >= g50 - 1e-12 * (1 + scale));
        mli_pwlsum_free(&sum);
        mli_pwlgeo_ws_free(gw);
        mli_pwl_ws_free(pw);
        mli_pwl_free(&pwl);
        eng_free(&e);
    }
    gsl_set_error_handler(old);
}

/* Total turning and arc length of deep pieces (degree 3 and 4, by the 15-point rule) against
 * their discrete versions on 2·10⁵ points plus the breakpoints: the sum of the angles between
 * consecutive tangents (which counts the kinks) and the length of the polygon through the
 * engine's own outputs — both lower bounds that the exact values may not go below. */
static void test_turning_against_discrete_sums(void **state)
{
    static const int shapes[][4] = {{5, 4, 3}, {4, 5, 4, 3}};
    static const int nhs[] = {3, 4};
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    for (int s = 0; s < 2; s++) {
        eng e;
        eng_make(&e, 3, shapes[s], nhs[s], MLI_LOSS_MSE, 61 + s);
        mli_pwl pwl;
        assert_int_equal(mli_pwl_from_arch(&e.a, e.t0, e.t1, &pwl), 0);
        mli_pwl_ws *pw = mli_pwl_ws_new(&pwl);
        mli_pwlgeo_ws *gw = mli_pwlgeo_ws_new(3, pwl.nlin);
        for (int ex = 0; ex < 4; ex++) {
            mli_real x[3];
            tu_fill_uniform(x, 3, -2, 2, 300 + 7 * ex + s);
            double p[8], q[8], td[3] = {0, 0, 0};
            mli_pwl_first_layer(&pwl, x, 1, p, q);
            const mli_pwl_path *pp = mli_pwl_sweep(&pwl, pw, p, q, NULL, 0);
            mli_pwl_result r;
            mli_pwlgeo_example(pp, MLI_LOSS_MSE, 0, td, gw, &r);
            enum { NG = 200001 };
            int n = NG + pp->npieces - 1;
            double *al = malloc(sizeof(double) * n);
            for (int g = 0; g < NG; g++)
                al[g] = (double)g / (NG - 1);
            for (int j = 1; j < pp->npieces; j++)
                al[NG + j - 1] = pp->brk[j];
            qsort(al, n, sizeof(double), cmp_dbl);
            double turn = 0, len = 0, vprev[3], zprev[3];
            for (int g = 0; g < n; g++) {
                double v[3], zz[3];
                /* the tangent just right of the point: a kink's two sides are both sampled */
                mli_pwl_path_eval(pp, al[g], NULL, v, NULL);
                const mli_real *ze = engine_at_loss_free(&e, x, al[g]);
                for (int o = 0; o < 3; o++)
                    zz[o] = ze[o];
                if (g > 0) {
                    double d = 0, n1 = 0, n2 = 0, dz = 0;
                    for (int o = 0; o < 3; o++) {
                        d += v[o] * vprev[o];
                        n1 += v[o] * v[o];
                        n2 += vprev[o] * vprev[o];
                        dz += (zz[o] - zprev[o]) * (zz[o] - zprev[o]);
                    }
                    double c = d / sqrt(n1 * n2);
                    turn += acos(c > 1 ? 1 : c < -1 ? -1 : c);
                    len += sqrt(dz);
                }
                memcpy(vprev, v, sizeof v);
                memcpy(zprev, zz, sizeof zz);
            }
            free(al);
            /* The sampled sums are lower bounds, tight where the tangent turns slowly; a near-stop
             * of the output (a turn of nearly π in a short α) needs more points than this grid
             * has (4·10⁶ points close the gap there to 10⁻⁵), hence the one-sided margin. */
            if (r.total_turning < turn - 1e-9 * (1 + turn) || r.total_turning > turn + 2e-4 * (1 + turn))
                fail_msg("depth %d ex %d: total turning %.12g, discrete %.12g", s + 2, ex, r.total_turning, turn);
            if (r.arc_length < len - 1e-9 * (1 + len) || r.arc_length > len + 1e-6 * (1 + len))
                fail_msg("depth %d ex %d: arc length %.12g, polygon %.12g", s + 2, ex, r.arc_length, len);
            assert_true(r.total_turning >= r.smooth_turning - 1e-12);
        }
        mli_pwlgeo_ws_free(gw);
        mli_pwl_ws_free(pw);
        mli_pwl_free(&pwl);
        eng_free(&e);
    }
    gsl_set_error_handler(old);
}

/* A two-layer identity network: z(α) = (W₂ + αΔW₂)((W₁ + αΔW₁)x + b₁ + αΔb₁) + b₂ + αΔb₂ is one
 * quadratic, its velocity linear, so the tangent turns in one plane by the angle between
 * v(0) = A₁ and v(1) = A₁ + 2A₂, computed here from the weights by hand. */
static void test_identity_network_turning(void **state)
{
    mli_arch a;
    int h[2] = {3, 2};
    assert_int_equal(mli_arch_init(&a, 2, h, 2, MLI_ACT_IDENTITY, 0, MLI_LOSS_MSE), 0);
    mli_real t0[17], t1[17];
    tu_fill_uniform(t0, 17, -1, 1, 5);
    tu_fill_uniform(t1, 17, -1, 1, 6);
    const mli_real x[2] = {0.7, -0.4};
    /* layer 1: W 3×2 at 0..5, b at 6..8; layer 2: W 2×3 at 9..14, b at 15..16 */
    double a0[3], a1[3], A1[2] = {0, 0}, A2[2] = {0, 0};
    for (int i = 0; i < 3; i++) {
        a0[i] = t0[2 * i] * x[0] + t0[2 * i + 1] * x[1] + t0[6 + i];
        a1[i] = (t1[2 * i] - t0[2 * i]) * x[0] + (t1[2 * i + 1] - t0[2 * i + 1]) * x[1] + t1[6 + i] - t0[6 + i];
    }
    for (int o = 0; o < 2; o++) {
        for (int i = 0; i < 3; i++) {
            double w0 = t0[9 + 3 * o + i], dw = t1[9 + 3 * o + i] - w0;
            A1[o] += w0 * a1[i] + dw * a0[i];
            A2[o] += dw * a1[i];
        }
        A1[o] += t1[15 + o] - t0[15 + o];
    }
    double v1[2] = {A1[0] + 2 * A2[0], A1[1] + 2 * A2[1]};
    double want = acos((A1[0] * v1[0] + A1[1] * v1[1]) / (hypot(A1[0], A1[1]) * hypot(v1[0], v1[1])));
    mli_pwl pwl;
    assert_int_equal(mli_pwl_from_arch(&a, t0, t1, &pwl), 0);
    mli_pwl_ws *pw = mli_pwl_ws_new(&pwl);
    double p[3], q[3], td[2] = {0, 0};
    mli_pwl_first_layer(&pwl, x, 1, p, q);
    const mli_pwl_path *pp = mli_pwl_sweep(&pwl, pw, p, q, NULL, 0);
    assert_int_equal(pp->npieces, 1);
    mli_pwlgeo_ws *gw = mli_pwlgeo_ws_new(2, 2);
    mli_pwl_result r;
    mli_pwlgeo_example(pp, MLI_LOSS_MSE, 0, td, gw, &r);
    assert_close(r.total_turning, want, 1e-12, "identity network: total turning");
    assert_close(r.smooth_turning, want, 1e-12, "no kink: all of it smooth");
    mli_pwlgeo_ws_free(gw);
    mli_pwl_ws_free(pw);
    mli_pwl_free(&pwl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_straight_path_to_target),
        cmocka_unit_test(test_parabola_turning),
        cmocka_unit_test(test_kink_breaks_pointwise_condition),
        cmocka_unit_test(test_narrow_bump),
        cmocka_unit_test(test_random_mse_against_engine),
        cmocka_unit_test(test_random_ce_against_engine),
        cmocka_unit_test(test_network_bump_narrower_than_grid),
        cmocka_unit_test(test_exact_delta_equals_dense_grid),
        cmocka_unit_test(test_turning_against_discrete_sums),
        cmocka_unit_test(test_identity_network_turning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
