/* ONNX models as operator graphs: an mli_onnx_model (io/onnx.h) becomes an mli_arch, θ and the
 * buffer vector. The graph's one input that is not an initializer is the data (its first dim
 * the batch, the others the per-example shape); its float initializers are the parameters
 * (θ(α) interpolates all of them), batch norm's running mean and variance the buffers.
 * docs/onnx.md lists the op_types, attributes and refusals; each kind's mapping lives in its
 * operator's file (mli_onnx_import_<kind>, at the end of src/nn/op_<kind>.c). Shape arithmetic
 * on constants is evaluated first, node by node in the walk (nn/onnx_fold.h); the readers of
 * shapes, pads, bounds and axes take its results with mli_onnx_const_in.
 *
 * Every refusal is MLI_EINPUT naming the file, the node ('name' (op_type)) and what is
 * supported. */
#ifndef MLI_ONNX_GRAPH_H
#define MLI_ONNX_GRAPH_H

#include "io/onnx.h"
#include "nn/arch.h"
#include "nn/onnx_fold.h"

/* The state of one import, for the operators' import functions. */
typedef struct {
    const mli_onnx_model *m;
    const char *label;
    mli_arch *a;
    int batch;          /* the data's batch size when the file fixes it, else -1 */
    int *vnode;         /* per node output (node k, output j at voff[k] + j): the graph node, or -2 */
    int *voff;
    char *absorbed;     /* per ONNX node: folded into an earlier node (MatMul + Add) */
    int src[MLI_MAX_TENSORS];   /* per graph tensor: the initializer it is read from */
    int trans[MLI_MAX_TENSORS]; /* 1: stored transposed (the file's in×out as out×in) */
    int *owner;         /* per initializer: the graph tensor that reads it, or -1 */
    mli_onnx_folder fold; /* the constants folded at import (nn/onnx_fold.h) */
} mli_onnx_import;

/* "node 'fc1' (Gemm)" or "node #3 (Gemm)" (a per-thread buffer, for messages). */
const char *mli_onnx_node_name(const mli_onnx_import *im, const mli_onnx_node *nd);
/* MLI_EINPUT "label: node '…' (op): <fmt>" */
int mli_onnx_refuse(const mli_onnx_import *im, const mli_onnx_node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Input k of nd as a value computed from the data: its producer (MLI_GRAPH_INPUT or a node of
 * the graph); MLI_EINPUT if it is absent, an initializer or otherwise not a value. */
int mli_onnx_value_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k, int *producer);
/* The per-example shape of a producer's value. */
const mli_shape *mli_onnx_shape(const mli_onnx_import *im, int producer);
/* Input k of nd if it is an initializer, else NULL. */
const mli_onnx_tensor *mli_onnx_init_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k);
/* Input k of nd if it is a constant: an initializer or a value folded at import; *tag (may be
 * NULL) its per-element tags (MLI_FOLD_BATCH: the batch size, ...), NULL when all are known.
 * NULL when absent or not a constant. Readers of shapes, pads, bounds and axes use it; a
 * parameter is read with mli_onnx_init_in. */
const mli_onnx_tensor *mli_onnx_const_in(const mli_onnx_import *im, const mli_onnx_node *nd, int k,
                                         const unsigned char **tag);
/* The node computing value `name`, or NULL (the data, an initializer). */
const mli_onnx_node *mli_onnx_producer(const mli_onnx_import *im, const char *name);
/* Attributes with their defaults. */
int64_t mli_onnx_attr_i(const mli_onnx_node *nd, const char *name, int64_t def);
double mli_onnx_attr_f(const mli_onnx_node *nd, const char *name, double def);
/* The one node reading output 0 of nd, or NULL (read by none, by several, or a graph output). */
const mli_onnx_node *mli_onnx_sole_consumer(const mli_onnx_import *im, const mli_onnx_node *nd);
/* Add a graph node for nd (named after it): its output 0 is bound to the new node; outputs
 * beyond the first must be unused. Returns the node index, or −1 with MLI_EINPUT set. */
int mli_onnx_emit(mli_onnx_import *im, const mli_onnx_node *nd, const struct mli_op *op, const int *inputs,
                  int nin, const int *attr, int nattr, const double *fattr, int nfattr);
/* Bind tensor k of graph node `node` to an initializer (stored transposed when trans): its
 * name becomes the initializer's; an initializer read twice is refused. */
int mli_onnx_param(mli_onnx_import *im, const mli_onnx_node *nd, int node, int k, const mli_onnx_tensor *t,
                   int trans);
/* Mark `later` as folded into the node just emitted for nd: its output is that node's. */
void mli_onnx_absorb(mli_onnx_import *im, const mli_onnx_node *later, int node);

/* The spatial attributes of a 2-D Conv or pool node nd on a C×H×W value x: the kernel k[2]
 * (kernel_shape; when absent k is kept as given, e.g. from Conv's weight, and must match it
 * when present), strides s[2], dilations d[2] and pads p[4] = top, left, bottom, right (ONNX's
 * pads: begins, then ends) from pads or auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER). A
 * 1-D node on a C×L value is read as the 2-D one on C×1×L: its one-entry lists are the W
 * entries, H gets kernel, stride and dilation 1 and no padding. MLI_EINPUT naming the node for
 * anything else (3-D lists, negative values). */
int mli_onnx_spatial(const mli_onnx_import *im, const mli_onnx_node *nd, const mli_shape *x, int *k, int *s, int *d,
                     int *p);
/* mli_onnx_emit of a Conv or pool on value x; a 1-D one (x C×L) becomes the 2-D operator
 * between two reshapes, C×L → C×1×L ("<node>/unsqueeze") and K×1×L' → K×L' (bound to nd's
 * output): the same reals in the same order. Returns the operator's node, or −1. */
int mli_onnx_emit_spatial(mli_onnx_import *im, const mli_onnx_node *nd, const struct mli_op *op, int x,
                          const int *attr, int nattr);

/* The operators' import functions (src/nn/op_<kind>.c), one per ONNX op_type. */
int mli_onnx_import_gemm(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_matmul(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_act(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_batchnorm(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_reshape(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_add(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_transpose(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_conv(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_pool(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_gap(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_reducemean(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_pad(mli_onnx_import *im, const mli_onnx_node *nd);
int mli_onnx_import_slice(mli_onnx_import *im, const mli_onnx_node *nd);
/* Sub then Div of the data by per-channel constants: the data's normalisation (mli_arch.norm) */
int mli_onnx_import_norm(mli_onnx_import *im, const mli_onnx_node *nd);

/* The graph of a model, θ and the buffers (allocated; the caller frees). loss: the loss the
 * analyses use (ONNX files carry none). */
int mli_onnx_graph(const mli_onnx_model *m, const char *label, mli_loss loss, mli_arch *a, mli_real **theta,
                   mli_real **bufs);
/* Read a file and import it. */
int mli_onnx_load(const char *path, mli_loss loss, mli_arch *a, mli_real **theta, mli_real **bufs);
/* Two models for one path θ(α): the same graph and the same initializer names and shapes, else
 * MLI_EINPUT naming the first difference. */
int mli_onnx_load_pair(const char *init, const char *final, mli_loss loss, mli_arch *a, mli_real **theta0,
                       mli_real **bufs0, mli_real **theta1, mli_real **bufs1);
/* 1 if the path names an ONNX file (ends in .onnx) */
int mli_onnx_path(const char *path);

#endif
