/* The machine's sgemm rate: best of 5 cblas_sgemm calls, 4096×1024×1024 (as the issues ask).
 * Prints "sgemm_gflops VALUE", the OpenBLAS kernel in use and the OPENBLAS_CORETYPE in force. */
#include <stdio.h>
#include <stdlib.h>

#include "io/real.h"
#include "io/blas.h"
#include "io/text.h"

char *openblas_get_corename(void);

int main(int argc, char **argv)
{
    (void)argc;
    mli_blas_tune(argv);
    const int M = 4096, N = 1024, K = 1024;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++)
        A[i] = (float)(i % 7) * 1e-3f;
    for (long i = 0; i < (long)K * N; i++)
        B[i] = (float)(i % 5) * 1e-3f;
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t = mli_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, A, K, B, K, 0, C, N);
        t = mli_now() - t;
        if (r > 0 && t < best) /* the first call warms up the threads */
            best = t;
    }
    /* the kernel in force and how it was chosen: OPENBLAS_CORETYPE (the user's, or the one
     * mli_blas_tune set before re-executing), or OpenBLAS's own detection */
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("sgemm_kernel %s\n", openblas_get_corename());
    printf("openblas_coretype %s\n", ct ? ct : "(not set: OpenBLAS's own detection)");
    printf("sgemm_gflops %.1f\n", 2.0 * M * N * K / best / 1e9);
    free(A);
    free(B);
    free(C);
    return 0;
}
