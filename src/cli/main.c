/* mli: entry point, command dispatch, BLAS set-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>

#include "cli/cli.h"
#include "io/err.h"

char *openblas_get_corename(void);

/* OpenBLAS 0.3.21 falls back to its generic "Prescott" kernels on CPUs it does not know by
 * name (virtual machines often hide it), which runs sgemm 4x below what an AVX-512 or AVX2
 * CPU does. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so mli re-executes itself
 * once with the right core type. A user's own OPENBLAS_CORETYPE, or MLI_BLAS_TUNE=0, wins. */
static void blas_tune(char **argv)
{
    const char *tune = getenv("MLI_BLAS_TUNE");
    if (getenv("OPENBLAS_CORETYPE") || (tune && !strcmp(tune, "0")))
        return;
    const char *core = openblas_get_corename();
    if (!core || strcasecmp(core, "prescott"))
        return;
    const char *want = NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (!want)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with the generic kernels */
}

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
    blas_tune(argv);
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
