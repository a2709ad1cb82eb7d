/* Benchmark of the exact analysis (`--exact`, src/geometry/pwlan.c) against the grid analysis
 * of the same examples, both measured in this run:
 *   examples: the exact per-example analysis of the 10,000 test examples, against today's
 *             50-point grid geometry (Taylor mode) of the same examples;
 *   dataset:  the exact data-set curve and Δ over the 60,000 training examples, against the
 *             50-point loss curve of the training set.
 * Usage: bench_exact RUN_DIR [examples|dataset ...] (a relu run without batch norm; dataset
 * needs mse). Prints "key value" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geometry/curve.h"
#include "geometry/path.h"
#include "geometry/pwlan.h"
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/model.h"

/* CPU seconds of the process, all threads: on a shared machine the wall times of two passes
 * measured in the same run are noisy, their CPU times far less. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int want(int argc, char **argv, const char *what)
{
    if (argc < 3)
        return 1;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], what))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    mli_blas_tune(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_exact RUN_DIR [examples|dataset ...]\n");
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
        fprintf(stderr, "bench_exact: %s\n", mli_errmsg());
        return 1;
    }
    mli_real *delta = malloc(sizeof(mli_real) * a.nparams);
    for (size_t i = 0; i < a.nparams; i++)
        delta[i] = t1[i] - t0[i];
    enum { NA = 50 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&a, t0, delta, NULL, NA, alpha, a.width_max > 2048 ? 512 : 2048, NULL, "bench"};
    mli_path_means m;
    mli_path_examples ex;
    mli_pwlan an;
    double t;
    printf("exact_network %d", a.input_size);
    for (int i = 0; i < a.nh; i++)
        printf("-%d", a.hsizes[i]);
    printf(" %s\n", mli_loss_name(a.loss));

    /* MLI_BENCH_EXAMPLES=N: the first N test examples only (profiling) */
    const char *ne = getenv("MLI_BENCH_EXAMPLES");
    int nex = ne && atoi(ne) > 0 && atoi(ne) < ds.test.n ? atoi(ne) : ds.test.n;
    if (want(argc, argv, "examples")) {
        mli_pwlan_opts po = {NA, 0, 0, 0};
        t = mli_now();
        if (mli_pwlan_run(&a, t0, t1, &ds.test, nex, NULL, &po, &an)) {
            fprintf(stderr, "bench_exact: %s\n", mli_errmsg());
            return 2;
        }
        double te = mli_now() - t;
        printf("exact_examples_seconds %.2f\nexact_examples_pieces_mean %.1f\n", te, an.pieces_mean);
        mli_pwlan_free(&an);
        if (getenv("MLI_BENCH_NO_GRID")) /* profiling the exact analysis alone */
            return 0;
        t = mli_now();
        mli_path_eval(&c, &ds.test, 0, nex, &m, &ex);
        double tg = mli_now() - t;
        mli_path_means_free(&m);
        mli_path_examples_free(&ex);
        printf("grid_gauss_seconds %.2f\nexact_examples_over_grid_gauss %.2f\n", tg, te / tg);
    }
    const char *nt = getenv("MLI_BENCH_TRAIN"); /* the first N training examples (profiling) */
    if (nt && atoi(nt) > 0 && atoi(nt) < ds.train.n)
        ds.train.n = atoi(nt);
    if (want(argc, argv, "dataset") && a.loss != MLI_LOSS_CE) {
        mli_pwlan_opts po = {NA, 1, 0, 0};
        double c0 = cpu_now();
        t = mli_now();
        mli_pwlan_run(&a, t0, t1, &ds.test, 0, &ds.train, &po, &an);
        double te = mli_now() - t, ce = cpu_now() - c0;
        printf("exact_dataset_seconds %.2f\nexact_dataset_cpu_seconds %.2f\nexact_dataset_pieces %ld\n"
               "exact_dataset_delta %.6g\nexact_dataset_delta_grid %.6g\n",
               te, ce, an.curve_pieces, an.delta, an.grid_delta);
        mli_pwlan_free(&an);
        if (getenv("MLI_BENCH_NO_GRID"))
            return 0;
        c0 = cpu_now();
        t = mli_now();
        mli_path_eval(&c, &ds.train, 0, 0, &m, NULL);
        double tg = mli_now() - t, cg = cpu_now() - c0;
        mli_path_means_free(&m);
        printf("grid_curve_seconds %.2f\ngrid_curve_cpu_seconds %.2f\nexact_dataset_over_grid_curve %.2f\n"
               "exact_dataset_over_grid_curve_cpu %.2f\n",
               tg, cg, te / tg, ce / cg);
    }
    free(delta);
    free(t0);
    free(t1);
    free(b0);
    free(b1);
    mli_dataset_free(&ds);
    return 0;
}
