/* The training loop over a run directory. The directory is locked for the whole run
 * (io/lock.h). Order of writes per epoch: train.tsv, the snapshot traj/epoch_K, then the
 * checkpoint; a resumed run keeps only the train.tsv rows its checkpoint covers and rewrites
 * the snapshot, so a kill or a failed write at any point resumes to the same bytes. Only a
 * non-finite loss is divergence: a failed write leaves the run unfinished (status running). */
#include "train/train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_randist.h>

#include "io/alloc.h"
#include "io/atomic.h"
#include "io/err.h"
#include "io/lock.h"
#include "io/text.h"
#include "nn/model.h"
#include "nn/net.h"
#include "train/init.h"
#include "train/reg.h"
#include "train/rundir.h"

typedef struct {
    const mli_config *cfg;
    const mli_train_opts *o;
    mli_dataset ds;
    mli_arch a;
    mli_real *theta0, *theta, *bufs, *grad;
    mli_optim opt;
    gsl_rng *rng;
    mli_ws *ws;
    mli_real *xb, *tb; /* the gathered minibatch */
    mli_real *aug;     /* one image, augmentation's copy */
    int *yb, *perm;
    mli_buf tsv;
    double norm0;
    int epoch; /* epochs completed */
    int saved; /* the epoch of the checkpoint on disk (0: none) */
    int diverged; /* a non-finite loss or parameter: the only failure recorded as diverged */
    mli_progress prog;
} run;

static const char *TSV_HEADER = "epoch\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\twdist\tnorm_wdist\tseconds\n";

static void path_in(char *buf, const run *r, const char *name)
{
    snprintf(buf, 4096, "%s/%s", r->o->out, name);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int write_config(const run *r, const char *status)
{
    cJSON *o = mli_config_to_json(r->cfg);
    cJSON_AddStringToObject(o, "mli_version", MLI_VERSION);
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "epochs_done", r->epoch);
    cJSON_AddNumberToObject(o, "nparams", (double)r->a.nparams);
    cJSON_AddNumberToObject(o, "threads", r->o->threads);
    cJSON_AddStringToObject(o, "engine", MLI_REAL_NAME);
    cJSON *d = cJSON_AddObjectToObject(o, "dataset");
    cJSON_AddNumberToObject(d, "n_train", r->ds.train.n);
    cJSON_AddNumberToObject(d, "n_test", r->ds.test.n);
    cJSON_AddNumberToObject(d, "input_size", r->ds.train.d);
    cJSON_AddNumberToObject(d, "outputs", r->ds.train.k);
    cJSON *files = cJSON_AddArrayToObject(d, "files");
    for (int i = 0; i < r->ds.nfiles; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", r->ds.files[i].path);
        cJSON_AddNumberToObject(f, "bytes", (double)r->ds.files[i].bytes);
        cJSON_AddItemToArray(files, f);
    }
    char p[4096];
    path_in(p, r, "config.json");
    int rc = mli_json_write(p, o);
    cJSON_Delete(o);
    return rc;
}

/* An existing run directory: refuse a finished run without --force, resume an unfinished one
 * only if its configuration is ours. Returns 1 in *resume when a checkpoint should be read. */
static int inspect_dir(run *r, int *resume)
{
    char p[4096];
    *resume = 0;
    path_in(p, r, "config.json");
    if (!file_exists(p))
        return MLI_OK;
    cJSON *old;
    int rc = mli_json_read(p, &old);
    if (rc)
        return rc;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(old, "status");
    char status[32];
    snprintf(status, sizeof status, "%s", cJSON_IsString(st) ? st->valuestring : "?");
    mli_config prev;
    rc = mli_config_from_json(&prev, old, p);
    cJSON_Delete(old);
    if (rc)
        return rc;
    if (r->o->force)
        return MLI_OK;
    cJSON *a = mli_config_to_json(&prev), *b = mli_config_to_json(r->cfg);
    int same = cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    if (strcmp(status, "running"))
        return mli_err(MLI_EUSAGE, "%s: the run directory holds a finished run (status %s)%s; use --force to "
                       "train %s (it deletes the old run's model, analysis and report), or another directory",
                       r->o->out, status, same ? "" : " with a different configuration",
                       same ? "it again" : "these keys there");
    if (!same)
        return mli_err(MLI_EUSAGE, "%s: holds an unfinished run with a different configuration; "
                       "give the same keys to resume it, or --force to start again", r->o->out);
    path_in(p, r, "checkpoint.safetensors");
    *resume = file_exists(p);
    return MLI_OK;
}

