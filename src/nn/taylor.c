#include "nn/taylor.h"

#include <stdlib.h>

#include "io/err.h"
#include "nn/layers.h"

mli_tws *mli_tws_new(const mli_arch *a, int bmax)
{
    mli_tws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    for (int l = 0; l < a->nlayers; l++)
        w->out[l] = mli_malloc(sizeof(mli_real) * 3 * (size_t)bmax * (size_t)a->layers[l].out);
    w->p0 = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)a->layers[0].out);
    w->p1 = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)a->layers[0].out);
    return w;
}

void mli_tws_free(mli_tws *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLI_MAX_LAYERS; l++)
        free(w->out[l]);
    free(w->p0);
    free(w->p1);
    free(w);
}

void mli_taylor_first_layer(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const mli_real *X, int B, mli_real *P0, mli_real *P1)
{
    const mli_layer *L = &a->layers[0];
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1, X, L->in, theta0 + L->p,
             L->in, 0, P0, L->out);
    MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1, X, L->in, delta + L->p,
             L->in, 0, P1, L->out);
}

const mli_real *mli_net_tangent(const mli_arch *a, const mli_real *theta, const mli_real *delta,
                                const mli_real *bufs, mli_tws *w, const mli_real *X, int B,
                                const mli_real *P0, const mli_real *P1, double alpha)
{
    const mli_layer *L0 = &a->layers[0];
    if (!P0) {
        /* θ₀ = θ(α) − αΔ: the products at θ₀ follow from those at θ(α) */
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, L0->out, L0->in, 1, X, L0->in,
                 theta + L0->p, L0->in, 0, w->p0, L0->out);
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, L0->out, L0->in, 1, X, L0->in,
                 delta + L0->p, L0->in, 0, w->p1, L0->out);
        MLI_AXPY(B * L0->out, (mli_real)-alpha, w->p1, 1, w->p0, 1);
        P0 = w->p0;
        P1 = w->p1;
    }
    size_t wb = (size_t)L0->out * L0->in;
    mli_linear_tangent_const_input(w->out[0], P0, P1, theta + L0->p + wb, delta + L0->p + wb, alpha,
                                   B, L0->out);
    for (int l = 1; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        const mli_real *in = w->out[l - 1], *p = theta + L->p, *d = delta + L->p;
        mli_real *out = w->out[l];
        switch (L->kind) {
        case MLI_LAYER_LINEAR: {
            size_t nw = (size_t)L->out * L->in;
            mli_linear_tangent(out, in, p, p + nw, d, d + nw, B, L->in, L->out);
            break;
        }
        case MLI_LAYER_BN:
            mli_bn_tangent_eval(out, in, p, p + L->out, d, d + L->out, bufs + L->s,
                                bufs + L->s + L->out, B, L->out);
            break;
        case MLI_LAYER_ACT:
            mli_act_tangent(a->act, out, in, (size_t)B * L->out);
            break;
        }
    }
    return w->out[a->nlayers - 1];
}
