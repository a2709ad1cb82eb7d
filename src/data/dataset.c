#include "data/dataset.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* gsl_randist.h pulls in GSL's cblas declarations, which clash with OpenBLAS's cblas.h
 * (included by real.h); OpenBLAS's declare the same enums, so skip GSL's. */
#define __GSL_CBLAS_H__
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "data/idx.h"
#include "io/atomic.h"
#include "io/err.h"

#define KNOWN_NAMES "fashionmnist, mnist, cifar10, gaussmix, teacher"
#define SYNTH_DEFAULT_N 60000
#define CIFAR_D 3072
#define CIFAR_REC (1 + CIFAR_D)
#define CIFAR_MAX_FILE ((size_t)512 << 20)

/* Independent random streams drawn from one user seed. */
enum { STREAM_MEANS, STREAM_TRAIN, STREAM_TEST, STREAM_LABELS, STREAM_AUGMENT };

const char *mli_dataset_folder(const char *dset_name)
{
    static const char *const map[][2] = {
        {"fashionmnist", "fashion-mnist"}, {"mnist", "mnist"}, {"cifar10", "cifar-10"}};
    for (size_t i = 0; dset_name && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dset_name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static int is_synthetic(const char *name)
{
    return strcmp(name, "gaussmix") == 0 || strcmp(name, "teacher") == 0;
}

static int unknown_name(const char *name)
{
    return mli_err(MLI_EUSAGE, "unknown data set '%s': expected one of %s", name ? name : "(null)",
                   KNOWN_NAMES);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether cand holds the data set (judged by its first training file); the folder that
 * holds the files goes to dir, which for CIFAR-10 may be the archive's own subfolder. */
static int holds_files(const char *name, const char *cand, char *dir, size_t dirlen)
{
    static const char *const sub[] = {"", "/cifar-10-batches-bin"};
    static const char *const idx[] = {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"};
    int cifar = strcmp(name, "cifar10") == 0;
    char path[4096 + 64];
    for (int i = 0; i < 2; i++) {
        const char *s = cifar ? sub[i] : "";
        snprintf(path, sizeof path, "%s%s/%s", cand, s, cifar ? "data_batch_1.bin" : idx[i]);
        if (is_file(path))
            return snprintf(dir, dirlen, "%s%s", cand, s) < (int)dirlen;
    }
    return 0;
}

static const char *how_to_get(const char *name, char *buf, size_t len)
{
    const char *folder = mli_dataset_folder(name);
    if (strcmp(name, "fashionmnist") == 0)
        snprintf(buf, len, "apt-get install dataset-fashion-mnist (or put the files in data/%s/, "
                           "see data/README.md)", folder);
    else
        snprintf(buf, len, "download the standard files into data/%s/ (see data/README.md)",
                 folder);
    return buf;
}

int mli_dataset_locate(const char *dset_name, const char *data_dir, char *dir, size_t dirlen)
{
    const char *folder = mli_dataset_folder(dset_name);
    if (!folder) {
        if (dset_name && is_synthetic(dset_name))
            return mli_err(MLI_EUSAGE, "%s is generated from the seed: it has no files", dset_name);
        return unknown_name(dset_name);
    }
    const char *want = strcmp(dset_name, "cifar10") == 0
                           ? "data_batch_1.bin (nor cifar-10-batches-bin/data_batch_1.bin)"
                           : "train-images-idx3-ubyte(.gz)";
    char hint[256];
    how_to_get(dset_name, hint, sizeof hint);
    if (data_dir && *data_dir) {
        if (holds_files(dset_name, data_dir, dir, dirlen))
            return MLI_OK;
        return mli_err(MLI_EINPUT, "%s: the data directory %s/ has no %s; to get the data: %s",
                       dset_name, data_dir, want, hint);
    }
    char cand[3][4096];
    int nc = 0;
    const char *root = getenv("MLI_DATA_ROOT");
    if (root && *root)
        snprintf(cand[nc++], sizeof cand[0], "%s/%s", root, folder);
    snprintf(cand[nc++], sizeof cand[0], "./data/%s", folder);
    snprintf(cand[nc++], sizeof cand[0], "/usr/share/datasets/%s", folder);
    for (int i = 0; i < nc; i++)
        if (holds_files(dset_name, cand[i], dir, dirlen))
            return MLI_OK;
    char looked[3 * 4096 + 16] = "";
    for (int i = 0; i < nc; i++) {
        strcat(looked, i ? ", " : "");
        strcat(looked, cand[i]);
        strcat(looked, "/");
    }
    return mli_err(MLI_EINPUT, "%s: data set not found: no %s in %s%s; to get it: %s", dset_name,
                   want, looked, root && *root ? "" : " ($MLI_DATA_ROOT is not set)", hint);
}

static void add_file(mli_dataset *ds, const char *path)
{
    struct stat st;
    if (ds->nfiles >= MLI_DATASET_MAX_FILES || stat(path, &st) != 0)
        return;
    mli_data_file *f = &ds->files[ds->nfiles++];
    snprintf(f->path, sizeof f->path, "%s", path);
    f->bytes = (long long)st.st_size;
}

static void alloc_data(mli_data *d, int n, int dim, int k, int targets)
{
    d->n = n;
    d->d = dim;
    d->k = k;
    d->x = mli_malloc((size_t)n * (size_t)dim * sizeof *d->x);
    d->y = mli_calloc((size_t)n, sizeof *d->y);
    d->t = targets ? mli_calloc((size_t)n * (size_t)k, sizeof *d->t) : NULL;
}

/* Bytes to [0,1] through a table: exact value/255 without a division per pixel. */
static void scale_pixels(mli_real *x, const unsigned char *b, size_t n)
{
    mli_real lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (mli_real)v / (mli_real)255;
    for (size_t i = 0; i < n; i++)
        x[i] = lut[b[i]];
}

/* dir/base.gz, else dir/base; checked to have ndim dimensions and recorded in ds->files. */
static int idx_file(mli_dataset *ds, const char *dir, const char *base, int ndim, mli_idx *x,
                    char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s.gz", dir, base);
    if (!is_file(path))
        snprintf(path, pathlen, "%s/%s", dir, base);
    if (!is_file(path))
        return mli_err(MLI_EINPUT, "%s/%s.gz: missing (and no uncompressed %s either)", dir, base,
                       base);
    int rc = mli_idx_read(path, x);
    if (rc)
        return rc;
    if (x->ndim != ndim) {
        rc = mli_err(MLI_EINPUT, "%s: %d dimensions, expected %d (%s)", path, x->ndim, ndim,
                     ndim == 3 ? "count × rows × cols" : "count");
        mli_idx_free(x);
        return rc;
    }
    add_file(ds, path);
    return MLI_OK;
}

/* One split of an IDX data set (prefix "train" or "t10k"); keep > 0 keeps the first keep. */
static int idx_split(mli_dataset *ds, const char *dir, const char *prefix, int keep, mli_data *out)
{
    char base[64], ipath[4200], lpath[4200];
    mli_idx im = {0}, lb = {0};
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    int rc = idx_file(ds, dir, base, 3, &im, ipath, sizeof ipath);
    if (rc)
        return rc;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    rc = idx_file(ds, dir, base, 1, &lb, lpath, sizeof lpath);
    if (rc)
        goto done;
    uint32_t n = im.dims[0];
    size_t d = (size_t)im.dims[1] * im.dims[2];
    ds->shape[0] = 1;
    ds->shape[1] = (int)im.dims[1];
    ds->shape[2] = (int)im.dims[2];
    if (lb.dims[0] != n) {
        rc = mli_err(MLI_EINPUT, "%s holds %u images but %s holds %u labels", ipath, (unsigned)n,
                     lpath, (unsigned)lb.dims[0]);
        goto done;
    }
    if (n > INT_MAX || d > INT_MAX) {
        rc = mli_err(MLI_EINPUT, "%s: %u images of %zu pixels is more than this program handles",
                     ipath, (unsigned)n, d);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        if (lb.data[i] >= 10) {
            rc = mli_err(MLI_EINPUT, "%s: label %d of example %u is not a class in 0..9", lpath,
                         lb.data[i], (unsigned)i);
            goto done;
        }
    if (keep > 0 && (uint32_t)keep > n) {
        rc = mli_err(MLI_EUSAGE, "datasize %d is more than the %u training examples in %s", keep,
                     (unsigned)n, ipath);
        goto done;
    }
    int m = keep > 0 ? keep : (int)n;
    alloc_data(out, m, (int)d, 10, 0);
    scale_pixels(out->x, im.data, (size_t)m * d);
    for (int i = 0; i < m; i++)
        out->y[i] = lb.data[i];
done:
    mli_idx_free(&im);
    mli_idx_free(&lb);
    return rc;
}

/* Append up to want records (want < 0: all) of one CIFAR-10 binary batch to out. */
static int cifar_file(mli_dataset *ds, const char *dir, const char *base, int want, mli_data *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, base);
    unsigned char *buf;
    size_t len;
    int rc = mli_file_read(path, CIFAR_MAX_FILE, &buf, &len);
    if (rc)
        return rc;
    size_t nrec = len / CIFAR_REC;
    if (len == 0 || len % CIFAR_REC != 0) {
        free(buf);
        return mli_err(MLI_EINPUT, "%s: %zu bytes is not a whole number of %d-byte records "
                                   "(1 label byte + %d pixel bytes)",
                       path, len, CIFAR_REC, CIFAR_D);
    }
    for (size_t i = 0; i < nrec; i++)
        if (buf[i * CIFAR_REC] >= 10) {
            rc = mli_err(MLI_EINPUT, "%s: label %d of record %zu is not a class in 0..9", path,
                         buf[i * CIFAR_REC], i);
            free(buf);
            return rc;
        }
    size_t take = want >= 0 && (size_t)want < nrec ? (size_t)want : nrec;
    size_t n0 = (size_t)out->n;
    if (n0 + take > INT_MAX / CIFAR_D) {
        free(buf);
        return mli_err(MLI_EINPUT, "%s: too many records", path);
    }
    out->x = mli_realloc(out->x, (n0 + take) * CIFAR_D * sizeof *out->x);
    out->y = mli_realloc(out->y, (n0 + take) * sizeof *out->y);
    for (size_t i = 0; i < take; i++) {
        out->y[n0 + i] = buf[i * CIFAR_REC];
        scale_pixels(out->x + (n0 + i) * CIFAR_D, buf + i * CIFAR_REC + 1, CIFAR_D);
    }
    out->n = (int)(n0 + take);
    out->d = CIFAR_D;
    out->k = 10;
    free(buf);
    add_file(ds, path);
    return MLI_OK;
}

static int load_cifar(mli_dataset *ds, const char *dir, int keep)
{
    ds->shape[0] = 3;
    ds->shape[1] = ds->shape[2] = 32;
    for (int b = 1; b <= 5 && !(keep > 0 && ds->train.n >= keep); b++) {
        char base[32];
        snprintf(base, sizeof base, "data_batch_%d.bin", b);
        int rc = cifar_file(ds, dir, base, keep > 0 ? keep - ds->train.n : -1, &ds->train);
        if (rc)
            return rc;
    }
    if (keep > 0 && ds->train.n < keep)
        return mli_err(MLI_EUSAGE, "datasize %d is more than the %d training examples in %s/",
                       keep, ds->train.n, dir);
    return cifar_file(ds, dir, "test_batch.bin", -1, &ds->test);
}

static int load_idx(mli_dataset *ds, const char *dir, int keep)
{
    int rc = idx_split(ds, dir, "train", keep, &ds->train);
    if (!rc)
        rc = idx_split(ds, dir, "t10k", 0, &ds->test);
    if (!rc && ds->test.d != ds->train.d)
        rc = mli_err(MLI_EINPUT, "%s/: test images have %d pixels, training images %d", dir,
                     ds->test.d, ds->train.d);
    return rc;
}

/* mt19937 keeps only 32 bits of its seed, and seeds s and s+1 would give overlapping
 * sequences if used directly for two streams: mix (seed, stream) through splitmix64. */
static gsl_rng *rng_new(uint64_t seed, int stream)
{
    uint64_t z = seed + (uint64_t)(stream + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) {
        fprintf(stderr, "mli: out of memory (random number generator)\n");
        exit(MLI_EFAIL);
    }
    gsl_rng_set(r, (unsigned long)((z ^ (z >> 32)) & 0xffffffffu));
    return r;
}

static void gaussmix_fill(mli_data *d, const double *means, double sigma, gsl_rng *r)
{
    for (int i = 0; i < d->n; i++) {
        int c = (int)gsl_rng_uniform_int(r, (unsigned long)d->k);
        d->y[i] = c;
        for (int j = 0; j < d->d; j++)
            d->x[(size_t)i * d->d + j] =
                (mli_real)(means[(size_t)c * d->d + j] + gsl_ran_gaussian_ziggurat(r, sigma));
    }
}

static void normal_fill(mli_data *d, gsl_rng *r)
{
    for (size_t i = 0; i < (size_t)d->n * d->d; i++)
        d->x[i] = (mli_real)gsl_ran_gaussian_ziggurat(r, 1.0);
}

static int load_synth(mli_dataset *ds, int datasize, const mli_synth_opts *o, uint64_t seed)
{
    int gm = strcmp(ds->name, "gaussmix") == 0;
    if (!o)
        return mli_err(MLI_EUSAGE, "%s: no parameters given for the synthetic data set", ds->name);
    if (o->dim < 1 || o->classes < (gm ? 2 : 1) || o->ntest < 1)
        return mli_err(MLI_EUSAGE, "%s: needs dim >= 1, classes >= %d and ntest >= 1 "
                                   "(got %d, %d, %d)",
                       ds->name, gm ? 2 : 1, o->dim, o->classes, o->ntest);
    int n = datasize > 0 ? datasize : SYNTH_DEFAULT_N;
    alloc_data(&ds->train, n, o->dim, o->classes, !gm);
    alloc_data(&ds->test, o->ntest, o->dim, o->classes, !gm);
    gsl_rng *rtrain = rng_new(seed, STREAM_TRAIN), *rtest = rng_new(seed, STREAM_TEST);
    if (gm) {
        gsl_rng *rm = rng_new(seed, STREAM_MEANS);
        double *means = mli_malloc((size_t)o->classes * o->dim * sizeof *means);
        for (size_t i = 0; i < (size_t)o->classes * o->dim; i++)
            means[i] = gsl_ran_gaussian_ziggurat(rm, 1.0);
        double sigma = sqrt(o->dim / 8.0); /* see dataset.h */
        gaussmix_fill(&ds->train, means, sigma, rtrain);
        gaussmix_fill(&ds->test, means, sigma, rtest);
        free(means);
        gsl_rng_free(rm);
    } else {
        normal_fill(&ds->train, rtrain);
        normal_fill(&ds->test, rtest);
    }
    gsl_rng_free(rtrain);
    gsl_rng_free(rtest);
    return MLI_OK;
}

int mli_dataset_load(const char *dset_name, const char *data_dir, int datasize,
                     const mli_synth_opts *synth, uint64_t seed, mli_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    if (!dset_name || strlen(dset_name) >= sizeof ds->name ||
        (!is_synthetic(dset_name) && !mli_dataset_folder(dset_name)))
        return unknown_name(dset_name);
    strcpy(ds->name, dset_name);
    int rc;
    if (is_synthetic(dset_name)) {
        rc = load_synth(ds, datasize, synth, seed);
    } else {
        char dir[4096];
        rc = mli_dataset_locate(dset_name, data_dir, dir, sizeof dir);
        if (!rc)
            rc = strcmp(dset_name, "cifar10") == 0 ? load_cifar(ds, dir, datasize)
                                                   : load_idx(ds, dir, datasize);
    }
    if (rc)
        mli_dataset_free(ds);
    return rc;
}

static void data_free(mli_data *d)
{
    free(d->x);
    free(d->y);
    free(d->t);
}

void mli_dataset_free(mli_dataset *ds)
{
    data_free(&ds->train);
    data_free(&ds->test);
    memset(ds, 0, sizeof *ds);
}

void mli_data_corrupt_labels(mli_data *d, double p, uint64_t seed)
{
    if (!(p > 0) || d->n <= 0 || d->k <= 0) /* also catches NaN */
        return;
    size_t n = (size_t)d->n, m = (size_t)llround((p < 1 ? p : 1) * (double)n);
    if (m == 0)
        return;
    int *all = mli_malloc(n * sizeof *all), *pick = mli_malloc(m * sizeof *pick);
    for (size_t i = 0; i < n; i++)
        all[i] = (int)i;
    gsl_rng *r = rng_new(seed, STREAM_LABELS);
    gsl_ran_choose(r, pick, m, all, n, sizeof *all);
    for (size_t i = 0; i < m; i++)
        d->y[pick[i]] = (int)gsl_rng_uniform_int(r, (unsigned long)d->k);
    gsl_rng_free(r);
    free(all);
    free(pick);
}

const double mli_cifar10_mean[3] = {0.4914, 0.4822, 0.4465};
const double mli_cifar10_std[3] = {0.2023, 0.1994, 0.2010};

void mli_data_normalize(mli_data *d, const int *shape, const double *mean, const double *std)
{
    size_t hw = (size_t)shape[1] * shape[2];
    for (int i = 0; i < d->n; i++)
        for (int c = 0; c < shape[0]; c++) {
            mli_real *x = d->x + (size_t)i * d->d + (size_t)c * hw;
            const mli_real m = (mli_real)(float)mean[c], s = (mli_real)(float)std[c];
            for (size_t j = 0; j < hw; j++)
                x[j] = (x[j] - m) / s;
        }
}

void mli_data_augment(mli_real *x, int B, const int *shape, int pad, uint64_t seed, uint64_t stream,
                      mli_real *work)
{
    int C = shape[0], H = shape[1], W = shape[2];
    size_t d = (size_t)C * H * W;
    gsl_rng *r = rng_new(seed ^ (stream * 0xD1B54A32D192ED03ull), STREAM_AUGMENT);
    for (int i = 0; i < B; i++) {
        /* out[c, h, w] = in[c, h + dy − pad, w' + dx − pad], w' = W − 1 − w when flipped */
        int dy = (int)gsl_rng_uniform_int(r, (unsigned long)(2 * pad + 1));
        int dx = (int)gsl_rng_uniform_int(r, (unsigned long)(2 * pad + 1));
        int flip = (int)gsl_rng_uniform_int(r, 2);
        mli_real *img = x + (size_t)i * d;
        memcpy(work, img, sizeof(mli_real) * d);
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    int sh = h + dy - pad, sw = (flip ? W - 1 - w : w) + dx - pad;
                    img[((size_t)c * H + h) * W + w] =
                        sh < 0 || sh >= H || sw < 0 || sw >= W ? 0 : work[((size_t)c * H + sh) * W + sw];
                }
    }
    gsl_rng_free(r);
}
