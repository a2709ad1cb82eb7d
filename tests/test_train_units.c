/* Optimizers, initializers, regularizers and configuration parsing. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "io/err.h"
#include "train/config.h"
#include "train/init.h"
#include "train/optim.h"
#include "train/reg.h"

static void test_sgd_momentum_pytorch(void **state)
{
    (void)state;
    mli_optim o;
    mli_optim_init(&o, MLI_OPT_SGD, 0.1, 0.9, 2);
    mli_real th[2] = {1, -1}, g1[2] = {0.5, 2}, g2[2] = {-1, 1};
    mli_optim_step(&o, th, g1); /* b = g1 */
    assert_float_equal(th[0], 1 - 0.1 * 0.5, 1e-7);
    assert_float_equal(th[1], -1 - 0.1 * 2, 1e-7);
    mli_optim_step(&o, th, g2); /* b = 0.9 g1 + g2 */
    assert_float_equal(th[0], 0.95 - 0.1 * (0.45 - 1), 1e-6);
    assert_float_equal(th[1], -1.2 - 0.1 * (1.8 + 1), 1e-6);
    mli_optim_free(&o);
}

static void test_adam_pytorch(void **state)
{
    (void)state;
    mli_optim o;
    mli_optim_init(&o, MLI_OPT_ADAM, 0.01, 0.9, 1);
    mli_real th[1] = {1}, g[1] = {0.5};
    double m = 0, v = 0, p = 1;
    for (int t = 1; t <= 3; t++) {
        g[0] = (mli_real)(0.5 * t - 1.2);
        mli_optim_step(&o, th, g);
        m = 0.9 * m + 0.1 * g[0];
        v = 0.999 * v + 0.001 * g[0] * g[0];
        p -= 0.01 / (1 - pow(0.9, t)) * m / (sqrt(v) / sqrt(1 - pow(0.999, t)) + 1e-8);
        assert_float_equal(th[0], p, 1e-6);
    }
    /* the first Adam step moves every coordinate by about lr, whatever the gradient scale */
    assert_int_equal(o.step, 3);
    mli_optim_free(&o);
}

static void init_ranges(mli_init_type type, double *maxabs_w, double *maxabs_b, double *std_w)
{
    mli_arch a;
    int h[2] = {200, 10};
    assert_int_equal(mli_arch_init(&a, 400, h, 2, MLI_ACT_RELU, 1, MLI_LOSS_CE), 0);
    mli_real *th = malloc(sizeof(mli_real) * a.nparams), *bufs = malloc(sizeof(mli_real) * a.nbuffers);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    mli_init_params(&a, type, r, th, bufs);
    const mli_layer *L = &a.layers[0];
    double mw = 0, mb = 0, ss = 0;
    size_t nw = (size_t)L->out * L->in;
    for (size_t i = 0; i < nw; i++) {
        mw = fmax(mw, fabs(th[L->p + i]));
        ss += (double)th[L->p + i] * th[L->p + i];
    }
    for (int j = 0; j < L->out; j++)
        mb = fmax(mb, fabs(th[L->p + nw + j]));
    *maxabs_w = mw;
    *maxabs_b = mb;
    *std_w = sqrt(ss / nw);
    /* batch norm: γ = 1, β = 0, running mean 0, running var 1 */
    const mli_layer *B = &a.layers[1];
    assert_int_equal(B->kind, MLI_LAYER_BN);
    assert_float_equal(th[B->p], 1, 0);
    assert_float_equal(th[B->p + B->out], 0, 0);
    assert_float_equal(bufs[B->s], 0, 0);
    assert_float_equal(bufs[B->s + B->out], 1, 0);
    gsl_rng_free(r);
    free(th);
    free(bufs);
}

static void test_init_ranges(void **state)
{
    (void)state;
    double mw, mb, sd;
    init_ranges(MLI_INIT_DEFAULT, &mw, &mb, &sd); /* U(±1/√400 = ±0.05) */
    assert_true(mw <= 0.05 && mw > 0.049);
    assert_true(mb <= 0.05 && mb > 0.04);
    assert_float_equal(sd, 0.05 / sqrt(3), 0.001);
    init_ranges(MLI_INIT_XAVIER, &mw, &mb, &sd); /* U(±√(6/600) = ±0.1), bias 0 */
    assert_true(mw <= 0.1 && mw > 0.099);
    assert_float_equal(mb, 0, 0);
    init_ranges(MLI_INIT_KAIMING, &mw, &mb, &sd); /* N(0, 2/400) */
    assert_float_equal(sd, sqrt(2.0 / 400), 0.002);
    assert_float_equal(mb, 0, 0);
}

