/* A graph (nn/arch.h) with its θ and buffers as a self-contained ONNX model (io/onnx.h): the
 * graph walker of `mli export`. Each operator writes its own ONNX nodes (mli_op.onnx_export);
 * this file names the values, declares the graph's input and output and checks the result.
 *
 * The model: one graph input "input", FLOAT [batch, per-example shape] with the batch
 * dimension symbolic ("batch"); one graph output "output", FLOAT [batch, outputs] (logits or
 * reconstruction: the loss is not part of it); every tensor of θ and of the buffers an
 * initializer named by its mli (state_dict) name, "layers.0.weight", with its shape; the
 * data's normalisation (mli_arch.norm_c) first, as Sub("input", "input/mean") and
 * Div(·, "input/std") by [1, C, 1, 1] constants, so that the input is the data set's
 * pixels/255; a node's
 * output value named after the node ("layers.1"). Inference semantics: batch norm uses its
 * running statistics, as mli's eval mode. Producer "mli", its version, opset
 * MLI_ONNX_EXPORT_OPSET of the default domain. docs/onnx.md ("Writing") says why that opset. */
#ifndef MLI_ONNX_EXPORT_H
#define MLI_ONNX_EXPORT_H

#include "io/onnx.h"
#include "nn/arch.h"

/* BatchNormalization-15 is the newest definition of any operator written; IR version 8
 * (MLI_ONNX_IR_VERSION) covers opsets up to 17. */
#define MLI_ONNX_EXPORT_OPSET 15

/* The model of graph a at θ (nparams reals) and bufs (nbuffers reals; NULL only when the
 * graph has none). label names the model in messages (the graph is named "mli"). MLI_EUSAGE naming the
 * node when an operator has no ONNX form; the model is checked with mli_onnx_sort. On success
 * *out is a new model (mli_onnx_free), else NULL. */
int mli_onnx_export(const mli_arch *a, const mli_real *theta, const mli_real *bufs, const char *label,
                    mli_onnx_model **out);
/* The same written to path (atomically). */
int mli_onnx_export_file(const char *path, const mli_arch *a, const mli_real *theta, const mli_real *bufs);

#endif
