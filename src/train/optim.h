/* Optimizers with PyTorch's update rules (torch.optim, no weight decay, no dampening).
 *   sgd:  b ← μ b + g (b = g at the first step); θ ← θ − lr b
 *   adam: m ← β₁ m + (1−β₁) g; v ← β₂ v + (1−β₂) g²;
 *         θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε),  β₂ = 0.999, ε = 1e-8 */
#ifndef MLI_OPTIM_H
#define MLI_OPTIM_H

#include <stddef.h>

#include "io/real.h"
#include "train/config.h"

typedef struct {
    mli_optim_name kind;
    double lr, beta1, beta2, eps;
    long step;   /* steps taken */
    size_t n;
    mli_real *m; /* sgd: momentum buffer; adam: first moment */
    mli_real *v; /* adam: second moment (NULL for sgd) */
} mli_optim;

void mli_optim_init(mli_optim *o, mli_optim_name kind, double lr, double beta, size_t n);
void mli_optim_free(mli_optim *o);
/* One update of theta[n] with gradient g[n]. */
void mli_optim_step(mli_optim *o, mli_real *theta, const mli_real *g);

#endif