static void test_regularizers(void **state)
{
    (void)state;
    mli_arch a;
    int h[1] = {2};
    assert_int_equal(mli_arch_init(&a, 2, h, 1, MLI_ACT_RELU, 0, MLI_LOSS_MSE), 0);
    mli_real th[6] = {3, -4, 0, 0, 1, 1}; /* W = [[3,-4],[0,0]], b = [1,1] */
    mli_real g[6] = {0};
    double r = mli_reg_apply(&a, MLI_REG_L1, 1, 1, th, g);
    assert_float_equal(r, 7.0 / 4 + 1, 1e-6);
    assert_float_equal(g[0], 0.25, 1e-7);
    assert_float_equal(g[1], -0.25, 1e-7);
    assert_float_equal(g[2], 0, 0);
    assert_float_equal(g[4], 0.5, 1e-7);
    memset(g, 0, sizeof g);
    r = mli_reg_apply(&a, MLI_REG_OUTR, 2, 1, th, g); /* ‖W‖ = 5, ‖b‖ = √2 */
    assert_float_equal(r, 2 * (16 + pow(sqrt(2) - 1, 2)), 1e-5);
    assert_float_equal(g[0], 2 * 2 * 4 * 3 / 5.0, 1e-5);
    assert_float_equal(mli_reg_apply(&a, MLI_REG_NONE, 1, 1, th, NULL), 0, 0);
}

static void test_config_defaults_and_keys(void **state)
{
    (void)state;
    mli_config c;
    mli_config_default(&c);
    assert_string_equal(c.dset_name, "fashionmnist");
    assert_int_equal(c.datasize, 60000);
    assert_int_equal(c.batchsize, 512);
    assert_int_equal(c.nh, 2);
    assert_int_equal(c.hsizes[0], 100);
    assert_int_equal(c.act_fn, MLI_ACT_RELU);
    assert_int_equal(c.optim_name, MLI_OPT_SGD);
    assert_float_equal(c.lr, 0.1, 0);
    assert_float_equal(c.beta, 0.9, 0);
    assert_int_equal(c.epochs, 10);
    assert_int_equal(c.alpha_steps, 50);
    assert_int_equal(mli_config_set_pair(&c, "hsizes=1024,1024,10"), 0);
    assert_int_equal(c.nh, 3);
    assert_int_equal(mli_config_set_pair(&c, "use_batchnorm=true"), 0);
    assert_int_equal(c.use_batchnorm, 1);
    assert_int_equal(mli_config_set_pair(&c, "regularization=outR"), 0);
    assert_int_equal(c.regularization, MLI_REG_OUTR);

    const char *bad[] = {"nosuchkey=1", "lr=abc", "lr=", "epochs=2.5", "epochs=-1", "hsizes=10,,3",
                         "hsizes=0", "act_fn=gelu", "use_batchnorm=maybe", "lr=nan", "novalue",
                         "=3", "random_label_proportion=1.5", "seed=-2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mli_config_set_pair(&c, bad[i]), MLI_EUSAGE);
        assert_true(strlen(mli_errmsg()) > 5);
    }
    mli_config_set_pair(&c, "nosuchkey=1");
    assert_non_null(strstr(mli_errmsg(), "nosuchkey"));
    mli_config_set_pair(&c, "lr=abc");
    assert_non_null(strstr(mli_errmsg(), "lr"));
    assert_non_null(strstr(mli_errmsg(), "abc"));
}

static void test_config_json_round_trip_and_file(void **state)
{
    (void)state;
    mli_config c, d;
    mli_config_default(&c);
    mli_config_set_pair(&c, "hsizes=64,32,10");
    mli_config_set_pair(&c, "lr=0.003");
    mli_config_set_pair(&c, "optim_name=adam");
    mli_config_set_pair(&c, "seed=4000000000");
    cJSON *j = mli_config_to_json(&c);
    assert_int_equal(mli_config_from_json(&d, j, "test"), 0);
    cJSON *k = mli_config_to_json(&d);
    assert_true(cJSON_Compare(j, k, 1));
    cJSON_Delete(j);
    cJSON_Delete(k);

    const char *dir = tu_tmpdir("config");
    char path[600];
    snprintf(path, sizeof path, "%s/c.cfg", dir);
    const char *text = "# a comment\nlr = 0.5   # trailing\n\nepochs=3\n";
    tu_write_file(path, text, strlen(text));
    mli_config_default(&d);
    assert_int_equal(mli_config_load_file(&d, path), 0);
    assert_float_equal(d.lr, 0.5, 0);
    assert_int_equal(d.epochs, 3);
    const char *badtext = "lr=0.5\nfoo=1\n";
    tu_write_file(path, badtext, strlen(badtext));
    assert_int_equal(mli_config_load_file(&d, path), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), ":2:"));
    assert_non_null(strstr(mli_errmsg(), "foo"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_momentum_pytorch),
        cmocka_unit_test(test_adam_pytorch),
        cmocka_unit_test(test_init_ranges),
        cmocka_unit_test(test_regularizers),
        cmocka_unit_test(test_config_defaults_and_keys),
        cmocka_unit_test(test_config_json_round_trip_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
