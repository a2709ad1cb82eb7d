/* Parameter initialization, as the reference code's init_type:
 *   default: PyTorch's nn.Linear: weight and bias ~ U(−1/√fan_in, 1/√fan_in)
 *   xavier:  weight ~ U(−a, a), a = √(6/(fan_in+fan_out)) (xavier_uniform_), bias 0
 *   kaiming: weight ~ N(0, 2/fan_in) (kaiming_normal_, fan_in, relu gain), bias 0
 * BatchNorm: weight 1, bias 0; buffers: running mean 0, running variance 1.
 * Draws come from rng in state_dict order (weight then bias, layer by layer). */
#ifndef MLI_INIT_H
#define MLI_INIT_H

#include <gsl/gsl_rng.h>

#include "nn/arch.h"
#include "train/config.h"

void mli_init_params(const mli_arch *a, mli_init_type type, gsl_rng *rng, mli_real *theta,
                     mli_real *bufs);

#endif
