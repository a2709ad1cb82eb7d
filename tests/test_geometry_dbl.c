/* Geometry along the path (double build): certificates on hand-made output paths with known
 * verdicts, Δᵀ(HΔ) = d²L/dα² (Hessian-vector product against Taylor mode), and the chunked
 * evaluation with its α-independent first-layer products against the direct forward pass. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/certify.h"
#include "geometry/curve.h"
#include "geometry/reeval.h"
#include "geometry/path.h"
#include "geometry/pwlan.h"
#include "nn/hvp.h"
#include "nn/layers.h"
#include "nn/net.h"
#include "nn/taylor.h"

#ifndef MLI_DOUBLE
#error "double build only"
#endif

#define K 3

typedef void (*path_fn)(double alpha, double *z, double *v, double *a, void *ctx);

/* Fill the records of one example from an analytic output path z(α) with target y = 0
 * (mse: ℓ = ‖z‖²), through the same loss and curve functions the analysis uses. */
static void fill(mli_path_examples *ex, int e, const double *alpha, path_fn f, void *ctx)
{
    int n = ex->n_alpha;
    mli_real T[K] = {0}, Z[3 * K];
    double prev[K] = {0};
    for (int j = 0; j < n; j++) {
        double z[K], v[K], a[K];
        f(alpha[j], z, v, a, ctx);
        for (int i = 0; i < K; i++) {
            Z[i] = z[i];
            Z[K + i] = v[i];
            Z[2 * K + i] = a[i];
        }
        size_t o = (size_t)e * n + j;
        double l, dl, gn, cv;
        mli_loss_tangent(MLI_LOSS_MSE, Z, 1, K, NULL, T, &l, &dl, &gn, &cv, NULL);
        mli_curve_point p = mli_curve_point_eval(v, a, K);
        ex->loss[o] = l;
        ex->dl[o] = dl;
        ex->d2l_gn[o] = gn;
        ex->d2l_curv[o] = cv;
        ex->speed[o] = p.speed;
        ex->curvature[o] = p.curvature;
        ex->gauss_speed[o] = p.gauss_speed;
        double uv = 0, uu = 0, vv = 0;
        for (int i = 0; i < K; i++) {
            uv += prev[i] * v[i];
            uu += prev[i] * prev[i];
            vv += v[i] * v[i];
        }
        ex->turn[o] = j && uu > 0 && vv > 0 ? acos(fmax(-1, fmin(1, uv / sqrt(uu * vv)))) : 0;
        memcpy(prev, v, sizeof prev);
    }
}

static void fine_losses(const double *af, int nf, path_fn f, void *ctx, double *out)
{
    for (int j = 0; j < nf; j++) {
        double z[K], v[K], a[K];
        f(af[j], z, v, a, ctx);
        out[j] = z[0] * z[0] + z[1] * z[1] + z[2] * z[2];
    }
}

/* straight to the target: z = (1−α) z0 */
static void straight(double al, double *z, double *v, double *a, void *ctx)
{
    (void)ctx;
    const double z0[K] = {1.0, -2.0, 0.5};
    for (int i = 0; i < K; i++) {
        z[i] = (1 - al) * z0[i];
        v[i] = -z0[i];
        a[i] = 0;
    }
}

/* spiral into the target: z = (1−α) R(ωα) e, ‖z‖ = 1−α decreases, the tangent turns ≈ ω */
static void spiral(double al, double *z, double *v, double *a, void *ctx)
{
    double w = *(double *)ctx, c = cos(w * al), s = sin(w * al), m = 1 - al;
    z[0] = m * c;
    z[1] = m * s;
    z[2] = 0;
    v[0] = -c - m * w * s;
    v[1] = -s + m * w * c;
    v[2] = 0;
    a[0] = 2 * w * s - m * w * w * c;
    a[1] = -2 * w * c - m * w * w * s;
    a[2] = 0;
}

