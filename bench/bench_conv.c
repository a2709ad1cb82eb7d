/* Conv forward + backward (dW, db and dX: what training asks of every layer but the first)
 * on the 3×3 layer shapes of a ResNet-20 for CIFAR-10, batch 128, as GEMM flops per second
 * (mli_op.flops: 3 × 2·P·K·L per example) and as a fraction of the sgemm rate measured in the
 * same process (4096×1024×1024, best of 5). Best of 5 passes after one warm-up. Then the
 * forward and the input adjoint alone, in ms, by im2col and, for the stride-1 layers, by the
 * Winograd path with both tiles, F(2×2, 3×3) and F(4×4, 3×3) (mli_conv_set_winograd,
 * mli_conv_set_winograd_tile), in the same process; the stride-1 shapes of FashionMNIST's
 * ResNet-20 (28×28, 14×14, 7×7 maps) too.
 * Output: lines "conv: key value". Not a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the engine's headers first: io/real.h makes GSL use OpenBLAS's cblas declarations */
#include "io/blas.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/net.h"
#include "nn/op.h"

#include <gsl/gsl_rng.h>

#define BATCH 128

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
    for (int r = 0; r < 6; r++) {
        double t0 = mli_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
        if (r > 0) /* the first call warms up the threads */
            best = fmin(best, mli_now() - t0);
    }
    free(A);
    free(B);
    free(C);
    return 2.0 * M * N * K / best / 1e9;
}

typedef struct {
    const char *name;
    int C, H, K, stride;
} layer;

/* one forward and one backward of the single Conv of a, B examples, through its rules (what:
 * 0 both, 1 the forward alone, 2 the input adjoint alone) */
static void pass(const mli_arch *a, const mli_real *theta, mli_ws *w, const mli_real *X, mli_real *dX, mli_real *grad,
                 int what)
{
    const mli_node *n = &a->nodes[0];
    mli_opctx c = {.a = a, .B = BATCH, .mode = MLI_MODE_TRAIN, .theta = theta, .y = w->out[0], .work = w->work,
                   .dy = w->out[0], .grad = what ? NULL : grad};
    c.x[0] = X;
    c.dx[0] = dX;
    if (what != 2)
        n->op->forward(n, &c);
    if (what != 1)
        n->op->backward(n, &c); /* dY = Y: any values do */
}

/* the best of 5 passes after one warm-up, seconds */
static double best_pass(const mli_arch *a, const mli_real *theta, mli_ws *w, const mli_real *X, mli_real *dX,
                        mli_real *grad, int what)
{
    pass(a, theta, w, X, dX, grad, what);
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        double t0 = mli_now();
        pass(a, theta, w, X, dX, grad, what);
        best = fmin(best, mli_now() - t0);
    }
    return best;
}

int main(int argc, char **argv)
{
    (void)argc;
    mli_blas_tune(argv);
    mli_fp_flush_denormals();
    const layer layers[] = {
        {"16x32x32_k16", 16, 32, 16, 1}, {"16x32x32_k32_s2", 16, 32, 32, 2}, {"32x16x16_k32", 32, 16, 32, 1},
        {"32x16x16_k64_s2", 32, 16, 64, 2}, {"64x8x8_k64", 64, 8, 64, 1}, {"16x28x28_k16", 16, 28, 16, 1},
        {"32x14x14_k32", 32, 14, 32, 1},    {"64x7x7_k64", 64, 7, 64, 1},
    };
    double peak = sgemm_rate(), tot_fl = 0, tot_t = 0;
    printf("conv: sgemm_gflops %.1f\n", peak);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *L = &layers[l];
        mli_arch a;
        int shape[3] = {L->C, L->H, L->H}, X = MLI_GRAPH_INPUT;
        int at[13] = {L->K, 3, 3, L->stride, L->stride, 1, 1, 1, 1, 1, 1, 1, 0}; /* ResNet: no bias */
        mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
        if (mli_graph_add_attrs(&a, &mli_op_conv, &X, 1, at, 13, NULL, 0, "conv") < 0 || mli_graph_end(&a)) {
            fprintf(stderr, "bench_conv: %s\n", mli_errmsg());
            return 1;
        }
        mli_real *theta = mli_malloc(sizeof(mli_real) * a.nparams), *grad = mli_malloc(sizeof(mli_real) * a.nparams);
        size_t nx = (size_t)BATCH * a.input_size;
        mli_real *x = mli_malloc(sizeof(mli_real) * nx), *dx = mli_malloc(sizeof(mli_real) * nx);
        a.nodes[0].op->init(&a.nodes[0], MLI_INIT_DEFAULT, rng, theta, NULL);
        for (size_t i = 0; i < nx; i++)
            x[i] = (mli_real)(gsl_rng_uniform(rng) - 0.5);
        mli_ws *w = mli_ws_new(&a, BATCH);
        double best = best_pass(&a, theta, w, x, dx, grad, 0);
        /* the forward and the input adjoint alone, by im2col and by the Winograd path of either
         * tile where it applies (3×3 stride 1), in this process */
        for (int what = 1; what <= 2; what++)
            for (int m = 0; m <= (L->stride == 1 ? 4 : 0); m += 2) {
                int on = mli_conv_winograd(), tile = mli_conv_winograd_tile();
                mli_conv_set_winograd(m ? 2 : 0);
                mli_conv_set_winograd_tile(m);
                printf("conv: %s_%s_ms_%s%.0d %.2f\n", L->name, what == 1 ? "fwd" : "dx", m ? "winograd" : "im2col",
                       m, 1e3 * best_pass(&a, theta, w, x, dx, grad, what));
                mli_conv_set_winograd(on);
                mli_conv_set_winograd_tile(tile);
            }
        double fl = a.nodes[0].op->flops(&a.nodes[0], BATCH, 0, 1, 0), g = fl / best / 1e9;
        printf("conv: %s_fwd_bwd_ms %.2f\nconv: %s_gflops %.1f\nconv: %s_fraction_of_sgemm %.2f\n", L->name,
               1e3 * best, L->name, g, L->name, g / peak);
        tot_fl += fl;
        tot_t += best;
        mli_ws_free(w);
        free(theta);
        free(grad);
        free(x);
        free(dx);
    }
    printf("conv: all_layers_gflops %.1f\nconv: all_layers_fraction_of_sgemm %.2f\n", tot_fl / tot_t / 1e9,
           tot_fl / tot_t / 1e9 / peak);
    gsl_rng_free(rng);
    return 0;
}
