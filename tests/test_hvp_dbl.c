/* Hessian-vector products, Lanczos and Hutchinson, double build.
 *   - H u against central differences of the gradient (eval mode), every activation ×
 *     batch norm × loss: ‖Hu − fd‖∞ / ‖fd‖∞ < 1e-6
 *   - symmetry vᵀ(Hu) = uᵀ(Hv) to 1e-10
 *   - a dense Hessian from HVP columns: symmetric, its spectrum (LAPACKE_dsyevd) equal to
 *     full-dimension Lanczos, its trace to Hutchinson's estimate
 *   - the closed form of a single Linear layer with mse loss */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "geometry/hessian.h"
#include "io/err.h"
#include "nn/hvp.h"
#include "nn/net.h"

#ifndef MLI_DOUBLE
#error "this test needs the double build"
#endif

typedef struct {
    mli_arch a;
    mli_real *theta, *bufs, *x, *t;
    int *y;
    int N; /* examples */
    mli_data d;
} fixture;

/* The network of test_grad_dbl: 7 inputs, sizes 6,5,4 (recon: 6,5,7); N examples. */
static void fixture_init_sizes(fixture *f, int in, const int *h, int nh, mli_act act, int bn,
                               mli_loss loss, int N, int regression, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(mli_arch_init(&f->a, in, h, nh, act, bn, loss), 0);
    f->N = N;
    f->theta = malloc(sizeof(mli_real) * f->a.nparams);
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    tu_fill_uniform(f->theta, f->a.nparams, -0.8, 0.8, seed);
    /* running statistics away from their initial values so eval mode is a real test */
    tu_fill_uniform(f->bufs, f->a.nbuffers, 0.3, 1.5, seed + 1);
    f->x = malloc(sizeof(mli_real) * (size_t)N * in);
    tu_fill_uniform(f->x, (size_t)N * in, -1, 1, seed + 2);
    f->y = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++)
        f->y[i] = (i * 7 + 3) % f->a.nout;
    if (regression) {
        f->t = malloc(sizeof(mli_real) * (size_t)N * f->a.nout);
        tu_fill_uniform(f->t, (size_t)N * f->a.nout, -1, 1, seed + 3);
    }
    f->d = (mli_data){N, in, f->a.nout, f->x, f->y, f->t};
}

static void fixture_init(fixture *f, mli_act act, int bn, mli_loss loss, int regression, uint64_t seed)
{
    int h_cls[] = {6, 5, 4}, h_rec[] = {6, 5, 7};
    fixture_init_sizes(f, 7, loss == MLI_LOSS_RECON ? h_rec : h_cls, 3, act, bn, loss, 9,
                       regression, seed);
}

static void fixture_free(fixture *f)
{
    free(f->theta);
    free(f->bufs);
    free(f->x);
    free(f->y);
    free(f->t);
}

