/* Cost of one exact Hessian-vector product over the FashionMNIST training set against one
 * full-data-set gradient, for 784-1024-1024-10 relu ce (default init, seed 0), eval mode,
 * chunks of 1000 examples. Rates are GEMM flops per second (mli_hvp_gemm_flops,
 * mli_grad_gemm_flops), put next to the sgemm rate measured in the same run.
 * The machine may be shared: besides one full pass of each, the ratio is also measured with
 * the two interleaved chunk by chunk, so that a load that comes and goes hits both alike.
 * Output: lines "hvp: key value". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* the engine's headers first: io/real.h makes GSL use OpenBLAS's cblas declarations */
#include "io/blas.h"
#include "data/dataset.h"
#include "geometry/hessian.h"
#include "io/err.h"
#include "nn/hvp.h"
#include "nn/net.h"
#include "train/init.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define CHUNK 1000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void print_load(const char *when)
{
    double l1 = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l1) != 1)
            l1 = NAN;
        fclose(f);
    }
    printf("hvp: loadavg_%s %.2f\n", when, l1);
}

/* Best of 5 C[4096,1024] = A[4096,1024] B[1024,1024], GFLOP/s */
static double sgemm_rate(void)
{
    const int M = 4096, N = 1024, K = 1024;
    float *A = mli_malloc(sizeof(float) * (size_t)M * K), *B = mli_malloc(sizeof(float) * (size_t)K * N);
    float *C = mli_malloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = (float)((i % 13) * 0.01);
    for (size_t i = 0; i < (size_t)K * N; i++)
        B[i] = (float)((i % 7) * 0.01);
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
        best = fmin(best, now() - t0);
    }
    free(A);
    free(B);
    free(C);
    return 2.0 * M * N * K / best / 1e9;
}

/* One full-data-set gradient, eval mode, accumulated in double as the analyses do */
static double full_gradient(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w,
                            const mli_data *d, mli_real *g, double *acc)
{
    double t0 = now();
    for (size_t i = 0; i < a->nparams; i++)
        acc[i] = 0;
    for (int i0 = 0; i0 < d->n; i0 += w->bmax) {
        int n = d->n - i0 < w->bmax ? d->n - i0 : w->bmax;
        mli_batch b = mli_batch_rows(d, i0, n);
        mli_net_loss_grad(a, theta, bufs, w, &b, MLI_MODE_EVAL, g, NULL);
        for (size_t i = 0; i < a->nparams; i++)
            acc[i] += n * (double)g[i];
    }
    return now() - t0;
}

/* Gradient and HVP chunk after chunk, each timed on its own: *tg, *th the sums.
 * hw->u holds the direction (set by the caller); the HVPs accumulate in acc as
 * mli_hessian_vp does. */
