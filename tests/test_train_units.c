/* Optimizers, initializers, regularizers and configuration parsing. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/alloc.h"
#include "io/err.h"
#include "io/lock.h"
#include "train/config.h"
#include "train/rundir.h"
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
    double r = mli_reg_apply(&a, MLI_REG_L1, 1, 1, 0, NULL, th, g);
    assert_float_equal(r, 7.0 / 4 + 1, 1e-6);
    assert_float_equal(g[0], 0.25, 1e-7);
    assert_float_equal(g[1], -0.25, 1e-7);
    assert_float_equal(g[2], 0, 0);
    assert_float_equal(g[4], 0.5, 1e-7);
    memset(g, 0, sizeof g);
    r = mli_reg_apply(&a, MLI_REG_OUTR, 2, 1, 0, NULL, th, g); /* ‖W‖ = 5, ‖b‖ = √2 */
    assert_float_equal(r, 2 * (16 + pow(sqrt(2) - 1, 2)), 1e-5);
    assert_float_equal(g[0], 2 * 2 * 4 * 3 / 5.0, 1e-5);
    assert_float_equal(mli_reg_apply(&a, MLI_REG_NONE, 1, 1, 0, NULL, th, NULL), 0, 0);
    /* outR_mult: each tensor's target is outR_mult · its own norm at θ₀ (‖W₀‖ = 1, ‖b₀‖ = 2),
     * outR_reg ignored: targets 3 and 6, R = 2 · ((5 − 3)² + (√2 − 6)²) */
    mli_real th0[6] = {0.6, 0.8, 0, 0, 0, 2};
    memset(g, 0, sizeof g);
    r = mli_reg_apply(&a, MLI_REG_OUTR, 2, 100, 3, th0, th, g);
    assert_float_equal(r, 2 * (4 + pow(sqrt(2) - 6, 2)), 1e-5);
    assert_float_equal(g[0], 2 * 2 * (5 - 3) * 3 / 5.0, 1e-5);          /* pulled in: 5 > 3 */
    assert_float_equal(g[4], 2 * 2 * (sqrt(2) - 6) / sqrt(2), 1e-5);    /* pushed out: √2 < 6 */
    /* at θ = θ₀ with outR_mult = 1 the regularizer and its gradient vanish */
    memset(g, 0, sizeof g);
    assert_float_equal(mli_reg_apply(&a, MLI_REG_OUTR, 2, 100, 1, th0, th0, g), 0, 1e-12);
    for (int i = 0; i < 6; i++)
        assert_float_equal(g[i], 0, 1e-6);
    /* the key: parsed, range-checked, and 0 (off) by default */
    mli_config c;
    mli_config_default(&c);
    assert_float_equal(c.outR_mult, 0, 0);
    assert_int_equal(mli_config_set_pair(&c, "outR_mult=4"), 0);
    assert_float_equal(c.outR_mult, 4, 0);
    assert_int_equal(mli_config_set_pair(&c, "outR_mult=-1"), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "outR_mult"));
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

/* Issue 9: lines of any length, NUL bytes, a directory. */
static void test_config_file_long_lines_nul_dir(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("config9");
    char path[600];
    snprintf(path, sizeof path, "%s/c.cfg", dir);
    mli_config d;
    /* a comment of 4095 bytes, then what the old fixed buffer read as a line of its own */
    size_t n = 4095 + 20;
    char *text = malloc(n + 32);
    text[0] = '#';
    memset(text + 1, 'x', 4094);
    strcpy(text + 4095, "seed=5\nepochs=3\n");
    tu_write_file(path, text, strlen(text));
    mli_config_default(&d);
    assert_int_equal(mli_config_load_file(&d, path), 0);
    assert_int_equal(d.seed, 0);
    assert_int_equal(d.epochs, 3);
    /* an error after a 10,000-byte line names the right line */
    free(text);
    text = malloc(12000);
    strcpy(text, "lr=0.5 # ");
    memset(text + 9, 'y', 10000);
    strcpy(text + 10009, "\nepochs=2\nfoo=1\n");
    tu_write_file(path, text, strlen(text));
    mli_config_default(&d);
    assert_int_equal(mli_config_load_file(&d, path), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "c.cfg:3:"));
    assert_non_null(strstr(mli_errmsg(), "foo"));
    free(text);
    /* a NUL byte */
    const char nul[] = "epochs=2\nseed=5\0seed=6\n";
    tu_write_file(path, nul, sizeof nul - 1);
    mli_config_default(&d);
    assert_int_equal(mli_config_load_file(&d, path), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "c.cfg:2:"));
    assert_non_null(strstr(mli_errmsg(), "NUL"));
    /* a directory */
    mli_config_default(&d);
    assert_int_equal(mli_config_load_file(&d, dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), dir));
    assert_non_null(strstr(mli_errmsg(), "directory"));
}

