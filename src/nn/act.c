/* Elementwise activations and their first two derivatives. */
#include "nn/layers.h"

#include <math.h>

void mli_act_forward(mli_act act, mli_real *S, const mli_real *H, size_t n)
{
    switch (act) {
    case MLI_ACT_IDENTITY:
        if (S != H)
            for (size_t i = 0; i < n; i++)
                S[i] = H[i];
        break;
    case MLI_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            S[i] = H[i] > 0 ? H[i] : 0;
        break;
    case MLI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            S[i] = tanh(H[i]);
        break;
    case MLI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            S[i] = 1 / (1 + exp(-H[i]));
        break;
    }
}

void mli_act_backward(mli_act act, mli_real *dH, const mli_real *dS, const mli_real *H,
                      const mli_real *S, size_t n)
{
    switch (act) {
    case MLI_ACT_IDENTITY:
        if (dH != dS)
            for (size_t i = 0; i < n; i++)
                dH[i] = dS[i];
        break;
    case MLI_ACT_RELU: /* σ′(0) = 0, as PyTorch */
        for (size_t i = 0; i < n; i++)
            dH[i] = H[i] > 0 ? dS[i] : 0;
        break;
    case MLI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * (1 - S[i] * S[i]);
        break;
    case MLI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * S[i] * (1 - S[i]);
        break;
    }
}

double mli_act_d1(mli_act act, double h)
{
    switch (act) {
    case MLI_ACT_RELU:
        return h > 0 ? 1 : 0;
    case MLI_ACT_TANH: {
        double t = tanh(h);
        return 1 - t * t;
    }
    case MLI_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-h));
        return s * (1 - s);
    }
    default:
        return 1;
    }
}

double mli_act_d2(mli_act act, double h)
{
    switch (act) {
    case MLI_ACT_TANH: {
        double t = tanh(h);
        return -2 * t * (1 - t * t);
    }
    case MLI_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-h));
        return s * (1 - s) * (1 - 2 * s);
    }
    default: /* identity, and relu away from its kink */
        return 0;
    }
}
