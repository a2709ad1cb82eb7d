/* Benchmark of the exact analysis (`--exact`, src/geometry/pwlan.c) against the grid analysis
 * of the same examples, both measured in this run:
 *   examples: the exact per-example analysis of the 10,000 test examples, against today's
 *             50-point grid geometry (Taylor mode) of the same examples;
 *   dataset:  the exact data-set curve and Δ over the 60,000 training examples, against the
 *             50-point loss curve of the training set;
 *   fine:     the losses of the test examples on the 1,000-point verification grid of the
 *             certificates (squared error), from the engine (mli_path_losses) and from the
 *             pieces (a sweep per example, then a polynomial evaluation per α), on one thread
 *             each, with the largest difference between the two.
 * Usage: bench_exact RUN_DIR [examples|dataset|fine ...] (a relu run without batch norm;
 * dataset and fine need mse). Prints "key value" lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geometry/curve.h"
#include "geometry/path.h"
#include "geometry/pieces.h"
#include "geometry/ppoly.h"
#include "geometry/pwlan.h"
#include "geometry/pwlgeo.h"
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/model.h"

#include "bench_run.h"

/* CPU seconds of the process, all threads: on a shared machine the wall times of two passes
 * measured in the same run are noisy, their CPU times far less. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The 1,000-point verification grid of n test examples both ways (mse): the engine's GEMMs
 * per α, and the exact pieces evaluated per α. CPU seconds of each, and the largest difference
 * relative to the loss. */
static void fine_grid(const mli_arch *a, const mli_real *t0, const mli_real *t1, const mli_path_ctx *c,
                      const mli_data *d, int n)
{
    enum { NF = 1000 };
    double *af = malloc(sizeof(double) * NF), *gemm = malloc(sizeof(double) * (size_t)NF * n);
    mli_linspace01(af, NF);
    mli_path_ctx cf = *c;
    cf.alpha = af;
    cf.n_alpha = NF;
    cf.label = "fine";
    double c0 = cpu_now();
    mli_path_losses(&cf, d, n, gemm);
    double cg = cpu_now() - c0;

    c0 = cpu_now();
    mli_pwl net;
    mli_pwl_from_arch(a, t0, t1, &net);
    mli_pwl_ws *w = mli_pwl_ws_new(&net);
    int w1 = net.width[1], k = net.width[net.nlin], D2 = 2 * net.nlin;
    double *P = malloc(sizeof(double) * w1), *Q = malloc(sizeof(double) * w1), tg[64], worst = 0;
    double *lc = NULL;
    size_t cap = 0;
    for (int e = 0; e < n; e++) {
        mli_pwl_first_layer(&net, d->x + (size_t)e * d->d, 1, P, Q);
        const mli_pwl_path *pp = mli_pwl_sweep(&net, w, P, Q, NULL, 0);
        if ((size_t)pp->npieces * (D2 + 1) > cap) {
            cap = 2 * (size_t)pp->npieces * (D2 + 1);
            lc = realloc(lc, sizeof(double) * cap);
        }
        for (int o = 0; o < k && d->t; o++)
            tg[o] = d->t[(size_t)e * k + o];
        mli_pwlgeo_loss_pieces(pp, d->y[e], d->t ? tg : NULL, lc);
        mli_ppoly p = {pp->npieces, D2, pp->brk, lc};
        for (int g = 0; g < NF; g++) {
            double l = mli_ppoly_eval(&p, af[g]), r = gemm[(size_t)e * NF + g];
            worst = fmax(worst, fabs(l - r) / fmax(1, fabs(l)));
        }
    }
    double ce = cpu_now() - c0;
    printf("fine_examples %d\nfine_gemm_cpu_seconds %.2f\nfine_pieces_cpu_seconds %.2f\n"
           "fine_pieces_over_gemm_cpu %.2f\nfine_max_rel_difference %.3g\n",
           n, cg, ce, ce / cg, worst);
    free(lc);
    free(P);
    free(Q);
    mli_pwl_ws_free(w);
    mli_pwl_free(&net);
    free(af);
    free(gemm);
}