/* train.tsv rows up to the checkpoint's epoch. */
static int reload_tsv(run *r)
{
    char p[4096];
    path_in(p, r, "train.tsv");
    unsigned char *buf;
    size_t n;
    mli_buf_printf(&r->tsv, "%s", TSV_HEADER);
    if (mli_file_read(p, 1u << 30, &buf, &n))
        return MLI_OK; /* no table yet: nothing to keep */
    char *save, *line = strtok_r((char *)buf, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        int ep = atoi(line);
        if (ep >= 1 && ep <= r->epoch)
            mli_buf_printf(&r->tsv, "%s\n", line);
    }
    free(buf);
    return MLI_OK;
}

/* The buffers whose sizes the keys choose, before anything is written: a size the machine
 * cannot give fails naming the keys, with the run directory untouched. */
static int alloc_all(run *r, int B)
{
    const mli_arch *a = &r->a;
    const mli_config *c = r->cfg;
    char hs[256];
    mli_config_get(c, "hsizes", hs, sizeof hs);
    size_t np = a->nparams, nb = a->nbuffers + 1;
    if (!(r->theta0 = mli_alloc_for(np, sizeof(mli_real), "the parameters theta0 (hsizes=%s)", hs)) ||
        !(r->theta = mli_alloc_for(np, sizeof(mli_real), "the parameters theta (hsizes=%s)", hs)) ||
        !(r->grad = mli_alloc_for(np, sizeof(mli_real), "the gradient (hsizes=%s)", hs)) ||
        !(r->bufs = mli_alloc_for(nb, sizeof(mli_real), "the batch-norm buffers (hsizes=%s)", hs)))
        return MLI_EFAIL;
    /* the optimizer state: one or two more copies of the parameters */
    size_t nopt = np * (c->optim_name == MLI_OPT_ADAM ? 2 : 1);
    void *probe = mli_alloc_for(nopt, sizeof(mli_real), "the %s state (hsizes=%s, optim_name=%s)",
                                c->optim_name == MLI_OPT_ADAM ? "Adam" : "momentum", hs,
                                c->optim_name == MLI_OPT_ADAM ? "adam" : "sgd");
    if (!probe)
        return MLI_EFAIL;
    free(probe);
    /* the workspace of a minibatch (nn/net.c): a few rows of every layer's width */
    size_t width = 0;
    for (int i = 0; i < c->nh && a->kind == MLI_ARCH_FCNET; i++)
        width += (size_t)c->hsizes[i];
    for (int i = 0; i < a->nnodes && a->kind != MLI_ARCH_FCNET; i++)
        width += a->nodes[i].size;
    probe = mli_alloc_for((size_t)mli_ws_eval_rows(a, B) * 3, width * sizeof(mli_real),
                          "the activations of a minibatch (batchsize=%d, hsizes=%s)", B, hs);
    if (!probe)
        return MLI_EFAIL;
    free(probe);
    if (!(r->xb = mli_alloc_for((size_t)B * a->input_size, sizeof(mli_real), "a minibatch (batchsize=%d)", B)) ||
        !(r->aug = mli_alloc_for((size_t)a->input_size, sizeof(mli_real), "an image")) ||
        (r->ds.train.t &&
         !(r->tb = mli_alloc_for((size_t)B * a->nout, sizeof(mli_real), "a minibatch (batchsize=%d)", B))) ||
        !(r->yb = mli_alloc_for((size_t)B, sizeof(int), "a minibatch (batchsize=%d)", B)) ||
        !(r->perm = mli_alloc_for((size_t)r->ds.train.n, sizeof(int), "the shuffling order (datasize=%d)",
                                  r->ds.train.n)))
        return MLI_EFAIL;
    return MLI_OK;
}

