#include "io/blas.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

char *openblas_get_corename(void);

void mli_fp_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) and DAZ (bit 6) */
#endif
}

const char *mli_blas_core(void) { return openblas_get_corename(); }

void mli_blas_tune(char **argv)
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
