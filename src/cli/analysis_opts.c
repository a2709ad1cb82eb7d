/* Options shared by `mli analyze` and `mli check`. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/controls_opts.h"
#include "io/err.h"

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo || x > hi)
        return mli_err(MLI_EUSAGE, "%s: '%s' is not an integer in [%d, %d]", opt, v ? v : "", lo, hi);
    *out = (int)x;
    return MLI_OK;
}

static int parse_alphas(const char *v, mli_analyze_opts *o)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    o->n_hessian_alphas = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double a = strtod(tok, &end);
        if (*end || end == tok || !(a >= 0 && a <= 1) || o->n_hessian_alphas == 16)
            return mli_err(MLI_EUSAGE, "--hessian-alphas: '%s' is not a list of at most 16 values in [0,1]", v);
        o->hessian_alphas[o->n_hessian_alphas++] = a;
    }
    return o->n_hessian_alphas ? MLI_OK : mli_err(MLI_EUSAGE, "--hessian-alphas: empty list");
}

int mli_cli_analysis_opt(int argc, char **argv, int *i, mli_analyze_opts *o)
{
    const char *a = argv[*i];
    int c = mli_cli_common(argc, argv, i, &o->progress, &o->threads);
    if (c)
        return c < 0 ? -1 : 1;
    if ((c = mli_cli_controls_opt(argc, argv, i, &o->controls))) /* control experiments */
        return c;
    int rc = MLI_OK;
    if (!strcmp(a, "--alpha-steps"))
        rc = parse_int(a, mli_cli_value(argc, argv, i), 2, MLI_ALPHA_STEPS_MAX, &o->alpha_steps);
    else if (!strcmp(a, "--examples"))
        rc = parse_int(a, mli_cli_value(argc, argv, i), 0, 100000000, &o->n_examples);
    else if (!strcmp(a, "--verify-steps"))
        /* at least the two ends: 0 or 1 would verify nothing and report no counterexample */
        rc = parse_int(a, mli_cli_value(argc, argv, i), 2, 1000000, &o->verify_steps);
    else if (!strcmp(a, "--hessian"))
        rc = parse_int(a, mli_cli_value(argc, argv, i), 1, 1000, &o->hessian_k);
    else if (!strcmp(a, "--hessian-iters"))
        rc = parse_int(a, mli_cli_value(argc, argv, i), 1, 100000, &o->hessian_iters);
    else if (!strcmp(a, "--trace-samples"))
        rc = parse_int(a, mli_cli_value(argc, argv, i), 2, 100000, &o->trace_samples);
    else if (!strcmp(a, "--hessian-alphas")) {
        const char *v = mli_cli_value(argc, argv, i);
        rc = v ? parse_alphas(v, o) : MLI_EUSAGE;
    } else if (!strcmp(a, "--threshold")) {
        const char *v = mli_cli_value(argc, argv, i);
        char *end;
        o->threshold = v ? strtod(v, &end) : -1;
        if (!v || *end || !(o->threshold >= 0))
            rc = mli_err(MLI_EUSAGE, "--threshold: '%s' is not a non-negative number", v ? v : "");
    } else if (!strcmp(a, "--bn-stats")) {
        const char *v = mli_cli_value(argc, argv, i);
        if (v && !strcmp(v, "ema"))
            o->bn_stats = MLI_BN_EMA;
        else if (v && !strcmp(v, "exact"))
            o->bn_stats = MLI_BN_EXACT;
        else
            rc = mli_err(MLI_EUSAGE, "--bn-stats: '%s' is not ema or exact", v ? v : "");
    } else if (!strcmp(a, "--gauss-quad")) {
        const char *v = mli_cli_value(argc, argv, i);
        if (v && !strcmp(v, "adaptive"))
            o->adaptive = 1;
        else if (v && !strcmp(v, "trapz"))
            o->adaptive = 0;
        else
            rc = mli_err(MLI_EUSAGE, "--gauss-quad: '%s' is not trapz or adaptive", v ? v : "");
    } else if (!strcmp(a, "--no-train-derivs"))
        o->train_derivs = 0;
    else if (!strcmp(a, "--exact"))
        o->exact = 1;
    else if (!strcmp(a, "--certificates"))
        o->certificates = 1;
    else if (!strcmp(a, "--no-certificates"))
        o->certificates = 0;
    else if (!strcmp(a, "--data-dir"))
        rc = (o->data_dir = mli_cli_value(argc, argv, i)) ? MLI_OK : MLI_EUSAGE;
    else
        return 0;
    return rc ? -1 : 1;
}

void mli_cli_analysis_help(FILE *f)
{
    fprintf(f, "  --alpha-steps N      points of the alpha grid (default: the run's alpha_steps, 50)\n"
               "  --examples N         output-space geometry on the first N test examples (default: all)\n"
               "  --bn-stats ema|exact batch-norm statistics at each alpha: the reference's one-epoch\n"
               "                       moving average (default) or exact population statistics\n"
               "  --no-train-derivs    skip dL/dalpha, d2L/dalpha2 of the training loss (Taylor mode on\n"
               "                       the training set, about 3x the cost of the loss curve)\n"
               "  --certificates / --no-certificates   the MSE conditions C0, C1, C2, C12 (default: on\n"
               "                       for mse and recon models)\n"
               "  --verify-steps N     fine grid on which every verdict is re-checked (default 1000, at least 2)\n"
               "  --gauss-quad adaptive   also the Gauss length by GSL adaptive quadrature (grid-free)\n"
               "  --exact              piecewise-linear networks (relu or identity, no batch norm): the\n"
               "                       exact pieces of every analysed example's path, monotonicity\n"
               "                       decided without a grid, total turning with the kinks, the\n"
               "                       certificates on the pieces, and the data set's exact training\n"
               "                       loss curve (mse, recon) or an enclosure of it (ce); docs/exact.md\n"
               "  --hessian K          top-K (and bottom-K) Hessian eigenvalues by Lanczos, and the\n"
               "                       Hutchinson trace, over the training set\n"
               "  --hessian-alphas A,B alphas for --hessian (default 0,1)\n"
               "  --hessian-iters N    Lanczos steps (default max(2K+10, ...))\n"
               "  --trace-samples N    Hutchinson samples (default 20)\n"
               "  --threshold T        non-monotone when delta > T (default 1e-3)\n"
               "  --data-dir DIR       the folder holding the data set's files\n"
               "  --threads N          BLAS threads;  --progress / --quiet\n");
    mli_cli_controls_help(f);
}
