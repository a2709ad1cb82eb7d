/* Model files: safetensors with the tensor names of the reference FCNet's state_dict
 * (layers.{i}.weight / bias / running_mean / running_var) and the architecture in
 * __metadata__ (mli.input_size, mli.hsizes, mli.act_fn, mli.use_batchnorm, mli.loss_fn),
 * so that a file is self-describing and a PyTorch model converts with a few lines. A
 * convolutional architecture (nn/arch.h, mli_arch_cnn) writes mli.arch, mli.depth, mli.width,
 * mli.input_shape ("C,H,W") and mli.num_classes in place of mli.hsizes, with the reference's
 * tensor names (conv1.weight, layer1.0.bn1.bias, ...); FCNet files have no mli.arch. */
#ifndef MLI_MODEL_H
#define MLI_MODEL_H

#include "io/safetensors.h"
#include "nn/arch.h"

#define MLI_VERSION "0.1.0"

/* Add θ's tensors, the buffers and the architecture metadata to a writer. */
void mli_model_add(mli_st_writer *w, const mli_arch *a, const mli_real *theta, const mli_real *bufs);
/* The architecture recorded in a file's metadata; MLI_EINPUT naming the missing/bad key. */
int mli_model_arch(const mli_st_file *f, const char *label, mli_arch *a);
/* θ and buffers from a parsed file, checked against the architecture: every tensor present
 * with its exact shape, every value finite, no tensor that the architecture does not have
 * (names starting with "optim." or "train." and PyTorch's num_batches_tracked are
 * tolerated: checkpoints carry them). */
int mli_model_read(const mli_st_file *f, const char *label, const mli_arch *a, mli_real *theta,
                   mli_real *bufs);
/* Whole-file conveniences: save (atomic), and load allocating θ and buffers. */
int mli_model_save(const char *path, const mli_arch *a, const mli_real *theta, const mli_real *bufs);
int mli_model_load(const char *path, mli_arch *a, mli_real **theta, mli_real **bufs);

#endif
