/* Layer rules against values computed by hand (float build). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

/* Batch of 4 on 2 features. Feature 0: 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3);
 * feature 1: 0,0,0,8 (mean 2, biased var 12, unbiased 16). */
static const mli_real X[8] = {1, 0, 2, 0, 3, 0, 4, 8};

static void test_bn_forward_train_and_running_stats(void **state)
{
    (void)state;
    mli_real Y[8], mean[2], istd[2], gamma[2] = {2, 0.5}, beta[2] = {1, -1};
    mli_real rm[2] = {0, 0}, rv[2] = {1, 1};
    mli_bn_forward_train(Y, mean, istd, X, gamma, beta, rm, rv, 4, 2);
    double s0 = 1 / sqrt(1.25 + 1e-5), s1 = 1 / sqrt(12 + 1e-5);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(Y[2 * i], 2 * (X[2 * i] - 2.5) * s0 + 1, 1e-5);
        assert_float_equal(Y[2 * i + 1], 0.5 * (X[2 * i + 1] - 2) * s1 - 1, 1e-5);
    }
    /* the saved batch statistics: mean and 1/sqrt(biased var + eps) */
    assert_float_equal(mean[0], 2.5, 1e-6);
    assert_float_equal(mean[1], 2, 1e-6);
    assert_float_equal(istd[0], s0, 1e-6);
    assert_float_equal(istd[1], s1, 1e-6);
    /* PyTorch: running = 0.9 running + 0.1 batch, the variance unbiased */
    assert_float_equal(rm[0], 0.25, 1e-6);
    assert_float_equal(rm[1], 0.2, 1e-6);
    assert_float_equal(rv[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    assert_float_equal(rv[1], 0.9 + 1.6, 1e-6);
}

static void test_bn_backward_train_hand(void **state)
{
    (void)state;
    mli_real Y[8], mean[2], istd[2], gamma[2] = {2, 0.5}, beta[2] = {0, 0}, xhat[8];
    mli_bn_forward_train(Y, mean, istd, X, gamma, beta, NULL, NULL, 4, 2);
    for (int e = 0; e < 8; e++)
        xhat[e] = (X[e] - mean[e % 2]) * istd[e % 2];
    /* dY picks out one output: d/dX of Y[0] (example 0, feature 0). Analytically
     * dY0/dXj = γ istd (δ0j − 1/B − x̂0 x̂j / B) for feature 0, and 0 for feature 1. */
    mli_real dY[8] = {1, 0, 0, 0, 0, 0, 0, 0}, dX[8], dg[2], db[2];
    mli_bn_backward_train(dX, dg, db, dY, X, mean, istd, gamma, 4, 2);
    for (int j = 0; j < 4; j++) {
        double expect = 2 * istd[0] * ((j == 0) - 0.25 - xhat[0] * xhat[2 * j] / 4);
        assert_float_equal(dX[2 * j], expect, 1e-5);
        assert_float_equal(dX[2 * j + 1], 0, 1e-7);
    }
    assert_float_equal(dg[0], xhat[0], 1e-6);
    assert_float_equal(db[0], 1, 1e-7);
    assert_float_equal(dg[1], 0, 1e-7);
}

static void test_bn_eval_uses_running_stats(void **state)
{
    (void)state;
    mli_real Y[8], gamma[2] = {2, 1}, beta[2] = {1, 0}, rm[2] = {1, 2}, rv[2] = {4, 0.25};
    mli_bn_forward_eval(Y, X, gamma, beta, rm, rv, 4, 2);
    assert_float_equal(Y[6], 2 * (4 - 1) / sqrt(4 + 1e-5) + 1, 1e-5);
    assert_float_equal(Y[7], (8 - 2) / sqrt(0.25 + 1e-5), 1e-4);
}

static void test_linear_forward_backward_hand(void **state)
{
    (void)state;
    /* W = [[1,2],[3,4],[5,6]] (out 3, in 2), b = [1,0,-1], x = [[1,1],[2,0]] */
    mli_real W[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, 0, -1}, x[4] = {1, 1, 2, 0}, Y[6];
    mli_linear_forward(Y, x, W, b, 2, 2, 3);
    const mli_real want[6] = {4, 7, 10, 3, 6, 9};
    for (int i = 0; i < 6; i++)
        assert_float_equal(Y[i], want[i], 1e-6);
    mli_real dY[6] = {1, 0, 0, 0, 0, 1}, dW[6], db[3], dX[4];
    mli_linear_backward(dX, dW, db, dY, x, W, 2, 2, 3, 0);
    const mli_real wdW[6] = {1, 1, 0, 0, 2, 0}, wdb[3] = {1, 0, 1}, wdX[4] = {1, 2, 5, 6};
    for (int i = 0; i < 6; i++)
        assert_float_equal(dW[i], wdW[i], 1e-6);
    for (int i = 0; i < 3; i++)
        assert_float_equal(db[i], wdb[i], 1e-6);
    for (int i = 0; i < 4; i++)
        assert_float_equal(dX[i], wdX[i], 1e-6);
}

static void test_losses_hand(void **state)
{
    (void)state;
    mli_real Z[6] = {0, 0, 0, 1, 2, 3};
    int y[2] = {1, 2};
    mli_real dZ[6];
    double l[2];
    long correct = 0;
    double sum = mli_loss_eval(MLI_LOSS_CE, Z, 2, 3, y, NULL, dZ, l, &correct);
    assert_float_equal(l[0], log(3.0), 1e-6);
    assert_float_equal(l[1], log(exp(1) + exp(2) + exp(3)) - 3, 1e-6);
    assert_float_equal(sum, l[0] + l[1], 1e-9);
    assert_float_equal(dZ[1], (1.0 / 3 - 1) / 2, 1e-6); /* mean over the batch of 2 */
    assert_int_equal(correct, 1);                      /* row 0 ties: argmax 0 ≠ 1 */
    sum = mli_loss_eval(MLI_LOSS_MSE, Z, 2, 3, y, NULL, dZ, l, NULL);
    assert_float_equal(l[0], 1, 1e-9);            /* (0−1)² */
    assert_float_equal(l[1], 1 + 4 + 4, 1e-9);    /* 1² + 2² + (3−1)² */
    assert_float_equal(dZ[5], 2 * 2.0 / 2, 1e-6); /* 2 r / B */
    mli_real T[6] = {1, 1, 1, 1, 1, 1};
    sum = mli_loss_eval(MLI_LOSS_RECON, Z, 2, 3, NULL, T, NULL, l, NULL);
    assert_float_equal(sum, 3 + 0 + 1 + 4, 1e-9);
}

static void test_activation_derivatives(void **state)
{
    (void)state;
    const double h = 0.3, e = 1e-5;
    const mli_act acts[] = {MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_RELU, MLI_ACT_IDENTITY};
    for (int i = 0; i < 4; i++) {
        mli_real in[3] = {(mli_real)(h - e), (mli_real)h, (mli_real)(h + e)}, out[3];
        double din[3] = {h - e, h, h + e}, f[3];
        for (int k = 0; k < 3; k++) {
            mli_act_forward(acts[i], out + k, in + k, 1);
            f[k] = acts[i] == MLI_ACT_TANH ? tanh(din[k]) : acts[i] == MLI_ACT_SIGMOID ? 1 / (1 + exp(-din[k])) : din[k] > 0 ? din[k] : 0;
            assert_float_equal(out[k], f[k], 1e-6);
        }
        assert_float_equal(mli_act_d1(acts[i], h), (f[2] - f[0]) / (2 * e), 1e-6);
        assert_float_equal(mli_act_d2(acts[i], h), (f[2] - 2 * f[1] + f[0]) / (e * e), 1e-3);
    }
    assert_float_equal(mli_act_d1(MLI_ACT_RELU, -1), 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_forward_train_and_running_stats),
        cmocka_unit_test(test_bn_backward_train_hand),
        cmocka_unit_test(test_bn_eval_uses_running_stats),
        cmocka_unit_test(test_linear_forward_backward_hand),
        cmocka_unit_test(test_losses_hand),
        cmocka_unit_test(test_activation_derivatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
