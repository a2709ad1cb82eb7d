/* Control experiments and lazy-regime diagnostics: permutations of hidden units, the plane of
 * the 2D slice, per-example Jacobians and the empirical NTK, PCA of logit paths.
 * Built twice: here in float (tolerances of float rounding; also run under ASan/UBSan) and as
 * test_controls_dbl.c in double (tight tolerances, finite differences). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "geometry/controls.h"
#include "geometry/curve.h"
#include "geometry/logits.h"
#include "geometry/ntk.h"
#include "geometry/path.h"
#include "geometry/plane.h"
#include "nn/jacobian.h"
#include "nn/layers.h"
#include "nn/net.h"

#ifdef MLI_DOUBLE
#define TOL_SAME 1e-12 /* the same function up to the summation order */
#define TOL_GRAM 1e-11
#define TOL_EIG 1e-9
#else
#define TOL_SAME 2e-5
#define TOL_GRAM 2e-4
#define TOL_EIG 2e-4
#endif

#define DIN 5

typedef struct {
    mli_arch a;
    mli_real *th, *th1, *bufs, *x;
    int *y;
    mli_data d;
    int n;
} fx;

static void fx_init(fx *f, const int *h, int nh, mli_act act, int bn, int n, uint64_t seed)
{
    assert_int_equal(mli_arch_init(&f->a, DIN, h, nh, act, bn, MLI_LOSS_CE), 0);
    size_t P = f->a.nparams;
    f->n = n;
    f->th = malloc(sizeof(mli_real) * P);
    f->th1 = malloc(sizeof(mli_real) * P);
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    f->x = malloc(sizeof(mli_real) * DIN * (size_t)n);
    f->y = malloc(sizeof(int) * (size_t)n);
    tu_fill_uniform(f->th, P, -0.7, 0.7, seed);
    tu_fill_uniform(f->th1, P, -0.9, 0.9, seed + 1);
    tu_fill_uniform(f->x, DIN * (size_t)n, -1, 1, seed + 2);
    /* running means anywhere, running variances positive */
    for (int l = 0; l < f->a.nlayers; l++) {
        const mli_layer *L = &f->a.layers[l];
        if (L->kind == MLI_LAYER_BN) {
            tu_fill_uniform(f->bufs + L->s, (size_t)L->out, -0.5, 0.5, seed + 3 + l);
            tu_fill_uniform(f->bufs + L->s + L->out, (size_t)L->out, 0.3, 1.7, seed + 4 + l);
        }
    }
    for (int i = 0; i < n; i++)
        f->y[i] = (7 * i + 3) % f->a.nout;
    mli_data d = {n, DIN, f->a.nout, f->x, f->y, NULL};
    f->d = d;
}

static void fx_free(fx *f)
{
    free(f->th);
    free(f->th1);
    free(f->bufs);
    free(f->x);
    free(f->y);
}

