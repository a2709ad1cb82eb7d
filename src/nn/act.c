/* Elementwise activations and their first two derivatives. */
#include "nn/layers.h"

#include <math.h>

/* The loops below are written so that GCC vectorises them (no branches, no aliasing within
 * one loop): these passes are memory-bound and run between multi-threaded GEMMs. */
void mli_act_forward(mli_act act, mli_real *S, const mli_real *H, size_t n)
{
    switch (act) {
    case MLI_ACT_IDENTITY:
        if (S != H)
            for (size_t i = 0; i < n; i++)
                S[i] = H[i];
        break;
    case MLI_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            mli_real h = H[i];
            S[i] = h > 0 ? h : 0;
        }
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
        for (size_t i = 0; i < n; i++) {
            mli_real m = H[i] > 0 ? 1 : 0;
            dH[i] = dS[i] * m;
        }
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

void mli_act_tangent(mli_act act, mli_real *S, const mli_real *H, size_t n)
{
    const mli_real *H0 = H, *H1 = H + n, *H2 = H + 2 * n;
    mli_real *S0 = S, *S1 = S + n, *S2 = S + 2 * n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) { /* σ″ = 0 */
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H0[i] > 0 ? 1 : 0;
            S0[i] = H0[i] * m;
            S1[i] = H1[i] * m;
            S2[i] = H2[i] * m;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double d1, d2, s;
        if (act == MLI_ACT_TANH) {
            s = tanh(H0[i]);
            d1 = 1 - s * s;
            d2 = -2 * s * d1;
        } else {
            s = 1 / (1 + exp(-H0[i]));
            d1 = s * (1 - s);
            d2 = d1 * (1 - 2 * s);
        }
        S0[i] = (mli_real)s;
        S1[i] = (mli_real)(d1 * H1[i]);
        S2[i] = (mli_real)(d2 * H1[i] * H1[i] + d1 * H2[i]);
    }
}

/* ---- R-op (Hessian-vector products) ---- */

int mli_act_rop_needs_grad(mli_act act) { return act == MLI_ACT_TANH || act == MLI_ACT_SIGMOID; }

/* σ′ from s = σ(h) for the smooth activations (as mli_act_d1) */
static inline mli_real d1_of_s(mli_act act, mli_real s)
{
    return act == MLI_ACT_TANH ? 1 - s * s : s * (1 - s);
}

/* σ″ from s and σ′ (as mli_act_d2): tanh −2sσ′, sigmoid σ′(1 − 2s) */
static inline mli_real d2_of_s(mli_act act, mli_real s, mli_real d1)
{
    return act == MLI_ACT_TANH ? -2 * s * d1 : d1 * (1 - 2 * s);
}

void mli_act_rop_forward(mli_act act, mli_real *SR, const mli_real *HR, size_t n)
{
    const mli_real *H = HR, *RH = HR + n;
    mli_real *S = SR, *RS = SR + n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) {
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0; /* σ′, with σ′(0) = 0 */
            S[i] = H[i] * m;
            RS[i] = RH[i] * m;
        }
        return;
    }
    mli_act_forward(act, S, H, n);
    for (size_t i = 0; i < n; i++)
        RS[i] = d1_of_s(act, S[i]) * RH[i];
}

void mli_act_rop_backward(mli_act act, mli_real *dHR, int want_dh, const mli_real *dSR,
                          const mli_real *HR, const mli_real *S, size_t n)
{
    const mli_real *H = HR, *RH = HR + n, *RdS = dSR, *dS = dSR + n;
    mli_real *RdH = dHR, *dH = dHR + n;
    if (act == MLI_ACT_IDENTITY || act == MLI_ACT_RELU) { /* σ″ = 0: dS only passes through */
        for (size_t i = 0; i < n; i++) {
            mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0;
            RdH[i] = RdS[i] * m;
        }
        if (want_dh)
            for (size_t i = 0; i < n; i++) {
                mli_real m = act == MLI_ACT_IDENTITY || H[i] > 0 ? 1 : 0;
                dH[i] = dS[i] * m;
            }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        mli_real d1 = d1_of_s(act, S[i]), d2 = d2_of_s(act, S[i], d1);
        RdH[i] = RdS[i] * d1 + dS[i] * d2 * RH[i];
    }
    if (want_dh)
        for (size_t i = 0; i < n; i++)
            dH[i] = dS[i] * d1_of_s(act, S[i]);
}
