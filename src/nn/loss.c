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

static double ce_row(const mli_real *z, int k, int y, mli_real *dz, double scale)
{
    double m = z[0];
    for (int j = 1; j < k; j++)
        m = fmax(m, z[j]);
    double s = 0;
    for (int j = 0; j < k; j++)
        s += exp(z[j] - m);
    double lse = m + log(s);
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
