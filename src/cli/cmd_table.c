/* mli table SWEEP_DIR: summary.tsv and the paper's table of a sweep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "report/sweep_table.h"

void mli_usage_table(FILE *f)
{
    fprintf(f, "usage: mli table [--loss-threshold X] [--delta-threshold X] [--quiet] SWEEP_DIR\n\n"
               "Reads the runs of a sweep directory (written by 'mli sweep': runs/<id>/ and sweep.json)\n"
               "and writes, in SWEEP_DIR:\n"
               "  summary.tsv  one row per run: run_id, the keys that vary, status, final losses and\n"
               "               accuracies, delta, monotone, wdist, norm_wdist, gauss_length_mean\n"
               "               (and ntk_kernel_distance when computed); nan where a run has no result\n"
               "  table.md     the paper's table: per optimizer, batch norm and learning rate, the\n"
               "               fraction of non-monotone runs (delta above the delta threshold) among\n"
               "               the successful runs (final training loss below the loss threshold),\n"
               "               the counts, the mean delta of the non-monotone runs, and the runs\n"
               "               excluded as unsuccessful (diverged, stopped early, loss too high)\n"
               "  table.tex    the same as a LaTeX tabular\n"
               "and prints the Markdown table.\n\n"
               "  --loss-threshold X   successful runs have a final training loss below X (default 0.1)\n"
               "  --delta-threshold X  non-monotone runs have delta above X (default 1e-3)\n"
               "  --quiet              do not print the table\n\n"
               "Exit status: 0 done; 2 usage error; 3 SWEEP_DIR does not exist, has no runs, or holds\n"
               "a malformed file (named in the message).\n");
}

/* A threshold: a finite number, above zero for the loss, at least zero for delta. */
static int threshold(int argc, char **argv, int *i, double *x, int positive)
{
    const char *opt = argv[*i], *v = mli_cli_value(argc, argv, i);
    if (!v)
        return MLI_EUSAGE;
    char *end;
    double t = strtod(v, &end);
    if (end == v || *end || !isfinite(t) || (positive ? t <= 0 : t < 0))
        return mli_err(MLI_EUSAGE, "table: %s: '%s' is not a number %s", opt, v,
                       positive ? "above 0" : "of at least 0");
    *x = t;
    return MLI_OK;
}

int mli_cmd_table(int argc, char **argv)
{
    const char *dir = NULL;
    int quiet = 0, rc = MLI_OK;
    mli_table_opts o;
    mli_table_opts_default(&o);
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (mli_cli_is_help(a)) {
            mli_usage_table(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet"))
            quiet = 1;
        else if (!strcmp(a, "--loss-threshold"))
            rc = threshold(argc, argv, &i, &o.loss_threshold, 1);
        else if (!strcmp(a, "--delta-threshold"))
            rc = threshold(argc, argv, &i, &o.delta_threshold, 0);
        else if (a[0] == '-' && a[1])
            rc = mli_err(MLI_EUSAGE, "table: unknown option '%s' (see 'mli table --help')", a);
        else if (dir)
            rc = mli_err(MLI_EUSAGE, "table: one sweep directory expected, got '%s' and '%s'", dir, a);
        else
            dir = a;
    }
    if (!rc && !dir)
        rc = mli_err(MLI_EUSAGE, "table: which sweep directory? (usage: mli table SWEEP_DIR)");
    if (rc)
        return mli_cli_fail(rc);
    mli_table_sweep s;
    mli_buf md = {0};
    rc = mli_table_load(&s, dir);
    if (!rc)
        rc = mli_table_write(&s, &o, &md);
    if (!rc && !quiet)
        fputs(md.s, stdout);
    mli_buf_free(&md);
    mli_table_free(&s);
    return mli_cli_fail(rc);
}