/* a bump: z = (1 − α + 0.6 sin(2πα)·α, 0, 0)... non-monotone ℓ */
static void bumpy(double al, double *z, double *v, double *a, void *ctx)
{
    (void)ctx;
    double p = 2 * M_PI;
    z[0] = 1.2 - al + 0.3 * sin(p * al);
    v[0] = -1 + 0.3 * p * cos(p * al);
    a[0] = -0.3 * p * p * sin(p * al);
    z[1] = 0.2;
    v[1] = 0;
    a[1] = 0;
    z[2] = z[0] * 0.5;
    v[2] = v[0] * 0.5;
    a[2] = a[0] * 0.5;
}

/* Certify one example from the analytic path f; the fine curve is f's, passed through
 * inject (may be NULL) to hide something in it, and exact (may be NULL) is the double
 * re-evaluation the verification may ask for. */
typedef void (*inject_fn)(const double *af, int nf, double *fine);
static void run_certify_with(path_fn f, void *ctx, inject_fn inject, const mli_cert_exact *exact,
                             mli_cert_example *out, mli_cert_summary *sum)
{
    enum { N = 50, NF = 1000 };
    double alpha[N], af[NF], fine[NF];
    mli_linspace01(alpha, N);
    mli_linspace01(af, NF);
    mli_path_examples ex = {0};
    ex.n = 1;
    ex.n_alpha = N;
    double *mem = calloc(8 * N, sizeof(double));
    ex.loss = mem;
    ex.dl = mem + N;
    ex.d2l_gn = mem + 2 * N;
    ex.d2l_curv = mem + 3 * N;
    ex.speed = mem + 4 * N;
    ex.curvature = mem + 5 * N;
    ex.gauss_speed = mem + 6 * N;
    ex.turn = mem + 7 * N;
    ex.degenerate = calloc(N, 1);
    fill(&ex, 0, alpha, f, ctx);
    fine_losses(af, NF, f, ctx, fine);
    if (inject)
        inject(af, NF, fine);
    mli_certify(MLI_LOSS_MSE, alpha, &ex, af, NF, fine, exact, out, sum);
    free(mem);
    free(ex.degenerate);
}

static void run_certify(path_fn f, void *ctx, mli_cert_example *out, mli_cert_summary *sum)
{
    run_certify_with(f, ctx, NULL, NULL, out, sum);
}

static void test_straight_path_certified_by_c1(void **state)
{
    (void)state;
    mli_cert_example c;
    mli_cert_summary s;
    run_certify(straight, NULL, &c, &s);
    assert_float_equal(c.gauss_length, 0, 1e-12);
    assert_int_equal(c.monotone, 1);
    assert_int_equal(c.c1, 1); /* reaches its target with G = 0 */
    assert_float_equal(c.c1_prefix, 1, 0);
    assert_int_equal(c.c2, 1); /* ℓ = (1−α)²‖z0‖² is convex with ℓ′(1) = 0 */
    assert_int_equal(c.c0, 1);
    assert_int_equal(s.n_counterexamples, 0);
    free(s.counterexamples);
}

static void test_spiral_monotone_but_not_c1(void **state)
{
    (void)state;
    double w = 6; /* the tangent turns by about 6 rad > π/2 */
    mli_cert_example c;
    mli_cert_summary s;
    run_certify(spiral, &w, &c, &s);
    assert_int_equal(c.monotone, 1);
    assert_true(c.gauss_length > M_PI / 2);
    assert_int_equal(c.c1, 0);
    assert_true(c.c1_prefix < 1);
    assert_int_equal(c.c2, 1); /* ℓ = (1−α)² whatever the rotation */
    assert_int_equal(s.n_counterexamples, 0);
    free(s.counterexamples);
}

static void test_bump_certified_by_nothing(void **state)
{
    (void)state;
    mli_cert_example c;
    mli_cert_summary s;
    run_certify(bumpy, NULL, &c, &s);
    assert_int_equal(c.monotone, 0);
    assert_true(c.first_violation_alpha > 0 && c.first_violation_alpha < 1);
    assert_int_equal(c.c0, 0);
    assert_int_equal(c.c1, 0);
    assert_int_equal(c.c2, 0);
    assert_int_equal(c.c12, 0);
    assert_int_equal(s.n_counterexamples, 0);
    assert_int_equal(s.dataset_monotone, 0);
    free(s.counterexamples);
}

/* ---- networks ---- */

