/* Hessian-vector products over the layer list: R-forward, loss R-op, R-backward. */
#include "nn/hvp.h"

#include <stdlib.h>

#include "io/err.h"
#include "nn/layers.h"

mli_hvp_ws *mli_hvp_ws_new(const mli_arch *a, int bmax)
{
    mli_hvp_ws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    w->nparams = a->nparams;
    for (int l = 0; l < a->nlayers; l++)
        w->f[l] = mli_malloc(sizeof(mli_real) * 2 * (size_t)bmax * (size_t)a->layers[l].out);
    for (int i = 0; i < 2; i++)
        w->g[i] = mli_malloc(sizeof(mli_real) * 2 * (size_t)bmax * (size_t)a->width_max);
    w->loss = mli_malloc(sizeof(double) * (size_t)bmax);
    w->scratch = mli_malloc(sizeof(double) * 2 * (size_t)a->width_max);
    w->u = mli_malloc(sizeof(mli_real) * a->nparams);
    w->hv = mli_malloc(sizeof(mli_real) * a->nparams);
    return w;
}

void mli_hvp_ws_free(mli_hvp_ws *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLI_MAX_LAYERS; l++)
        free(w->f[l]);
    free(w->g[0]);
    free(w->g[1]);
    free(w->loss);
    free(w->scratch);
    free(w->u);
    free(w->hv);
    free(w);
}

/* need[l] = 1 if the gradient dY at the output of layer l must be computed: layer l reads
 * it, or must pass it on to a layer below that does. The first Linear layer has R{X} = 0
 * and no dX, so it reads only R{dY}; relu and identity have σ″ = 0. */
static void grad_needs(const mli_arch *a, int *need)
{
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        int own = L->kind == MLI_LAYER_LINEAR ? l > 0
                  : L->kind == MLI_LAYER_BN   ? 1
                                              : mli_act_rop_needs_grad(a->act);
        need[l] = own || (l > 0 && need[l - 1]);
    }
}

/* [Y; R{Y}] for every layer; returns the top block [Z; R{Z}]. */
static const mli_real *rop_forward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                                   mli_hvp_ws *w, const mli_real *X, int B, const mli_real *u)
{
    const mli_real *in = X;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        const mli_real *p = theta + L->p, *up = u + L->p;
        size_t nw = (size_t)L->out * L->in;
        switch (L->kind) {
        case MLI_LAYER_LINEAR:
            mli_linear_rop_forward(w->f[l], in, l > 0, p, p + nw, up, up + nw, B, L->in, L->out);
            break;
        case MLI_LAYER_BN:
            mli_bn_rop_forward_eval(w->f[l], in, p, p + L->out, up, up + L->out, bufs + L->s,
                                    bufs + L->s + L->out, B, L->out);
            break;
        case MLI_LAYER_ACT:
            mli_act_rop_forward(a->act, w->f[l], in, (size_t)B * L->out);
            break;
        }
        in = w->f[l];
    }
    return in;
}

/* From G = [R{dZ}; dZ] in w->g[0], R{∇θ} into hv. */
static void rop_backward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                         mli_hvp_ws *w, const mli_real *X, int B, const mli_real *u, mli_real *hv)
{
    int need[MLI_MAX_LAYERS];
    grad_needs(a, need);
    const mli_real *G = w->g[0];
    int next = 1;
    for (int l = a->nlayers - 1; l >= 0; l--) {
        const mli_layer *L = &a->layers[l];
        const mli_real *p = theta + L->p, *up = u + L->p, *in = l ? w->f[l - 1] : X;
        mli_real *dXR = l ? w->g[next] : NULL, *hp = hv + L->p;
        int want_dx = l > 0 && need[l - 1];
        size_t nw = (size_t)L->out * L->in;
        switch (L->kind) {
        case MLI_LAYER_LINEAR:
            mli_linear_rop_backward(dXR, want_dx, hp, hp + nw, G, in, l > 0, p, up, B, L->in, L->out);
            break;
        case MLI_LAYER_BN:
            mli_bn_rop_backward_eval(dXR, want_dx, hp, hp + L->out, G, in, p, up, bufs + L->s,
                                     bufs + L->s + L->out, B, L->out, w->scratch);
            break;
        case MLI_LAYER_ACT:
            mli_act_rop_backward(a->act, dXR, want_dx, G, in, w->f[l], (size_t)B * L->out);
            break;
        }
        G = dXR;
        next ^= 1;
    }
}

double mli_net_hvp(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                   mli_hvp_ws *w, const mli_batch *b, const mli_real *u, mli_real *hv)
{
    int B = b->n, k = a->nout;
    const mli_real *ZR = rop_forward(a, theta, bufs, w, b->x, B, u);
    const mli_real *T = a->loss == MLI_LOSS_RECON ? b->x : b->t;
    mli_real *G = w->g[0];
    /* G = [R{dZ}; dZ]: dZ is the gradient of the mean loss, R{dZ} its R-op */
    double sum = mli_loss_eval(a->loss, ZR, B, k, b->y, T, G + (size_t)B * k, w->loss, NULL);
    mli_loss_rop(a->loss, ZR, ZR + (size_t)B * k, B, k, G);
    rop_backward(a, theta, bufs, w, b->x, B, u, hv);
    return sum / B;
}

double mli_hvp_gemm_flops(const mli_arch *a, double n)
{
    int need[MLI_MAX_LAYERS];
    grad_needs(a, need);
    double fl = 0;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind != MLI_LAYER_LINEAR)
            continue;
        double F = 2 * n * L->in * L->out;
        fl += l == 0 ? 3 * F : 7 * F + (need[l - 1] ? F : 0);
    }
    return fl;
}

double mli_grad_gemm_flops(const mli_arch *a, double n)
{
    double fl = 0;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind == MLI_LAYER_LINEAR)
            fl += (l == 0 ? 2 : 3) * 2 * n * L->in * L->out;
    }
    return fl;
}
