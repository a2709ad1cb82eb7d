/* The data a configuration trains on, and the architecture that goes with it. */
#include "train/train.h"

#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "io/alloc.h"
#include "io/err.h"
#include "nn/net.h"
#include "train/init.h"

/* Targets of the teacher set: a fixed random tanh network dim → 32 → outputs with PyTorch's
 * default initialisation, seeded from seed + 1000003 so it differs from the student's init. */
static void teacher_targets(mli_data *d, long seed)
{
    const int h[2] = {32, d->k};
    mli_arch a;
    mli_arch_init(&a, d->d, h, 2, MLI_ACT_TANH, 0, MLI_LOSS_MSE);
    mli_real *theta = mli_malloc(sizeof(mli_real) * a.nparams);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, (unsigned long)seed + 1000003ul);
    mli_init_params(&a, MLI_INIT_DEFAULT, rng, theta, NULL);
    mli_ws *w = mli_ws_new(&a, 256);
    for (int i0 = 0; i0 < d->n; i0 += 256) {
        int n = d->n - i0 < 256 ? d->n - i0 : 256;
        const mli_real *Z = mli_net_forward(&a, theta, NULL, w, d->x + (size_t)i0 * d->d, n, MLI_MODE_EVAL);
        memcpy(d->t + (size_t)i0 * d->k, Z, sizeof(mli_real) * (size_t)n * d->k);
        for (int i = 0; i < n; i++) {
            const mli_real *z = Z + (size_t)i * d->k;
            int best = 0;
            for (int j = 1; j < d->k; j++)
                best = z[j] > z[best] ? j : best;
            d->y[i0 + i] = best;
        }
    }
    mli_ws_free(w);
    gsl_rng_free(rng);
    free(theta);
}

/* Whether the machine can hold n × dim reals (allocated and freed at once): the synthetic
 * sets' sizes are keys, and a failure should name them. */
static int probe(size_t n, size_t dim, const char *what, const mli_config *cfg, int count)
{
    void *p = mli_alloc_for(n * dim, sizeof(mli_real), "the %s set of %s (%s=%d, synth_dim=%d)", what,
                            cfg->dset_name, *what == 't' && what[1] == 'r' ? "datasize" : "synth_test", count,
                            cfg->synth_dim);
    free(p);
    return p ? MLI_OK : MLI_EFAIL;
}

int mli_train_load_data(const mli_config *cfg, const char *data_dir, mli_dataset *ds)
{
    if (!strcmp(cfg->dset_name, "gaussmix") || !strcmp(cfg->dset_name, "teacher")) {
        int rc = probe((size_t)cfg->datasize, (size_t)cfg->synth_dim, "training", cfg, cfg->datasize);
        if (!rc)
            rc = probe((size_t)cfg->synth_test, (size_t)cfg->synth_dim, "test", cfg, cfg->synth_test);
        if (rc)
            return rc;
    }
    mli_synth_opts synth = {cfg->synth_dim, cfg->synth_classes, cfg->synth_test};
    int rc = mli_dataset_load(cfg->dset_name, data_dir, cfg->datasize, &synth, (uint64_t)cfg->seed, ds);
    if (rc)
        return rc;
    if (!strcmp(cfg->dset_name, "teacher")) {
        teacher_targets(&ds->train, cfg->seed);
        teacher_targets(&ds->test, cfg->seed);
    }
    if (cfg->random_label_proportion > 0)
        mli_data_corrupt_labels(&ds->train, cfg->random_label_proportion, (uint64_t)cfg->seed + 7);
    mli_train_prepare_images(cfg->arch, cfg->dset_name, ds);
    return MLI_OK;
}

int mli_train_image_norm(int arch, const char *dset_name, double *mean, double *std)
{
    /* the reference's transforms for its CIFAR networks: the fixed channel statistics (an
     * FCNet on cifar10 keeps the raw pixels/255, as before; FashionMNIST and MNIST are not
     * normalised) */
    if (arch == MLI_ARCH_FCNET || strcmp(dset_name, "cifar10"))
        return 0;
    memcpy(mean, mli_cifar10_mean, sizeof mli_cifar10_mean);
    memcpy(std, mli_cifar10_std, sizeof mli_cifar10_std);
    return 3;
}

void mli_train_prepare_images(int arch, const char *dset_name, mli_dataset *ds)
{
    double mean[MLI_NORM_MAXC], std[MLI_NORM_MAXC];
    if (mli_train_image_norm(arch, dset_name, mean, std)) {
        mli_data_normalize(&ds->train, ds->shape, mean, std);
        mli_data_normalize(&ds->test, ds->shape, mean, std);
    }
}

int mli_train_arch(const mli_config *cfg, const mli_dataset *ds, mli_arch *a)
{
    if (cfg->arch != MLI_ARCH_FCNET) {
        if (!ds->shape[0])
            return mli_err(MLI_EUSAGE, "arch=%s needs images: %s has no C×H×W shape (use fashionmnist, mnist or cifar10)",
                           mli_arch_kind_name(cfg->arch), cfg->dset_name);
        if (ds->train.t)
            return mli_err(MLI_EUSAGE, "arch=%s: %s is a regression set", mli_arch_kind_name(cfg->arch), cfg->dset_name);
        int depth = cfg->depth ? cfg->depth : mli_arch_default_depth(cfg->arch);
        int width = cfg->width ? cfg->width : mli_arch_default_width(cfg->arch);
        return mli_arch_cnn(a, (mli_arch_kind)cfg->arch, ds->shape, depth, width, cfg->act_fn, cfg->use_batchnorm,
                            cfg->loss_fn, ds->train.k);
    }
    if (cfg->augment)
        return mli_err(MLI_EUSAGE, "augment=true: arch=fcnet reads flat rows; augmentation is for the image "
                       "architectures (arch=lenet, vgg, resnet)");
    int rc = mli_arch_init(a, ds->train.d, cfg->hsizes, cfg->nh, cfg->act_fn, cfg->use_batchnorm,
                           cfg->loss_fn);
    if (rc)
        return rc;
    if (cfg->loss_fn != MLI_LOSS_RECON && a->nout != ds->train.k)
        return mli_err(MLI_EUSAGE, "hsizes: the last size (%d) must equal the number of %s of %s (%d)",
                       a->nout, ds->train.t ? "outputs" : "classes", cfg->dset_name, ds->train.k);
    if (!strcmp(cfg->dset_name, "teacher") && cfg->loss_fn == MLI_LOSS_CE)
        mli_warn("teacher is a regression set: loss_fn=ce trains on the argmax labels only");
    return MLI_OK;
}