static int setup(run *r)
{
    int resume, rc = inspect_dir(r, &resume);
    if (!rc)
        rc = mli_train_load_data(r->cfg, r->o->data_dir, &r->ds);
    if (!rc)
        rc = mli_train_arch(r->cfg, &r->ds, &r->a);
    int B = r->cfg->batchsize < r->ds.train.n ? r->cfg->batchsize : r->ds.train.n;
    if (!rc)
        rc = alloc_all(r, B);
    if (rc)
        return rc;
    mli_arch *a = &r->a;
    mli_real *bufs0 = mli_malloc(sizeof(mli_real) * (a->nbuffers + 1));
    r->rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r->rng, (unsigned long)r->cfg->seed);
    mli_init_params(a, r->cfg->init_type, r->rng, r->theta0, bufs0);
    memcpy(r->theta, r->theta0, sizeof(mli_real) * a->nparams);
    memcpy(r->bufs, bufs0, sizeof(mli_real) * (a->nbuffers + 1));
    mli_optim_init(&r->opt, r->cfg->optim_name, r->cfg->lr, r->cfg->beta, a->nparams);
    r->norm0 = mli_param_dist(r->theta0, NULL, a->nparams);
    r->ws = mli_ws_new(a, mli_ws_eval_rows(a, B));
    char p[4096];
    if (resume) {
        path_in(p, r, "checkpoint.safetensors");
        rc = mli_checkpoint_load(p, a, r->theta, r->bufs, &r->opt, &r->epoch, r->rng);
        r->saved = r->epoch;
    } else {
        /* a new run: nothing of the model it replaces stays (config.json goes first) */
        rc = mli_rundir_clean(r->o->out);
        path_in(p, r, "init.safetensors");
        if (!rc)
            rc = mli_model_save(p, a, r->theta0, bufs0);
    }
    free(bufs0);
    if (!rc)
        rc = reload_tsv(r);
    if (!rc) { /* the header even before the first epoch (epochs=0), and no row past the checkpoint */
        path_in(p, r, "train.tsv");
        rc = mli_buf_write(&r->tsv, p);
    }
    if (!rc)
        rc = write_config(r, "running");
    return rc;
}

/* Fault injection for the resume tests: MLI_FAULT_KILL=E:B sends SIGKILL to this process
 * after batch B of epoch E (B = 0: when epoch E starts, after epoch E−1's checkpoint);
 * MLI_FAULT_STOP=E:B stops it there (SIGSTOP), holding its lock, for the second-writer test. */
static void fault_point(int epoch, int batch)
{
    static const char *const var[] = {"MLI_FAULT_KILL", "MLI_FAULT_STOP"};
    for (int i = 0; i < 2; i++) {
        const char *f = getenv(var[i]);
        int e, b;
        if (f && sscanf(f, "%d:%d", &e, &b) == 2 && e == epoch && b == batch)
            raise(i ? SIGSTOP : SIGKILL);
    }
}

static void gather(run *r, int i0, int n)
{
    const mli_data *d = &r->ds.train;
    for (int i = 0; i < n; i++) {
        int src = r->perm[i0 + i];
        memcpy(r->xb + (size_t)i * d->d, d->x + (size_t)src * d->d, sizeof(mli_real) * (size_t)d->d);
        r->yb[i] = d->y[src];
        if (r->tb)
            memcpy(r->tb + (size_t)i * d->k, d->t + (size_t)src * d->k, sizeof(mli_real) * (size_t)d->k);
    }
}

