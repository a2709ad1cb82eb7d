#include "geometry/logits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "io/err.h"
#include "nn/net.h"

void mli_logits_path(const mli_arch *a, const mli_real *theta0, const mli_real *delta, const mli_real *bn,
                     const double *alpha, int n_alpha, const mli_data *d, int N, double *Z)
{
    int k = a->nout, B = N < 512 ? N : 512;
    mli_ws *ws = mli_ws_new(a, B);
    mli_real *theta = mli_malloc(sizeof(mli_real) * a->nparams);
    for (int j = 0; j < n_alpha; j++) {
        for (size_t i = 0; i < a->nparams; i++)
            theta[i] = theta0[i] + (mli_real)alpha[j] * delta[i]; /* as the path evaluation does */
        mli_real *bufs = bn ? (mli_real *)bn + (size_t)j * a->nbuffers : NULL;
        for (int i0 = 0; i0 < N; i0 += B) {
            int m = N - i0 < B ? N - i0 : B;
            const mli_real *out = mli_net_forward(a, theta, bufs, ws, d->x + (size_t)i0 * d->d, m, MLI_MODE_EVAL);
            for (int e = 0; e < m; e++)
                for (int c = 0; c < k; c++)
                    Z[((size_t)(i0 + e) * n_alpha + j) * k + c] = out[(size_t)e * k + c];
        }
    }
    free(theta);
    mli_ws_free(ws);
}

int mli_pca(const double *X, size_t n, int k, int ncomp, double *proj, double *ratio)
{
    double *mean = mli_calloc((size_t)k, sizeof(double)), *Xc = mli_malloc(sizeof(double) * n * k);
    double *C = mli_calloc((size_t)k * k, sizeof(double)), *w = mli_malloc(sizeof(double) * k);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            mean[c] += X[i * k + c] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            Xc[i * k + c] = X[i * k + c] - mean[c];
    /* C = Xcᵀ Xc (the 1/(n−1) does not change the eigenvectors or the ratios) */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, (int)n, 1, Xc, k, 0, C, k);
    int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', k, C, k, w); /* ascending; C ← eigenvectors */
    if (!info) {
        double total = 0;
        for (int c = 0; c < k; c++)
            total += w[c] > 0 ? w[c] : 0;
        for (int q = 0; q < ncomp; q++) {
            int col = k - 1 - q; /* the q-th largest */
            /* an eigenvector's sign is arbitrary: make its largest entry positive, so that the
             * figure does not flip between runs */
            int big = 0;
            for (int c = 1; q < k && c < k; c++)
                big = fabs(C[(size_t)c * k + col]) > fabs(C[(size_t)big * k + col]) ? c : big;
            if (q < k && C[(size_t)big * k + col] < 0)
                for (int c = 0; c < k; c++)
                    C[(size_t)c * k + col] = -C[(size_t)c * k + col];
            ratio[q] = q < k && total > 0 ? fmax(w[col], 0) / total : NAN;
            for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (int c = 0; q < k && c < k; c++)
                    s += Xc[i * k + c] * C[(size_t)c * k + col];
                proj[i * ncomp + q] = q < k ? s : 0;
            }
        }
    }
    free(mean);
    free(Xc);
    free(C);
    free(w);
    return info ? mli_err(MLI_EFAIL, "pca: LAPACKE_dsyevd failed (info %d) on a %d x %d covariance", info, k, k) : MLI_OK;
}
