/* The architecture of the reference FCNet and the layout of its flat parameter vector.
 *
 * FCNet(input_size, hsizes): Linear(input_size, h0), then for each next size h:
 * [BatchNorm1d(prev) if use_batchnorm], activation, Linear(prev, h). The last Linear
 * gives the outputs (logits or reconstruction); there is no final activation.
 *
 * θ holds every trainable parameter, tensor after tensor in state_dict order
 * (Linear: weight out×in row-major, then bias; BatchNorm: weight γ, then bias β).
 * Batch-norm running statistics are buffers and live in a separate vector. */
#ifndef MLI_ARCH_H
#define MLI_ARCH_H

#include <stddef.h>

#include "io/real.h"

#define MLI_MAX_HIDDEN 16
#define MLI_MAX_LAYERS (3 * MLI_MAX_HIDDEN)
#define MLI_MAX_TENSORS (4 * MLI_MAX_HIDDEN)
#define MLI_BN_EPS 1e-5
#define MLI_BN_MOMENTUM 0.1

typedef enum { MLI_ACT_IDENTITY, MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID } mli_act;
typedef enum { MLI_LOSS_CE, MLI_LOSS_MSE, MLI_LOSS_RECON } mli_loss;
typedef enum { MLI_LAYER_LINEAR, MLI_LAYER_BN, MLI_LAYER_ACT } mli_layer_kind;

typedef struct {
    mli_layer_kind kind;
    int in, out;  /* widths; equal for batch norm and activations */
    size_t p;     /* offset of the layer's parameters in θ */
    size_t s;     /* offset of its buffers (batch norm: running mean, then running var) */
    int seq;      /* index in the reference nn.Sequential: tensors are layers.{seq}.* */
} mli_layer;

typedef struct {
    char name[48];  /* state_dict name */
    int is_buffer;  /* 0: in θ, 1: in the buffer vector */
    size_t off;     /* offset in θ or in the buffers */
    int ndim;
    int shape[2];
    size_t numel;
} mli_tensor;

typedef struct {
    int input_size;
    int nh;
    int hsizes[MLI_MAX_HIDDEN];
    mli_act act;
    int use_bn;
    mli_loss loss;

    int nlayers;
    mli_layer layers[MLI_MAX_LAYERS];
    int ntensors;
    mli_tensor tensors[MLI_MAX_TENSORS];
    size_t nparams;  /* length of θ */
    size_t nbuffers; /* length of the buffer vector */
    int width_max;   /* widest layer output (or input) */
    int nout;        /* outputs of the last layer */
} mli_arch;

/* Build the layer list; MLI_EUSAGE with a message if the sizes are unusable. */
int mli_arch_init(mli_arch *a, int input_size, const int *hsizes, int nh, mli_act act,
                  int use_bn, mli_loss loss);

const char *mli_act_name(mli_act act);
int mli_act_parse(const char *s, mli_act *act);
const char *mli_loss_name(mli_loss loss);
int mli_loss_parse(const char *s, mli_loss *loss);
/* "1024,1024,10" */
void mli_hsizes_format(const int *h, int n, char *buf, size_t len);
int mli_hsizes_parse(const char *s, int *h, int *n);

/* Buffers at their initial values (running mean 0, running variance 1). */
void mli_arch_init_buffers(const mli_arch *a, mli_real *bufs);

#endif
