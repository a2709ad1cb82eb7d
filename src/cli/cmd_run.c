/* mli run [--out DIR] [key=value ...]: the main job, train → analyze → report. */
#include <math.h>
#include <stdio.h>
#include <string.h>

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
               "runs/demo unless --out says otherwise; a finished training is reused (analysis and\n"
               "report are redone), --force trains again.\n");
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

int mli_cmd_run(int argc, char **argv)
{
    mli_config cfg;
    mli_config_default(&cfg);
    mli_train_opts t = {.out = "runs/demo"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (mli_cli_is_help(a)) {
            mli_usage_run(stdout);
            return 0;
        }
        int c = mli_cli_common(argc, argv, &i, &t.progress, &t.threads);
        if (c < 0)
            return mli_cli_fail(MLI_EUSAGE);
        if (c > 0)
            continue;
        if (!strcmp(a, "--out") || !strcmp(a, "--data-dir")) {
            const char *v = mli_cli_value(argc, argv, &i);
            if (!v)
                return mli_cli_fail(MLI_EUSAGE);
            *(a[2] == 'o' ? &t.out : &t.data_dir) = v;
        } else if (!strcmp(a, "--force"))
            t.force = 1;
        else if (a[0] == '-') {
            mli_err(MLI_EUSAGE, "run: unknown option '%s' (see 'mli run --help')", a);
            return mli_cli_fail(MLI_EUSAGE);
        } else if (mli_config_set_pair(&cfg, a))
            return mli_cli_fail(MLI_EUSAGE);
    }
    /* a finished training with the same keys is reused: run is rerunnable */
    mli_config prev;
    char cj[4096];
    snprintf(cj, sizeof cj, "%s/config.json", t.out);
    int reuse = 0;
    if (!t.force && mli_cli_read_run_config(t.out, &prev) == MLI_OK) {
        cJSON *a = mli_config_to_json(&prev), *b = mli_config_to_json(&cfg);
        char fin[4096];
        snprintf(fin, sizeof fin, "%s/final.safetensors", t.out);
        FILE *f = fopen(fin, "rb");
        reuse = cJSON_Compare(a, b, 1) && f;
        if (f)
            fclose(f);
        cJSON_Delete(a);
        cJSON_Delete(b);
        if (!reuse)
            t.force = 1; /* another configuration in the same folder: train it */
    }
    int rc = reuse ? MLI_OK : mli_train_run(&cfg, &t);
    if (rc)
        return mli_cli_fail(rc);
    mli_analyze_opts o;
    mli_analyze_opts_default(&o);
    o.certificates = 1;
    o.progress = t.progress;
    o.data_dir = t.data_dir;
    char init[4096], final[4096];
    snprintf(init, sizeof init, "%s/init.safetensors", t.out);
    snprintf(final, sizeof final, "%s/final.safetensors", t.out);
    o.out_dir = t.out;
    o.init_path = init;
    o.final_path = final;
    mli_analysis res;
    rc = mli_analyze_run(&cfg, &o, &res);
    if (!rc)
        mli_cli_bn_warning("run", &res);
    if (!rc)
        rc = mli_report_run(t.out);
    if (!rc || rc == MLI_EFAIL) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mli_errmsg());
        summary(t.out, &res);
        if (rc)
            mli_err(rc, "%s", msg);
    }
    mli_analysis_free(&res);
    return mli_cli_fail(rc);
}