static void interleaved(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w,
                        mli_hvp_ws *hw, const mli_data *d, mli_real *g, double *acc, double *tg,
                        double *th)
{
    *tg = *th = 0;
    for (int i0 = 0; i0 < d->n; i0 += w->bmax) {
        int n = d->n - i0 < w->bmax ? d->n - i0 : w->bmax;
        mli_batch b = mli_batch_rows(d, i0, n);
        double t0 = now();
        mli_net_loss_grad(a, theta, bufs, w, &b, MLI_MODE_EVAL, g, NULL);
        for (size_t i = 0; i < a->nparams; i++)
            acc[i] += n * (double)g[i];
        double t1 = now();
        mli_net_hvp(a, theta, bufs, hw, &b, hw->u, hw->hv);
        for (size_t i = 0; i < a->nparams; i++)
            acc[i] += n * (double)hw->hv[i];
        double t2 = now();
        *tg += t1 - t0;
        *th += t2 - t1;
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    mli_blas_tune(argv);
    mli_dataset ds;
    if (mli_dataset_load("fashionmnist", NULL, 0, NULL, 0, &ds) != MLI_OK) {
        fprintf(stderr, "bench_hvp: %s\n", mli_errmsg());
        return 1;
    }
    const mli_data *d = &ds.train;
    int h[] = {1024, 1024, 10};
    mli_arch a;
    if (mli_arch_init(&a, d->d, h, 3, MLI_ACT_RELU, 0, MLI_LOSS_CE) != MLI_OK) {
        fprintf(stderr, "bench_hvp: %s\n", mli_errmsg());
        return 1;
    }
    size_t P = a.nparams;
    mli_real *theta = mli_malloc(sizeof(mli_real) * P), *bufs = mli_malloc(sizeof(mli_real) * (a.nbuffers + 1));
    mli_real *g = mli_malloc(sizeof(mli_real) * P);
    double *acc = mli_malloc(sizeof(double) * P), *u = mli_malloc(sizeof(double) * P);
    double *hv = mli_malloc(sizeof(double) * P);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 0);
    mli_init_params(&a, MLI_INIT_DEFAULT, rng, theta, bufs);
    for (size_t i = 0; i < P; i++)
        u[i] = gsl_ran_ugaussian(rng);
    gsl_rng_free(rng);

    printf("hvp: examples %d\nhvp: params %zu\nhvp: chunk %d\n", d->n, P, CHUNK);
    print_load("start");
    double sgemm = sgemm_rate();
    printf("hvp: sgemm_gflops %.1f\n", sgemm);

    mli_ws *w = mli_ws_new(&a, CHUNK);
    mli_hvp_ws *hw = mli_hvp_ws_new(&a, CHUNK);
    {   /* warm-up: thread pool, first touch of the workspaces */
        mli_batch b = mli_batch_rows(d, 0, CHUNK);
        mli_net_loss_grad(&a, theta, bufs, w, &b, MLI_MODE_EVAL, g, NULL);
        for (size_t i = 0; i < P; i++)
            hw->u[i] = (mli_real)u[i];
        mli_net_hvp(&a, theta, bufs, hw, &b, hw->u, hw->hv);
    }
    double tg = full_gradient(&a, theta, bufs, w, d, g, acc), t0 = now();
    mli_hessian_vp(&a, theta, bufs, d, hw, u, hv);
    double th = now() - t0;
    double tgi, thi;
    interleaved(&a, theta, bufs, w, hw, d, g, acc, &tgi, &thi);
    double fg = mli_grad_gemm_flops(&a, d->n), fh = mli_hvp_gemm_flops(&a, d->n);
    double uhu = 0;
    for (size_t i = 0; i < P; i++)
        uhu += u[i] * hv[i];
    printf("hvp: grad_seconds %.3f\nhvp: grad_gflop %.1f\nhvp: grad_gflops %.1f\n", tg, fg / 1e9, fg / tg / 1e9);
    printf("hvp: hvp_seconds %.3f\nhvp: hvp_gflop %.1f\nhvp: hvp_gflops %.1f\n", th, fh / 1e9, fh / th / 1e9);
    printf("hvp: ratio_flops %.3f\nhvp: ratio_time %.3f\n", fh / fg, th / tg);
    printf("hvp: interleaved_grad_seconds %.3f\nhvp: interleaved_hvp_seconds %.3f\n", tgi, thi);
    printf("hvp: ratio_time_interleaved %.3f\n", thi / tgi);
    printf("hvp: grad_sgemm_fraction %.3f\nhvp: hvp_sgemm_fraction %.3f\n", fg / tg / 1e9 / sgemm,
           fh / th / 1e9 / sgemm);
    printf("hvp: uHu_over_uu %.6g\n", uhu / P); /* a sanity value: finite, curvature scale */
    print_load("end");

    mli_ws_free(w);
    mli_hvp_ws_free(hw);
    free(theta);
    free(bufs);
    free(g);
    free(acc);
    free(u);
    free(hv);
    mli_dataset_free(&ds);
    return 0;
}