typedef struct {
    mli_arch a;
    mli_real *th0, *delta, *th, *x, *t;
    int *y;
    mli_data d;
} net_fx;

static void net_init(net_fx *f, mli_act act, mli_loss loss, int n)
{
    int h[3] = {8, 6, 4};
    assert_int_equal(mli_arch_init(&f->a, 5, h, 3, act, 0, loss), 0);
    size_t P = f->a.nparams;
    f->th0 = malloc(sizeof(mli_real) * P);
    f->delta = malloc(sizeof(mli_real) * P);
    f->th = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(f->th0, P, -0.6, 0.6, 21);
    tu_fill_uniform(f->delta, P, -0.8, 0.8, 22);
    f->x = malloc(sizeof(mli_real) * 5 * n);
    tu_fill_uniform(f->x, 5 * (size_t)n, -1, 1, 23);
    f->y = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++)
        f->y[i] = (3 * i + 1) % 4;
    f->t = NULL;
    mli_data d = {n, 5, 4, f->x, f->y, NULL};
    f->d = d;
}

static void net_free(net_fx *f)
{
    free(f->th0);
    free(f->delta);
    free(f->th);
    free(f->x);
    free(f->y);
}

/* Δᵀ H(θ(α)) Δ from the HVP equals d²L/dα² from Taylor mode, every activation and loss. */
static void test_hvp_matches_taylor_second_derivative(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_IDENTITY};
    for (int ia = 0; ia < 4; ia++)
        for (int il = 0; il < 2; il++) {
            net_fx f;
            int n = 13;
            net_init(&f, acts[ia], il ? MLI_LOSS_MSE : MLI_LOSS_CE, n);
            double al = 0.63;
            for (size_t i = 0; i < f.a.nparams; i++)
                f.th[i] = f.th0[i] + al * f.delta[i];
            mli_hvp_ws *hw = mli_hvp_ws_new(&f.a, n);
            mli_real *hv = malloc(sizeof(mli_real) * f.a.nparams);
            mli_batch b = {n, f.x, f.y, NULL};
            mli_net_hvp(&f.a, f.th, NULL, hw, &b, f.delta, hv);
            double dHd = 0;
            for (size_t i = 0; i < f.a.nparams; i++)
                dHd += f.delta[i] * hv[i];
            mli_tws *tw = mli_tws_new(&f.a, n);
            const mli_real *Z = mli_net_tangent(&f.a, f.th, f.delta, NULL, tw, f.x, n, NULL, NULL, al);
            double gn[16], cv[16], d2 = 0;
            mli_loss_tangent(f.a.loss, Z, n, f.a.nout, f.y, NULL, NULL, NULL, gn, cv, NULL);
            for (int i = 0; i < n; i++)
                d2 += (gn[i] + cv[i]) / n;
            if (fabs(dHd - d2) > 1e-10 * fmax(1, fabs(d2)))
                fail_msg("act %s loss %d: dHd %.15g vs d2L %.15g", mli_act_name(acts[ia]), il, dHd, d2);
            free(hv);
            mli_hvp_ws_free(hw);
            mli_tws_free(tw);
            net_free(&f);
        }
}

/* The chunked evaluation (first-layer products reused across α, chunks smaller than the data)
 * gives the same numbers as the direct forward pass at θ(α). */