int main(int argc, char **argv)
{
    mli_blas_tune(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_exact RUN_DIR [examples|dataset ...]\n");
        return 2;
    }
    bench_run r;
    if (bench_run_load("bench_exact", argv[1], 0, &r))
        return 1;
    enum { NA = 50 };
    double alpha[NA];
    mli_linspace01(alpha, NA);
    mli_path_ctx c = {&r.a, r.t0, r.delta, NULL, NA, alpha, r.a.width_max > 2048 ? 512 : 2048, NULL, "bench"};
    mli_path_means m;
    mli_path_examples ex;
    mli_pwlan an;
    double t;
    printf("exact_network %d", r.a.input_size);
    for (int i = 0; i < r.a.nh; i++)
        printf("-%d", r.a.hsizes[i]);
    printf(" %s\n", mli_loss_name(r.a.loss));

    /* MLI_BENCH_EXAMPLES=N: the first N test examples only (profiling) */
    const char *ne = getenv("MLI_BENCH_EXAMPLES");
    int nex = ne && atoi(ne) > 0 && atoi(ne) < r.ds.test.n ? atoi(ne) : r.ds.test.n;
    if (bench_want(argc, argv, "examples")) {
        mli_pwlan_opts po = {NA, 0, 0, 0, 0, NULL, NULL};
        double c0 = cpu_now();
        t = mli_now();
        if (mli_pwlan_run(&r.a, r.t0, r.t1, &r.ds.test, nex, NULL, &po, &an)) {
            fprintf(stderr, "bench_exact: %s\n", mli_errmsg());
            return 2;
        }
        double te = mli_now() - t, ce = cpu_now() - c0;
        printf("exact_examples_seconds %.2f\nexact_examples_cpu_seconds %.2f\nexact_examples_pieces_mean %.1f\n",
               te, ce, an.pieces_mean);
        mli_pwlan_free(&an);
        if (getenv("MLI_BENCH_NO_GRID")) /* profiling the exact analysis alone */
            return 0;
        c0 = cpu_now();
        t = mli_now();
        mli_path_eval(&c, &r.ds.test, 0, nex, &m, &ex);
        double tg = mli_now() - t, cg = cpu_now() - c0;
        mli_path_means_free(&m);
        mli_path_examples_free(&ex);
        printf("grid_gauss_seconds %.2f\ngrid_gauss_cpu_seconds %.2f\nexact_examples_over_grid_gauss %.2f\n"
               "exact_examples_over_grid_gauss_cpu %.2f\n",
               tg, cg, te / tg, ce / cg);
    }
    const char *nt = getenv("MLI_BENCH_TRAIN"); /* the first N training examples (profiling) */
    if (nt && atoi(nt) > 0 && atoi(nt) < r.ds.train.n)
        r.ds.train.n = atoi(nt);
    if (bench_want(argc, argv, "dataset") && r.a.loss != MLI_LOSS_CE) {
        mli_pwlan_opts po = {NA, 1, 0, 0, 0, NULL, NULL};
        double c0 = cpu_now();
        t = mli_now();
        mli_pwlan_run(&r.a, r.t0, r.t1, &r.ds.test, 0, &r.ds.train, &po, &an);
        double te = mli_now() - t, ce = cpu_now() - c0;
        printf("exact_dataset_seconds %.2f\nexact_dataset_cpu_seconds %.2f\nexact_dataset_pieces %ld\n"
               "exact_dataset_delta %.6g\nexact_dataset_delta_grid %.6g\n",
               te, ce, an.curve_pieces, an.delta, an.grid_delta);
        mli_pwlan_free(&an);
        if (getenv("MLI_BENCH_NO_GRID"))
            return 0;
        c0 = cpu_now();
        t = mli_now();
        mli_path_eval(&c, &r.ds.train, 0, 0, &m, NULL);
        double tg = mli_now() - t, cg = cpu_now() - c0;
        mli_path_means_free(&m);
        printf("grid_curve_seconds %.2f\ngrid_curve_cpu_seconds %.2f\nexact_dataset_over_grid_curve %.2f\n"
               "exact_dataset_over_grid_curve_cpu %.2f\n",
               tg, cg, te / tg, ce / cg);
    }
    if (bench_want(argc, argv, "fine") && argc > 2 && r.a.loss == MLI_LOSS_MSE)
        fine_grid(&r.a, r.t0, r.t1, &c, &r.ds.test, nex);
    bench_run_free(&r);
    return 0;
}
