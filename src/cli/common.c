#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "cli/cli.h"
#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"
#include "train/config.h"

#include <unistd.h>

void openblas_set_num_threads(int n);

static const mli_command commands[] = {
    {"run", mli_cmd_run, "train + analyze + report with good defaults (the main job)", mli_usage_run},
    {"train", mli_cmd_train, "train a network; writes a run directory", mli_usage_train},
    {"analyze", mli_cmd_analyze, "interpolation, monotonicity and geometry of a run", mli_usage_analyze},
    {"check", mli_cmd_check, "the MSE sufficient conditions, per example and for the data set", mli_usage_check},
    {"report", mli_cmd_report, "gnuplot figures and index.html of a run or sweep directory", mli_usage_report},
    {"table", mli_cmd_table, "the paper's table and summary.tsv of a sweep directory", mli_usage_table},
    {"export", mli_cmd_export, "a run's init and final models as ONNX files (init.onnx, final.onnx)", mli_usage_export},
    {"figure1", mli_cmd_figure1, "the paper's figure 1: a ResNet-20, its plane and two interpolations", mli_usage_figure1},
    {"sweep", mli_cmd_sweep, "train and analyse every configuration of a grid file (or SLURM)", mli_usage_sweep},
    {"help", mli_cmd_help, "help on a command", NULL},
};

const mli_command *mli_commands(int *n)
{
    *n = (int)(sizeof commands / sizeof commands[0]);
    return commands;
}

int mli_cli_fail(int status)
{
    if (status)
        fprintf(stderr, "mli: %s\n", mli_errmsg());
    return status;
}

int mli_cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

const char *mli_cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        mli_err(MLI_EUSAGE, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int mli_cli_common(int argc, char **argv, int *i, int *progress, int *threads)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--progress")) {
        *progress = 1;
        return 1;
    }
    if (!strcmp(a, "--quiet")) {
        *progress = -1;
        return 1;
    }
    if (!strcmp(a, "--threads")) {
        const char *v = mli_cli_value(argc, argv, i);
        char *end;
        long t = v ? strtol(v, &end, 10) : 0;
        if (!v || *end || t < 1 || t > 256) {
            if (v)
                mli_err(MLI_EUSAGE, "--threads: '%s' is not a thread count from 1 to 256", v);
            return -1;
        }
        *threads = (int)t;
        openblas_set_num_threads((int)t);
        return 1;
    }
    return 0;
}

int mli_cmd_help(int argc, char **argv)
{
    int n;
    const mli_command *c = mli_commands(&n);
    if (argc < 2) {
        printf("usage: mli COMMAND [options]; commands:\n");
        for (int i = 0; i < n; i++)
            printf("  %-8s %s\n", c[i].name, c[i].summary);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(argv[1], c[i].name) && c[i].usage) {
            c[i].usage(stdout);
            return 0;
        }
    fprintf(stderr, "mli help: unknown command '%s'\n", argv[1]);
    return MLI_EUSAGE;
}

int mli_cli_read_run_config(const char *run_dir, mli_config *cfg)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", run_dir);
    cJSON *j;
    int rc = mli_json_read(p, &j);
    if (rc) {
        if (access(run_dir, F_OK) != 0)
            return mli_err(MLI_EINPUT, "%s: no such run directory", run_dir);
        return rc;
    }
    rc = mli_config_from_json(cfg, j, p);
    cJSON_Delete(j);
    return rc;
}