static mli_batch fixture_batch(const fixture *f)
{
    mli_batch b = {f->N, f->x, f->y, f->t};
    return b;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* ‖Hu − fd‖∞ / ‖fd‖∞ with fd = (∇L(θ + hu) − ∇L(θ − hu)) / 2h, eval mode */
static double fd_error(mli_act act, int bn, mli_loss loss, int regression)
{
    fixture f;
    fixture_init(&f, act, bn, loss, regression, 11 + act * 7 + bn * 3 + loss);
    size_t P = f.a.nparams;
    mli_batch b = fixture_batch(&f);
    mli_ws *ws = mli_ws_new(&f.a, f.N);
    mli_hvp_ws *hw = mli_hvp_ws_new(&f.a, f.N);
    mli_real *u = malloc(sizeof(mli_real) * P), *hv = malloc(sizeof(mli_real) * P);
    mli_real *gp = malloc(sizeof(mli_real) * P), *gm = malloc(sizeof(mli_real) * P);
    mli_real *th = malloc(sizeof(mli_real) * P);
    double *diff = malloc(sizeof(double) * P), *fd = malloc(sizeof(double) * P);
    tu_fill_uniform(u, P, -1, 1, 1000 + act + 10 * bn + 100 * loss);

    double lh = mli_net_hvp(&f.a, f.theta, f.bufs, hw, &b, u, hv);
    double lg = mli_net_loss_grad(&f.a, f.theta, f.bufs, ws, &b, MLI_MODE_EVAL, NULL, NULL);
    assert_true(fabs(lh - lg) <= 1e-12 * fmax(1, fabs(lg))); /* the same loss */

    const double h = 1e-5;
    for (size_t i = 0; i < P; i++)
        th[i] = f.theta[i] + h * u[i];
    mli_net_loss_grad(&f.a, th, f.bufs, ws, &b, MLI_MODE_EVAL, gp, NULL);
    for (size_t i = 0; i < P; i++)
        th[i] = f.theta[i] - h * u[i];
    mli_net_loss_grad(&f.a, th, f.bufs, ws, &b, MLI_MODE_EVAL, gm, NULL);
    for (size_t i = 0; i < P; i++) {
        fd[i] = (gp[i] - gm[i]) / (2 * h);
        diff[i] = hv[i] - fd[i];
    }
    double den = max_abs(fd, P), e = max_abs(diff, P) / den;
    free(u);
    free(hv);
    free(gp);
    free(gm);
    free(th);
    free(diff);
    free(fd);
    mli_ws_free(ws);
    mli_hvp_ws_free(hw);
    fixture_free(&f);
    assert_true(den > 1e-3); /* H u = 0 would pass trivially */
    return e;
}

static const mli_act acts[] = {MLI_ACT_IDENTITY, MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID};
static const mli_loss losses[] = {MLI_LOSS_CE, MLI_LOSS_MSE, MLI_LOSS_RECON};

static void test_hvp_finite_differences(void **state)
{
    (void)state;
    int checked = 0;
    for (int ia = 0; ia < 4; ia++)
        for (int bn = 0; bn < 2; bn++)
            for (int il = 0; il < 3; il++) {
                double e = fd_error(acts[ia], bn, losses[il], 0);
                if (!(e < 1e-6))
                    fail_msg("act=%s bn=%d loss=%s: relative error %.3g", mli_act_name(acts[ia]),
                             bn, mli_loss_name(losses[il]), e);
                checked++;
            }
    assert_int_equal(checked, 24);
}

static void test_hvp_regression_targets(void **state)
{
    (void)state;
    for (int bn = 0; bn < 2; bn++)
        for (int ia = 0; ia < 4; ia++) {
            double e = fd_error(acts[ia], bn, MLI_LOSS_MSE, 1);
            if (!(e < 1e-6))
                fail_msg("act=%s bn=%d mse targets: relative error %.3g", mli_act_name(acts[ia]), bn, e);
        }
}

static void test_hvp_symmetry(void **state)
{
    (void)state;
    for (int ia = 0; ia < 4; ia++)
        for (int bn = 0; bn < 2; bn++)
            for (int il = 0; il < 3; il++) {
                fixture f;
                fixture_init(&f, acts[ia], bn, losses[il], 0, 5 + ia + 4 * bn + 8 * il);
                size_t P = f.a.nparams;
                mli_batch b = fixture_batch(&f);
                mli_hvp_ws *hw = mli_hvp_ws_new(&f.a, f.N);
                mli_real *u = malloc(sizeof(mli_real) * P), *v = malloc(sizeof(mli_real) * P);
                mli_real *hu = malloc(sizeof(mli_real) * P), *hv = malloc(sizeof(mli_real) * P);
                tu_fill_uniform(u, P, -1, 1, 77 + ia);
                tu_fill_uniform(v, P, -1, 1, 91 + il);
                mli_net_hvp(&f.a, f.theta, f.bufs, hw, &b, u, hu);
                mli_net_hvp(&f.a, f.theta, f.bufs, hw, &b, v, hv);
                double vhu = 0, uhv = 0, scale = 0;
                for (size_t i = 0; i < P; i++) {
                    vhu += v[i] * hu[i];
                    uhv += u[i] * hv[i];
                    scale += fabs(v[i] * hu[i]);
                }
                if (!(fabs(vhu - uhv) <= 1e-10 * scale))
                    fail_msg("act=%s bn=%d loss=%s: vᵀHu %.17g, uᵀHv %.17g",
                             mli_act_name(acts[ia]), bn, mli_loss_name(losses[il]), vhu, uhv);
                free(u);
                free(v);
                free(hu);
                free(hv);
                mli_hvp_ws_free(hw);
                fixture_free(&f);
            }
}

/* H (P×P, row-major) column by column: H e_i over the whole data set */
static double *dense_hessian(const fixture *f, mli_hvp_ws *hw)
{
    size_t P = f->a.nparams;
    double *H = malloc(sizeof(double) * P * P), *e = calloc(P, sizeof(double));
    double *col = malloc(sizeof(double) * P);
    for (size_t i = 0; i < P; i++) {
        e[i] = 1;
        mli_hessian_vp(&f->a, f->theta, f->bufs, &f->d, hw, e, col);
        e[i] = 0;
        for (size_t r = 0; r < P; r++)
            H[r * P + i] = col[r];
    }
    free(e);
    free(col);
    return H;
}

/* progress callback: counts the HVPs reported */
static void progress(int done, int total, void *ctx)
{
    int *calls = ctx;
    assert_true(done >= 1 && done <= total);
    ++*calls;
}

/* Dense H: symmetry, eigenvalues vs full-dimension Lanczos, trace vs Hutchinson. */
static void check_dense(fixture *f, int bmax, const char *what)
{
    size_t P = f->a.nparams;
    mli_hvp_ws *hw = mli_hvp_ws_new(&f->a, bmax);
    double *H = dense_hessian(f, hw);
    double hmax = max_abs(H, P * P), asym = 0, trace = 0;
    for (size_t i = 0; i < P; i++) {
        trace += H[i * P + i]; /* Σ_i e_iᵀ H e_i */
        for (size_t j = 0; j < i; j++)
            asym = fmax(asym, fabs(H[i * P + j] - H[j * P + i]));
    }
    if (!(asym <= 1e-10 * hmax))
        fail_msg("%s: asymmetry %.3g of max entry %.3g", what, asym, hmax);

    double *lam = malloc(sizeof(double) * P); /* ascending */
    assert_int_equal(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (int)P, H, (int)P, lam), 0);
    double lmax = fmax(fabs(lam[0]), fabs(lam[P - 1])), sum = 0;
    for (size_t i = 0; i < P; i++)
        sum += lam[i];
    assert_true(fabs(sum - trace) <= 1e-10 * lmax * P);

    /* Lanczos to full dimension: every eigenvalue, top and bottom */
    int k = (int)P, calls = 0;
    double *top = malloc(sizeof(double) * P), *bot = malloc(sizeof(double) * P);
    assert_int_equal(mli_hessian_lanczos(&f->a, f->theta, f->bufs, &f->d, hw, k, (int)P, 3, top,
                                         bot, progress, &calls), MLI_OK);
    assert_int_equal(calls, (int)P);
    double err = 0;
    for (size_t i = 0; i < P; i++) {
        err = fmax(err, fabs(top[i] - lam[P - 1 - i]));
        err = fmax(err, fabs(bot[i] - lam[i]));
    }
    if (!(err <= 1e-8 * lmax))
        fail_msg("%s: Lanczos vs dsyevd %.3g (scale %.3g); λmin %.6g λmax %.6g", what, err, lmax,
                 lam[0], lam[P - 1]);

    double se, tr = mli_hessian_trace(&f->a, f->theta, f->bufs, &f->d, hw, 4000, 17, &se, NULL, NULL);
    if (!(fabs(tr - trace) <= 4 * se && se > 0))
        fail_msg("%s: Hutchinson %.6g ± %.3g, exact trace %.6g", what, tr, se, trace);
    print_message("%s: P=%zu λ ∈ [%.4g, %.4g], trace %.5g, Hutchinson %.5g ± %.2g, Lanczos err %.2g\n",
                  what, P, lam[0], lam[P - 1], trace, tr, se, err);
    free(lam);
    free(top);
    free(bot);
    free(H);
    mli_hvp_ws_free(hw);
}