/* One pass over the shuffled training set. Mean minibatch loss and accuracy (training mode,
 * as the optimizer saw them) go to *loss and *acc. */
static int train_epoch(run *r, double *loss, double *acc)
{
    const mli_config *c = r->cfg;
    int n = r->ds.train.n, B = c->batchsize < n ? c->batchsize : n, nb = (n + B - 1) / B;
    for (int i = 0; i < n; i++)
        r->perm[i] = i;
    gsl_ran_shuffle(r->rng, r->perm, (size_t)n, sizeof(int));
    double sum = 0;
    long correct = 0;
    int seen = 0;
    fault_point(r->epoch + 1, 0);
    for (int b = 0; b < nb; b++) {
        int i0 = b * B, m = n - i0 < B ? n - i0 : B;
        if (m < 2 && c->use_batchnorm)
            break; /* batch norm is undefined on one example (PyTorch raises); skip it */
        gather(r, i0, m);
        if (c->augment) /* drawn from (seed, epoch, batch): a resumed epoch draws the same */
            mli_data_augment(r->xb, m, r->ds.shape, 4, (uint64_t)c->seed, (uint64_t)r->epoch * 1000003u + (uint64_t)b,
                             r->aug);
        mli_batch batch = {m, r->xb, r->yb, r->tb};
        double l = mli_net_loss_grad(&r->a, r->theta, r->bufs, r->ws, &batch, MLI_MODE_TRAIN, r->grad, &correct);
        mli_reg_apply(&r->a, c->regularization, c->regscale, c->outR_reg, c->outR_mult, r->theta0, r->theta,
                      r->grad);
        if (!isfinite(l) && (r->diverged = 1))
            return mli_err(MLI_EFAIL, "training diverged at epoch %d, batch %d: loss = %g", r->epoch + 1, b + 1, l);
        mli_optim_step(&r->opt, r->theta, r->grad);
        fault_point(r->epoch + 1, b + 1);
        sum += l * m;
        seen += m;
        mli_progress_show(&r->prog, "epoch %d/%d  batch %d/%d  loss %.4f", r->epoch + 1, c->epochs, b + 1, nb,
                          sum / seen);
    }
    *loss = sum / seen;
    *acc = c->loss_fn == MLI_LOSS_RECON ? NAN : (double)correct / seen;
    if (!isfinite(mli_param_dist(r->theta, NULL, r->a.nparams)) && (r->diverged = 1))
        return mli_err(MLI_EFAIL, "training diverged at epoch %d: parameters are not finite", r->epoch + 1);
    return MLI_OK;
}

static int end_epoch(run *r, double loss, double acc, double seconds)
{
    /* test_every > 1 skips the test set between its epochs: on a small training subset the
     * 10,000 test images cost more than the epoch itself. The last epoch and the early-stop
     * check are always evaluated, so a run's last row has its test loss. */
    const mli_config *c = r->cfg;
    int e = r->epoch + 1, eval = e % c->test_every == 0 || e == c->epochs || e == c->min_loss_epoch_check;
    double tl = NAN, ta = NAN;
    if (eval)
        mli_net_evaluate(&r->a, r->theta, r->bufs, r->ws, &r->ds.test, &tl, &ta, NULL);
    if (eval && !isfinite(tl) && (r->diverged = 1))
        return mli_err(MLI_EFAIL, "training diverged at epoch %d: test loss = %g", r->epoch + 1, tl);
    double wd = mli_param_dist(r->theta, r->theta0, r->a.nparams);
    r->epoch++;
    mli_buf_printf(&r->tsv, "%d\t", r->epoch);
    const double row[] = {loss, acc, tl, ta, wd, r->norm0 > 0 ? wd / r->norm0 : NAN};
    for (int i = 0; i < 6; i++)
        mli_buf_num(&r->tsv, row[i], '\t');
    mli_buf_num(&r->tsv, seconds, '\n');
    char p[4096];
    path_in(p, r, "train.tsv");
    int rc = mli_buf_write(&r->tsv, p);
    /* the snapshot before the checkpoint: a resume from the previous checkpoint rewrites it */
    if (!rc && r->cfg->save_freq > 0 && r->epoch % r->cfg->save_freq == 0) {
        char name[64];
        snprintf(name, sizeof name, "traj/epoch_%d.safetensors", r->epoch);
        path_in(p, r, "traj");
        rc = mli_mkdirs(p);
        path_in(p, r, name);
        if (!rc)
            rc = mli_model_save(p, &r->a, r->theta, r->bufs);
    }
    if (!rc) {
        path_in(p, r, "checkpoint.safetensors");
        rc = mli_checkpoint_save(p, &r->a, r->theta, r->bufs, &r->opt, r->epoch, r->rng);
    }
    if (!rc)
        r->saved = r->epoch;
    return rc;
}

