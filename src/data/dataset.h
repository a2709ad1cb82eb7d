/* Data sets: the examples of a training and a test split, in memory, pixels in [0,1]
 * (the synthetic sets are not images and are not bounded). */
#ifndef MLI_DATASET_H
#define MLI_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "io/real.h"

typedef struct {
    int n;       /* examples */
    int d;       /* input size */
    int k;       /* number of classes / outputs */
    mli_real *x; /* n × d, row-major */
    int *y;      /* n labels in [0, k) (for regression: argmax of the target) */
    mli_real *t; /* n × k regression targets, or NULL for classification */
} mli_data;

typedef struct {
    char path[4096];
    long long bytes;
} mli_data_file;

#define MLI_DATASET_MAX_FILES 8 /* CIFAR-10 reads 6 */

typedef struct {
    char name[32];  /* dset_name */
    mli_data train, test;
    int nfiles;
    mli_data_file files[MLI_DATASET_MAX_FILES]; /* the files read, in order, for config.json */
    int shape[3]; /* per-example C, H, W of an image set (1×28×28, 3×32×32); 0 for synthetic sets */
} mli_dataset;

/* Parameters of the synthetic sets (DESIGN: gaussmix, teacher). */
typedef struct {
    int dim;     /* input size */
    int classes; /* classes (gaussmix) or outputs (teacher) */
    int ntest;   /* test examples */
} mli_synth_opts;

/* The folder name of a data set (fashionmnist → fashion-mnist), or NULL if unknown. */
const char *mli_dataset_folder(const char *dset_name);
/* Locate the folder holding the data set's files: data_dir if given, then
 * $MLI_DATA_ROOT/<folder>/, ./data/<folder>/, /usr/share/datasets/<folder>/.
 * On failure the message lists every place looked at and how to install the data. */
int mli_dataset_locate(const char *dset_name, const char *data_dir, char *dir, size_t dirlen);
/* Load a data set by name (ds need not be initialised; on failure it is left zeroed).
 *
 * fashionmnist, mnist: the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *   t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each gzip-compressed (.gz) or not;
 *   x = pixel/255 (no mean/std normalisation, as torchvision's ToTensor), d = rows*cols,
 *   k = 10, t = NULL.
 * cifar10: the binary version, data_batch_1..5.bin and test_batch.bin (records of 1 label
 *   byte + 3072 pixel bytes, channel-major R, G, B planes of 32×32); x = byte/255 in stored
 *   order, d = 3072, k = 10.
 *   The files are looked for with mli_dataset_locate and recorded in ds->files with their
 *   sizes. datasize > 0 keeps the first datasize training examples (MLI_EUSAGE if there are
 *   fewer); datasize <= 0 keeps all. The test split is always complete.
 *
 * Synthetic sets, no files (nfiles = 0), deterministic in seed; the training split has
 * datasize examples (60000 if datasize <= 0), the test split synth->ntest. The class means,
 * the training and the test examples come from three independent streams derived from seed.
 * gaussmix: d = synth->dim, k = synth->classes. Class means are drawn once, each coordinate
 *   from N(0, 1); an example's class is drawn uniformly (so classes are balanced in
 *   expectation) and its x = mean + N(0, σ²) noise per coordinate, with σ = sqrt(d/8).
 *   Two means are then about sqrt(2d) = 4σ apart whatever d, so a pair of classes overlaps
 *   like two unit Gaussians 4 apart (≈2% Bayes error): learnable, not trivial, about the
 *   same difficulty at every d (σ = 1 at d = 8). Measured with a nearest-centroid rule:
 *   ≈97% test accuracy for 2 classes, 77-88% for 10 classes at d = 8..784 (a low d like 2
 *   varies more with the drawn means). x is not clipped to [0, 1].
 * teacher: x ~ N(0, 1)^d with d = synth->dim, k = synth->classes outputs; t (n × k) and y
 *   are allocated ZEROED: the CALLER must fill t from a teacher network and set y to the
 *   argmax of t, since the network lives in the nn engine, on which the data layer does
 *   not depend.
 * Unknown names are MLI_EUSAGE; missing or malformed files MLI_EINPUT naming the file. */
int mli_dataset_load(const char *dset_name, const char *data_dir, int datasize,
                     const mli_synth_opts *synth, uint64_t seed, mli_dataset *ds);
/* Frees everything and zeroes ds; safe on a zeroed ds. */
void mli_dataset_free(mli_dataset *ds);

/* Replace a proportion p of the training labels by uniformly random labels (seeded),
 * as the reference does for random_label_proportion: round(p·n) distinct examples are
 * chosen uniformly and each gets a label drawn uniformly from [0, k), which may be its old
 * one. p is clamped to [0, 1]. Only y changes: t, if any, is left alone. */
void mli_data_corrupt_labels(mli_data *d, double p, uint64_t seed);

/* Per-channel normalisation of images of shape C×H×W (row-major, channel-major):
 * x[c, ·] = (x[c, ·] − mean[c]) / std[c], with the constants rounded to float32 and the
 * subtraction and the division each rounded to mli_real: PyTorch's Normalize on float
 * tensors, and the Sub and Div of an exported model (docs/onnx.md), bit for bit. */
void mli_data_normalize(mli_data *d, const int *shape, const double *mean, const double *std);

/* The CIFAR-10 channel means and standard deviations of the reference's transforms
 * (R, G, B), applied to CIFAR-10 for the convolutional architectures. */
extern const double mli_cifar10_mean[3], mli_cifar10_std[3];

/* Augmentation of B images of shape C×H×W in place: each is shifted by a random crop of the
 * image padded by `pad` zeros on every side (offsets uniform in [0, 2·pad]) and flipped left
 * to right with probability 1/2. Deterministic in (seed, stream): the trainer passes the
 * run's seed and a stream made of the epoch and the batch, so a resumed run draws the same.
 * work: C·H·W reals. */
void mli_data_augment(mli_real *x, int B, const int *shape, int pad, uint64_t seed, uint64_t stream,
                      mli_real *work);

#endif
