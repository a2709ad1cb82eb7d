/* mli: entry point, command dispatch, BLAS set-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/blas.h"
#include "io/err.h"

static void usage(FILE *f)
{
    int n;
    const mli_command *c = mli_commands(&n);
    fprintf(f, "usage: mli COMMAND [options]\n\n"
               "Geometry of neural-network loss landscapes along the straight line from\n"
               "initialization to a trained solution (Lucas et al., ICML 2021).\n\ncommands:\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", c[i].name, c[i].summary);
    fprintf(f, "\n'mli help COMMAND' or 'mli COMMAND --help' for the options of one command.\n"
               "Exit status: 0 success, 1 the work failed, 2 usage error, 3 invalid input file.\n");
}

int main(int argc, char **argv)
{
    mli_blas_tune(argv);
    mli_fp_flush_denormals();
    if (argc < 2) {
        usage(stderr);
        return MLI_EUSAGE;
    }
    if (mli_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mli %s\n", "0.1.0");
        return 0;
    }
    int n;
    const mli_command *c = mli_commands(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(argv[1], c[i].name))
            return c[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mli: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return MLI_EUSAGE;
}