static double max_abs_diff(const mli_real *a, const mli_real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* ---- permutations ------------------------------------------------------------------------- */

static void check_permutation(mli_act act, int bn)
{
    const int h[3] = {7, 6, 4};
    fx f;
    fx_init(&f, h, 3, act, bn, 11, 100 + act + 10 * bn);
    size_t P = f.a.nparams, S = f.a.nbuffers;
    int p0[7], p1[6], *perm[2] = {p0, p1};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    mli_random_hidden_perm(&f.a, rng, perm);
    gsl_rng_free(rng);
    mli_real *pt = malloc(sizeof(mli_real) * P), *pb = malloc(sizeof(mli_real) * (S + 1));
    mli_permute_hidden(&f.a, perm, f.th, f.bufs, pt, pb);
    assert_true(max_abs_diff(pt, f.th, P) > 0.01); /* it did move parameters */
    mli_ws *w0 = mli_ws_new(&f.a, f.n), *w1 = mli_ws_new(&f.a, f.n);
    const mli_real *z0, *z1;
    if (bn) { /* eval mode reads the permuted running statistics */
        z0 = mli_net_forward(&f.a, f.th, f.bufs, w0, f.x, f.n, MLI_MODE_EVAL);
        z1 = mli_net_forward(&f.a, pt, pb, w1, f.x, f.n, MLI_MODE_EVAL);
        if (max_abs_diff(z0, z1, (size_t)f.n * 4) > TOL_SAME)
            fail_msg("act %s bn eval: outputs differ by %g", mli_act_name(act), max_abs_diff(z0, z1, (size_t)f.n * 4));
    }
    /* training mode, updating the buffers: the updated buffers are the permuted updated buffers */
    z0 = mli_net_forward(&f.a, f.th, bn ? f.bufs : NULL, w0, f.x, f.n, MLI_MODE_TRAIN);
    z1 = mli_net_forward(&f.a, pt, bn ? pb : NULL, w1, f.x, f.n, MLI_MODE_TRAIN);
    if (max_abs_diff(z0, z1, (size_t)f.n * 4) > TOL_SAME)
        fail_msg("act %s bn %d train: outputs differ by %g", mli_act_name(act), bn, max_abs_diff(z0, z1, (size_t)f.n * 4));
    if (bn) {
        mli_real *t2 = malloc(sizeof(mli_real) * P), *b2 = malloc(sizeof(mli_real) * (S + 1));
        mli_permute_hidden(&f.a, perm, f.th, f.bufs, t2, b2);
        assert_true(max_abs_diff(b2, pb, S) <= TOL_SAME);
        free(t2);
        free(b2);
    }
    mli_ws_free(w0);
    mli_ws_free(w1);
    free(pt);
    free(pb);
    fx_free(&f);
}

static void test_permutation_keeps_the_function(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_IDENTITY};
    for (int i = 0; i < 4; i++)
        for (int bn = 0; bn < 2; bn++)
            check_permutation(acts[i], bn);
}

/* ---- the plane ------------------------------------------------------------------------------ */

static void test_plane_basis_orthonormal(void **state)
{
    (void)state;
    enum { P = 5000 };
    mli_real *t0 = malloc(sizeof(mli_real) * P), *t1 = malloc(sizeof(mli_real) * P), *tr = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(t0, P, -1, 1, 1);
    tu_fill_uniform(t1, P, -1, 1, 2);
    tu_fill_uniform(tr, P, -1, 1, 3);
    for (int i = 0; i < P; i++) /* θ_r strongly correlated with Δ: Gram–Schmidt has work to do */
        tr[i] = (mli_real)(t0[i] + 0.9 * (t1[i] - t0[i]) + 0.3 * tr[i]);
    mli_plane p;
    assert_int_equal(mli_plane_through(&p, t0, t1, tr, P), 0);
    double e11 = 0, e22 = 0, e12 = 0;
    for (int i = 0; i < P; i++) {
        e11 += p.e1[i] * p.e1[i];
        e22 += p.e2[i] * p.e2[i];
        e12 += p.e1[i] * p.e2[i];
    }
    assert_true(fabs(e11 - 1) < 1e-12 && fabs(e22 - 1) < 1e-12 && fabs(e12) < 1e-12);
    double x, y, off;
    mli_plane_project(&p, t0, &x, &y, &off);
    assert_true(x == 0 && y == 0 && off == 0);
    mli_plane_project(&p, t1, &x, &y, &off);
    assert_float_equal(x, 1, TOL_SAME);
    assert_float_equal(y, 0, TOL_SAME);
    assert_true(off < TOL_SAME * p.scale);
    mli_plane_project(&p, tr, &x, &y, &off);
    assert_true(y > 0.1 && off < 10 * TOL_SAME * p.scale);
    mli_plane_free(&p);
    free(t0);
    free(t1);
    free(tr);
}

