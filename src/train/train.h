/* Training a run directory (README: "The run directory"): config.json, init.safetensors,
 * checkpoint.safetensors, train.tsv, final.safetensors, traj/epoch_K.safetensors. */
#ifndef MLI_TRAIN_H
#define MLI_TRAIN_H

#include "data/dataset.h"
#include "nn/arch.h"
#include "train/config.h"
#include "train/optim.h"

#include <gsl/gsl_rng.h>

typedef struct {
    const char *out;      /* run directory */
    const char *data_dir; /* --data-dir, or NULL */
    int force;            /* retrain a finished run */
    int progress;         /* 1 always, -1 never, 0 when stderr is a terminal */
    int threads;          /* recorded in config.json (0: BLAS default) */
} mli_train_opts;

/* Train, resuming from the checkpoint of an unfinished run with the same configuration; a
 * run that starts from scratch (--force, or nothing to resume) first removes every file mli
 * wrote into the directory (train/rundir.h). The directory is locked throughout (io/lock.h).
 * MLI_OK when done or stopped early; MLI_EFAIL when training diverged (status diverged,
 * what was computed so far kept), when a write failed (status stays running: the same call
 * resumes), when another process holds the directory, or when a key asks for more memory
 * than there is; MLI_EUSAGE / MLI_EINPUT as usual. */
int mli_train_run(const mli_config *cfg, const mli_train_opts *o);

/* The data of a configuration: the data set with datasize and label corruption applied,
 * teacher targets filled in. */
int mli_train_load_data(const mli_config *cfg, const char *data_dir, mli_dataset *ds);
/* The architecture of a configuration on that data (checks output size against classes). */
int mli_train_arch(const mli_config *cfg, const mli_dataset *ds, mli_arch *a);
/* The per-channel normalisation of CIFAR-10 for the convolutional architectures (arch, an
 * mli_arch_kind), with the reference's fixed constants (data/dataset.h), applied once to the
 * loaded set (mli_train_load_data does it for cfg->arch); nothing for other sets or FCNets. */
void mli_train_prepare_images(int arch, const char *dset_name, mli_dataset *ds);
/* That normalisation's constants: the number of channels C (0: none) and C means and standard
 * deviations into mean and std (MLI_NORM_MAXC each). The export writes them into the model
 * (mli_arch.norm_c), whose input is then the data set's pixels/255. */
int mli_train_image_norm(int arch, const char *dset_name, double *mean, double *std);

/* Checkpoint: the model tensors plus the optimizer state (optim.m, optim.v, step), the
 * epoch and the shuffling RNG's state, everything needed to continue bit for bit. */
int mli_checkpoint_save(const char *path, const mli_arch *a, const mli_real *theta,
                        const mli_real *bufs, const mli_optim *o, int epoch, const gsl_rng *rng);
/* o must be initialised with the run's optimizer; rng allocated with gsl_rng_mt19937. */
int mli_checkpoint_load(const char *path, const mli_arch *a, mli_real *theta, mli_real *bufs,
                        mli_optim *o, int *epoch, gsl_rng *rng);

#endif
