#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"

void mli_optim_init(mli_optim *o, mli_optim_name kind, double lr, double beta, size_t n)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = beta;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->n = n;
    o->m = mli_calloc(n, sizeof(mli_real));
    if (kind == MLI_OPT_ADAM)
        o->v = mli_calloc(n, sizeof(mli_real));
}

void mli_optim_free(mli_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

static void sgd_step(mli_optim *o, mli_real *restrict theta, const mli_real *restrict g)
{
    const mli_real mu = (mli_real)o->beta1, lr = (mli_real)o->lr;
    mli_real *restrict b = o->m;
    /* one pass over the three vectors: they are far larger than the caches */
    if (o->step == 0)
        for (size_t i = 0; i < o->n; i++) {
            b[i] = g[i];
            theta[i] -= lr * b[i];
        }
    else
        for (size_t i = 0; i < o->n; i++) {
            b[i] = mu * b[i] + g[i];
            theta[i] -= lr * b[i];
        }
}

static void adam_step(mli_optim *o, mli_real *theta, const mli_real *g)
{
    const double t = (double)(o->step + 1);
    const mli_real b1 = (mli_real)o->beta1, b2 = (mli_real)o->beta2;
    const mli_real step_size = (mli_real)(o->lr / (1 - pow(o->beta1, t)));
    const mli_real bc2_sqrt = (mli_real)sqrt(1 - pow(o->beta2, t)), eps = (mli_real)o->eps;
    for (size_t i = 0; i < o->n; i++) {
        o->m[i] = b1 * o->m[i] + (1 - b1) * g[i];
        o->v[i] = b2 * o->v[i] + (1 - b2) * g[i] * g[i];
        mli_real denom = (mli_real)sqrt(o->v[i]) / bc2_sqrt + eps;
        theta[i] -= step_size * o->m[i] / denom;
    }
}

void mli_optim_step(mli_optim *o, mli_real *theta, const mli_real *g)
{
    if (o->kind == MLI_OPT_SGD)
        sgd_step(o, theta, g);
    else
        adam_step(o, theta, g);
    o->step++;
}