/* the default extent puts nodes exactly on 0 and 1 (x) and 0 (y) */
static void test_plane_default_extent_nodes(void **state)
{
    (void)state;
    const double pts[][3] = {{-0.04, 0.65, 25}, {0.3, 1.9, 25}, {-1.5, 0.2, 9}, {2.5, 0.1, 11}, {0.5, 0.05, 5},
                             {0.2, 3.8, 5}, {-0.3, 17, 25}};
    for (int t = 0; t < 7; t++) {
        double px[3] = {0, 1, pts[t][0]}, py[3] = {0, 0, pts[t][1]}, ext[4];
        int N = (int)pts[t][2], has0 = 0, has1 = 0, hasy0 = 0;
        mli_plane_default_extent(px, py, 3, N, ext);
        double xs[32], ys[32];
        mli_plane_nodes(ext[0], ext[1], N, xs);
        mli_plane_nodes(ext[2], ext[3], N, ys);
        for (int i = 0; i < N; i++) {
            has0 |= xs[i] == 0;
            has1 |= xs[i] == 1;
            hasy0 |= ys[i] == 0;
        }
        if (!has0 || !has1 || !hasy0)
            fail_msg("case %d: extent [%g, %g] x [%g, %g] with %d nodes misses 0 or 1", t, ext[0], ext[1], ext[2], ext[3], N);
        assert_true(ext[0] < fmin(0, pts[t][0]) && ext[1] > fmax(1, pts[t][0]));
        assert_true(ext[2] < fmin(0, pts[t][1]) && ext[3] > fmax(0, pts[t][1]));
    }
}

/* The grid's nodes (0, 0) and (1, 0) are θ₀ and θ₁: same losses as the path at α = 0 and 1,
 * with and without batch norm (statistics re-estimated per point as for the path). */
static void check_plane_path(int bn)
{
    const int h[2] = {6, 3};
    fx f;
    fx_init(&f, h, 2, MLI_ACT_TANH, bn, 40, 300 + bn);
    size_t P = f.a.nparams;
    mli_real *tr = malloc(sizeof(mli_real) * P), *delta = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(tr, P, -0.7, 0.7, 77);
    for (size_t i = 0; i < P; i++)
        delta[i] = f.th1[i] - f.th[i];
    double al[2] = {0, 1};
    mli_real *pbn = bn ? mli_path_bn_stats(&f.a, f.th, delta, al, 2, &f.d, 8, MLI_BN_EMA, NULL) : NULL;
    mli_path_ctx c = {&f.a, f.th, delta, pbn, 2, al, 16, NULL, "path"};
    mli_path_means m;
    mli_path_eval(&c, &f.d, 0, 0, &m, NULL);
    mli_plane p;
    assert_int_equal(mli_plane_through(&p, f.th, f.th1, tr, P), 0);
    enum { N = 5 };
    double xs[N], ys[N], loss[N * N];
    mli_plane_nodes(-0.5, 1.5, N, xs);
    mli_plane_nodes(-1, 1, N, ys);
    mli_plane_grid(&p, &f.a, &f.d, &f.d, 8, MLI_BN_EMA, xs, ys, N, 16, NULL, loss, NULL);
    assert_true(xs[1] == 0 && xs[3] == 1 && ys[2] == 0);
    if (loss[2 * N + 1] != m.loss[0] || loss[2 * N + 3] != m.loss[1])
        fail_msg("bn %d: plane (0,0) %.17g vs path %.17g; (1,0) %.17g vs %.17g", bn, loss[2 * N + 1], m.loss[0],
                 loss[2 * N + 3], m.loss[1]);
    /* off the path the loss differs */
    assert_true(loss[0] != loss[2 * N + 1]);
    mli_plane_free(&p);
    mli_path_means_free(&m);
    free(pbn);
    free(tr);
    free(delta);
    fx_free(&f);
}

static void test_plane_grid_passes_through_the_path(void **state)
{
    (void)state;
    check_plane_path(0);
    check_plane_path(1);
}

