/* mli figure1 [--out DIR] [analysis options] [key=value ...]: the paper's figure 1 as one
 * command. A preset of `mli run`: a ResNet-20 with batch norm, trained with snapshots every
 * epoch, analysed with one unrelated initialization θ_r (interpolated to θ₁) and the plane
 * through θ₀, θ₁ and θ_r with the trajectory projected, then the report, whose first figure is
 * the plane beside the two interpolation curves (report/control_figs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "report/run_report.h"
#include "train/train.h"

/* The preset's training keys: the CIFAR ResNet-20 of the paper's figure, on a budget that runs
 * in about half an hour on two cores; every one can be given again on the command line. */
static const char *const train_preset[] = {"arch=resnet", "depth=20", "use_batchnorm=true", "batchsize=128",
                                           "datasize=5000", "epochs=10", "test_every=5", "save_freq=1", NULL};

/* The preset's analysis: the grid and the plane sized like the training budget. */
static void analysis_preset(mli_analyze_opts *o)
{
    mli_analyze_opts_default(o);
    o->alpha_steps = 21; /* α in steps of 0.05 */
    o->n_examples = 100;
    o->train_derivs = 0;
    o->bn_stats = MLI_BN_EXACT; /* the plane's 1,000 examples are 8 batches: too few for the moving average */
    o->controls.random_inits = 1;
    o->controls.plane = 1;
    o->controls.plane_size = 11;
    o->controls.plane_examples = 1000;
}

void mli_usage_figure1(FILE *f)
{
    fprintf(f, "usage: mli figure1 [--out DIR] [--data-dir DIR] [--force] [--threads N] [--progress|--quiet]\n"
               "                   [analysis options] [key=value ...]\n\n"
               "The paper's figure 1 as one command: trains a ResNet-20 (the CIFAR ResNet of He et al.,\n"
               "option-A shortcuts, batch norm) with a snapshot every epoch, then analyses the path from\n"
               "theta0 to theta1, the path from one unrelated initialization theta_r (seed + 1000) to\n"
               "theta1, and the training loss on the plane through theta0, theta1 and theta_r with the\n"
               "training trajectory projected on it; the report's first figure (report/figure1.png) is\n"
               "the plane beside the two interpolation curves against the fraction of the distance\n"
               "travelled. Writes runs/figure1 unless --out says otherwise; training follows 'mli run'\n"
               "(a finished training with the same keys is reused).\n\n"
               "Preset training keys (any key=value of 'mli train' overrides them; dset_name=cifar10\n"
               "where CIFAR-10 is installed, see the README):\n ");
    for (int i = 0; train_preset[i]; i++)
        fprintf(f, " %s", train_preset[i]);
    fprintf(f, "\nPreset analysis: --alpha-steps 21 --examples 100 --no-train-derivs --random-inits 1\n"
               "--plane --plane-size 11 --plane-examples 1000 --bn-stats exact; any option of\n"
               "'mli analyze' overrides them.\n");
}

/* Split argv: the analysis options go to o, the rest (training arguments) to targv. */
static int split_args(int argc, char **argv, mli_analyze_opts *o, char **targv, int *targc)
{
    *targc = 0;
    targv[(*targc)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int is_train = a[0] != '-' || !strcmp(a, "--out") || !strcmp(a, "--data-dir") || !strcmp(a, "--force") ||
                       !strcmp(a, "--threads") || !strcmp(a, "--progress") || !strcmp(a, "--quiet");
        if (is_train) {
            targv[(*targc)++] = argv[i];
            if ((!strcmp(a, "--out") || !strcmp(a, "--data-dir") || !strcmp(a, "--threads")) && i + 1 < argc)
                targv[(*targc)++] = argv[++i];
            continue;
        }
        int c = mli_cli_analysis_opt(argc, argv, &i, o);
        if (c < 0)
            return MLI_EUSAGE;
        if (c == 0)
            return mli_err(MLI_EUSAGE, "figure1: unknown option '%s' (see 'mli figure1 --help')", a);
    }
    return MLI_OK;
}

static void summary(const char *out, const mli_analysis *r)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/geometry.json", out);
    cJSON *g = NULL;
    if (mli_json_read(p, &g) != MLI_OK)
        mli_err_clear();
    const cJSON *ri = g ? cJSON_GetObjectItemCaseSensitive(g, "random_inits") : NULL;
    const cJSON *pl = g ? cJSON_GetObjectItemCaseSensitive(g, "plane") : NULL;
    const cJSON *dr = ri ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ri, "deltas"), 0) : NULL;
    const cJSON *wr = ri ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ri, "wdist"), 0) : NULL;
    const cJSON *off = pl ? cJSON_GetObjectItemCaseSensitive(pl, "trajectory_max_off_plane") : NULL;
    const cJSON *ns = pl ? cJSON_GetObjectItemCaseSensitive(pl, "trajectory_snapshots") : NULL;
    printf("\ntheta0 -> theta1:  delta = %.3g -> %s; |theta1 - theta0| = %.4g\n", r->delta,
           r->monotone ? "monotone" : "non-monotone", r->wdist);
    if (cJSON_IsNumber(dr) && cJSON_IsNumber(wr))
        printf("theta_r -> theta1: delta = %.3g -> %s; |theta1 - theta_r| = %.4g\n", dr->valuedouble,
               dr->valuedouble <= 1e-3 ? "monotone" : "non-monotone", wr->valuedouble);
    if (cJSON_IsNumber(ns) && cJSON_IsNumber(off))
        printf("trajectory: %d snapshots projected on the plane, at most %.3g off it\n", ns->valueint,
               off->valuedouble);
    printf("test accuracy %.4f, final training loss %.4g\n", r->final_test_acc, r->final_train_loss);
    printf("figure 1: %s/report/figure1.png (report: %s/report/index.html)\n", out, out);
    cJSON_Delete(g);
}

int mli_cmd_figure1(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (mli_cli_is_help(argv[i])) {
            mli_usage_figure1(stdout);
            return 0;
        }
    mli_config cfg;
    mli_config_default(&cfg);
    for (int i = 0; train_preset[i]; i++)
        if (mli_config_set_pair(&cfg, train_preset[i]))
            abort(); /* a preset that does not parse is a bug here */
    mli_analyze_opts o;
    analysis_preset(&o);
    char **targv = mli_calloc((size_t)argc + 1, sizeof *targv);
    int targc;
    mli_train_opts t = {.out = "runs/figure1"};
    mli_config_seen *seen = mli_calloc(1, sizeof *seen);
    int rc = split_args(argc, argv, &o, targv, &targc);
    if (!rc)
        rc = mli_cli_train_args(targc, targv, &cfg, seen, &t);
    free(seen);
    free(targv);
    if (rc)
        return mli_cli_fail(rc);
    mli_analysis res;
    int analysed;
    rc = mli_cli_pipeline("figure1", &cfg, &t, &o, &res, &analysed);
    if (!rc)
        summary(t.out, &res);
    mli_analysis_free(&res);
    return mli_cli_fail(rc);
}