static void test_dense_hessian_tanh_bn_ce(void **state)
{
    (void)state;
    int h[] = {4, 3, 2};
    fixture f;
    /* 25 examples in chunks of 8: 8 + 8 + 8 + 1, weighted by size */
    fixture_init_sizes(&f, 3, h, 3, MLI_ACT_TANH, 1, MLI_LOSS_CE, 25, 0, 41);
    assert_int_equal((int)f.a.nparams, 53);
    check_dense(&f, 8, "tanh+bn+ce");
    fixture_free(&f);
}

static void test_dense_hessian_relu_mse(void **state)
{
    (void)state;
    int h[] = {4, 3, 3};
    fixture f;
    fixture_init_sizes(&f, 3, h, 3, MLI_ACT_RELU, 0, MLI_LOSS_MSE, 20, 1, 43);
    check_dense(&f, 6, "relu+mse");
    fixture_free(&f);
}

static void test_dense_hessian_sigmoid_recon(void **state)
{
    (void)state;
    int h[] = {3, 4};
    fixture f;
    fixture_init_sizes(&f, 4, h, 2, MLI_ACT_SIGMOID, 1, MLI_LOSS_RECON, 11, 0, 47);
    check_dense(&f, 11, "sigmoid+bn+recon");
    fixture_free(&f);
}

