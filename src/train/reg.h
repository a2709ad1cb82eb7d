/* Regularizers of the reference code, over the parameter tensors of θ (weights, biases,
 * batch-norm γ and β; never the running statistics):
 *   l1:   R = regscale · Σ_tensors mean(|p|)
 *   outR: R = regscale · Σ_tensors (‖p‖₂ − outR_reg)²   (pushes each tensor's norm to outR_reg)
 *   outR with outR_mult > 0 (mli's own key): the target of each tensor is outR_mult · ‖p₀‖₂,
 *         its norm at initialization θ₀, instead of the one outR_reg for every tensor. The
 *         reference's single target cannot push every layer away by the same factor: the
 *         norms at initialization range from about 0.2 (a bias) to 18 (a 1024×1024 weight),
 *         so one value pulls some tensors in and others out. A tensor whose initial norm is 0
 *         (batch-norm β) has target 0.
 * regscale is 1 by default, which makes l1 the reference's unscaled sum. */
#ifndef MLI_REG_H
#define MLI_REG_H

#include "nn/arch.h"
#include "train/config.h"

/* R(θ); if grad is not NULL, adds ∇R to it. theta0 (θ₀) is read only for outR with
 * outR_mult > 0, and must then not be NULL. */
double mli_reg_apply(const mli_arch *a, mli_reg kind, double regscale, double outR, double outR_mult,
                     const mli_real *theta0, const mli_real *theta, mli_real *grad);

#endif