/* Issue 9: a key given twice is refused, naming both places; two sources may override. */
static void test_config_key_twice(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("config9b");
    char path[600];
    snprintf(path, sizeof path, "%s/twice.cfg", dir);
    const char *text = "seed=1\nepochs=2\n seed = 2\n";
    tu_write_file(path, text, strlen(text));
    mli_config c;
    mli_config_default(&c);
    assert_int_equal(mli_config_load_file(&c, path), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "'seed' given twice"));
    assert_non_null(strstr(mli_errmsg(), "twice.cfg:1"));
    assert_non_null(strstr(mli_errmsg(), "twice.cfg:3"));

    mli_config_seen *file = calloc(1, sizeof *file), *cli = calloc(1, sizeof *cli);
    mli_config_default(&c);
    assert_int_equal(mli_config_set_pair_once(&c, file, "lr=0.5", "f:1"), 0);
    assert_int_equal(mli_config_set_pair_once(&c, cli, "lr=0.25", "argument 2"), 0); /* overrides */
    assert_float_equal(c.lr, 0.25, 0);
    assert_int_equal(mli_config_set_pair_once(&c, cli, "lr=0.125", "argument 4"), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "argument 2 and argument 4"));
    assert_float_equal(c.lr, 0.25, 0);
    /* an unknown key keeps its own message */
    assert_int_equal(mli_config_set_pair_once(&c, cli, "nosuch=1", "argument 5"), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "unknown key 'nosuch'"));
    free(file);
    free(cli);
}

/* Issue 9: train accepts the α grids analyze accepts, no more. */
static void test_alpha_steps_range(void **state)
{
    (void)state;
    mli_config c;
    mli_config_default(&c);
    char buf[64];
    snprintf(buf, sizeof buf, "alpha_steps=%d", MLI_ALPHA_STEPS_MAX);
    assert_int_equal(mli_config_set_pair(&c, buf), 0);
    snprintf(buf, sizeof buf, "alpha_steps=%d", MLI_ALPHA_STEPS_MAX + 1);
    assert_int_equal(mli_config_set_pair(&c, buf), MLI_EUSAGE);
    assert_int_equal(mli_config_set_pair(&c, "alpha_steps=1"), MLI_EUSAGE);
}

static void test_alloc_for_names_the_keys(void **state)
{
    (void)state;
    void *p = mli_alloc_for(16, 4, "x (k=%d)", 1);
    assert_non_null(p);
    free(p);
    assert_null(mli_alloc_for((size_t)1 << 62, 4, "the parameters (hsizes=%s)", "9,9"));
    assert_non_null(strstr(mli_errmsg(), "cannot allocate"));
    assert_non_null(strstr(mli_errmsg(), "(hsizes=9,9)"));
    assert_null(mli_alloc_for(((size_t)1 << 50), ((size_t)1 << 20), "a minibatch (batchsize=%d)", 7));
    assert_non_null(strstr(mli_errmsg(), "batchsize=7"));
}

static void test_rundir_names(void **state)
{
    (void)state;
    assert_true(mli_rundir_known("config.json"));
    assert_true(mli_rundir_known("geometry_quantiles.tsv"));
    assert_false(mli_rundir_known("notes.txt"));
    assert_true(mli_rundir_known("init.onnx") && mli_rundir_known("final.onnx")); /* mli export */
    assert_true(mli_rundir_is_tmp("final.onnx.tmp.Ab12Cd", mli_rundir_known));
    assert_false(mli_rundir_known("model.onnx"));
    assert_true(mli_rundir_known_traj("epoch_12.safetensors"));
    assert_false(mli_rundir_known_traj("epoch_.safetensors"));
    assert_false(mli_rundir_known_traj("epoch_1x.safetensors"));
    assert_true(mli_rundir_known_report("index.html"));
    assert_true(mli_rundir_known_report("loss_alpha.png"));
    assert_true(mli_rundir_known_report("certificates_c12.tsv"));
    assert_true(mli_rundir_known_report("plane.tmp-1234.svg"));
    assert_false(mli_rundir_known_report("loss_alpha.pdf"));
    assert_false(mli_rundir_known_report("mine.png"));
    assert_true(mli_rundir_is_tmp("checkpoint.safetensors.tmp.Ab12Cd", mli_rundir_known));
    assert_true(mli_rundir_is_tmp("epoch_3.safetensors.tmp.zzzzzz", mli_rundir_known_traj));
    assert_false(mli_rundir_is_tmp("checkpoint.safetensors.tmp.Ab12C", mli_rundir_known));
    assert_false(mli_rundir_is_tmp("checkpoint.safetensors.tmp.Ab12Cd7", mli_rundir_known));
    assert_false(mli_rundir_is_tmp("checkpoint.safetensors.tmp.Ab-2Cd", mli_rundir_known));
    assert_false(mli_rundir_is_tmp("mydata.tsv.tmp.Ab12Cd", mli_rundir_known));
    assert_false(mli_rundir_is_tmp("notes.tmp.txt", mli_rundir_known));
    /* an analysis killed while staging its tables leaves the staged name's temporary */
    assert_true(mli_rundir_known(".interp.tsv.staged"));
    assert_true(mli_rundir_is_tmp(".exact_loss.tsv.staged.tmp.81RfuB", mli_rundir_known));
    assert_false(mli_rundir_known(".interp.tsv.stage"));
    assert_false(mli_rundir_known(".notes.tsv.staged"));
}