static void path_eval_matches_direct_forward(mli_act act)
{
    net_fx f;
    int n = 37;
    net_init(&f, act, MLI_LOSS_CE, n);
    enum { NA = 7 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&f.a, f.th0, f.delta, NULL, NA, alpha, 10, NULL, "test"};
    mli_path_means m;
    mli_path_examples ex;
    mli_path_eval(&c, &f.d, 1, 12, &m, &ex);
    double *fine = malloc(sizeof(double) * n * NA);
    mli_path_losses(&c, &f.d, n, fine);
    mli_ws *w = mli_ws_new(&f.a, n);
    for (int j = 0; j < NA; j++) {
        for (size_t i = 0; i < f.a.nparams; i++)
            f.th[i] = f.th0[i] + alpha[j] * f.delta[i];
        double loss, acc, per[64];
        mli_net_evaluate(&f.a, f.th, NULL, w, &f.d, &loss, &acc, per);
        assert_float_equal(m.loss[j], loss, 1e-12);
        assert_float_equal(m.acc[j], acc, 0);
        for (int e = 0; e < n; e++)
            assert_float_equal(fine[(size_t)e * NA + j], per[e], 1e-12);
        for (int e = 0; e < 12; e++)
            assert_float_equal(ex.loss[(size_t)e * NA + j], per[e], 1e-12);
    }
    /* derivative means against central differences of the mean loss */
    double h = 1e-5;
    for (int j = 1; j < NA - 1; j++) {
        double lp, lm, acc;
        for (size_t i = 0; i < f.a.nparams; i++)
            f.th[i] = f.th0[i] + (alpha[j] + h) * f.delta[i];
        mli_net_evaluate(&f.a, f.th, NULL, w, &f.d, &lp, &acc, NULL);
        for (size_t i = 0; i < f.a.nparams; i++)
            f.th[i] = f.th0[i] + (alpha[j] - h) * f.delta[i];
        mli_net_evaluate(&f.a, f.th, NULL, w, &f.d, &lm, &acc, NULL);
        assert_float_equal(m.dl[j], (lp - lm) / (2 * h), 1e-7);
    }
    free(fine);
    mli_ws_free(w);
    mli_path_means_free(&m);
    mli_path_examples_free(&ex);
    net_free(&f);
}

/* relu takes the fused first-layer pass; the others compute and then activate in place */
static void test_path_eval_matches_direct_forward(void **state)
{
    (void)state;
    path_eval_matches_direct_forward(MLI_ACT_RELU);
    path_eval_matches_direct_forward(MLI_ACT_TANH);
    path_eval_matches_direct_forward(MLI_ACT_SIGMOID);
}

/* ---- the fine check cannot be fooled (docs/monotonicity.md) ---- */

/* l = 1 + 0.01α and other slow steady rises are not monotone: each step is tiny, the rise over
 * the running minimum is not. */
static void test_slow_rise_is_not_monotone(void **state)
{
    (void)state;
    enum { NF = 1000 };
    double af[NF], l[NF], tol[NF], first;
    mli_linspace01(af, NF);
    for (int j = 0; j < NF; j++) {
        l[j] = 1 + 0.01 * af[j];
        tol[j] = 2 * MLI_U32 * 8 * fabs(l[j]); /* the model-free float32 tolerance */
    }
    assert_int_equal(mli_cert_monotone(af, l, NULL, NF, &first), 0);
    assert_int_equal(mli_cert_monotone(af, l, tol, NF, &first), 0);
    assert_true(first > 0 && first < 0.01); /* the rise beats the tolerance within a few steps */
    /* a rise of 1e-4 relative spread over the whole curve, 1e-7 per step */
    for (int j = 0; j < NF; j++)
        l[j] = 2 * (1 + 1e-4 * af[j]);
    assert_int_equal(mli_cert_monotone(af, l, tol, NF, &first), 0);
    /* a dip then a slow return above the earlier value: judged against the running minimum */
    for (int j = 0; j < NF; j++)
        l[j] = af[j] < 0.5 ? 1 - af[j] : 0.5 + 0.002 * (af[j] - 0.5);
    assert_int_equal(mli_cert_monotone(af, l, tol, NF, &first), 0);
    assert_true(first > 0.5);
    double R = mli_cert_max_rise(l, NF, NULL, NULL);
    assert_float_equal(R, 0.001, 1e-5);
    /* float noise below the tolerance is not a rise */
    for (int j = 0; j < NF; j++)
        l[j] = 3 - af[j] + ((j % 7) ? 0 : 1e-7);
    assert_int_equal(mli_cert_monotone(af, l, tol, NF, &first), 1);
    assert_float_equal(first, -1, 0);
    /* NaN is a violation */
    l[500] = NAN;
    assert_int_equal(mli_cert_monotone(af, l, tol, NF, &first), 0);
}

/* the straight path's fine curve with a 0.8% rise hidden in its last 90%: per step the rise
 * (4e-5) is below the old per-step allowance 1e-5|l| + 1e-6 max l (4.8e-5) */
