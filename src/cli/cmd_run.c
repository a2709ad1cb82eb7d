/* mli run [--out DIR] [key=value ...]: the main job, train → analyze → report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/err.h"
#include "report/run_report.h"
#include "train/train.h"

void mli_usage_run(FILE *f)
{
    fprintf(f, "usage: mli run [--out DIR] [--data-dir DIR] [--force] [--threads N] [--progress|--quiet]\n"
               "               [key=value ...]\n\n"
               "The main job with the reference's defaults: trains FCNet 784-100-10 (relu, SGD lr 0.1,\n"
               "momentum 0.9, batch 512, 10 epochs) on FashionMNIST, analyses the path from theta0 to\n"
               "theta1 (loss curves, derivatives, output-space geometry of the test set, certificates)\n"
               "and writes the report. key=value go to training (see 'mli train --help'). Writes\n"
               "runs/demo unless --out says otherwise. Training follows 'mli train': a finished\n"
               "training with the same keys is reused (analysis and report are redone), an unfinished\n"
               "one resumes, a run with other keys is refused unless --force, which trains again and\n"
               "deletes the old run's analysis and report.\n");
}

static void summary(const char *out, const mli_analysis *r)
{
    printf("\n%s along the path: delta = %.3g -> %s (threshold 1e-3); end_rise = %.3g%s\n", "training loss",
           r->delta, r->monotone ? "MLI holds: monotone" : "non-monotone", r->end_rise,
           r->end_rise > 1e-3 ? " (a rise on the last step, not in delta)" : "");
    printf("distance travelled: |theta1 - theta0| = %.4g, normalized %.4g\n", r->wdist, r->norm_wdist);
    printf("Gauss length of the output paths (%d test examples): mean %.3g, median %.3g, %.1f%% below pi/2\n",
           r->n_examples, r->gauss_mean, r->gauss_median, 100 * r->gauss_frac_below_half_pi);
    const mli_cert_summary *c = &r->cert;
    if (r->loss == MLI_LOSS_CE)
        printf("certificates (cross-entropy: C0, C2): C0 %d/%d, C2 %d/%d certified; counterexamples %d\n",
               c->c0.certified, c->c0.n_examples, c->c2.certified, c->c2.n_examples, c->n_counterexamples);
    else
        printf("certificates: C0 %d, C1 %d, C2 %d, C12 %d of %d; counterexamples %d\n", c->c0.certified,
               c->c1.certified, c->c2.certified, c->c12.certified, c->c12.n_examples, c->n_counterexamples);
    printf("test accuracy %.4f, final training loss %.4g\n", r->final_test_acc, r->final_train_loss);
    printf("report: %s/report/index.html\n", out);
}

/* mli train's rules: a finished training with the same keys is reused; anything else goes
 * to mli_train_run, which resumes an unfinished run with the same keys and refuses a run
 * with other keys (or a finished one) unless --force. */
static int finished_same(const mli_train_opts *t, const mli_config *cfg);

int mli_cli_pipeline(const char *cmd, const mli_config *cfg, const mli_train_opts *t, mli_analyze_opts *o,
                     mli_analysis *res, int *analysed)
{
    memset(res, 0, sizeof *res);
    *analysed = 0;
    int rc = finished_same(t, cfg) ? MLI_OK : mli_train_run(cfg, t);
    if (rc)
        return rc;
    *analysed = 1;
    o->progress = t->progress;
    o->data_dir = t->data_dir;
    char init[4096], final[4096];
    snprintf(init, sizeof init, "%s/init.safetensors", t->out);
    snprintf(final, sizeof final, "%s/final.safetensors", t->out);
    o->out_dir = t->out;
    o->init_path = init;
    o->final_path = final;
    rc = mli_analyze_run(cfg, o, res);
    o->init_path = o->final_path = NULL; /* local names */
    if (!rc)
        mli_cli_bn_warning(cmd, res);
    return rc ? rc : mli_report_run(t->out);
}

static int finished_same(const mli_train_opts *t, const mli_config *cfg)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", t->out);
    cJSON *j;
    if (t->force || access(p, F_OK) != 0 || mli_json_read(p, &j) != MLI_OK) {
        mli_err_clear();
        return 0;
    }
    mli_config prev;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    int finished = cJSON_IsString(st) && (!strcmp(st->valuestring, "done") || !strcmp(st->valuestring, "stopped_early"));
    int same = 0;
    if (mli_config_from_json(&prev, j, p) == MLI_OK) {
        cJSON *a = mli_config_to_json(&prev), *b = mli_config_to_json(cfg);
        same = cJSON_Compare(a, b, 1);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    cJSON_Delete(j);
    mli_err_clear();
    snprintf(p, sizeof p, "%s/final.safetensors", t->out);
    return finished && same && access(p, F_OK) == 0;
}

int mli_cmd_run(int argc, char **argv)
{
    mli_config cfg;
    mli_config_default(&cfg);
    mli_train_opts t = {.out = "runs/demo"};
    for (int i = 1; i < argc; i++)
        if (mli_cli_is_help(argv[i])) {
            mli_usage_run(stdout);
            return 0;
        }
    mli_config_seen *seen = mli_calloc(1, sizeof *seen);
    int rc = mli_cli_train_args(argc, argv, &cfg, seen, &t);
    free(seen);
    if (rc)
        return mli_cli_fail(rc);
    mli_analyze_opts o;
    mli_analyze_opts_default(&o);
    o.certificates = 1;
    mli_analysis res;
    int analysed;
    rc = mli_cli_pipeline("run", &cfg, &t, &o, &res, &analysed);
    if (analysed && (!rc || rc == MLI_EFAIL)) {
        char *msg = mli_strdup(mli_errmsg()); /* the summary may record messages of its own */
        summary(t.out, &res);
        if (rc)
            mli_err(rc, "%s", msg);
        free(msg);
    }
    mli_analysis_free(&res);
    return mli_cli_fail(rc);
}
