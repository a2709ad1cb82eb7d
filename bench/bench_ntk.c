/* Benchmarks of the control experiments on a run of 784-1024-1024-10 (bench/run.sh trains one):
 *   ntk:   the empirical NTK of the first 1,000 test examples at θ₀ and θ₁ (two 10,000 × 10,000
 *          kernels, top-10 eigenvalues of each, kernel distance, Jacobian change);
 *   plane: a 25 × 25 grid of the plane through θ₀, θ₁ and an unrelated initialization,
 *          evaluated on the 10,000 test examples.
 * Usage: bench_ntk RUN_DIR [ntk|plane ...] (default both). Prints "key value" lines: seconds
 * and GFLOP/s on the GEMM FLOPs performed (compare with bench_sgemm's rate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "geometry/ntk.h"
#include "geometry/plane.h"
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/model.h"
#include "train/init.h"

#include "bench_run.h"

/* GEMM FLOPs of an N × N grid on n examples: per row, the first layer's two products once, then
 * the other layers at every node (as mli_path_eval does). */
static double plane_flops(const mli_arch *a, double n, int N)
{
    double first = 2.0 * 2 * n * a->layers[0].in * a->layers[0].out, rest = 0;
    for (int l = 1; l < a->nlayers; l++)
        if (a->layers[l].kind == MLI_LAYER_LINEAR)
            rest += 2.0 * n * a->layers[l].in * a->layers[l].out;
    return N * (first + N * rest);
}

int main(int argc, char **argv)
{
    mli_blas_tune(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_ntk RUN_DIR [ntk|plane ...]\n");
        return 2;
    }
    bench_run r;
    if (bench_run_load("bench_ntk", argv[1], 0, &r))
        return 1;
    if (bench_want(argc, argv, "ntk")) {
        mli_ntk_result k;
        if (mli_ntk_compute(&r.a, r.t0, NULL, r.t1, NULL, &r.ds.test, 1000, 10, &k)) {
            fprintf(stderr, "bench_ntk: %s\n", mli_errmsg());
            return 1;
        }
        printf("ntk_seconds %.2f\nntk_gflops %.1f\nntk_kernel_distance %.4f\n", k.seconds, k.flops / k.seconds / 1e9,
               k.kernel_distance);
    }
    if (bench_want(argc, argv, "plane")) {
        enum { N = 25 };
        mli_real *tr = malloc(sizeof(mli_real) * r.a.nparams);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, 1000);
        mli_init_params(&r.a, MLI_INIT_DEFAULT, rng, tr, NULL);
        gsl_rng_free(rng);
        mli_plane pl;
        if (mli_plane_through(&pl, r.t0, r.t1, tr, r.a.nparams)) {
            fprintf(stderr, "bench_ntk: %s\n", mli_errmsg());
            return 1;
        }
        double xs[N], ys[N], loss[N * N], ext[4], px[3] = {0, 1, 0}, py[3] = {0, 0, 0};
        mli_plane_project(&pl, tr, &px[2], &py[2], NULL);
        mli_plane_default_extent(px, py, 3, N, ext);
        mli_plane_nodes(ext[0], ext[1], N, xs);
        mli_plane_nodes(ext[2], ext[3], N, ys);
        double t = mli_now();
        mli_plane_grid(&pl, &r.a, &r.ds.test, &r.ds.train, 512, MLI_BN_EMA, xs, ys, N, r.a.width_max > 2048 ? 512 : 2048, /* as mli analyze */
                       NULL, loss, NULL);
        t = mli_now() - t;
        printf("plane_seconds %.2f\nplane_gflops %.1f\n", t, plane_flops(&r.a, r.ds.test.n, N) / t / 1e9);
        mli_plane_free(&pl);
        free(tr);
    }
    bench_run_free(&r);
    return 0;
}