static void hide_slow_rise(const double *af, int nf, double *fine)
{
    int j0 = nf / 10;
    for (int j = j0; j < nf; j++)
        fine[j] = fine[j0] * (1 + 0.008 * (af[j] - af[j0]) / (1 - af[j0]));
}

static void test_certified_path_hiding_a_slow_rise_is_a_counterexample(void **state)
{
    (void)state;
    mli_cert_example c;
    mli_cert_summary s;
    run_certify_with(straight, NULL, hide_slow_rise, NULL, &c, &s);
    assert_int_equal(c.c1, 1); /* the grid data certify it... */
    assert_int_equal(c.c2, 1);
    assert_int_equal(c.monotone, 0); /* ...and the fine check sees the rise */
    assert_true(c.first_violation_alpha > 0.1 && c.first_violation_alpha < 0.2);
    assert_int_equal(s.n_counterexamples, 1);
    assert_int_equal(s.counterexamples[0], 0);
    assert_int_equal(s.c1.counterexamples, 1);
    assert_int_equal(s.c2.counterexamples, 1);
    assert_int_equal(s.c0.missed_by_grid, 1);
    assert_int_equal(s.undecided, 0);
    free(s.counterexamples);
}

/* A rise within a few float tolerances, on a certified example: re-evaluated in double. */
typedef struct {
    int calls;
    double bump; /* the rise the double curve really has at α ≥ 0.9 */
} fake_exact;

static double fake_exact_fn(void *p, int e, double alpha, double *cond)
{
    fake_exact *f = p;
    (void)e;
    f->calls++;
    double l = 5.25 * (1 - alpha) * (1 - alpha); /* the straight path's ℓ */
    if (alpha >= 0.9) /* flat at the value of the last fine point before 0.9, plus the bump */
        l = 5.25 * (1 - 899.0 / 999) * (1 - 899.0 / 999) + f->bump;
    *cond = 1e4; /* τ = 2 u₃₂ K ≈ 1.2e-3 per point */
    return l;
}

static void float_noise_rise(const double *af, int nf, double *fine)
{
    for (int j = 0; j < nf; j++)
        if (af[j] >= 0.9)
            fine[j] = fine[(int)(0.9 * (nf - 1)) - 1] + 2e-4; /* a rise of 1.3e-3: within 4τ */
}

static void test_ambiguous_rise_is_decided_in_double(void **state)
{
    (void)state;
    mli_cert_example c;
    mli_cert_summary s;
    /* the double curve has no rise: the float one was rounding */
    fake_exact fx = {0, 0};
    mli_cert_exact ex = {fake_exact_fn, &fx, 1};
    run_certify_with(straight, NULL, float_noise_rise, &ex, &c, &s);
    assert_int_equal(c.c2, 1);
    assert_int_equal(s.rechecked_double, 1);
    assert_true(fx.calls >= 1000); /* the whole fine curve */
    assert_int_equal(c.monotone, 1);
    assert_int_equal(s.n_counterexamples, 0);
    free(s.counterexamples);
    /* the double curve rises by 1e-6 (far below float32's resolution here): a counterexample */
    fake_exact fy = {0, 1e-6};
    mli_cert_exact ey = {fake_exact_fn, &fy, 1};
    run_certify_with(straight, NULL, float_noise_rise, &ey, &c, &s);
    assert_int_equal(s.rechecked_double, 1);
    assert_int_equal(c.monotone, 0);
    assert_int_equal(s.n_counterexamples, 1);
    free(s.counterexamples);
    /* no double evaluation available: undecided, said so, never silently a certificate
     * confirmed (model-free tolerance 2·u·8|l|: a 1e-7 rise on l ≈ 0.05 is within 4τ) */
    run_certify_with(straight, NULL, float_noise_rise, NULL, &c, &s);
    assert_int_equal(s.rechecked_double, 0);
    assert_true(s.undecided + (c.monotone == 0) == 1);
    free(s.counterexamples);
}

/* mli_reeval_loss in the double build is the engine's loss (same arithmetic precision), for
 * every activation and loss; its condition number is positive. */
