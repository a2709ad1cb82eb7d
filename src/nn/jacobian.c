#include "nn/jacobian.h"

#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/layers.h"

mli_jws *mli_jws_new(const mli_arch *a, int bmax)
{
    mli_jws *w = mli_calloc(1, sizeof *w);
    size_t rows = (size_t)a->nout * (size_t)bmax;
    w->bmax = bmax;
    w->ws = mli_ws_new(a, bmax);
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind == MLI_LAYER_LINEAR)
            w->G[l] = mli_malloc(sizeof(mli_real) * rows * (size_t)L->out);
        else if (L->kind == MLI_LAYER_BN)
            w->G[l] = mli_malloc(sizeof(mli_real) * rows * 2 * (size_t)L->out);
    }
    w->g[0] = mli_malloc(sizeof(mli_real) * rows * (size_t)a->width_max);
    w->g[1] = mli_malloc(sizeof(mli_real) * rows * (size_t)a->width_max);
    return w;
}

void mli_jws_free(mli_jws *w)
{
    if (!w)
        return;
    mli_ws_free(w->ws);
    for (int l = 0; l < MLI_MAX_LAYERS; l++)
        free(w->G[l]);
    free(w->g[0]);
    free(w->g[1]);
    free(w);
}

const mli_real *mli_jws_input(const mli_jws *w, const mli_real *X, int l) { return l ? w->ws->out[l - 1] : X; }

/* Where the gradient w.r.t. the output of layer l lives: a Linear layer keeps it (it is its g);
 * the others only pass it on, through the ping-pong buffer of l's parity, so that a layer never
 * reads and writes the same buffer (its neighbours have the other parity). */
static mli_real *out_grad(const mli_arch *a, mli_jws *w, int l)
{
    return a->layers[l].kind == MLI_LAYER_LINEAR ? w->G[l] : w->g[l & 1];
}

void mli_net_jacobian(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_jws *w,
                      const mli_real *X, int B)
{
    int k = a->nout, last = a->nlayers - 1;
    size_t rows = (size_t)k * (size_t)B;
    mli_net_forward(a, theta, (mli_real *)bufs, w->ws, X, B, MLI_MODE_EVAL); /* eval: bufs only read */
    /* ∂z_c/∂z = e_c in every row of block c */
    mli_real *gz = w->G[last];
    memset(gz, 0, sizeof(mli_real) * rows * (size_t)k);
    for (int c = 0; c < k; c++)
        for (int i = 0; i < B; i++)
            gz[((size_t)c * B + i) * k + c] = 1;
    for (int l = last; l > 0; l--) {
        const mli_layer *L = &a->layers[l];
        const mli_real *p = theta + L->p, *in = mli_jws_input(w, X, l), *dY = out_grad(a, w, l);
        mli_real *dX = out_grad(a, w, l - 1);
        switch (L->kind) {
        case MLI_LAYER_LINEAR:
            mli_linear_backward(dX, NULL, NULL, dY, NULL, p, (int)rows, L->in, L->out, 0);
            break;
        case MLI_LAYER_ACT: /* every output block meets the same forward values */
            for (int c = 0; c < k; c++) {
                size_t o = (size_t)c * B * L->out;
                mli_act_backward(a->act, dX + o, dY + o, in, w->ws->out[l], (size_t)B * L->out);
            }
            break;
        case MLI_LAYER_BN: /* one row at a time: the (γ, β) gradients are wanted per row */
            for (size_t r = 0; r < rows; r++) {
                size_t C = (size_t)L->out, i = r % (size_t)B;
                mli_real *gp = w->G[l] + r * 2 * C;
                mli_bn_backward_eval(dX + r * C, gp, gp + C, dY + r * C, in + i * C, p,
                                     bufs + L->s, bufs + L->s + C, 1, (int)C);
            }
            break;
        }
    }
}

void mli_jacobian_row(const mli_arch *a, const mli_jws *w, const mli_real *X, int B, int c, int i,
                      mli_real *row)
{
    size_t r = (size_t)c * B + (size_t)i;
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind == MLI_LAYER_LINEAR) {
            const mli_real *g = w->G[l] + r * L->out, *x = mli_jws_input(w, X, l) + (size_t)i * L->in;
            mli_real *W = row + L->p, *b = W + (size_t)L->out * L->in;
            for (int u = 0; u < L->out; u++) {
                for (int v = 0; v < L->in; v++)
                    W[(size_t)u * L->in + v] = g[u] * x[v];
                b[u] = g[u];
            }
        } else if (L->kind == MLI_LAYER_BN)
            memcpy(row + L->p, w->G[l] + r * 2 * L->out, sizeof(mli_real) * 2 * (size_t)L->out);
    }
}
