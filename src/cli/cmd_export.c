/* mli export RUN_DIR [--out DIR]: init.onnx and final.onnx, self-contained ONNX models of a
 * finished run's init.safetensors and final.safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "io/atomic.h"
#include "io/err.h"
#include "io/lock.h"
#include "io/text.h"
#include "nn/model.h"
#include "nn/onnx_export.h"
#include "train/train.h"

void mli_usage_export(FILE *f)
{
    fprintf(f, "usage: mli export RUN_DIR [--out DIR] [--quiet]\n\n"
               "Writes init.onnx and final.onnx, the run's init.safetensors and final.safetensors as\n"
               "self-contained ONNX models (opset %d, weights inside the file, inference mode: batch\n"
               "norm uses its running statistics): one input 'input' [batch, features], one output\n"
               "'output' (the logits or the reconstruction; the loss is not part of the model),\n"
               "initializers named as the safetensors tensors (layers.0.weight, ...).\n\n"
               "  --out DIR  write the two files into DIR (created if needed) instead of RUN_DIR\n"
               "  --quiet    print nothing on success\n\n"
               "The run directory is locked while the files are written: a run being trained is\n"
               "refused. Exit status: 0 done; 1 the directory is locked by another mli process, or a\n"
               "write failed; 2 usage error; 3 no such run directory, an unfinished run (no\n"
               "final.safetensors, or status running) or an invalid model file (named in the message).\n",
            MLI_ONNX_EXPORT_OPSET);
}

/* A finished run: config.json says done or stopped_early (a run killed between writing
 * final.safetensors and its status is still running: its resume rewrites the file). */
static int run_finished(const char *run)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", run);
    cJSON *j;
    int rc = mli_json_read(p, &j);
    if (rc)
        return rc;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    char status[32];
    snprintf(status, sizeof status, "%s", cJSON_IsString(st) ? st->valuestring : "?");
    cJSON_Delete(j);
    if (strcmp(status, "done") && strcmp(status, "stopped_early"))
        return mli_err(MLI_EINPUT, "%s: the run is unfinished (status %s): no final model to export", run,
                       status);
    if (!mli_exists_in(run, "final.safetensors"))
        return mli_err(MLI_EINPUT, "%s: no final.safetensors although config.json says %s", run, status);
    return MLI_OK;
}

/* RUN/WHICH.safetensors as an ONNX model (*m, NULL on failure) */
static int export_one(const char *run, const char *which, const mli_config *cfg, mli_onnx_model **m, int *nnodes,
                      size_t *nvalues)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/%s.safetensors", run, which);
    mli_arch *a = mli_malloc(sizeof *a); /* large: 256 nodes, 512 tensors */
    mli_real *theta = NULL, *bufs = NULL;
    *m = NULL;
    int rc = mli_model_load(src, a, &theta, &bufs);
    /* the model takes the data set's pixels/255: the run's normalisation becomes its first nodes */
    if (!rc)
        a->norm_c = mli_train_image_norm(a->kind, cfg->dset_name, a->norm_mean, a->norm_std);
    if (!rc)
        rc = mli_onnx_export(a, theta, bufs, src, m);
    *nnodes = a->nnodes;
    *nvalues = a->nparams + a->nbuffers;
    free(theta);
    free(bufs);
    free(a);
    return rc;
}

int mli_cmd_export(int argc, char **argv)
{
    const char *run = NULL, *out = NULL;
    int quiet = 0, rc = MLI_OK;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (mli_cli_is_help(a)) {
            mli_usage_export(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet"))
            quiet = 1;
        else if (!strcmp(a, "--out")) {
            if (!(out = mli_cli_value(argc, argv, &i)))
                rc = MLI_EUSAGE;
        } else if (a[0] == '-' && a[1])
            rc = mli_err(MLI_EUSAGE, "export: unknown option '%s' (see 'mli export --help')", a);
        else if (run)
            rc = mli_err(MLI_EUSAGE, "export: one run directory expected, got '%s' and '%s'", run, a);
        else
            run = a;
    }
    if (!rc && !run)
        rc = mli_err(MLI_EUSAGE, "export: which run directory? (usage: mli export RUN_DIR)");
    if (rc)
        return mli_cli_fail(rc);
    out = out ? out : run;
    /* the lock before anything is read: a training must not rewrite the files under us */
    int lock = -1;
    mli_config cfg;
    mli_config_default(&cfg);
    rc = mli_cli_read_run_config(run, &cfg); /* "no such run directory", an invalid config */
    if (!rc)
        rc = mli_dir_lock(run, &lock);
    if (!rc)
        rc = run_finished(run);
    if (!rc)
        rc = mli_cli_output_dir(out, "--out");
    /* both models before either file: a bad final.safetensors leaves no new init.onnx */
    mli_onnx_model *m[2] = {NULL, NULL};
    static const char *const which[2] = {"init", "final"};
    int nn[2] = {0, 0};
    size_t np[2] = {0, 0};
    for (int k = 0; k < 2 && !rc; k++)
        rc = export_one(run, which[k], &cfg, &m[k], &nn[k], &np[k]);
    if (!rc && (nn[0] != nn[1] || np[0] != np[1]))
        rc = mli_err(MLI_EINPUT, "%s: init.safetensors and final.safetensors hold different networks (%d and %d "
                     "nodes, %zu and %zu values)", run, nn[0], nn[1], np[0], np[1]);
    for (int k = 0; k < 2 && !rc; k++) {
        char dst[4096];
        snprintf(dst, sizeof dst, "%s/%s.onnx", out, which[k]);
        rc = mli_onnx_write(dst, m[k]);
    }
    mli_onnx_free(m[0]);
    mli_onnx_free(m[1]);
    mli_dir_unlock(lock);
    if (!rc && !quiet)
        printf("mli export: wrote %s/init.onnx and %s/final.onnx (%d nodes, %zu initializer values, opset %d)\n",
               out, out, nn[1], np[1], MLI_ONNX_EXPORT_OPSET);
    return mli_cli_fail(rc);
}