static void test_reeval_loss_matches_double_engine(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_IDENTITY};
    for (int ia = 0; ia < 4; ia++)
        for (int il = 0; il < 2; il++) {
            net_fx f;
            int n = 9;
            net_init(&f, acts[ia], il ? MLI_LOSS_MSE : MLI_LOSS_CE, n);
            size_t P = f.a.nparams;
            mli_real *th1 = malloc(sizeof(mli_real) * P);
            for (size_t i = 0; i < P; i++)
                th1[i] = f.th0[i] + f.delta[i];
            mli_reeval_ctx c = {&f.a, f.th0, th1, 0, NULL};
            double *work = malloc(sizeof(double) * 4 * f.a.width_max);
            mli_ws *w = mli_ws_new(&f.a, n);
            for (double al = 0; al <= 1; al += 0.25) {
                for (size_t i = 0; i < P; i++)
                    f.th[i] = f.th0[i] + al * (th1[i] - f.th0[i]);
                double loss, acc, per[16];
                mli_net_evaluate(&f.a, f.th, NULL, w, &f.d, &loss, &acc, per);
                for (int e = 0; e < n; e++) {
                    double kc, l = mli_reeval_loss(&c, f.x + 5 * e, f.y[e], NULL, al, &kc, work);
                    if (fabs(l - per[e]) > 1e-12 * fmax(1, fabs(per[e])))
                        fail_msg("%s loss %d alpha %g example %d: exact %.17g engine %.17g",
                                 mli_act_name(acts[ia]), il, al, e, l, per[e]);
                    assert_true(kc > 0 && isfinite(kc));
                }
            }
            mli_ws_free(w);
            free(work);
            free(th1);
            net_free(&f);
        }
}


/* In exact mode the certificates' verification grid comes from the pieces (mli_pwlan_opts.fine):
 * for relu and identity networks with squared error, those losses are the engine's
 * (mli_path_losses) at every α of the grid, to double rounding. */
static void test_exact_fine_grid_matches_engine(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_IDENTITY};
    for (int ia = 0; ia < 2; ia++) {
        net_fx f;
        int n = 23;
        enum { NF = 301 };
        net_init(&f, acts[ia], MLI_LOSS_MSE, n);
        mli_real *th1 = malloc(sizeof(mli_real) * f.a.nparams);
        for (size_t i = 0; i < f.a.nparams; i++)
            th1[i] = f.th0[i] + f.delta[i];
        double af[NF], *eng = malloc(sizeof(double) * n * NF), *pcs = malloc(sizeof(double) * n * NF);
        mli_linspace01(af, NF);
        mli_path_ctx c = {&f.a, f.th0, f.delta, NULL, NF, af, 10, NULL, "test"};
        mli_path_losses(&c, &f.d, n, eng);
        mli_pwlan_opts po = {NF, 0, 0, 0, NF, af, pcs};
        mli_pwlan r;
        assert_int_equal(mli_pwlan_run(&f.a, f.th0, th1, &f.d, n, NULL, &po, &r), 0);
        assert_true(ia == 1 || r.pieces_mean > 1.5); /* the relu paths do kink */
        for (int e = 0; e < n; e++)
            for (int g = 0; g < NF; g++) {
                double a = eng[(size_t)e * NF + g], b = pcs[(size_t)e * NF + g];
                if (fabs(a - b) > 1e-11 * fmax(1, fabs(a)))
                    fail_msg("act %d example %d alpha %g: engine %.15g, pieces %.15g", ia, e, af[g], a, b);
            }
        mli_pwlan_free(&r);
        free(th1);
        free(eng);
        free(pcs);
        net_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_straight_path_certified_by_c1),
        cmocka_unit_test(test_spiral_monotone_but_not_c1),
        cmocka_unit_test(test_bump_certified_by_nothing),
        cmocka_unit_test(test_hvp_matches_taylor_second_derivative),
        cmocka_unit_test(test_path_eval_matches_direct_forward),
        cmocka_unit_test(test_exact_fine_grid_matches_engine),
        cmocka_unit_test(test_slow_rise_is_not_monotone),
        cmocka_unit_test(test_certified_path_hiding_a_slow_rise_is_a_counterexample),
        cmocka_unit_test(test_ambiguous_rise_is_decided_in_double),
        cmocka_unit_test(test_reeval_loss_matches_double_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
