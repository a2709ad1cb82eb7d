/* Regularizers of the reference code, over the parameter tensors of θ (weights, biases,
 * batch-norm γ and β; never the running statistics):
 *   l1:   R = regscale · Σ_tensors mean(|p|)
 *   outR: R = regscale · Σ_tensors (‖p‖₂ − outR_reg)²   (pushes each tensor's norm to outR_reg)
 * regscale is 1 by default, which makes l1 the reference's unscaled sum. */
#ifndef MLI_REG_H
#define MLI_REG_H

#include "nn/arch.h"
#include "train/config.h"

/* R(θ); if grad is not NULL, adds ∇R to it. */
double mli_reg_apply(const mli_arch *a, mli_reg kind, double regscale, double outR,
                     const mli_real *theta, mli_real *grad);

#endif