static int exists(const char *dir, const char *name)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_rundir_clean_and_stale(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("rundir");
    char p[800];
    snprintf(p, sizeof p, "%s/traj", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/report", dir);
    mkdir(p, 0755);
    const char *mli[] = {"config.json", "final.safetensors", "interp.tsv", "logits.tsv",
                         "train.tsv.tmp.aaaaaa", "traj/epoch_1.safetensors", "report/index.html",
                         "report/gauss_hist.svg", "report/geometry_alpha_q.tsv"};
    const char *user[] = {"notes.txt", "report/mine.png", "traj/keep.safetensors", "x.tmp.aaaaaa"};
    for (int i = 0; i < 9; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, mli[i]);
        tu_write_file(p, "1", 1);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, user[i]);
        tu_write_file(p, "1", 1);
    }
    /* stale temporary files only */
    assert_int_equal(mli_rundir_remove_stale_tmp(dir), 0);
    assert_false(exists(dir, "train.tsv.tmp.aaaaaa"));
    assert_true(exists(dir, "config.json"));
    assert_true(exists(dir, "x.tmp.aaaaaa"));
    /* everything mli wrote */
    assert_int_equal(mli_rundir_clean(dir), 0);
    for (int i = 0; i < 9; i++)
        assert_false(exists(dir, mli[i]));
    for (int i = 0; i < 4; i++)
        assert_true(exists(dir, user[i]));
    /* emptied subdirectories go */
    snprintf(p, sizeof p, "%s/report/mine.png", dir);
    unlink(p);
    assert_int_equal(mli_rundir_clean(dir), 0);
    assert_false(exists(dir, "report"));
    assert_true(exists(dir, "traj"));
}

static void test_dir_lock(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("lock")); /* tu_tmpdir's buffer is reused below */
    unsetenv(MLI_LOCK_ENV);
    int a, b;
    assert_int_equal(mli_dir_lock(dir, &a), 0);
    /* a second holder (a separate open of the directory) is refused, naming the directory */
    assert_int_equal(mli_dir_lock(dir, &b), MLI_EFAIL);
    assert_non_null(strstr(mli_errmsg(), dir));
    assert_non_null(strstr(mli_errmsg(), "another mli process"));
    /* the holder's own descriptor, handed down, is taken over */
    char v[32];
    int d = dup(a);
    snprintf(v, sizeof v, "%d", d);
    setenv(MLI_LOCK_ENV, v, 1);
    assert_int_equal(mli_dir_lock(dir, &b), 0);
    assert_int_equal(b, d);
    /* a descriptor of another directory is not a lock of this one */
    const char *other = tu_tmpdir("lock2");
    int o = open(other, O_RDONLY | O_DIRECTORY);
    snprintf(v, sizeof v, "%d", o);
    setenv(MLI_LOCK_ENV, v, 1);
    assert_int_equal(mli_dir_lock(dir, &b), MLI_EFAIL);
    close(o);
    unsetenv(MLI_LOCK_ENV);
    mli_dir_unlock(d);
    mli_dir_unlock(a);
    assert_int_equal(mli_dir_lock(dir, &b), 0); /* released */
    mli_dir_unlock(b);
    char **env = mli_dir_lock_env();
    int found = 0;
    for (int i = 0; env[i]; i++)
        found += !strncmp(env[i], MLI_LOCK_ENV "=", strlen(MLI_LOCK_ENV) + 1);
    assert_int_equal(found, 1);
    mli_dir_lock_env_free(env);
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
        cmocka_unit_test(test_config_file_long_lines_nul_dir),
        cmocka_unit_test(test_config_key_twice),
        cmocka_unit_test(test_alpha_steps_range),
        cmocka_unit_test(test_alloc_for_names_the_keys),
        cmocka_unit_test(test_rundir_names),
        cmocka_unit_test(test_rundir_clean_and_stale),
        cmocka_unit_test(test_dir_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
