#include "train/init.h"

#include "nn/op.h"

/* every node's rule, in node order: the draws come in state_dict order */
void mli_init_params(const mli_arch *a, mli_init_type type, gsl_rng *rng, mli_real *theta,
                     mli_real *bufs)
{
    for (int i = 0; i < a->nnodes; i++)
        a->nodes[i].op->init(&a->nodes[i], type, rng, theta, NULL);
    if (bufs)
        mli_arch_init_buffers(a, bufs);
}
