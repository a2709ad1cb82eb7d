/* BatchNorm1d with PyTorch's semantics: eps 1e-5, momentum 0.1, biased variance for the
 * normalisation, unbiased variance for the running estimate. Statistics accumulate in
 * double so that a batch of 512 large activations does not lose the mean. */
#include "nn/layers.h"

#include <math.h>
#include <string.h>

void mli_bn_forward_train(mli_real *Y, mli_real *Xhat, mli_real *istd, const mli_real *X,
                          const mli_real *gamma, const mli_real *beta, mli_real *rmean,
                          mli_real *rvar, int B, int C, double *scratch)
{
    double *mean = scratch, *var = scratch + C;
    memset(scratch, 0, sizeof(double) * 2 * (size_t)C);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++)
            mean[c] += X[(size_t)i * C + c];
    for (int c = 0; c < C; c++)
        mean[c] /= B;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            double d = X[(size_t)i * C + c] - mean[c];
            var[c] += d * d;
        }
    for (int c = 0; c < C; c++) {
        double v = var[c] / B;
        istd[c] = (mli_real)(1 / sqrt(v + MLI_BN_EPS));
        if (rmean) {
            double unbiased = B > 1 ? var[c] / (B - 1) : v;
            rmean[c] = (mli_real)((1 - MLI_BN_MOMENTUM) * rmean[c] + MLI_BN_MOMENTUM * mean[c]);
            rvar[c] = (mli_real)((1 - MLI_BN_MOMENTUM) * rvar[c] + MLI_BN_MOMENTUM * unbiased);
        }
    }
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            Xhat[k] = (mli_real)((X[k] - mean[c]) * istd[c]);
            Y[k] = gamma[c] * Xhat[k] + beta[c];
        }
}

void mli_bn_forward_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *rmean, const mli_real *rvar,
                         int B, int C)
{
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            Y[k] = gamma[c] * (X[k] - rmean[c]) / sqrt(rvar[c] + MLI_BN_EPS) + beta[c];
        }
}

void mli_bn_backward_train(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                           const mli_real *Xhat, const mli_real *istd, const mli_real *gamma,
                           int B, int C, double *scratch)
{
    double *sdy = scratch, *sdyx = scratch + C;
    memset(scratch, 0, sizeof(double) * 2 * (size_t)C);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            sdy[c] += dY[k];
            sdyx[c] += (double)dY[k] * Xhat[k];
        }
    for (int c = 0; c < C; c++) {
        dgamma[c] = (mli_real)sdyx[c];
        dbeta[c] = (mli_real)sdy[c];
    }
    /* dx = γ istd / B · (B dy − Σdy − x̂ Σ(dy x̂)) */
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            dX[k] = (mli_real)(gamma[c] * istd[c] / B * (B * (double)dY[k] - sdy[c] - Xhat[k] * sdyx[c]));
        }
}

void mli_bn_backward_eval(mli_real *dX, mli_real *dgamma, mli_real *dbeta, const mli_real *dY,
                          const mli_real *X, const mli_real *gamma, const mli_real *rmean,
                          const mli_real *rvar, int B, int C)
{
    for (int c = 0; c < C; c++)
        dgamma[c] = dbeta[c] = 0;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            mli_real is = (mli_real)(1 / sqrt(rvar[c] + MLI_BN_EPS));
            dgamma[c] += dY[k] * (X[k] - rmean[c]) * is;
            dbeta[c] += dY[k];
            if (dX)
                dX[k] = dY[k] * gamma[c] * is;
        }
}

void mli_bn_tangent_eval(mli_real *Y, const mli_real *X, const mli_real *gamma,
                         const mli_real *beta, const mli_real *dgamma, const mli_real *dbeta,
                         const mli_real *rmean, const mli_real *rvar, int B, int C)
{
    size_t blk = (size_t)B * C;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            double s = 1 / sqrt(rvar[c] + MLI_BN_EPS), xc = X[k] - rmean[c];
            Y[k] = (mli_real)(gamma[c] * s * xc + beta[c]);
            Y[blk + k] = (mli_real)(dgamma[c] * s * xc + gamma[c] * s * X[blk + k] + dbeta[c]);
            Y[2 * blk + k] = (mli_real)(2 * dgamma[c] * s * X[blk + k] + gamma[c] * s * X[2 * blk + k]);
        }
}

/* ---- R-op (Hessian-vector products), eval mode ---- */

void mli_bn_rop_forward_eval(mli_real *YR, const mli_real *XR, const mli_real *gamma,
                             const mli_real *beta, const mli_real *ugamma, const mli_real *ubeta,
                             const mli_real *rmean, const mli_real *rvar, int B, int C)
{
    size_t blk = (size_t)B * C;
    /* the value half is the plain eval forward, so the loss matches mli_net_loss_grad's */
    mli_bn_forward_eval(YR, XR, gamma, beta, rmean, rvar, B, C);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            double s = 1 / sqrt(rvar[c] + MLI_BN_EPS);
            YR[blk + k] = (mli_real)(s * (ugamma[c] * (XR[k] - rmean[c]) + gamma[c] * XR[blk + k]) + ubeta[c]);
        }
}

void mli_bn_rop_backward_eval(mli_real *dXR, int want_dx, mli_real *Rdgamma, mli_real *Rdbeta,
                              const mli_real *G, const mli_real *XR, const mli_real *gamma,
                              const mli_real *ugamma, const mli_real *rmean,
                              const mli_real *rvar, int B, int C, double *scratch)
{
    size_t blk = (size_t)B * C;
    const mli_real *RdY = G, *dY = G + blk, *X = XR, *RX = XR + blk;
    double *s = scratch, *sg = scratch + C;
    /* 1/sqrt once per channel, and the per-channel sums in double */
    for (int c = 0; c < C; c++) {
        s[c] = 1 / sqrt(rvar[c] + MLI_BN_EPS);
        sg[c] = 0;
        Rdbeta[c] = 0;
    }
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            sg[c] += RdY[k] * (X[k] - rmean[c]) + (double)dY[k] * RX[k];
            Rdbeta[c] += RdY[k];
        }
    for (int c = 0; c < C; c++)
        Rdgamma[c] = (mli_real)(sg[c] * s[c]);
    if (!dXR)
        return;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            dXR[k] = (mli_real)((RdY[k] * gamma[c] + dY[k] * ugamma[c]) * s[c]);
            if (want_dx)
                dXR[blk + k] = (mli_real)(dY[k] * gamma[c] * s[c]);
        }
}