static void test_random_direction_filter_norm(void **state)
{
    (void)state;
    const int h[2] = {6, 3};
    fx f;
    fx_init(&f, h, 2, MLI_ACT_RELU, 1, 4, 9);
    mli_real *d = malloc(sizeof(mli_real) * f.a.nparams);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    mli_plane_random_direction(&f.a, f.th, rng, 1, d);
    for (int l = 0; l < f.a.nlayers; l++) {
        const mli_layer *L = &f.a.layers[l];
        if (L->kind == MLI_LAYER_BN)
            for (int u = 0; u < 2 * L->out; u++)
                assert_true(d[L->p + u] == 0);
        if (L->kind != MLI_LAYER_LINEAR)
            continue;
        for (int r = 0; r < L->out; r++) {
            double a = 0, b = 0;
            for (int c = 0; c < L->in; c++) {
                a += (double)d[L->p + (size_t)r * L->in + c] * d[L->p + (size_t)r * L->in + c];
                b += (double)f.th[L->p + (size_t)r * L->in + c] * f.th[L->p + (size_t)r * L->in + c];
            }
            assert_float_equal(sqrt(a), sqrt(b), TOL_SAME * 10);
            assert_true(d[L->p + (size_t)L->out * L->in + r] == 0); /* bias */
        }
    }
    gsl_rng_free(rng);
    free(d);
    fx_free(&f);
}

/* ---- Jacobians and the NTK ---------------------------------------------------------------------- */

/* Rows of the factored Jacobian against per-example backward passes (dZ = e_c, B = 1) and,
 * in double, central finite differences of z_c(x_i). */
static void check_jacobian(mli_act act, int bn)
{
    const int h[3] = {6, 5, 3};
    fx f;
    fx_init(&f, h, 3, act, bn, 7, 400 + act + 10 * bn);
    size_t P = f.a.nparams;
    const mli_real *bufs = bn ? f.bufs : NULL;
    mli_jws *jw = mli_jws_new(&f.a, f.n);
    mli_net_jacobian(&f.a, f.th, bufs, jw, f.x, f.n);
    mli_ws *w = mli_ws_new(&f.a, 1);
    mli_real *row = malloc(sizeof(mli_real) * P), *g = malloc(sizeof(mli_real) * P), *tp = malloc(sizeof(mli_real) * P);
    for (int i = 0; i < f.n; i += 3)
        for (int c = 0; c < 3; c++) {
            mli_jacobian_row(&f.a, jw, f.x, f.n, c, i, row);
            mli_real dz[3] = {0, 0, 0};
            dz[c] = 1;
            const mli_real *xi = f.x + (size_t)i * DIN;
            mli_net_forward(&f.a, f.th, (mli_real *)bufs, w, xi, 1, MLI_MODE_EVAL);
            mli_net_backward(&f.a, f.th, bufs, w, xi, 1, MLI_MODE_EVAL, dz, g);
            if (max_abs_diff(row, g, P) > TOL_SAME)
                fail_msg("act %s bn %d row (%d,%d): %g from the backward pass", mli_act_name(act), bn, c, i,
                         max_abs_diff(row, g, P));
#ifdef MLI_DOUBLE
            double hstep = 1e-6, worst = 0;
            memcpy(tp, f.th, sizeof(mli_real) * P);
            for (size_t q = 0; q < P; q++) {
                tp[q] = f.th[q] + hstep;
                double zp = mli_net_forward(&f.a, tp, (mli_real *)bufs, w, xi, 1, MLI_MODE_EVAL)[c];
                tp[q] = f.th[q] - hstep;
                double zm = mli_net_forward(&f.a, tp, (mli_real *)bufs, w, xi, 1, MLI_MODE_EVAL)[c];
                tp[q] = f.th[q];
                worst = fmax(worst, fabs((zp - zm) / (2 * hstep) - row[q]));
            }
            if (worst > 1e-7)
                fail_msg("act %s bn %d row (%d,%d): %g from finite differences", mli_act_name(act), bn, c, i, worst);
#endif
        }
    free(row);
    free(g);
    free(tp);
    mli_ws_free(w);
    mli_jws_free(jw);
    fx_free(&f);
}

