/* mli report RUN_DIR: gnuplot figures and index.html of a run directory. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "report/run_report.h"

void mli_usage_report(FILE *f)
{
    fprintf(f, "usage: mli report [--quiet] RUN_DIR\n\n"
               "Draws the figures of a run directory with gnuplot and writes RUN_DIR/report/:\n"
               "index.html (summary, configuration, every figure with a caption), and for each figure\n"
               "NAME.png, NAME.svg, the data it plots (NAME.tsv) and its gnuplot script (NAME.gp, which\n"
               "redraws it when run with 'gnuplot NAME.gp' inside report/). Figures whose data is\n"
               "missing (e.g. before 'mli analyze') are left out and listed in index.html.\n\n"
               "  --quiet   do not print the path of index.html\n\n"
               "Exit status: 0 done; 1 gnuplot missing or failed (the data and scripts are still\n"
               "written); 2 usage error, or RUN_DIR is a sweep directory (not supported yet);\n"
               "3 RUN_DIR does not exist, is not a run directory, or holds a malformed file.\n");
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
    int rc = mli_report_run(run);
    if (!rc && !quiet) {
        size_t n = strlen(run);
        while (n > 1 && run[n - 1] == '/')
            n--;
        printf("%.*s/report/index.html\n", (int)n, run);
    }
    return mli_cli_fail(rc);
}
