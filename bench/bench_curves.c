/* Benchmarks of the analysis along the path (issue targets in bench/README.md):
 *   curves: loss and accuracy at 50 α on the 60,000 training and 10,000 test examples;
 *   gauss:  the output-space geometry (Taylor mode) of the 10,000 test examples at 50 α;
 *   derivs: dL/dα and d²L/dα² of the training loss (Taylor mode on the training set).
 * Usage: bench_curves RUN_DIR [curves|gauss|derivs ...] (a run of 784-1024-1024-10 with
 * init/final.safetensors; by default all three).
 *   bench_curves RUN_DIR cnn N B: a batch-norm network (the CNN section of bench/run.sh):
 *   at each of the 50 α the statistics by the ema pass over the first N training images in
 *   batches of B (mli analyze's default --bn-stats), then the loss curve over those N images.
 * Prints "key value" lines: seconds and GFLOP/s on the GEMM FLOPs performed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/curve.h"
#include "geometry/path.h"
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/model.h"
#include "train/train.h"

static double gemm_flops(const mli_arch *a, double n, int na, int taylor) {
    double first = 2.0 * 2 * n * a->layers[0].in * a->layers[0].out; /* X W₀ᵀ and X ΔWᵀ, once */
    double rest = 0;
    for (int l = 1; l < a->nlayers; l++)
        if (a->layers[l].kind == MLI_LAYER_LINEAR)
            rest += 2.0 * n * a->layers[l].in * a->layers[l].out;
    return first + na * rest * (taylor ? 5 : 1);
}

static int want(int argc, char **argv, const char *what) {
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], what))
            return 1;
    return 0;
}

/* the CNN curves: what mli analyze does for the training loss of a batch-norm network */
static int bench_cnn(const char *dir, int n, int B) {
    char p0[4096], p1[4096];
    snprintf(p0, sizeof p0, "%s/init.safetensors", dir);
    snprintf(p1, sizeof p1, "%s/final.safetensors", dir);
    mli_arch a, a1;
    mli_real *t0, *t1, *b0, *b1;
    mli_dataset ds;
    if (mli_model_load(p0, &a, &t0, &b0) || mli_model_load(p1, &a1, &t1, &b1) ||
        mli_dataset_load("fashionmnist", NULL, n, NULL, 0, &ds)) {
        fprintf(stderr, "bench_curves: %s\n", mli_errmsg());
        return 1;
    }
    mli_real *delta = malloc(sizeof(mli_real) * a.nparams);
    for (size_t i = 0; i < a.nparams; i++)
        delta[i] = t1[i] - t0[i];
    enum { NA = 50 };
    double alpha[NA], t = mli_now();
    mli_linspace01(alpha, NA);
    mli_real *bn = mli_path_bn_stats(&a, t0, delta, alpha, NA, &ds.train, B, MLI_BN_EMA, NULL);
    mli_path_ctx c = {&a, t0, delta, bn, NA, alpha, a.width_max > 2048 ? 512 : 2048, NULL, "bench"};
    mli_path_means m;
    mli_path_eval(&c, &ds.train, 0, 0, &m, NULL);
    printf("cnn_curves_seconds %.2f\ncnn_curves_examples %d\n", mli_now() - t, ds.train.n);
    mli_path_means_free(&m);
    free(bn);
    free(delta);
    free(t0);
    free(t1);
    free(b0);
    free(b1);
    mli_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv) {
    mli_blas_tune(argv);
    if (argc == 5 && !strcmp(argv[2], "cnn"))
        return bench_cnn(argv[1], atoi(argv[3]), atoi(argv[4]));
    if (argc < 2) {
        fprintf(stderr, "usage: bench_curves RUN_DIR\n");
        return 2;
    }
    char p0[4096], p1[4096];
    snprintf(p0, sizeof p0, "%s/init.safetensors", argv[1]);
    snprintf(p1, sizeof p1, "%s/final.safetensors", argv[1]);
    mli_arch a, a1;
    mli_real *t0, *t1, *b0, *b1;
    mli_dataset ds;
    if (mli_model_load(p0, &a, &t0, &b0) || mli_model_load(p1, &a1, &t1, &b1) ||
        mli_dataset_load("fashionmnist", NULL, 0, NULL, 0, &ds)) {
        fprintf(stderr, "bench_curves: %s\n", mli_errmsg());
        return 1;
    }
    mli_real *delta = malloc(sizeof(mli_real) * a.nparams);
    for (size_t i = 0; i < a.nparams; i++)
        delta[i] = t1[i] - t0[i];
    enum { NA = 50 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&a, t0, delta, NULL, NA, alpha, 1024, NULL, "bench"};
    mli_path_means m;
    mli_path_examples ex;

    int all = argc < 3;
    double t, f;
    if (all || want(argc, argv, "curves")) {
        t = mli_now();
        mli_path_eval(&c, &ds.train, 0, 0, &m, NULL);
        mli_path_means_free(&m);
        mli_path_eval(&c, &ds.test, 0, 0, &m, NULL);
        mli_path_means_free(&m);
        t = mli_now() - t;
        f = gemm_flops(&a, ds.train.n + ds.test.n, NA, 0);
        printf("curves_seconds %.2f\ncurves_gflops %.1f\n", t, f / t / 1e9);
    }

    if (all || want(argc, argv, "gauss")) {
        t = mli_now();
        mli_path_eval(&c, &ds.test, 0, ds.test.n, &m, &ex);
        t = mli_now() - t;
        mli_path_means_free(&m);
        mli_path_examples_free(&ex);
        f = gemm_flops(&a, ds.test.n, NA, 1);
        printf("gauss_seconds %.2f\ngauss_gflops %.1f\n", t, f / t / 1e9);
    }

    if (all || want(argc, argv, "derivs")) {
        t = mli_now();
        mli_path_eval(&c, &ds.train, 1, 0, &m, NULL);
        t = mli_now() - t;
        mli_path_means_free(&m);
        f = gemm_flops(&a, ds.train.n, NA, 1);
        printf("derivs_seconds %.2f\nderivs_gflops %.1f\n", t, f / t / 1e9);
    }
    free(delta);
    free(t0);
    free(t1);
    free(b0);
    free(b1);
    mli_dataset_free(&ds);
    return 0;
}