/* One Linear layer, mse: L = (1/B) Σ_i ‖W x_i + b − t_i‖², so for output j
 * (Hu)_{W_j} = (2/B) Σ_i x_i (x_i·U_j + u_bj), (Hu)_{b_j} = (2/B) Σ_i (x_i·U_j + u_bj):
 * H = (2/B) Σ_i I_k ⊗ x̃_i x̃_iᵀ, x̃ = [x; 1], in the layout W (k×in row-major), then b. */
static void test_linear_mse_closed_form(void **state)
{
    (void)state;
    for (int regression = 0; regression < 2; regression++) {
        const int in = 5, k = 3;
        int h[] = {k};
        fixture f;
        fixture_init_sizes(&f, in, h, 1, MLI_ACT_TANH, 0, MLI_LOSS_MSE, 7, regression, 53);
        size_t P = f.a.nparams;
        assert_int_equal((int)P, k * in + k);
        mli_batch b = fixture_batch(&f);
        mli_hvp_ws *hw = mli_hvp_ws_new(&f.a, f.N);
        mli_real *u = malloc(sizeof(mli_real) * P), *hv = malloc(sizeof(mli_real) * P);
        double *ref = calloc(P, sizeof(double));
        tu_fill_uniform(u, P, -1, 1, 5);
        mli_net_hvp(&f.a, f.theta, f.bufs, hw, &b, u, hv);
        const mli_real *ub = u + (size_t)k * in;
        for (int i = 0; i < f.N; i++) {
            const mli_real *x = f.x + (size_t)i * in;
            for (int j = 0; j < k; j++) {
                double r = ub[j]; /* x̃_iᵀ ũ_j */
                for (int c = 0; c < in; c++)
                    r += x[c] * u[(size_t)j * in + c];
                for (int c = 0; c < in; c++)
                    ref[(size_t)j * in + c] += 2.0 / f.N * x[c] * r;
                ref[(size_t)k * in + j] += 2.0 / f.N * r;
            }
        }
        double err = 0;
        for (size_t i = 0; i < P; i++)
            err = fmax(err, fabs(hv[i] - ref[i]));
        assert_true(err <= 1e-13 * max_abs(ref, P));
        free(u);
        free(hv);
        free(ref);
        mli_hvp_ws_free(hw);
        fixture_free(&f);
    }
}

