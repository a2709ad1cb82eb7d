#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char errbuf[1024];

int mli_err(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return status;
}

const char *mli_errmsg(void) { return errbuf; }

void mli_err_clear(void) { errbuf[0] = '\0'; }

static void oom(size_t n)
{
    fprintf(stderr, "mli: out of memory (allocating %zu bytes)\n", n);
    exit(MLI_EFAIL);
}

void *mli_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *mli_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *mli_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *mli_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mli_malloc(n);
    memcpy(d, s, n);
    return d;
}

void mli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mli: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