static void run_free(run *r)
{
    mli_dataset_free(&r->ds);
    free(r->theta0);
    free(r->theta);
    free(r->bufs);
    free(r->grad);
    mli_optim_free(&r->opt);
    if (r->rng)
        gsl_rng_free(r->rng);
    mli_ws_free(r->ws);
    free(r->xb);
    free(r->aug);
    free(r->tb);
    free(r->yb);
    free(r->perm);
    mli_buf_free(&r->tsv);
}

/* After a failed write: what the user does about it. */
static int io_failure(const run *r, int rc)
{
    const char *msg = mli_errmsg(); /* mli_err formats before it replaces the message */
    if (r->saved > 0)
        return mli_err(rc, "%s; the run is unfinished (status running): once the cause is fixed, the same "
                       "command resumes it from the checkpoint of epoch %d", msg, r->saved);
    return mli_err(rc, "%s; the run is unfinished (status running): once the cause is fixed, the same command "
                   "trains it", msg);
}

int mli_train_run(const mli_config *cfg, const mli_train_opts *o)
{
    run r = {.cfg = cfg, .o = o, .prog = mli_progress_make(o->progress)};
    int lock = -1;
    int rc = mli_config_validate(cfg);
    if (!rc)
        rc = mli_mkdirs(o->out);
    if (!rc)
        rc = mli_dir_lock(o->out, &lock);
    if (!rc) /* a killed writer's temporary files; nothing else writes here while we hold the lock */
        rc = mli_rundir_remove_stale_tmp(o->out);
    if (!rc)
        rc = setup(&r);
    const char *status = "done";
    int looping = !rc;
    while (!rc && r.epoch < cfg->epochs) {
        double t0 = mli_now(), loss = NAN, acc = NAN;
        rc = train_epoch(&r, &loss, &acc);
        if (!rc)
            rc = end_epoch(&r, loss, acc, mli_now() - t0);
        if (!rc && r.epoch == cfg->min_loss_epoch_check && loss > cfg->min_loss_threshold) {
            status = "stopped_early";
            break;
        }
    }
    mli_progress_end(&r.prog);
    if (r.diverged) {
        char *msg = mli_strdup(mli_errmsg()); /* write_config may record its own */
        int wrc = write_config(&r, "diverged");
        if (wrc)
            rc = io_failure(&r, wrc);
        else if (r.saved > 0)
            rc = mli_err(rc, "%s; kept init.safetensors, the checkpoint of epoch %d and train.tsv", msg, r.saved);
        else
            rc = mli_err(rc, "%s; kept init.safetensors and train.tsv (no epoch finished)", msg);
        free(msg);
    } else if (!rc) {
        char p[4096];
        path_in(p, &r, "final.safetensors");
        rc = mli_model_save(p, &r.a, r.theta, r.bufs);
        if (!rc)
            rc = write_config(&r, status);
        if (rc)
            rc = io_failure(&r, rc);
    } else if (looping)
        rc = io_failure(&r, rc);
    run_free(&r);
    mli_dir_unlock(lock);
    return rc;
}
