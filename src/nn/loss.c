/* Losses on the network outputs. Per-example sums are kept in double: a mean over 60,000
 * examples must not depend on float rounding order more than it has to. */
#include "nn/layers.h"

#include <math.h>

static int argmax(const mli_real *z, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* log Σ exp z_j, shifted by the maximum so that no exp overflows */
static double logsumexp(const mli_real *z, int k)
{
    double m = z[0];
    for (int j = 1; j < k; j++)
        m = fmax(m, z[j]);
    double s = 0;
    for (int j = 0; j < k; j++)
        s += exp(z[j] - m);
    return m + log(s);
}

static double ce_row(const mli_real *z, int k, int y, mli_real *dz, double scale)
{
    double lse = logsumexp(z, k);
    if (dz)
        for (int j = 0; j < k; j++)
            dz[j] = (mli_real)((exp(z[j] - lse) - (j == y)) * scale);
    return lse - z[y];
}

static double sq_row(const mli_real *z, int k, int y, const mli_real *t, mli_real *dz, double scale)
{
    double l = 0;
    for (int j = 0; j < k; j++) {
        double target = t ? t[j] : (j == y);
        double r = z[j] - target;
        l += r * r;
        if (dz)
            dz[j] = (mli_real)(2 * r * scale);
    }
    return l;
}

double mli_loss_eval(mli_loss loss, const mli_real *Z, int B, int k, const int *y,
                     const mli_real *T, mli_real *dZ, double *l, long *correct)
{
    double sum = 0, scale = 1.0 / B;
    for (int i = 0; i < B; i++) {
        const mli_real *z = Z + (size_t)i * k;
        mli_real *dz = dZ ? dZ + (size_t)i * k : NULL;
        const mli_real *t = T ? T + (size_t)i * k : NULL;
        double li = loss == MLI_LOSS_CE ? ce_row(z, k, y[i], dz, scale)
                                        : sq_row(z, k, y ? y[i] : 0, t, dz, scale);
        if (l)
            l[i] = li;
        sum += li;
        if (correct && y && loss != MLI_LOSS_RECON)
            *correct += argmax(z, k) == y[i];
    }
    return sum;
}

/* g = ∂ℓ/∂z and the quadratic form vᵀHv for one example; returns ℓ. */
static double tangent_row(mli_loss loss, const mli_real *z, const mli_real *v, const mli_real *a,
                          int k, int y, const mli_real *t, double *dl, double *gn, double *curv)
{
    double l = 0, g_v = 0, g_a = 0, vHv = 0;
    if (loss == MLI_LOSS_CE) {
        double lse = logsumexp(z, k), pv = 0;
        for (int j = 0; j < k; j++) {
            double p = exp(z[j] - lse), g = p - (j == y);
            g_v += g * v[j];
            g_a += g * a[j];
            vHv += p * v[j] * v[j];
            pv += p * v[j];
        }
        vHv -= pv * pv;
        l = lse - z[y];
    } else {
        for (int j = 0; j < k; j++) {
            double r = z[j] - (t ? t[j] : (j == y));
            l += r * r;
            g_v += 2 * r * v[j];
            g_a += 2 * r * a[j];
            vHv += 2 * (double)v[j] * v[j];
        }
    }
    *dl = g_v;
    *gn = vHv;
    *curv = g_a;
    return l;
}

double mli_loss_tangent(mli_loss loss, const mli_real *Z, int B, int k, const int *y,
                        const mli_real *T, double *l, double *dl, double *d2l_gn,
                        double *d2l_curv, long *correct)
{
    size_t blk = (size_t)B * k;
    double sum = 0;
    for (int i = 0; i < B; i++) {
        const mli_real *z = Z + (size_t)i * k;
        double li, d, gn, cv;
        li = tangent_row(loss, z, z + blk, z + 2 * blk, k, y ? y[i] : 0, T ? T + (size_t)i * k : NULL, &d,
                         &gn, &cv);
        if (l)
            l[i] = li;
        if (dl)
            dl[i] = d;
        if (d2l_gn)
            d2l_gn[i] = gn;
        if (d2l_curv)
            d2l_curv[i] = cv;
        sum += li;
        if (correct && y && loss != MLI_LOSS_RECON)
            *correct += argmax(z, k) == y[i];
    }
    return sum;
}

/* ---- R-op (Hessian-vector products) ---- */

/* R{dz} = (diag p − ppᵀ) R{z} · scale, p = softmax(z): p ⊙ (R{z} − p·R{z}) */
static void ce_rop_row(const mli_real *z, const mli_real *rz, int k, mli_real *rdz, double scale)
{
    double m = z[0];
    for (int j = 1; j < k; j++)
        m = fmax(m, z[j]);
    double s = 0, prz = 0;
    for (int j = 0; j < k; j++)
        s += exp(z[j] - m);
    double lse = m + log(s);
    for (int j = 0; j < k; j++)
        prz += exp(z[j] - lse) * rz[j];
    for (int j = 0; j < k; j++) {
        double p = exp(z[j] - lse);
        rdz[j] = (mli_real)(p * (rz[j] - prz) * scale);
    }
}

void mli_loss_rop(mli_loss loss, const mli_real *Z, const mli_real *RZ, int B, int k,
                  mli_real *RdZ)
{
    double scale = 1.0 / B;
    if (loss != MLI_LOSS_CE) { /* ∂²ℓ/∂z² = 2I */
        for (size_t i = 0; i < (size_t)B * k; i++)
            RdZ[i] = (mli_real)(2 * scale * RZ[i]);
        return;
    }
    for (int i = 0; i < B; i++)
        ce_rop_row(Z + (size_t)i * k, RZ + (size_t)i * k, k, RdZ + (size_t)i * k, scale);
}