static void test_jacobian_rows(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_IDENTITY};
    for (int i = 0; i < 4; i++)
        for (int bn = 0; bn < 2; bn++)
            check_jacobian(acts[i], bn);
}

/* Θ from the factors equals J Jᵀ from explicit rows, is symmetric and positive semi-definite;
 * the subspace iteration agrees with the dense eigensolver. */
static void check_gram(int bn)
{
    const int h[3] = {6, 5, 3};
    fx f;
    fx_init(&f, h, 3, MLI_ACT_TANH, bn, 23, 500 + bn);
    size_t P = f.a.nparams;
    mli_ntk_factors fac;
    assert_int_equal(mli_ntk_factors_compute(&f.a, f.th, bn ? f.bufs : NULL, &f.d, f.n, &fac), 0);
    int n = fac.n;
    mli_real *K = malloc(sizeof(mli_real) * (size_t)n * n), *J = malloc(sizeof(mli_real) * (size_t)n * P);
    mli_ntk_gram(&f.a, &fac, K, NULL, NULL);
    mli_jws *jw = mli_jws_new(&f.a, f.n);
    mli_net_jacobian(&f.a, f.th, bn ? f.bufs : NULL, jw, f.x, f.n);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < f.n; i++)
            mli_jacobian_row(&f.a, jw, f.x, f.n, c, i, J + ((size_t)c * f.n + i) * P);
    double worst = 0, big = 0;
    for (int r = 0; r < n; r++)
        for (int s = 0; s < n; s++) {
            double e = 0;
            for (size_t q = 0; q < P; q++)
                e += (double)J[(size_t)r * P + q] * J[(size_t)s * P + q];
            worst = fmax(worst, fabs(e - K[(size_t)r * n + s]));
            big = fmax(big, fabs(e));
            assert_true(K[(size_t)r * n + s] == K[(size_t)s * n + r]);
        }
    if (worst > TOL_GRAM * big)
        fail_msg("bn %d: Gram from factors vs J J^T: %g (max %g)", bn, worst, big);
    double all[80], top[8];
    assert_int_equal(mli_sym_top_eigs(K, n, n, 1, all, NULL), 0);
    assert_true(all[n - 1] >= -1e-10 * all[0] - (TOL_GRAM * big)); /* PSD to rounding */
    for (int t = 1; t < n; t++)
        assert_true(all[t] <= all[t - 1]);
    assert_int_equal(mli_sym_top_eigs(K, n, 8, 2, top, NULL), 0);
    for (int t = 0; t < 8; t++)
        if (fabs(top[t] - all[t]) > TOL_EIG * all[0])
            fail_msg("bn %d: subspace eigenvalue %d: %.12g vs dense %.12g", bn, t, top[t], all[t]);
    mli_jws_free(jw);
    mli_ntk_factors_free(&fac);
    free(K);
    free(J);
    fx_free(&f);
}

static void test_ntk_gram(void **state)
{
    (void)state;
    check_gram(0);
    check_gram(1);
}

/* kernel distance and Jacobian change: 0 at θ₁ = θ₀, 0 for a linear model (J does not depend on
 * θ), positive for a network that moved. */
