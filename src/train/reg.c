#include "train/reg.h"

#include <math.h>

static double reg_tensor(mli_reg kind, double scale, double R, const mli_real *p, mli_real *g, size_t n)
{
    if (kind == MLI_REG_L1) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += fabs(p[i]);
        if (g)
            for (size_t i = 0; i < n; i++) /* sign(0) = 0, as torch.abs' subgradient */
                g[i] += (mli_real)(scale * ((p[i] > 0) - (p[i] < 0)) / n);
        return scale * s / n;
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)p[i] * p[i];
    double norm = sqrt(ss);
    if (g && norm > 0)
        for (size_t i = 0; i < n; i++)
            g[i] += (mli_real)(scale * 2 * (norm - R) * p[i] / norm);
    return scale * (norm - R) * (norm - R);
}

double mli_reg_apply(const mli_arch *a, mli_reg kind, double regscale, double outR,
                     const mli_real *theta, mli_real *grad)
{
    if (kind == MLI_REG_NONE)
        return 0;
    double r = 0;
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *t = &a->tensors[i];
        if (!t->is_buffer)
            r += reg_tensor(kind, regscale, outR, theta + t->off, grad ? grad + t->off : NULL, t->numel);
    }
    return r;
}
