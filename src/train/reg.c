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
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += (double)p[i] * p[i];
    norm = sqrt(norm);
    if (g && norm > 0)
        for (size_t i = 0; i < n; i++)
            g[i] += (mli_real)(scale * 2 * (norm - R) * p[i] / norm);
    return scale * (norm - R) * (norm - R);
}

static double norm2(const mli_real *p, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)p[i] * p[i];
    return sqrt(ss);
}

double mli_reg_apply(const mli_arch *a, mli_reg kind, double regscale, double outR, double outR_mult,
                     const mli_real *theta0, const mli_real *theta, mli_real *grad)
{
    if (kind == MLI_REG_NONE)
        return 0;
    double r = 0;
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *t = &a->tensors[i];
        if (t->is_buffer)
            continue;
        /* θ₀'s norms are recomputed at every step (a pass over θ₀, cheap beside the batch's
         * GEMMs) rather than cached, so that a resumed run needs nothing beyond θ₀ itself */
        double R = kind == MLI_REG_OUTR && outR_mult > 0 ? outR_mult * norm2(theta0 + t->off, t->numel) : outR;
        r += reg_tensor(kind, regscale, R, theta + t->off, grad ? grad + t->off : NULL, t->numel);
    }
    return r;
}
