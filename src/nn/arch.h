/* The network as a graph of nodes, and the layout of its flat parameter vector.
 *
 * Nodes are kept in topological order; each applies one operator (nn/op.h, one file per kind)
 * to the data or to earlier nodes' outputs; the last node gives the outputs. The engines loop
 * over the nodes (docs/engine.md).
 *
 * FCNet(input_size, hsizes), the reference network, is one such graph: Linear(input_size, h0),
 * then for each next size h: [BatchNorm1d(prev) if use_batchnorm], activation, Linear(prev, h).
 * The last Linear gives the outputs (logits or reconstruction); there is no final activation.
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
#define MLI_MAX_NODES 256   /* a ResNet-56 imported from ONNX has about 180 */
#define MLI_MAX_TENSORS 512
#define MLI_MAX_DIMS 4   /* per-example dimensions of a value: C, C×L, C×H×W, ... */
#define MLI_NODE_MAXIN 4 /* inputs of one node (Add takes several) */
#define MLI_NODE_MAXT 4  /* tensors of one node (batch norm: γ, β, running mean, running var) */
#define MLI_NODE_MAXATTR 16 /* integer attributes of a node (a 2-D convolution needs 13) */
#define MLI_NODE_MAXFATTR 4 /* real attributes (batch norm's ε) */
#define MLI_GRAPH_INPUT (-1) /* the producer index of the data */
#define MLI_NORM_MAXC 4 /* channels of an input normalisation (mli_arch.norm_c) */
#define MLI_BN_EPS 1e-5
#define MLI_BN_MOMENTUM 0.1

typedef enum { MLI_ACT_IDENTITY, MLI_ACT_RELU, MLI_ACT_TANH, MLI_ACT_SIGMOID } mli_act;
typedef enum { MLI_LOSS_CE, MLI_LOSS_MSE, MLI_LOSS_RECON } mli_loss;
typedef enum { MLI_INIT_DEFAULT, MLI_INIT_XAVIER, MLI_INIT_KAIMING } mli_init_type;
typedef enum {
    MLI_MODE_EVAL, /* batch norm uses the running statistics */
    MLI_MODE_TRAIN /* batch norm uses batch statistics (and updates bufs when not NULL) */
} mli_mode;

/* The reference nn.Sequential, layer by layer: a description of the FCNet only (tests and
 * benchmarks read it). The engine never reads it: it runs the graph of nodes below. */
typedef enum { MLI_LAYER_LINEAR, MLI_LAYER_BN, MLI_LAYER_ACT } mli_layer_kind;

typedef struct {
    mli_layer_kind kind;
    int in, out;  /* widths; equal for batch norm and activations */
    size_t p;     /* offset of the layer's parameters in θ */
    size_t s;     /* offset of its buffers (batch norm: running mean, then running var) */
    int seq;      /* index in the reference nn.Sequential: tensors are layers.{seq}.* */
} mli_layer;

/* Tensor roles: a weight's slices along its first dimension are filters (one output unit's
 * weights), which the filter-normalised plane directions scale one by one; the others
 * (biases, batch-norm affine parameters and statistics) are left out of those directions. */
enum { MLI_ROLE_OTHER, MLI_ROLE_WEIGHT };

typedef struct {
    char name[96];  /* state_dict name (or the ONNX initializer's) */
    int is_buffer;  /* 0: in θ, 1: in the buffer vector */
    size_t off;     /* offset in θ or in the buffers */
    int ndim;
    int shape[MLI_MAX_DIMS];
    size_t numel;
    int role;       /* MLI_ROLE_* */
} mli_tensor;

/* The per-example shape of a value (the batch dimension N is implicit and outermost). */
typedef struct {
    int ndim;
    int d[MLI_MAX_DIMS];
} mli_shape;

struct mli_op;