static void test_ntk_distance(void **state)
{
    (void)state;
    const int h[2] = {8, 3};
    fx f;
    fx_init(&f, h, 2, MLI_ACT_RELU, 0, 30, 600);
    mli_ntk_result r;
    assert_int_equal(mli_ntk_compute(&f.a, f.th, NULL, f.th, NULL, &f.d, 30, 5, &r), 0);
    assert_true(r.kernel_distance == 0 && r.jacobian_rel_change == 0);
    assert_true(r.top_init[0] == r.top_final[0] && r.top_init[0] > 0);
    assert_int_equal(mli_ntk_compute(&f.a, f.th, NULL, f.th1, NULL, &f.d, 30, 5, &r), 0);
    assert_true(r.kernel_distance > 1e-3 && r.jacobian_rel_change > 1e-2);
    /* the in-place Frobenius product (one kernel in memory) against two kernels side by side */
    mli_ntk_factors f0, f1;
    assert_int_equal(mli_ntk_factors_compute(&f.a, f.th, NULL, &f.d, 30, &f0), 0);
    assert_int_equal(mli_ntk_factors_compute(&f.a, f.th1, NULL, &f.d, 30, &f1), 0);
    int n = f0.n;
    mli_real *K0 = malloc(sizeof(mli_real) * n * n), *K1 = malloc(sizeof(mli_real) * n * n);
    double fro0, fro1, inner;
    mli_ntk_gram(&f.a, &f0, K0, &fro0, NULL);
    mli_ntk_gram(&f.a, &f1, K1, NULL, NULL);
    double kd = mli_kernel_distance(K0, K1, n);
    mli_ntk_gram(&f.a, &f1, K0, &fro1, &inner); /* K0 becomes Θ₁ */
    assert_true(memcmp(K0, K1, sizeof(mli_real) * n * n) == 0);
    assert_float_equal(1 - inner / sqrt(fro0 * fro1), kd, TOL_SAME);
    assert_float_equal(r.kernel_distance, kd, TOL_SAME);
    free(K0);
    free(K1);
    mli_ntk_factors_free(&f0);
    mli_ntk_factors_free(&f1);
    fx_free(&f);
    const int lin[1] = {3};
    fx_init(&f, lin, 1, MLI_ACT_RELU, 0, 30, 601);
    assert_int_equal(mli_ntk_compute(&f.a, f.th, NULL, f.th1, NULL, &f.d, 30, 5, &r), 0);
    assert_true(fabs(r.kernel_distance) <= 1e-15 && r.jacobian_rel_change == 0);
    fx_free(&f);
}

/* ---- PCA ---------------------------------------------------------------------------------------- */

/* Points on a 2-plane of ℝ¹⁰ (offset, two random directions): two components explain it all,
 * and the projections keep the distances. */
static void test_pca_recovers_a_plane(void **state)
{
    (void)state;
    enum { N = 200, K = 10 };
    mli_real u[K], v[K], o[K], ab[2 * N];
    tu_fill_uniform(u, K, -1, 1, 1);
    tu_fill_uniform(v, K, -1, 1, 2);
    tu_fill_uniform(o, K, -3, 3, 3);
    tu_fill_uniform(ab, 2 * N, -2, 2, 4);
    double *X = malloc(sizeof(double) * N * K), proj[2 * N], ratio[2];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < K; c++)
            X[i * K + c] = o[c] + ab[2 * i] * u[c] + 3 * ab[2 * i + 1] * v[c];
    assert_int_equal(mli_pca(X, N, K, 2, proj, ratio), 0);
    assert_true(ratio[0] >= ratio[1] && ratio[1] > 0.01);
    assert_float_equal(ratio[0] + ratio[1], 1, 1e-12);
    for (int i = 1; i < N; i++) {
        double d2 = 0, p2 = pow(proj[2 * i] - proj[0], 2) + pow(proj[2 * i + 1] - proj[1], 2);
        for (int c = 0; c < K; c++)
            d2 += pow(X[i * K + c] - X[c], 2);
        assert_float_equal(sqrt(p2), sqrt(d2), 1e-9 * (1 + sqrt(d2)));
    }
    free(X);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutation_keeps_the_function),
        cmocka_unit_test(test_plane_basis_orthonormal),
        cmocka_unit_test(test_plane_default_extent_nodes),
        cmocka_unit_test(test_plane_grid_passes_through_the_path),
        cmocka_unit_test(test_random_direction_filter_norm),
        cmocka_unit_test(test_jacobian_rows),
        cmocka_unit_test(test_ntk_gram),
        cmocka_unit_test(test_ntk_distance),
        cmocka_unit_test(test_pca_recovers_a_plane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
