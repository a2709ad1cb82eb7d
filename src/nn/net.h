/* The network: forward and backward over the layer list of an mli_arch, with every buffer
 * preallocated in a workspace so that training and analysis loops never allocate. */
#ifndef MLI_NET_H
#define MLI_NET_H

#include "data/dataset.h"
#include "io/real.h"
#include "nn/arch.h"

typedef enum {
    MLI_MODE_EVAL, /* batch norm uses the running statistics */
    MLI_MODE_TRAIN /* batch norm uses batch statistics (and updates bufs when not NULL) */
} mli_mode;

typedef struct {
    int bmax;
    mli_real *out[MLI_MAX_LAYERS];  /* output of each layer, bmax × width */
    mli_real *xhat[MLI_MAX_LAYERS]; /* batch norm (train mode): normalised input */
    mli_real *istd[MLI_MAX_LAYERS]; /* batch norm (train mode): 1/sqrt(var + eps) */
    mli_real *g[2];                 /* gradients w.r.t. activations, ping-pong */
    mli_real *dz;                   /* gradient w.r.t. the outputs */
    double *loss;                   /* per-example losses, bmax */
    double *scratch;                /* 2 × width_max */
} mli_ws;

mli_ws *mli_ws_new(const mli_arch *a, int bmax);
void mli_ws_free(mli_ws *w);

/* Outputs Z[B, nout] = f(X[B, input_size]; θ) for B ≤ bmax; the pointer lives in w. */
const mli_real *mli_net_forward(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                mli_ws *w, const mli_real *X, int B, mli_mode mode);
/* The same from layer l0 on, with `in` the input of layer l0 (e.g. the first layer's output
 * computed some other way). */
const mli_real *mli_net_forward_from(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                     mli_ws *w, int l0, const mli_real *in, int B, mli_mode mode);
/* Gradient of Σ_i dZ_i·Z_i w.r.t. θ after a forward pass on the same X and mode;
 * grad[nparams] is overwritten. */
void mli_net_backward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                      mli_ws *w, const mli_real *X, int B, mli_mode mode, const mli_real *dZ,
                      mli_real *grad);

/* A batch of examples: inputs, labels, optional regression targets. */
typedef struct {
    int n;
    const mli_real *x;
    const int *y;
    const mli_real *t;
} mli_batch;

/* Forward, loss, and (grad not NULL) backward: returns the MEAN loss over the batch,
 * grad = its gradient; adds correct predictions to *correct if not NULL. */
double mli_net_loss_grad(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w,
                         const mli_batch *b, mli_mode mode, mli_real *grad, long *correct);

/* Mean loss and accuracy over a whole data set in eval mode, in chunks of w->bmax.
 * Accuracy is NaN for recon. per_example (n doubles) receives each ℓ_i if not NULL. */
void mli_net_evaluate(const mli_arch *a, const mli_real *theta, const mli_real *bufs, mli_ws *w,
                      const mli_data *d, double *loss, double *acc, double *per_example);

/* ‖a − b‖₂ over n parameters, accumulated in double (b NULL: ‖a‖₂). */
double mli_param_dist(const mli_real *a, const mli_real *b, size_t n);

/* The batch of rows [i0, i0+n) of a data set. */
mli_batch mli_batch_rows(const mli_data *d, int i0, int n);

#endif
