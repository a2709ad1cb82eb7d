/* Checkpoints are model files with extra tensors, so `mli analyze` could read one as a model
 * and a resumed run continues exactly where the last finished epoch left it. */
#include "train/train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "nn/model.h"

int mli_checkpoint_save(const char *path, const mli_arch *a, const mli_real *theta,
                        const mli_real *bufs, const mli_optim *o, int epoch, const gsl_rng *rng)
{
    mli_st_writer *w = mli_st_writer_new();
    mli_model_add(w, a, theta, bufs);
    char buf[64];
    snprintf(buf, sizeof buf, "%d", epoch);
    mli_st_add_meta(w, "train.epoch", buf);
    snprintf(buf, sizeof buf, "%ld", o->step);
    mli_st_add_meta(w, "train.step", buf);
    int64_t n = (int64_t)o->n;
    mli_st_add_real(w, "optim.m", 1, &n, o->m);
    if (o->v)
        mli_st_add_real(w, "optim.v", 1, &n, o->v);
    mli_st_add_u8(w, "train.rng_state", gsl_rng_size(rng), gsl_rng_state(rng));
    int rc = mli_st_write(w, path);
    mli_st_writer_free(w);
    return rc;
}

static int meta_long(const mli_st_file *f, const char *path, const char *key, long *out)
{
    const char *v = mli_st_meta(f, key);
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : -1;
    if (!v || end == v || *end || errno || x < 0)
        return mli_err(MLI_EINPUT, "%s: metadata '%s' missing or not a count", path, key);
    *out = x;
    return MLI_OK;
}

int mli_checkpoint_load(const char *path, const mli_arch *a, mli_real *theta, mli_real *bufs,
                        mli_optim *o, int *epoch, gsl_rng *rng)
{
    mli_st_file f;
    int rc = mli_st_read(path, &f);
    if (rc)
        return rc;
    mli_arch fa;
    long ep = 0, step = 0;
    int64_t n = (int64_t)o->n;
    rc = mli_model_arch(&f, path, &fa);
    if (!rc && (fa.nparams != a->nparams || fa.nbuffers != a->nbuffers || fa.act != a->act))
        rc = mli_err(MLI_EINPUT, "%s: checkpoint of a different network than the configuration", path);
    if (!rc)
        rc = mli_model_read(&f, path, a, theta, bufs);
    if (!rc)
        rc = meta_long(&f, path, "train.epoch", &ep);
    if (!rc)
        rc = meta_long(&f, path, "train.step", &step);
    if (!rc)
        rc = mli_st_get_real(&f, path, "optim.m", 1, &n, o->m);
    if (!rc && o->v)
        rc = mli_st_get_real(&f, path, "optim.v", 1, &n, o->v);
    if (!rc)
        rc = mli_st_get_u8(&f, path, "train.rng_state", gsl_rng_size(rng), gsl_rng_state(rng));
    mli_st_free(&f);
    if (!rc) {
        *epoch = (int)ep;
        o->step = step;
    }
    return rc;
}
