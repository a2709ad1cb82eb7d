#include "io/text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"

void mli_buf_printf(mli_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = mli_realloc(b->s, b->cap);
    }
}

void mli_buf_num(mli_buf *b, double v, char sep) { mli_buf_printf(b, "%.9g%c", v, sep); }

void mli_buf_free(mli_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

int mli_buf_write(const mli_buf *b, const char *path) { return mli_atomic_write(path, b->s, b->len); }

uint64_t mli_fnv1a64(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int mli_json_write(const char *path, const cJSON *obj)
{
    char *text = cJSON_Print(obj);
    if (!text)
        return mli_err(MLI_EFAIL, "%s: cannot serialise JSON", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the terminator: the length is passed explicitly */
    int rc = mli_atomic_write(path, text, n + 1);
    free(text);
    return rc;
}

int mli_json_read(const char *path, cJSON **obj)
{
    unsigned char *buf;
    size_t n;
    int rc = mli_file_read(path, 64u << 20, &buf, &n);
    if (rc)
        return rc;
    *obj = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!*obj || !cJSON_IsObject(*obj)) {
        cJSON_Delete(*obj);
        *obj = NULL;
        return mli_err(MLI_EINPUT, "%s: not a JSON object", path);
    }
    return MLI_OK;
}

cJSON *mli_json_num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

double mli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

mli_progress mli_progress_make(int mode)
{
    mli_progress p = {mode > 0 || (mode == 0 && isatty(STDERR_FILENO)), 0};
    return p;
}

void mli_progress_show(mli_progress *p, const char *fmt, ...)
{
    if (!p->on)
        return;
    double t = mli_now();
    if (t - p->last < 0.1)
        return;
    p->last = t;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\033[K", stderr);
    va_end(ap);
    fflush(stderr);
}

void mli_progress_end(mli_progress *p)
{
    if (p->on && p->last > 0)
        fputs("\r\033[K", stderr);
    p->last = 0;
}