void mli_cli_exact_summary(FILE *f, const mli_analysis *r, double threshold)
{
    if (!r->has_exact)
        return;
    int n = r->exact_monotone + r->exact_violating + r->exact_undecided;
    fprintf(f, "exact (piecewise-linear): %d/%d examples proved monotone, %d violate (%d of them "
               "monotone on the grid), %d undecided\n",
            r->exact_monotone, n, r->exact_violating, r->exact_missed_by_grid, r->exact_undecided);
    fprintf(f, "exact total turning: mean %.4g, of which the pointwise Gauss length %.4g (the rest "
               "turns at the kinks)\n",
            r->exact_turning_mean, r->exact_smooth_mean);
    if (r->loss != MLI_LOSS_CE)
        fprintf(f, "exact certificates: counterexamples %d; the pointwise Gauss-length condition "
                   "would certify a rise for %d examples\n",
                r->exact_counterexamples, r->exact_c1p_false);
    if (r->exact_curve == 1) /* exact up to the rounding of the summed polynomials, stated */
        fprintf(f, "exact training loss: delta = %.4g ± %.2g (%s; the analysis grid's delta %.4g)\n",
                0.5 * (r->exact_delta_lo + r->exact_delta_hi), 0.5 * (r->exact_delta_hi - r->exact_delta_lo),
                r->exact_delta_lo > threshold    ? "non-monotone"
                : r->exact_delta_hi <= threshold ? "monotone"
                                                 : "undecided at the threshold",
                r->exact_grid_delta);
    else if (r->exact_curve == 0)
        fprintf(f, "exact training loss (enclosure): %.4g <= delta <= %.4g (%s; the grid's delta %.4g)\n",
                r->exact_delta_lo, r->exact_delta_hi,
                r->exact_delta_lo > threshold  ? "non-monotone"
                : r->exact_delta_hi <= threshold ? "monotone"
                                                 : "undecided at the threshold",
                r->exact_grid_delta);
}

void mli_cli_bn_warning(const char *cmd, const mli_analysis *r)
{
    if (r->bn_reset_weight > MLI_BN_RESET_WARN)
        fprintf(stderr,
                "mli %s: warning: the batch-norm statistics (--bn-stats ema, the reference's one-epoch moving "
                "average) still carry %.3g of their reset values (mean 0, variance 1): more than 1%%, too few "
                "minibatches to converge; the verdicts may differ with --bn-stats exact\n",
                cmd, r->bn_reset_weight);
}

int mli_cli_output_dir(const char *dir, const char *opt)
{
    int rc = mli_mkdirs(dir);
    if (rc) {
        char why[1024];
        snprintf(why, sizeof why, "%s", mli_errmsg()); /* mli_err rewrites the message buffer */
        return mli_err(MLI_EUSAGE, "%s %s: cannot create the output folder (%s)", opt, dir, why);
    }
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.mli-probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0)
        return mli_err(MLI_EUSAGE, "%s %s: cannot write into the output folder: %s", opt, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return MLI_OK;
}

int mli_cli_run_models(const char *run, char *ip, char *fp, mli_config *cfg, char *const *keys, int nkeys,
                       const char *cmd)
{
    char p[4096];
    snprintf(ip, 4096, "%s/init.safetensors", run);
    snprintf(fp, 4096, "%s/final.safetensors", run);
    snprintf(p, sizeof p, "%s/final.onnx", run);
    int onnx = access(fp, F_OK) != 0 && access(p, F_OK) == 0;
    if (onnx) {
        snprintf(ip, 4096, "%s/init.onnx", run);
        snprintf(fp, 4096, "%s/final.onnx", run);
        snprintf(p, sizeof p, "%s/config.json", run);
    }
    if (!onnx || access(p, F_OK) == 0) {
        if (nkeys)
            return mli_err(MLI_EUSAGE, "%s: %s has a config.json: key=value pairs are only for a directory of ONNX "
                           "models without one", cmd, run);
        return mli_cli_read_run_config(run, cfg);
    }
    mli_config_default(cfg);
    int has_dset = 0;
    for (int i = 0; i < nkeys; i++) {
        if (mli_config_set_pair(cfg, keys[i]))
            return MLI_EUSAGE;
        has_dset |= !strncmp(keys[i], "dset_name=", 10);
    }
    if (!has_dset)
        return mli_err(MLI_EUSAGE, "%s: %s holds ONNX models and no config.json: give the data set as "
                       "dset_name=... (and datasize=..., loss_fn=...)", cmd, run);
    return MLI_OK;
}
