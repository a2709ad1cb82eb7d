/* Benchmark of the exact piece sweep (src/geometry/pieces.c) against the 50-point grid
 * geometry of the same examples, measured in the same run.
 * Usage: bench_exact RUN_DIR [N_EXAMPLES] (a relu run without batch norm).
 * Prints "key value" lines. */
#include <stdio.h>
#include <stdlib.h>

#include "geometry/curve.h"
#include "geometry/path.h"
#include "geometry/pieces.h"
#include "geometry/pwlan.h"
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/model.h"

int main(int argc, char **argv)
{
    mli_blas_tune(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_exact RUN_DIR [N]\n");
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
    int n = argc > 2 ? atoi(argv[2]) : ds.test.n;
    if (n > ds.test.n)
        n = ds.test.n;
    mli_pwl pwl;
    if (mli_pwl_from_arch(&a, t0, t1, &pwl)) {
        fprintf(stderr, "bench_exact: %s\n", mli_errmsg());
        return 2;
    }
    enum { CH = 1024 };
    int w1 = pwl.width[1];
    double *P = malloc(sizeof(double) * CH * w1), *Q = malloc(sizeof(double) * CH * w1);
    mli_pwl_ws *w = mli_pwl_ws_new(&pwl);
    double t = mli_now();
    long pieces = 0, maxp = 0;
    for (int i0 = 0; i0 < n; i0 += CH) {
        int B = n - i0 < CH ? n - i0 : CH;
        mli_pwl_first_layer(&pwl, ds.test.x + (size_t)i0 * a.input_size, B, P, Q);
        for (int i = 0; i < B; i++) {
            const mli_pwl_path *pp = mli_pwl_sweep(&pwl, w, P + (size_t)i * w1, Q + (size_t)i * w1);
            pieces += pp->npieces;
            if (pp->npieces > maxp)
                maxp = pp->npieces;
        }
    }
    double te = mli_now() - t;
    printf("exact_examples %d\nexact_seconds %.2f\nexact_pieces_mean %.1f\nexact_pieces_max %ld\n",
           n, te, (double)pieces / n, maxp);

    /* the whole exact analysis of the same examples (per-example results, all threads) */
    mli_pwlan_opts po = {50, 0, 0, 0};
    mli_pwlan an;
    t = mli_now();
    mli_pwlan_run(&a, t0, t1, &ds.test, n, NULL, &po, &an);
    double ta = mli_now() - t;
    printf("exact_analysis_seconds %.2f\nexact_monotone %d\nexact_violating %d\nexact_missed_by_grid %d\n"
           "exact_turning_mean %.3f\nexact_pointwise_mean %.3f\nexact_counterexamples %d\nexact_c1p_false %d\n",
           ta, an.n_monotone, an.n_violating, an.n_missed_by_grid, an.turning_mean, an.smooth_mean,
           an.counterexamples, an.c1p_false);
    mli_pwlan_free(&an);
    if (argc > 3) /* exact only */
        return 0;
    /* the grid geometry (Taylor mode, 50 α) of the same examples */
    mli_real *delta = malloc(sizeof(mli_real) * a.nparams);
    for (size_t i = 0; i < a.nparams; i++)
        delta[i] = t1[i] - t0[i];
    enum { NA = 50 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&a, t0, delta, NULL, NA, alpha, 1024, NULL, "bench"};
    mli_path_means m;
    mli_path_examples ex;
    t = mli_now();
    mli_path_eval(&c, &ds.test, 0, n, &m, &ex);
    double tg = mli_now() - t;
    printf("grid_gauss_seconds %.2f\nexact_over_grid_gauss %.2f\n", tg, te / tg);
    mli_path_means_free(&m);
    mli_path_examples_free(&ex);
    mli_pwl_ws_free(w);
    mli_pwl_free(&pwl);
    free(P);
    free(Q);
    free(delta);
    free(t0);
    free(t1);
    free(b0);
    free(b1);
    mli_dataset_free(&ds);
    return 0;
}
