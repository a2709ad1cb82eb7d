/* Linear layer y = x Wᵀ + b. Both passes are one GEMM each (two for backward with dX). */
#include "nn/layers.h"

#include <string.h>

void mli_linear_forward(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        int B, int in, int out)
{
    /* Seed Y with the bias so the GEMM adds to it (beta = 1): one pass over Y, not two. */
    for (int i = 0; i < B; i++)
        memcpy(Y + (size_t)i * out, b, sizeof(mli_real) * (size_t)out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, X, in, W, in, 1, Y, out);
}

void mli_linear_backward(mli_real *dX, mli_real *dW, mli_real *db, const mli_real *dY,
                         const mli_real *X, const mli_real *W, int B, int in, int out, mli_real beta)
{
    if (dW) { /* NULL: the input gradient alone (per-example Jacobians, nn/jacobian.c) */
        MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1, dY, out, X, in, beta, dW, in);
        if (beta == 0)
            memset(db, 0, sizeof(mli_real) * (size_t)out);
        for (int i = 0; i < B; i++) {
            const mli_real *row = dY + (size_t)i * out;
            for (int j = 0; j < out; j++)
                db[j] += row[j];
        }
    }
    if (dX)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, dY, out, W, in, 0, dX, in);
}

void mli_linear_tangent(mli_real *Y, const mli_real *X, const mli_real *W, const mli_real *b,
                        const mli_real *dW, const mli_real *db, int B, int in, int out)
{
    size_t blk_in = (size_t)B * in, blk_out = (size_t)B * out;
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, 3 * B, out, in, 1, X, in, W, in, 0, Y, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, X, in, dW, in, 1, Y + blk_out, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 2, X + blk_in, in, dW, in, 1,
             Y + 2 * blk_out, out);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            Y[(size_t)i * out + j] += b[j];
            Y[blk_out + (size_t)i * out + j] += db[j];
        }
}

void mli_linear_tangent_const_input(mli_real *Y, const mli_real *P0, const mli_real *P1,
                                    const mli_real *b, const mli_real *db, double alpha, int B,
                                    int out)
{
    size_t blk = (size_t)B * out;
    const mli_real a = (mli_real)alpha;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            size_t k = (size_t)i * out + j;
            Y[k] = P0[k] + a * P1[k] + b[j];
            Y[blk + k] = P1[k] + db[j];
            Y[2 * blk + k] = 0;
        }
}

/* ---- R-op (Hessian-vector products) ---- */

/* Rows [0, B) of Y get b, rows [B, 2B) get ub: the GEMMs then add to them (beta = 1). */
static void seed_bias2(mli_real *YR, const mli_real *b, const mli_real *ub, int B, int out)
{
    size_t blk = (size_t)B * out;
    for (int i = 0; i < B; i++) {
        memcpy(YR + (size_t)i * out, b, sizeof(mli_real) * (size_t)out);
        memcpy(YR + blk + (size_t)i * out, ub, sizeof(mli_real) * (size_t)out);
    }
}

void mli_linear_rop_forward(mli_real *YR, const mli_real *XR, int has_rx, const mli_real *W,
                            const mli_real *b, const mli_real *UW, const mli_real *ub, int B,
                            int in, int out)
{
    mli_real *RY = YR + (size_t)B * out;
    seed_bias2(YR, b, ub, B, out);
    /* [Y; R{Y}] += [X; R{X}] Wᵀ as one GEMM with M = 2B, or Y += X Wᵀ alone for the first layer */
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, has_rx ? 2 * B : B, out, in, 1, XR, in, W,
             in, 1, YR, out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1, XR, in, UW, in, 1, RY, out);
}

void mli_linear_rop_backward(mli_real *dXR, int want_dx, mli_real *RdW, mli_real *Rdb,
                             const mli_real *G, const mli_real *XR, int has_rx,
                             const mli_real *W, const mli_real *UW, int B, int in, int out)
{
    const mli_real *dY = G + (size_t)B * out;
    /* R{dW} = [R{dY}; dY]ᵀ [X; R{X}]: K = 2B in one call; K = B when R{X} = 0 */
    MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, has_rx ? 2 * B : B, 1, G, out, XR,
             in, 0, RdW, in);
    memset(Rdb, 0, sizeof(mli_real) * (size_t)out);
    for (int i = 0; i < B; i++) {
        const mli_real *row = G + (size_t)i * out;
        for (int j = 0; j < out; j++)
            Rdb[j] += row[j];
    }
    if (!dXR)
        return;
    /* [R{dX}; dX] = [R{dY}; dY] W (M = 2B), or R{dX} = R{dY} W alone, then R{dX} += dY U_W */
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, want_dx ? 2 * B : B, in, out, 1, G, out,
             W, in, 0, dXR, in);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1, dY, out, UW, in, 1, dXR, in);
}
