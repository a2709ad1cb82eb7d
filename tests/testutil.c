#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"

const char *tu_tmpdir(const char *tag)
{
    static char path[512];
    static int counter;
    const char *root = getenv("MLI_TEST_ROOT");
    snprintf(path, sizeof path, "%s/build/test-tmp/%s-%d-%d", root ? root : ".", tag, (int)getpid(),
             counter++);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fail_msg("cannot clean %s", path);
    if (mli_mkdirs(path) != 0)
        fail_msg("cannot create %s", path);
    return path;
}

void tu_fill_uniform(mli_real *x, size_t n, double lo, double hi, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (mli_real)(lo + (hi - lo) * (double)(s >> 11) / 9007199254740992.0);
    }
}

void tu_write_file(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n)
        fail_msg("cannot write %s", path);
    fclose(f);
}

double tu_max_relerr(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}
