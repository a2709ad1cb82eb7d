#include "io/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/err.h"

void *mli_alloc_for(size_t count, size_t size, const char *what, ...)
{
    int overflow = size && count > SIZE_MAX / size;
    size_t n = overflow ? 0 : count * size;
    void *p = overflow ? NULL : malloc(n ? n : 1);
    if (p)
        return p;
    char purpose[512];
    va_list ap;
    va_start(ap, what);
    vsnprintf(purpose, sizeof purpose, what, ap);
    va_end(ap);
    if (overflow)
        mli_err(MLI_EFAIL, "cannot allocate %zu x %zu bytes (more than the address space) for %s", count, size,
                purpose);
    else
        mli_err(MLI_EFAIL, "cannot allocate %zu bytes for %s", count * size, purpose);
    return NULL;
}
