/* mli analyze RUN_DIR [options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/err.h"

void mli_usage_analyze(FILE *f)
{
    fprintf(f, "usage: mli analyze RUN_DIR [options]\n"
               "       mli analyze RUN_DIR dset_name=... [datasize=...] [loss_fn=...] [options]  (ONNX models)\n\n"
               "Evaluates the training and test loss and accuracy along theta(alpha) = (1-alpha) theta0 +\n"
               "alpha theta1, the exact dL/dalpha and d2L/dalpha2 of the training loss, the output-space\n"
               "geometry of the test examples (speed, curvature, Gauss length) and, for mse/recon models,\n"
               "the monotonicity certificates. Writes interp.tsv, geometry_quantiles.tsv, examples.tsv\n"
               "and geometry.json into RUN_DIR.\n\n"
               "RUN_DIR holds init.safetensors and final.safetensors with config.json, or (without\n"
               "final.safetensors) init.onnx and final.onnx: their keys come from config.json if present,\n"
               "else from key=value on the command line (dset_name required; loss_fn default ce). See\n"
               "docs/onnx.md for the operators imported; the permutation control and --exact refuse (exit 2)\n"
               "graphs they cannot handle.\n\noptions:\n");
    mli_cli_analysis_help(f);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int mli_cmd_analyze(int argc, char **argv)
{
    mli_analyze_opts o;
    mli_analyze_opts_default(&o);
    const char *run = NULL;
    char *keyv[256]; /* the key=value arguments (more are refused) */
    int nkeys = 0;
    for (int i = 1; i < argc; i++) {
        if (mli_cli_is_help(argv[i])) {
            mli_usage_analyze(stdout);
            return 0;
        }
        int c = mli_cli_analysis_opt(argc, argv, &i, &o);
        if (c < 0)
            return mli_cli_fail(MLI_EUSAGE);
        if (c > 0)
            continue;
        if (argv[i][0] != '-' && strchr(argv[i], '=')) {
            if (nkeys == 256)
                return mli_err(MLI_EUSAGE, "analyze: more than 256 key=value pairs"), mli_cli_fail(MLI_EUSAGE);
            keyv[nkeys++] = argv[i];
            continue;
        }
        if (argv[i][0] == '-' || run) {
            mli_err(MLI_EUSAGE, "analyze: unexpected argument '%s' (see 'mli analyze --help')", argv[i]);
            return mli_cli_fail(MLI_EUSAGE);
        }
        run = argv[i];
    }
    if (!run) {
        mli_err(MLI_EUSAGE, "analyze: which run directory? (mli analyze RUN_DIR)");
        return mli_cli_fail(MLI_EUSAGE);
    }
    mli_config cfg;
    char init[4096], final[4096];
    int rc = mli_cli_run_models(run, init, final, &cfg, keyv, nkeys, "analyze");
    if (rc)
        return mli_cli_fail(rc);
    if (!file_exists(final)) {
        mli_err(MLI_EINPUT, "%s: no final.safetensors (nor final.onnx): the run did not finish (see its config.json "
                "status)", run);
        return mli_cli_fail(MLI_EINPUT);
    }
    o.out_dir = run;
    o.init_path = init;
    o.final_path = final;
    mli_analysis res;
    rc = mli_analyze_run(&cfg, &o, &res);
    if (!rc)
        mli_cli_bn_warning("analyze", &res);
    if (!rc && o.progress >= 0)
        fprintf(stderr, "mli analyze: %s: delta = %.3g (%s), end_rise = %.3g%s, norm_wdist = %.3g%s\n", run,
                res.delta, res.monotone ? "monotone" : "non-monotone", res.end_rise,
                res.end_rise > o.threshold ? " (a rise on the last step, not in delta)" : "", res.norm_wdist,
                res.n_examples ? "" : ", no geometry examples");
    if (!rc && o.progress >= 0)
        mli_cli_exact_summary(stderr, &res, o.threshold);
    mli_analysis_free(&res);
    return mli_cli_fail(rc);
}
