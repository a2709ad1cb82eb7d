/* mli report RUN_DIR | SWEEP_DIR: gnuplot figures and index.html of a run or a sweep directory. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "report/run_report.h"
#include "report/study_report.h"
#include "report/sweep_report.h"
#include "report/sweep_table.h"

void mli_usage_report(FILE *f)
{
    fprintf(f, "usage: mli report [--quiet] RUN_DIR | SWEEP_DIR\n\n"
               "Draws the figures of a run directory with gnuplot and writes RUN_DIR/report/:\n"
               "index.html (summary, configuration, every figure with a caption), and for each figure\n"
               "NAME.png, NAME.svg, the data it plots (NAME.tsv) and its gnuplot script (NAME.gp, which\n"
               "redraws it when run with 'gnuplot NAME.gp' inside report/). Figures whose data is\n"
               "missing (e.g. before 'mli analyze') are left out and listed in index.html.\n\n"
               "For a sweep directory (runs/<id>/ and sweep.json, written by 'mli sweep') it writes\n"
               "SWEEP_DIR/report/: heat maps of delta over learning rate x depth and learning rate x\n"
               "width, scatter plots of delta, normalized distance and Gauss length, every run's loss\n"
               "along the path, and index.html with the paper's table; it also (re)writes summary.tsv,\n"
               "table.md and table.tex with the default thresholds of 'mli table'.\n\n"
               "For a study directory (no runs of its own, subdirectories that are sweep directories, as\n"
               "'make paper' writes runs/paper/) it writes each part's sweep report, then STUDY/report/:\n"
               "index.html opening with the paper's claims, what the parts measured and a verdict per\n"
               "claim (rules in the page), the figures over the pooled runs, and a link to every run;\n"
               "claims.tsv. A part's role comes from its name: arch*, outr*, optim*, mse*, ae*.\n\n"
               "  --quiet   do not print the path of index.html\n\n"
               "Exit status: 0 done; 1 gnuplot missing or failed (the data and scripts are still\n"
               "written); 2 usage error, or a folder of run directories that is not a sweep\n"
               "directory; 3 the directory does not exist, is neither a run nor a sweep directory,\n"
               "holds no runs, or holds a malformed file.\n");
}

int mli_cmd_report(int argc, char **argv)
{
    const char *run = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (mli_cli_is_help(a)) {
            mli_usage_report(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet"))
            quiet = 1;
        else if (a[0] == '-' && a[1]) {
            mli_err(MLI_EUSAGE, "report: unknown option '%s' (see 'mli report --help')", a);
            return mli_cli_fail(MLI_EUSAGE);
        } else if (run) {
            mli_err(MLI_EUSAGE, "report: one run directory expected, got '%s' and '%s'", run, a);
            return mli_cli_fail(MLI_EUSAGE);
        } else
            run = a;
    }
    if (!run) {
        mli_err(MLI_EUSAGE, "report: which run directory? (usage: mli report RUN_DIR)");
        return mli_cli_fail(MLI_EUSAGE);
    }
    int rc = mli_table_is_sweep(run) ? mli_report_sweep(run) : mli_study_is(run) ? mli_report_study(run)
                                                                                   : mli_report_run(run);
    if (!rc && !quiet) {
        size_t n = strlen(run);
        while (n > 1 && run[n - 1] == '/')
            n--;
        printf("%.*s/report/index.html\n", (int)n, run);
    }
    return mli_cli_fail(rc);
}
