#include "nn/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"

/* A convolutional architecture's keys (FCNet files keep exactly the keys they always had):
 * mli.arch, mli.depth, mli.width, mli.input_shape "C,H,W", mli.num_classes. */
static void cnn_meta_add(mli_st_writer *w, const mli_arch *a)
{
    char buf[64];
    mli_st_add_meta(w, "mli.arch", mli_arch_kind_name(a->kind));
    snprintf(buf, sizeof buf, "%d", a->depth);
    mli_st_add_meta(w, "mli.depth", buf);
    snprintf(buf, sizeof buf, "%d", a->width);
    mli_st_add_meta(w, "mli.width", buf);
    snprintf(buf, sizeof buf, "%d,%d,%d", a->in_shape.d[0], a->in_shape.d[1], a->in_shape.d[2]);
    mli_st_add_meta(w, "mli.input_shape", buf);
    snprintf(buf, sizeof buf, "%d", a->nout);
    mli_st_add_meta(w, "mli.num_classes", buf);
}

void mli_model_add(mli_st_writer *w, const mli_arch *a, const mli_real *theta, const mli_real *bufs)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%d", a->input_size);
    mli_st_add_meta(w, "mli.input_size", buf);
    if (a->kind != MLI_ARCH_FCNET)
        cnn_meta_add(w, a);
    else {
        mli_hsizes_format(a->hsizes, a->nh, buf, sizeof buf);
        mli_st_add_meta(w, "mli.hsizes", buf);
    }
    mli_st_add_meta(w, "mli.act_fn", mli_act_name(a->act));
    mli_st_add_meta(w, "mli.use_batchnorm", a->use_bn ? "true" : "false");
    mli_st_add_meta(w, "mli.loss_fn", mli_loss_name(a->loss));
    mli_st_add_meta(w, "mli.version", MLI_VERSION);
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *t = &a->tensors[i];
        int64_t shape[MLI_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++)
            shape[d] = t->shape[d];
        mli_st_add_real(w, t->name, t->ndim, shape, (t->is_buffer ? bufs : theta) + t->off);
    }
}

static int meta_int(const mli_st_file *f, const char *label, const char *key, int *out)
{
    const char *v = mli_st_meta(f, key);
    if (!v)
        return mli_err(MLI_EINPUT, "%s: metadata has no '%s' (mli needs the architecture in __metadata__; "
                       "scripts/torch2safetensors.py adds it)", label, key);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < 1 || x > 1 << 24)
        return mli_err(MLI_EINPUT, "%s: metadata '%s' = '%s' is not a positive integer", label, key, v);
    *out = (int)x;
    return MLI_OK;
}

static int meta_str(const mli_st_file *f, const char *label, const char *key, const char **out)
{
    *out = mli_st_meta(f, key);
    if (!*out)
        return mli_err(MLI_EINPUT, "%s: metadata has no '%s'", label, key);
    return MLI_OK;
}

static int cnn_meta_arch(const mli_st_file *f, const char *label, const char *arch_s, mli_arch *a);

/* The keys every architecture records: mli.input_size, mli.act_fn, mli.use_batchnorm, mli.loss_fn. */
typedef struct {
    int input, bn;
    mli_act act;
    mli_loss loss;
} meta_common;

static int meta_common_read(const mli_st_file *f, const char *label, meta_common *m)
{
    const char *act_s, *bn_s, *loss_s;
    int rc = meta_int(f, label, "mli.input_size", &m->input);
    if (!rc)
        rc = meta_str(f, label, "mli.act_fn", &act_s);
    if (!rc)
        rc = meta_str(f, label, "mli.use_batchnorm", &bn_s);
    if (!rc)
        rc = meta_str(f, label, "mli.loss_fn", &loss_s);
    if (rc)
        return rc;
    if (mli_act_parse(act_s, &m->act) || mli_loss_parse(loss_s, &m->loss))
        return mli_err(MLI_EINPUT, "%s: metadata: %s", label, mli_errmsg());
    if (strcmp(bn_s, "true") && strcmp(bn_s, "false"))
        return mli_err(MLI_EINPUT, "%s: metadata 'mli.use_batchnorm' = '%s' is not true or false", label, bn_s);
    m->bn = !strcmp(bn_s, "true");
    return MLI_OK;
}

int mli_model_arch(const mli_st_file *f, const char *label, mli_arch *a)
{
    const char *arch_s = mli_st_meta(f, "mli.arch");
    if (arch_s && strcmp(arch_s, "fcnet"))
        return cnn_meta_arch(f, label, arch_s, a);
    int h[MLI_MAX_HIDDEN], nh = 0;
    const char *hs;
    meta_common m;
    int rc = meta_common_read(f, label, &m);
    if (!rc)
        rc = meta_str(f, label, "mli.hsizes", &hs);
    if (rc)
        return rc;
    if (mli_hsizes_parse(hs, h, &nh))
        return mli_err(MLI_EINPUT, "%s: metadata: %s", label, mli_errmsg());
    int input = m.input, bn = m.bn;
    mli_act act = m.act;
    mli_loss loss = m.loss;
    if (mli_arch_init(a, input, h, nh, act, bn, loss)) {
        return mli_err(MLI_EINPUT, "%s: metadata describes an impossible network: %s", label, mli_errmsg());
    }
    return MLI_OK;
}

