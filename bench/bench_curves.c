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

#include "bench_run.h"

static double gemm_flops(const mli_arch *a, double n, int na, int taylor) {
    double first = 2.0 * 2 * n * a->layers[0].in * a->layers[0].out; /* X W₀ᵀ and X ΔWᵀ, once */
    double rest = 0;
    for (int l = 1; l < a->nlayers; l++)
        if (a->layers[l].kind == MLI_LAYER_LINEAR)
            rest += 2.0 * n * a->layers[l].in * a->layers[l].out;
    return first + na * rest * (taylor ? 5 : 1);
}

/* the CNN curves: what mli analyze does for the training loss of a batch-norm network */
static int bench_cnn(const char *dir, int n, int B) {
    bench_run r;
    if (bench_run_load("bench_curves", dir, n, &r))
        return 1;
    enum { NA = 50 };
    double alpha[NA], t = mli_now();
    mli_linspace01(alpha, NA);
    mli_real *bn = mli_path_bn_stats(&r.a, r.t0, r.delta, alpha, NA, &r.ds.train, B, MLI_BN_EMA, NULL);
    mli_path_ctx c = {&r.a, r.t0, r.delta, bn, NA, alpha, r.a.width_max > 2048 ? 512 : 2048, NULL, "bench"};
    mli_path_means m;
    mli_path_eval(&c, &r.ds.train, 0, 0, &m, NULL);
    printf("cnn_curves_seconds %.2f\ncnn_curves_examples %d\n", mli_now() - t, r.ds.train.n);
    mli_path_means_free(&m);
    free(bn);
    bench_run_free(&r);
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
    bench_run r;
    if (bench_run_load("bench_curves", argv[1], 0, &r))
        return 1;
    enum { NA = 50 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&r.a, r.t0, r.delta, NULL, NA, alpha, 1024, NULL, "bench"};
    mli_path_means m;
    mli_path_examples ex;

    double t, f;
    if (bench_want(argc, argv, "curves")) {
        t = mli_now();
        mli_path_eval(&c, &r.ds.train, 0, 0, &m, NULL);
        mli_path_means_free(&m);
        mli_path_eval(&c, &r.ds.test, 0, 0, &m, NULL);
        mli_path_means_free(&m);
        t = mli_now() - t;
        f = gemm_flops(&r.a, r.ds.train.n + r.ds.test.n, NA, 0);
        printf("curves_seconds %.2f\ncurves_gflops %.1f\n", t, f / t / 1e9);
    }

    if (bench_want(argc, argv, "gauss")) {
        t = mli_now();
        mli_path_eval(&c, &r.ds.test, 0, r.ds.test.n, &m, &ex);
        t = mli_now() - t;
        mli_path_means_free(&m);
        mli_path_examples_free(&ex);
        f = gemm_flops(&r.a, r.ds.test.n, NA, 1);
        printf("gauss_seconds %.2f\ngauss_gflops %.1f\n", t, f / t / 1e9);
    }

    if (bench_want(argc, argv, "derivs")) {
        t = mli_now();
        mli_path_eval(&c, &r.ds.train, 1, 0, &m, NULL);
        t = mli_now() - t;
        mli_path_means_free(&m);
        f = gemm_flops(&r.a, r.ds.train.n, NA, 1);
        printf("derivs_seconds %.2f\nderivs_gflops %.1f\n", t, f / t / 1e9);
    }
    bench_run_free(&r);
    return 0;
}
