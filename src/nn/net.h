/* The network: forward and backward over the layer list of an mli_arch, with every buffer
 * preallocated in a workspace so that training and analysis loops never allocate. */
#ifndef MLI_NET_H
#define MLI_NET_H

#include "data/dataset.h"
#include "io/real.h"
#include "nn/arch.h"
#include "nn/op.h"

typedef struct {
    int bmax;
    mli_real *out[MLI_MAX_NODES];  /* output of each node, bmax × size */
    mli_real *save[MLI_MAX_NODES]; /* what a node keeps for backward (training-mode batch norm) */
    mli_real *g[MLI_MAX_NODES];    /* gradient w.r.t. each node's output (the last: dZ itself) */
    mli_real *acc;                 /* a second gradient for values used twice, bmax × width_max */
    mli_real *dz;                  /* gradient w.r.t. the outputs */
    double *loss;                  /* per-example losses, bmax */
    double *scratch;               /* 2 × width_max */
    mli_real *work;                /* the rules' workspace, mli_graph_work_size */
} mli_ws;

mli_ws *mli_ws_new(const mli_arch *a, int bmax);
/* Rows for a workspace that also serves whole-set evaluations (mli_net_evaluate): 1000, or
 * fewer when the values of that many examples would pass MLI_WS_EVAL_BYTES (a ResNet-20 on
 * 28×28 images keeps about 2 MB per example), never fewer than the minibatch B. */
#define MLI_WS_EVAL_BYTES ((size_t)256 << 20)
int mli_ws_eval_rows(const mli_arch *a, int B);
void mli_ws_free(mli_ws *w);

/* Outputs Z[B, nout] = f(X[B, input_size]; θ) for B ≤ bmax; the pointer lives in w. */
const mli_real *mli_net_forward(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                mli_ws *w, const mli_real *X, int B, mli_mode mode);
/* The same from node n0 on, the outputs of the nodes before it already in w->out (e.g. the
 * hoisted first node computed some other way); X is the data, for nodes that read it. */
const mli_real *mli_net_forward_from(const mli_arch *a, const mli_real *theta, mli_real *bufs,
                                     mli_ws *w, int n0, const mli_real *X, int B, mli_mode mode);
/* Nodes n0 ≤ i < n1 only (the graph is in topological order: the inputs of node n1 are then in
 * w->out); for passes that need a prefix of the graph, such as the population statistics of
 * one batch-norm node. */
void mli_net_forward_range(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w, int n0, int n1,
                           const mli_real *X, int B, mli_mode mode);
/* Node i alone on B ≤ w->bmax examples: inputs x[k] (its nin inputs), output y (B × size); for
 * passes that hold whole tensors of a data set, node after node. */
void mli_net_forward_node(const mli_arch *a, const mli_real *theta, mli_real *bufs, mli_ws *w, int i,
                          const mli_real *const *x, mli_real *y, int B, mli_mode mode);
/* Gradient of Σ_i dZ_i·Z_i w.r.t. θ after a forward pass on the same X and mode;
 * grad[nparams] is overwritten. */
void mli_net_backward(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                      mli_ws *w, const mli_real *X, int B, mli_mode mode, const mli_real *dZ,
                      mli_real *grad);

/* For the engines (net.c, taylor.c, hvp.c, jacobian.c): 1 if some value is read by two
 * nodes, so that gradients must be accumulated. */
int mli_graph_has_fanout(const mli_arch *a);
/* Reverse mode over the graph, shared by the engines: for node i, point c->dx[k] at the
 * gradient buffer of input k's producer (grads[p], stride rows of width size), or at acc
 * when that buffer already holds a gradient from a later consumer (the data: NULL); after
 * the node's rule ran, mli_graph_grad_collect adds the acc parts in. seen[] starts zeroed;
 * lead = reals of each gradient block that are written (rows × size × blocks). */
void mli_graph_grad_route(const mli_arch *a, int i, mli_real *const *grads, mli_real *acc, size_t acc_stride,
                          unsigned char *seen, mli_real **dx);
void mli_graph_grad_collect(const mli_arch *a, int i, mli_real *const *grads, mli_real *acc, size_t acc_stride,
                            mli_real *const *dx, const size_t *len);

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
