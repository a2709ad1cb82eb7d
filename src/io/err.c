#include "err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message of the current thread, built to its full length: a cause after a long path
 * (a 4000-byte directory, say) is never cut off. Its arguments may include the previous
 * message (mli_err(rc, "%s: %s", file, mli_errmsg()) prefixes it): the new message is
 * formatted into a fresh buffer before the old one is freed. A thread's buffer is freed when
 * the thread ends (the key's destructor). Should memory run out, the message is shortened in
 * its middle, keeping its head and the cause at its end. */
static _Thread_local char *msg;
static _Thread_local char fallback[1024];
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void free_msg(void *p) { free(p); }
static void make_key(void) { (void)pthread_key_create(&key, free_msg); }

void mli_err_shorten(char *dst, size_t n, const char *src)
{
    static const char dots[] = "…";
    size_t len = strlen(src);
    if (!n)
        return;
    if (len < n) {
        memcpy(dst, src, len + 1);
        return;
    }
    if (n < 16) {
        snprintf(dst, n, "%s", src);
        return;
    }
    /* a third of the room for the head, the rest for the tail: the cause is at the end */
    size_t room = n - 1 - (sizeof dots - 1), head = room / 3, tail = room - head;
    while (head && ((unsigned char)src[head] & 0xC0) == 0x80) /* whole UTF-8 characters */
        head--;
    const char *t = src + len - tail;
    while (*t && ((unsigned char)*t & 0xC0) == 0x80)
        t++;
    memcpy(dst, src, head);
    memcpy(dst + head, dots, sizeof dots - 1);
    memcpy(dst + head + sizeof dots - 1, t, strlen(t) + 1);
}

static void set_msg(char *m)
{
    pthread_once(&key_once, make_key);
    char *old = msg;
    msg = m;
    (void)pthread_setspecific(key, m);
    if (old != fallback)
        free(old);
}

int mli_err(int status, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *m = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (m) {
        vsnprintf(m, (size_t)n + 1, fmt, ap);
        set_msg(m);
    } else if (n >= 0) {
        /* out of memory: the shortened message, through a stack buffer (the arguments may
         * point into the fallback buffer) */
        char big[4096 + 1024];
        vsnprintf(big, sizeof big, fmt, ap);
        char tmp[sizeof fallback];
        mli_err_shorten(tmp, sizeof tmp, big);
        set_msg(NULL);
        memcpy(fallback, tmp, sizeof tmp);
        msg = fallback;
    }
    va_end(ap);
    return status;
}

const char *mli_errmsg(void) { return msg ? msg : ""; }

void mli_err_clear(void)
{
    if (msg)
        msg[0] = '\0';
}

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
