#include "train/init.h"

#include <math.h>
#include <gsl/gsl_randist.h>

static void init_linear(const mli_layer *L, mli_init_type type, gsl_rng *rng, mli_real *theta)
{
    mli_real *W = theta + L->p, *b = W + (size_t)L->out * L->in;
    size_t nw = (size_t)L->out * L->in;
    double bound = 1 / sqrt((double)L->in);
    for (size_t i = 0; i < nw; i++) {
        if (type == MLI_INIT_DEFAULT)
            W[i] = (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1));
        else if (type == MLI_INIT_XAVIER)
            W[i] = (mli_real)(sqrt(6.0 / (L->in + L->out)) * (2 * gsl_rng_uniform(rng) - 1));
        else
            W[i] = (mli_real)gsl_ran_gaussian_ziggurat(rng, sqrt(2.0 / L->in));
    }
    for (int j = 0; j < L->out; j++)
        b[j] = type == MLI_INIT_DEFAULT ? (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1)) : 0;
}

void mli_init_params(const mli_arch *a, mli_init_type type, gsl_rng *rng, mli_real *theta,
                     mli_real *bufs)
{
    for (int l = 0; l < a->nlayers; l++) {
        const mli_layer *L = &a->layers[l];
        if (L->kind == MLI_LAYER_LINEAR)
            init_linear(L, type, rng, theta);
        else if (L->kind == MLI_LAYER_BN)
            for (int j = 0; j < L->out; j++) {
                theta[L->p + j] = 1;
                theta[L->p + L->out + j] = 0;
            }
    }
    if (bufs)
        mli_arch_init_buffers(a, bufs);
}
