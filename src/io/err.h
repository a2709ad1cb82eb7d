/* Errors, GSL style: a function that can fail returns an int status and records a
 * message saying what is at fault (file, key, value) and what was expected.
 * The statuses are the exit statuses of the `mli` command (README: "Commands"). */
#ifndef MLI_ERR_H
#define MLI_ERR_H

#include <stddef.h>

enum {
    MLI_OK = 0,
    MLI_EFAIL = 1,  /* the work failed: diverged, out of memory, I/O error */
    MLI_EUSAGE = 2, /* bad command line, key or value */
    MLI_EINPUT = 3  /* invalid input file: dataset, model, config */
};

/* Record a message for the current thread and return status. The message is kept whole,
 * however long (no cut after a long path); its arguments may include mli_errmsg(), so that
 * mli_err(rc, "%s: %s", file, mli_errmsg()) prefixes the current message. */
int mli_err(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last recorded message ("" if none), valid until the next mli_err of the thread. */
const char *mli_errmsg(void);
void mli_err_clear(void);
/* Copy src into dst (n bytes), shortening it in the middle with "…" when it does not fit:
 * its head (where a path starts) and its end (where the cause is) are kept. For messages
 * that must go into a fixed-size field. */
void mli_err_shorten(char *dst, size_t n, const char *src);

/* Allocation that never returns NULL: on failure it prints and exits with MLI_EFAIL,
 * since no caller can do anything better with an out-of-memory condition. */
void *mli_malloc(size_t n);
void *mli_calloc(size_t count, size_t size);
void *mli_realloc(void *p, size_t n);
char *mli_strdup(const char *s);

/* Warnings go to stderr always; they never change a result. */
void mli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