/* A node of the graph: one operator applied to the values of earlier nodes (or the data). */
typedef struct {
    const struct mli_op *op;
    char name[64];                  /* tensor-name prefix: "layers.3" */
    int nin, in[MLI_NODE_MAXIN];    /* producers, MLI_GRAPH_INPUT for the data */
    mli_shape ishape[MLI_NODE_MAXIN];
    mli_shape shape;                /* the output's */
    size_t size;                    /* reals per example of the output */
    int attr[MLI_NODE_MAXATTR];     /* operator attributes (Linear: out features; act: mli_act) */
    double fattr[MLI_NODE_MAXFATTR]; /* real attributes, 0 unless the operator says otherwise */
    int nt;                         /* tensors, in the order the operator declares them */
    size_t off[MLI_NODE_MAXT];      /* their offsets in θ or in the buffer vector */
    int tensor[MLI_NODE_MAXT];      /* their index in mli_arch.tensors */
    int nuse;                       /* consumers (the loss counts for the output node) */
} mli_node;

/* The typed view of a node's tensor k in θ (or the buffers, or a gradient, or a direction):
 * the only place where offsets meet base pointers. */
static inline mli_real *mli_node_view(const mli_node *n, int k, const mli_real *base)
{
    return (mli_real *)base + n->off[k];
}

/* input_size is every graph's (reals per example). nh, hsizes, act, use_bn and layers[] describe
 * an FCNet built by mli_arch_init; nh = 0 marks any other graph (tests, ONNX imports), whose
 * analyses must not read them (the permutation control and the exact analysis check it). */
typedef struct {
    int input_size;
    int nh;
    int hsizes[MLI_MAX_HIDDEN];
    mli_act act;
    int use_bn;
    mli_loss loss;

    int nlayers;
    mli_layer layers[MLI_MAX_LAYERS]; /* the FCNet's Sequential (description only) */

    /* the graph: nodes in topological order (every input produced by an earlier node) */
    mli_shape in_shape;
    int nnodes;
    mli_node nodes[MLI_MAX_NODES];
    int ntensors;
    mli_tensor tensors[MLI_MAX_TENSORS];
    size_t nparams;  /* length of θ */
    size_t nbuffers; /* length of the buffer vector */
    int width_max;   /* largest value, reals per example (the input included) */
    int nout;        /* outputs of the last node */

    /* the convolutional builders' keys (mli_arch_cnn); kind MLI_ARCH_FCNET for every other
     * graph. A CNN sets act, use_bn and loss above too, and nh = 0. */
    int kind;        /* mli_arch_kind */
    int depth;
    int width;

    /* The per-channel normalisation of the data the graph reads, x[c] = (x[c] − mean[c]) /
     * std[c] over the C = norm_c channels of a C×H×W input (0: none). Not a node: whoever
     * feeds the graph applies it to the data (mli_data_normalize), so that the graph is the
     * one the run trained. Native graphs leave it 0 (their data set is normalised by
     * train/data.c); an ONNX import sets it from a leading Sub and Div by constants and the
     * export writes it so (docs/onnx.md). */
    int norm_c;
    double norm_mean[MLI_NORM_MAXC], norm_std[MLI_NORM_MAXC];
} mli_arch;

/* Building a graph (tests, and FCNets through mli_arch_init): begin with the per-example
 * input shape and the loss, add nodes (each returns its index, or −1 with mli_err set when
 * the shapes do not fit), end (the last node is the output; MLI_EUSAGE if unusable). */
void mli_graph_begin(mli_arch *a, const int *in_shape, int ndim, mli_loss loss);
int mli_graph_add(mli_arch *a, const struct mli_op *op, const int *inputs, int nin, int attr,
                  const char *name);
/* The same with every attribute: attr[0 .. nattr) and fattr[0 .. nfattr) (either NULL when 0);
 * the rest are 0. */
int mli_graph_add_attrs(mli_arch *a, const struct mli_op *op, const int *inputs, int nin,
                        const int *attr, int nattr, const double *fattr, int nfattr, const char *name);
int mli_graph_end(mli_arch *a);
/* For operators' layout functions: declare the next tensor of node n. */
void mli_graph_tensor(mli_arch *a, mli_node *n, const char *what, int is_buffer, int role,
                      int ndim, const int *shape);
