/* mli check RUN_DIR | --init A.safetensors --final B.safetensors [key=value ...] [options] */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"

void mli_usage_check(FILE *f)
{
    fprintf(f, "usage: mli check RUN_DIR [options]\n"
               "       mli check RUN_DIR [key=value ...] [options]      (RUN_DIR of init.onnx, final.onnx)\n"
               "       mli check --init A.safetensors --final B.safetensors [--out DIR] [key=value ...] [options]\n"
               "       mli check --init A.onnx --final B.onnx dset_name=... [loss_fn=...] [--out DIR] [options]\n\n"
               "Checks the paper's sufficient conditions for a monotone loss along the path, example by\n"
               "example and for the data set, and prints the verdict table:\n"
               "  C0   monotone on the alpha grid (exact values and derivatives; evidence only)\n"
               "  C1   Gauss-length condition (mse/recon): certified where cos(G[a,1]) S[a,1] >= |r(1)|\n"
               "  C2   convexity along the path with dl/dalpha(1) <= 0\n"
               "  C12  C1 up to its certified prefix, then C2\n"
               "Every verdict is re-checked on a finer grid; an example certified but not monotone there\n"
               "is a counterexample (there must be none). Writes geometry.json, interp.tsv,\n"
               "geometry_quantiles.tsv and examples.tsv as 'mli analyze' does (into RUN_DIR, or --out DIR,\n"
               "created if needed; default the folder of B). key=value pick the data set for model files (dset_name,\n"
               "datasize, synth_*; the training keys of 'mli train'). Exit 0 whatever the verdict,\n"
               "3 on invalid files.\n\n"
               "ONNX models (.onnx, docs/onnx.md): both files ONNX with the same graph and initializer names\n"
               "and shapes; their float initializers are the parameters. The loss is loss_fn (default ce), the\n"
               "data set dset_name/datasize; the data input's per-example size must be the data's (784 for\n"
               "FashionMNIST: N x 784 or N x 1 x 28 x 28). A RUN_DIR without final.safetensors but with\n"
               "init.onnx and final.onnx takes its keys from its config.json if it has one, else from\n"
               "key=value on the command line (dset_name required). Unsupported operators or attributes:\n"
               "exit 3 naming the node.\n\noptions:\n");
    mli_cli_analysis_help(f);
}

static void row(const char *name, const char *what, const mli_cert_count *c, const char *extra)
{
    printf("%-4s %-34s %7d/%-7d %7d/%-7d %8d%s\n", name, what, c->certified, c->n_examples, c->monotone,
           c->n_examples, c->counterexamples, extra);
}

static void print_table(const char *what, const mli_analysis *r, const mli_analyze_opts *o)
{
    const mli_cert_summary *s = &r->cert;
    printf("mli check: %s\n", what);
    printf("loss %s, %d test examples, %d-point alpha grid, verified on %d points\n\n",
           r->loss == MLI_LOSS_CE ? "ce" : r->loss == MLI_LOSS_MSE ? "mse" : "recon", r->n_examples,
           o->alpha_steps, o->verify_steps);
    printf("%-4s %-34s %15s %15s %8s\n", "", "condition", "certified", "monotone", "counterex");
    char missed[64];
    snprintf(missed, sizeof missed, "   (grid missed %d)", s->c0.missed_by_grid);
    row("C0", "monotone on the grid (evidence)", &s->c0, missed);
    if (r->loss != MLI_LOSS_CE)
        row("C1", "Gauss length, whole path", &s->c1, "");
    else
        printf("%-4s %-34s %15s\n", "C1", "Gauss length", "not applicable (ce)");
    row("C2", "convex along the path", &s->c2, "");
    if (r->loss != MLI_LOSS_CE)
        row("C12", "C1 on its prefix, then C2", &s->c12, "");
    printf("fine check: rises over the running minimum beyond the float32 error bound; %d examples "
           "re-evaluated in double, %d undecided, %d judged in float32 only\n",
           s->rechecked_double, s->undecided, s->judged_float);
    printf("\ndata set (mean loss of these examples): C0 %s, C2 %s", s->dataset_c0 ? "yes" : "no",
           s->dataset_c2 ? "yes" : "no");
    if (s->dataset_c12 >= 0)
        printf(", C12 %s", s->dataset_c12 ? "yes" : "no");
    printf("; monotone on the fine grid: %s\n", s->dataset_monotone ? "yes" : "no");
    printf("training loss: delta = %.4g -> %s (threshold %g); end_rise = %.4g%s; norm_wdist = %.4g\n", r->delta,
           r->monotone ? "MLI holds" : "non-monotone", o->threshold, r->end_rise,
           r->end_rise > o->threshold ? " (a rise on the last step, not in delta)" : "", r->norm_wdist);
    printf("counterexamples: %d%s\n", s->n_counterexamples,
           s->n_counterexamples ? "  (listed in geometry.json: certificates.counterexample_list)" : "");
    mli_cli_exact_summary(stdout, r, o->threshold);
}

