/* Gradients of the engine against central finite differences, double build.
 * Every activation × batch norm × loss, in training mode (batch statistics) and eval mode
 * (running statistics). Criterion: ‖g − g_fd‖∞ / ‖g_fd‖∞ < 1e-6. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"

#ifndef MLI_DOUBLE
#error "this test needs the double build"
#endif

typedef struct {
    mli_arch a;
    mli_real *theta, *bufs, *x, *t;
    int *y;
    int B;
    mli_ws *w;
} fixture;

static void fixture_init(fixture *f, mli_act act, int bn, mli_loss loss, uint64_t seed)
{
    int h_cls[] = {6, 5, 4}, h_rec[] = {6, 5, 7};
    int in = 7;
    assert_int_equal(mli_arch_init(&f->a, in, loss == MLI_LOSS_RECON ? h_rec : h_cls, 3, act, bn, loss), 0);
    f->B = 9;
    f->theta = malloc(sizeof(mli_real) * f->a.nparams);
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    tu_fill_uniform(f->theta, f->a.nparams, -0.8, 0.8, seed);
    /* running statistics away from their initial values so eval mode is a real test */
    tu_fill_uniform(f->bufs, f->a.nbuffers, 0.3, 1.5, seed + 1);
    f->x = malloc(sizeof(mli_real) * (size_t)f->B * in);
    tu_fill_uniform(f->x, (size_t)f->B * in, -1, 1, seed + 2);
    f->y = malloc(sizeof(int) * f->B);
    for (int i = 0; i < f->B; i++)
        f->y[i] = (i * 7 + 3) % f->a.nout;
    f->t = NULL;
    f->w = mli_ws_new(&f->a, f->B);
}

static void fixture_free(fixture *f)
{
    free(f->theta);
    free(f->bufs);
    free(f->x);
    free(f->y);
    free(f->t);
    mli_ws_free(f->w);
}

static double loss_at(fixture *f, mli_mode mode, mli_real *grad)
{
    mli_batch b = {f->B, f->x, f->y, f->t};
    /* train mode is checked without updating the running statistics: bufs = NULL */
    return mli_net_loss_grad(&f->a, f->theta, mode == MLI_MODE_EVAL ? f->bufs : NULL, f->w, &b,
                             mode, grad, NULL);
}

static double check_one(mli_act act, int bn, mli_loss loss, mli_mode mode, int regression)
{
    fixture f;
    fixture_init(&f, act, bn, loss, 11 + act * 7 + bn * 3 + loss);
    if (regression) {
        f.t = malloc(sizeof(mli_real) * (size_t)f.B * f.a.nout);
        tu_fill_uniform(f.t, (size_t)f.B * f.a.nout, -1, 1, 99);
    }
    size_t P = f.a.nparams;
    mli_real *g = malloc(sizeof(mli_real) * P);
    double *ga = malloc(sizeof(double) * P), *gfd = malloc(sizeof(double) * P);
    loss_at(&f, mode, g);
    for (size_t i = 0; i < P; i++)
        ga[i] = g[i];
    const double h = 1e-5;
    for (size_t i = 0; i < P; i++) {
        mli_real keep = f.theta[i];
        f.theta[i] = keep + h;
        double lp = loss_at(&f, mode, NULL);
        f.theta[i] = keep - h;
        double lm = loss_at(&f, mode, NULL);
        f.theta[i] = keep;
        gfd[i] = (lp - lm) / (2 * h);
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < P; i++) {
        num = fmax(num, fabs(ga[i] - gfd[i]));
        den = fmax(den, fabs(gfd[i]));
    }
    free(g);
    free(ga);
    free(gfd);
    fixture_free(&f);
    assert_true(den > 1e-3); /* the loss does depend on θ: a zero gradient would pass trivially */
    return num / den;
}

static void test_gradients_all_combinations(void **state)
{
    (void)state;
    const mli_act acts[] = {MLI_ACT_IDENTITY, MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID};
    const mli_loss losses[] = {MLI_LOSS_CE, MLI_LOSS_MSE, MLI_LOSS_RECON};
    int checked = 0;
    for (int ia = 0; ia < 4; ia++)
        for (int bn = 0; bn < 2; bn++)
            for (int il = 0; il < 3; il++)
                for (int mode = 0; mode < 2; mode++) {
                    double e = check_one(acts[ia], bn, losses[il], (mli_mode)mode, 0);
                    if (!(e < 1e-6))
                        fail_msg("act=%s bn=%d loss=%s mode=%s: relative error %.3g",
                                 mli_act_name(acts[ia]), bn, mli_loss_name(losses[il]),
                                 mode ? "train" : "eval", e);
                    checked++;
                }
    assert_int_equal(checked, 48);
}

static void test_gradients_regression_targets(void **state)
{
    (void)state;
    for (int bn = 0; bn < 2; bn++) {
        double e = check_one(MLI_ACT_TANH, bn, MLI_LOSS_MSE, MLI_MODE_TRAIN, 1);
        assert_true(e < 1e-6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_all_combinations),
        cmocka_unit_test(test_gradients_regression_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