/* The node whose output is the data's first transform and that can be hoisted out of an α
 * loop (mli_op.hoist): its only input is the data (or a chain of reshapes of it, each read by
 * that node alone: the same values, which the engines then skip) and it is linear in its
 * parameters. −1 if the graph has none. Only the first node that meets the data qualifies. */
int mli_graph_hoisted(const mli_arch *a);

/* A chain of affine maps and piecewise-linear activations, for the exact analysis: link l is
 * y = x Wᵀ + b (W out×in at offset w in θ, b at offset b), then relu or identity. */
typedef struct {
    int nlin;
    int in[MLI_MAX_NODES], out[MLI_MAX_NODES], relu[MLI_MAX_NODES];
    size_t w[MLI_MAX_NODES], b[MLI_MAX_NODES];
} mli_chain;
/* The chain of a graph that is one; MLI_EUSAGE naming the node that is not. */
int mli_graph_chain(const mli_arch *a, mli_chain *c);

/* The FCNet of the reference as a graph (and its Sequential description in layers[]);
 * MLI_EUSAGE with a message if the sizes are unusable. */
int mli_arch_init(mli_arch *a, int input_size, const int *hsizes, int nh, mli_act act,
                  int use_bn, mli_loss loss);

/* The convolutional architectures (nn/arch_cnn.c, docs/engine.md "Convolutional builders"),
 * on a per-example input C×H×W (in_shape[3]) with nout outputs:
 *   lenet   conv1 5×5→6, act, maxpool 2, conv2 5×5→16, act, maxpool 2, flatten, fc1 →120,
 *           act, fc2 →84, act, fc3 →nout (width scales 6 and 16 by width/6; depth unused);
 *   vgg     depth blocks of conv 3×3 (pad 1) → min(width·2^b, 8·width) channels, [bn], act,
 *           maxpool 2; flatten; classifier Linear → nout (tensors features.{i}, classifier);
 *   resnet  the CIFAR ResNet of He et al., depth = 6n + 2: conv1 3×3 → width, [bn1], act,
 *           three stages of n basic blocks (width, 2·width, 4·width; the first block of
 *           stages 2 and 3 has stride 2 and the option-A shortcut: 1×1 average pool of stride
 *           2, [bn0], zero channels up to the stage's width (op_padc.c)), global
 *           average pool, fc → nout. Its convolutions have no bias (the reference's conv3x3),
 *           with batch norm or without; lenet's and vgg's have one (Conv2d's default).
 * MLI_EUSAGE naming the key when depth, width or the input does not fit. */
typedef enum { MLI_ARCH_FCNET, MLI_ARCH_LENET, MLI_ARCH_VGG, MLI_ARCH_RESNET } mli_arch_kind;
int mli_arch_cnn(mli_arch *a, mli_arch_kind kind, const int *in_shape, int depth, int width,
                 mli_act act, int use_bn, mli_loss loss, int nout);
const char *mli_arch_kind_name(int kind);
int mli_arch_kind_parse(const char *s, int *kind);
/* The defaults of depth and width for a kind (fcnet: 0, unused). */
int mli_arch_default_depth(int kind);
int mli_arch_default_width(int kind);

const char *mli_act_name(mli_act act);
int mli_act_parse(const char *s, mli_act *act);
const char *mli_loss_name(mli_loss loss);
int mli_loss_parse(const char *s, mli_loss *loss);
/* "1024,1024,10" */
void mli_hsizes_format(const int *h, int n, char *buf, size_t len);
int mli_hsizes_parse(const char *s, int *h, int *n);

/* 1 if the network keeps running statistics (batch norm): the analyses estimate them along the
 * path. */
static inline int mli_arch_has_stats(const mli_arch *a) { return a->nbuffers > 0; }

/* Buffers at their initial values (running mean 0, running variance 1). */
void mli_arch_init_buffers(const mli_arch *a, mli_real *bufs);

#endif