int mli_cmd_check(int argc, char **argv)
{
    mli_analyze_opts o;
    mli_analyze_opts_default(&o);
    o.certificates = 1; /* everything else as `mli analyze`: the same files, the same columns */
    mli_config cfg;
    mli_config_default(&cfg);
    const char *run = NULL, *init = NULL, *final = NULL, *out = NULL;
    int keys = 0;
    char *keyv[256]; /* the key=value arguments (more are refused) */
    for (int i = 1; i < argc; i++) {
        if (mli_cli_is_help(argv[i])) {
            mli_usage_check(stdout);
            return 0;
        }
        int c = mli_cli_analysis_opt(argc, argv, &i, &o);
        if (c < 0)
            return mli_cli_fail(MLI_EUSAGE);
        if (c > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--init") || !strcmp(a, "--final") || !strcmp(a, "--out")) {
            const char *v = mli_cli_value(argc, argv, &i);
            if (!v)
                return mli_cli_fail(MLI_EUSAGE);
            *(a[2] == 'i' ? &init : a[2] == 'f' ? &final : &out) = v;
        } else if (a[0] != '-' && strchr(a, '=')) {
            if (mli_config_set_pair(&cfg, a)) {
                    return mli_cli_fail(MLI_EUSAGE);
            }
            keyv[keys++] = argv[i];
        } else if (a[0] != '-' && !run)
            run = a;
        else {
            mli_err(MLI_EUSAGE, "check: unexpected argument '%s' (see 'mli check --help')", a);
            return mli_cli_fail(MLI_EUSAGE);
        }
    }
    char ip[4096], fp[4096], dir[4096];
    if (run) {
        if (init || final) {
            mli_err(MLI_EUSAGE, "check: give a run directory or --init/--final, not both");
            return mli_cli_fail(MLI_EUSAGE);
        }
        int rc = mli_cli_run_models(run, ip, fp, &cfg, keyv, keys, "check");
        if (rc)
            return mli_cli_fail(rc);
        init = ip;
        final = fp;
        out = out ? out : run;
    } else if (!init || !final) {
        mli_err(MLI_EUSAGE, "check: give a run directory, or both --init and --final");
        return mli_cli_fail(MLI_EUSAGE);
    } else if (!out) {
        snprintf(dir, sizeof dir, "%s", final);
        out = dirname(dir);
    }
    /* the output folder before any work: a run of minutes must not fail at its last step */
    int mk = mli_cli_output_dir(out, "--out");
    if (mk)
        return mli_cli_fail(mk);
    if (o.alpha_steps <= 0)
        o.alpha_steps = cfg.alpha_steps;
    o.out_dir = out;
    o.init_path = init;
    o.final_path = final;
    mli_analysis res;
    int rc = mli_analyze_run(&cfg, &o, &res);
    if (!rc)
        mli_cli_bn_warning("check", &res);
    if (!rc)
        print_table(run ? run : final, &res, &o);
    mli_analysis_free(&res);
    return mli_cli_fail(rc);
}