/* The linear model's H has every eigenvalue k times: the Krylov space breaks down after
 * in + 1 steps and Lanczos must restart to find the rest. */
static void test_lanczos_breakdown(void **state)
{
    (void)state;
    int h[] = {3};
    fixture f;
    fixture_init_sizes(&f, 4, h, 1, MLI_ACT_RELU, 0, MLI_LOSS_MSE, 9, 1, 59);
    check_dense(&f, 4, "linear+mse (multiplicity 3)");
    fixture_free(&f);
}

/* Chunks of 4 over 10 examples give the HVP of one batch of 10 */
static void test_hessian_vp_chunks(void **state)
{
    (void)state;
    fixture f;
    int h[] = {6, 5, 4};
    fixture_init_sizes(&f, 7, h, 3, MLI_ACT_SIGMOID, 1, MLI_LOSS_CE, 10, 0, 61);
    size_t P = f.a.nparams;
    mli_hvp_ws *one = mli_hvp_ws_new(&f.a, 10), *chunks = mli_hvp_ws_new(&f.a, 4);
    double *u = malloc(sizeof(double) * P), *h1 = malloc(sizeof(double) * P);
    double *h4 = malloc(sizeof(double) * P);
    mli_real *ur = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(ur, P, -1, 1, 3);
    for (size_t i = 0; i < P; i++)
        u[i] = ur[i];
    mli_hessian_vp(&f.a, f.theta, f.bufs, &f.d, one, u, h1);
    mli_hessian_vp(&f.a, f.theta, f.bufs, &f.d, chunks, u, h4);
    assert_true(tu_max_relerr(h4, h1, P) < 1e-13);
    assert_true(max_abs(h1, P) > 1e-3);
    free(u);
    free(h1);
    free(h4);
    free(ur);
    mli_hvp_ws_free(one);
    mli_hvp_ws_free(chunks);
    fixture_free(&f);
}

/* Default iteration count, k > nparams refused, and eigs_min optional */
static void test_lanczos_usage(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, MLI_ACT_TANH, 0, MLI_LOSS_CE, 0, 67);
    mli_hvp_ws *hw = mli_hvp_ws_new(&f.a, 4);
    double eigs[3];
    int calls = 0;
    assert_int_equal(mli_hessian_lanczos(&f.a, f.theta, f.bufs, &f.d, hw, 3, 0, 1, eigs, NULL,
                                         progress, &calls), MLI_OK);
    assert_int_equal(calls, 2 * 3 + 10);
    assert_true(eigs[0] >= eigs[1] && eigs[1] >= eigs[2]);
    assert_int_equal(mli_hessian_lanczos(&f.a, f.theta, f.bufs, &f.d, hw, (int)f.a.nparams + 1, 0,
                                         1, eigs, NULL, NULL, NULL), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "lanczos"));
    mli_hvp_ws_free(hw);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvp_finite_differences),
        cmocka_unit_test(test_hvp_regression_targets),
        cmocka_unit_test(test_hvp_symmetry),
        cmocka_unit_test(test_linear_mse_closed_form),
        cmocka_unit_test(test_hessian_vp_chunks),
        cmocka_unit_test(test_dense_hessian_tanh_bn_ce),
        cmocka_unit_test(test_dense_hessian_relu_mse),
        cmocka_unit_test(test_dense_hessian_sigmoid_recon),
        cmocka_unit_test(test_lanczos_breakdown),
        cmocka_unit_test(test_lanczos_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
