#include "nn/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/layers.h"

mli_ws *mli_ws_new(const mli_arch *a, int bmax)
{
    mli_ws *w = mli_calloc(1, sizeof *w);
    w->bmax = bmax;
    size_t wide = (size_t)bmax * (size_t)a->width_max;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        w->out[l] = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)L->out);
        if (L->kind == MLI_LAYER_BN) {
            w->xhat[l] = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)L->out);
            w->istd[l] = mli_malloc(sizeof(mli_real) * (size_t)L->out);
        }
    }
    w->g[0] = mli_malloc(sizeof(mli_real) * wide);
    w->g[1] = mli_malloc(sizeof(mli_real) * wide);
    w->dz = mli_malloc(sizeof(mli_real) * (size_t)bmax * (size_t)a->nout);
    w->loss = mli_malloc(sizeof(double) * (size_t)bmax);
    w->scratch = mli_malloc(sizeof(double) * 2 * (size_t)a->width_max);
    return w;
}

void mli_ws_free(mli_ws *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLI_MAX_LAYERS; l++) {
        free(w->out[l]);
        free(w->xhat[l]);
        free(w->istd[l]);
    }
    free(w->g[0]);
    free(w->g[1]);
    free(w->dz);
    free(w->loss);
    free(w->scratch);
    free(w);
}

const mli_real *mli_net_forward(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                mli_ws *w, const mli_real *X, int B, mli_mode mode)
{
    return mli_net_forward_from(a, theta, bufs, w, 0, X, B, mode);
}

const mli_real *mli_net_forward_from(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                     mli_ws *w, int l0, const mli_real *in, int B, mli_mode mode)
{
    for (int l = l0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        const mli_real *p = theta + L->p;
        mli_real *out = w->out[l];
        switch (L->kind) {
        case MLI_LAYER_LINEAR:
            mli_linear_forward(out, in, p, p + (size_t)L->out * L->in, B, L->in, L->out);
            break;
        case MLI_LAYER_BN:
            if (mode == MLI_MODE_TRAIN)
                mli_bn_forward_train(out, w->xhat[l], w->istd[l], in, p, p + L->out,
                                     bufs ? bufs + L->s : NULL, bufs ? bufs + L->s + L->out : NULL,
                                     B, L->out, w->scratch);
            else
                mli_bn_forward_eval(out, in, p, p + L->out, bufs + L->s, bufs + L->s + L->out, B,
                                    L->out);
            break;
        case MLI_LAYER_ACT:
            mli_act_forward(a->act, out, in, (size_t)B * L->out);
            break;
        }
        in = out;
    }
    return in;
}

void mli_net_backward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                      mli_ws *w, const mli_real *X, int B, mli_mode mode, const mli_real *dZ,
                      mli_real *grad)
{
    const mli_real *dY = dZ;
    int next = 0;
    for (int l = a->nlayers - 1; l >= 0; l--) {
        const mli_layer *L = &a->layers[l];
        const mli_real *p = theta + L->p, *in = l ? w->out[l - 1] : X;
        mli_real *dX = l ? w->g[next] : NULL, *gp = grad + L->p;
        switch (L->kind) {
        case MLI_LAYER_LINEAR:
            mli_linear_backward(dX, gp, gp + (size_t)L->out * L->in, dY, in, p, B, L->in, L->out, 0);
            break;
        case MLI_LAYER_BN:
            if (mode == MLI_MODE_TRAIN)
                mli_bn_backward_train(dX, gp, gp + L->out, dY, w->xhat[l], w->istd[l], p, B,
                                      L->out, w->scratch);
            else
                mli_bn_backward_eval(dX, gp, gp + L->out, dY, in, p, bufs + L->s,
                                     bufs + L->s + L->out, B, L->out);
            break;
        case MLI_LAYER_ACT:
            mli_act_backward(a->act, dX, dY, in, w->out[l], (size_t)B * L->out);
            break;
        }
        dY = dX;
        next ^= 1;
    }
}

double mli_net_loss_grad(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w,
                         const mli_batch *b, mli_mode mode, mli_real *grad, long *correct)
{
    const mli_real *Z = mli_net_forward(a, theta, bufs, w, b->x, b->n, mode);
    const mli_real *T = a->loss == MLI_LOSS_RECON ? b->x : b->t;
    double sum = mli_loss_eval(a->loss, Z, b->n, a->nout, b->y, T, grad ? w->dz : NULL, w->loss,
                               correct);
    if (grad)
        mli_net_backward(a, theta, bufs, w, b->x, b->n, mode, w->dz, grad);
    return sum / b->n;
}

mli_batch mli_batch_rows(const mli_data *d, int i0, int n)
{
    mli_batch b = {n, d->x + (size_t)i0 * d->d, d->y ? d->y + i0 : NULL,
                   d->t ? d->t + (size_t)i0 * d->k : NULL};
    return b;
}

void mli_net_evaluate(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_ws *w,
                      const mli_data *d, double *loss, double *acc, double *per_example)
{
    double sum = 0;
    long correct = 0;
    for (int i0 = 0; i0 < d->n; i0 += w->bmax) {
        int n = d->n - i0 < w->bmax ? d->n - i0 : w->bmax;
        mli_batch b = mli_batch_rows(d, i0, n);
        /* eval mode never writes the buffers: the cast only satisfies the shared signature */
        sum += n * mli_net_loss_grad(a, theta, (mli_real *)bufs, w, &b, MLI_MODE_EVAL, NULL, &correct);
        if (per_example)
            memcpy(per_example + i0, w->loss, sizeof(double) * (size_t)n);
    }
    *loss = sum / d->n;
    *acc = a->loss == MLI_LOSS_RECON ? NAN : (double)correct / d->n;
}

double mli_param_dist(const mli_real *a, const mli_real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? b[i] : 0);
        s += d * d;
    }
    return sqrt(s);
}
