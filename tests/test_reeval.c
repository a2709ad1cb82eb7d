/* The float32 error bound of geometry/reeval.h holds for the float engine: on random networks
 * (every activation, both losses, with and without batch norm) the engine's per-example loss at
 * θ₀ + α·fl(θ₁ − θ₀) is within 2·u₃₂·K of the double recomputation of the line's loss, and the
 * bound is not vacuous (measured: 1e-4 to 1e-3 of it is used on these networks). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "geometry/reeval.h"
#include "nn/net.h"

#ifdef MLI_DOUBLE
#error "float build only"
#endif

static void check_bound(mli_act act, mli_loss loss, int use_bn)
{
    enum { N = 40, D = 30 };
    int h[3] = {64, 48, 10};
    mli_arch a;
    assert_int_equal(mli_arch_init(&a, D, h, 3, act, use_bn, loss), 0);
    size_t P = a.nparams;
    mli_real *t0 = malloc(sizeof(mli_real) * P), *t1 = malloc(sizeof(mli_real) * P);
    mli_real *dl = malloc(sizeof(mli_real) * P), *th = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(t0, P, -0.5, 0.5, 31);
    tu_fill_uniform(t1, P, -0.9, 0.9, 32);
    for (size_t i = 0; i < P; i++)
        dl[i] = t1[i] - t0[i];
    mli_real *bufs = malloc(sizeof(mli_real) * (a.nbuffers + 1));
    mli_arch_init_buffers(&a, bufs);
    for (size_t i = 0; i < a.nbuffers; i++) /* some non-trivial statistics */
        bufs[i] += (mli_real)(0.1 * (i % 5));
    mli_real *x = malloc(sizeof(mli_real) * N * D), *t = malloc(sizeof(mli_real) * N * 10);
    tu_fill_uniform(x, (size_t)N * D, -2, 2, 33);
    tu_fill_uniform(t, (size_t)N * 10, -1, 1, 34);
    int y[N];
    for (int i = 0; i < N; i++)
        y[i] = i % 10;
    mli_data d = {N, D, 10, x, y, loss == MLI_LOSS_MSE ? t : NULL};
    mli_reeval_ctx c = {&a, t0, t1, 1, use_bn ? bufs : NULL};
    double *work = malloc(sizeof(double) * 4 * a.width_max);
    mli_ws *w = mli_ws_new(&a, N);
    double worst = 0, max_err = 0;
    for (int q = 0; q <= 20; q++) {
        double al = q / 20.0;
        for (size_t i = 0; i < P; i++)
            th[i] = t0[i] + (mli_real)al * dl[i]; /* as the engine forms θ(α) */
        double lm, acc, per[N];
        mli_net_evaluate(&a, th, use_bn ? bufs : NULL, w, &d, &lm, &acc, per);
        for (int e = 0; e < N; e++) {
            double K, l = mli_reeval_loss(&c, x + (size_t)e * D, y[e], d.t ? t + (size_t)e * 10 : NULL, al, &K, work);
            double err = fabs(per[e] - l), bound = 2 * MLI_U32 * K;
            if (!(err <= bound))
                fail_msg("%s %s bn %d alpha %g example %d: float %.9g exact %.17g: error %.3g > bound %.3g",
                         mli_act_name(act), mli_loss_name(loss), use_bn, al, e, per[e], l, err, bound);
            worst = fmax(worst, err / bound);
            max_err = fmax(max_err, err);
        }
    }
    assert_true(max_err > 0);  /* float32 does round here */
    assert_true(worst > 1e-5); /* and the bound is within five decades of the largest error (a worst-case bound: γ_n grows like n, typical errors like √n) */
    mli_ws_free(w);
    free(work);
    free(t0);
    free(t1);
    free(dl);
    free(th);
    free(bufs);
    free(x);
    free(t);
}

static void test_float_error_within_bound(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_IDENTITY};
    for (int i = 0; i < 4; i++)
        for (int bn = 0; bn < 2; bn++) {
            check_bound(acts[i], MLI_LOSS_MSE, bn);
            check_bound(acts[i], MLI_LOSS_CE, bn);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_error_within_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