static int tolerated(const char *name)
{
    size_t n = strlen(name);
    const char *nbt = "num_batches_tracked";
    return !strncmp(name, "optim.", 6) || !strncmp(name, "train.", 6) ||
           (n > strlen(nbt) && !strcmp(name + n - strlen(nbt), nbt));
}

static int known_tensor(const mli_arch *a, const char *name)
{
    for (int i = 0; i < a->ntensors; i++)
        if (!strcmp(a->tensors[i].name, name))
            return 1;
    return 0;
}

int mli_model_read(const mli_st_file *f, const char *label, const mli_arch *a, mli_real *theta,
                   mli_real *bufs)
{
    for (int i = 0; i < f->ntensors; i++)
        if (!known_tensor(a, f->tensors[i].name) && !tolerated(f->tensors[i].name))
            return mli_err(MLI_EINPUT, "%s: tensor '%s' does not belong to the architecture in the metadata",
                           label, f->tensors[i].name);
    for (int i = 0; i < a->ntensors; i++) {
        const mli_tensor *t = &a->tensors[i];
        int64_t shape[MLI_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++)
            shape[d] = t->shape[d];
        mli_real *dst = (t->is_buffer ? bufs : theta) + t->off;
        int rc = mli_st_get_real(f, label, t->name, t->ndim, shape, dst);
        if (rc)
            return rc;
        for (size_t j = 0; j < t->numel; j++)
            if (!isfinite(dst[j]))
                return mli_err(MLI_EINPUT, "%s: tensor '%s' holds a non-finite value at index %zu", label,
                               t->name, j);
        if (t->is_buffer && strstr(t->name, "running_var"))
            for (size_t j = 0; j < t->numel; j++)
                if (dst[j] < 0)
                    return mli_err(MLI_EINPUT, "%s: tensor '%s' holds a negative variance", label, t->name);
    }
    return MLI_OK;
}

int mli_model_save(const char *path, const mli_arch *a, const mli_real *theta, const mli_real *bufs)
{
    mli_st_writer *w = mli_st_writer_new();
    mli_model_add(w, a, theta, bufs);
    int rc = mli_st_write(w, path);
    mli_st_writer_free(w);
    return rc;
}

int mli_model_load(const char *path, mli_arch *a, mli_real **theta, mli_real **bufs)
{
    mli_st_file f;
    int rc = mli_st_read(path, &f);
    if (rc)
        return rc;
    rc = mli_model_arch(&f, path, a);
    if (!rc) {
        *theta = mli_malloc(sizeof(mli_real) * a->nparams);
        *bufs = mli_malloc(sizeof(mli_real) * (a->nbuffers + 1));
        rc = mli_model_read(&f, path, a, *theta, *bufs);
        if (rc) {
            free(*theta);
            free(*bufs);
            *theta = *bufs = NULL;
        }
    }
    mli_st_free(&f);
    return rc;
}

/* The graph of a file written with mli.arch = lenet, vgg or resnet. */
static int cnn_meta_arch(const mli_st_file *f, const char *label, const char *arch_s, mli_arch *a)
{
    int kind, depth = 0, width, nout, sh[3];
    const char *shape_s;
    meta_common m;
    if (mli_arch_kind_parse(arch_s, &kind))
        return mli_err(MLI_EINPUT, "%s: metadata: %s", label, mli_errmsg());
    int rc = meta_common_read(f, label, &m);
    int input = m.input;
    if (!rc && kind != MLI_ARCH_LENET)
        rc = meta_int(f, label, "mli.depth", &depth);
    if (!rc)
        rc = meta_int(f, label, "mli.width", &width);
    if (!rc)
        rc = meta_int(f, label, "mli.num_classes", &nout);
    if (!rc)
        rc = meta_str(f, label, "mli.input_shape", &shape_s);
    if (rc)
        return rc;
    char tail;
    if (sscanf(shape_s, "%d,%d,%d%c", &sh[0], &sh[1], &sh[2], &tail) != 3 || sh[0] < 1 || sh[1] < 1 || sh[2] < 1 ||
        (long)sh[0] * sh[1] * sh[2] != input)
        return mli_err(MLI_EINPUT, "%s: metadata 'mli.input_shape' = '%s' is not C,H,W of mli.input_size = %d", label,
                       shape_s, input);
    if (mli_arch_cnn(a, (mli_arch_kind)kind, sh, depth, width, m.act, m.bn, m.loss, nout))
        return mli_err(MLI_EINPUT, "%s: metadata describes an impossible network: %s", label, mli_errmsg());
    return MLI_OK;
}
