/* Text output: a growable buffer (for TSV tables that are rewritten atomically), JSON files
 * through cJSON, and the progress line. Tables: tab-separated, one header line, numbers
 * with %.9g so that a float round-trips. */
#ifndef MLI_TEXT_H
#define MLI_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

typedef struct {
    char *s;
    size_t len, cap;
} mli_buf;

void mli_buf_printf(mli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append "%.9g" followed by sep ('\t' or '\n'). */
void mli_buf_num(mli_buf *b, double v, char sep);
void mli_buf_free(mli_buf *b);
int mli_buf_write(const mli_buf *b, const char *path); /* atomic */
/* 64-bit FNV-1a of n bytes: sweep run ids, and the digest geometry.json records for each table
 * of an analysis so that a table from another analysis is recognised (not a cryptographic
 * hash). */
uint64_t mli_fnv1a64(const void *p, size_t n);

/* JSON files: written atomically and pretty-printed; read with MLI_EINPUT on bad input. */
int mli_json_write(const char *path, const cJSON *obj);
int mli_json_read(const char *path, cJSON **obj);
/* A number that may be NaN/Inf: JSON has no such numbers, so they become null. */
cJSON *mli_json_num(double v);

/* The progress line: shown on stderr when it is a terminal (mode 0 = auto), always (1) or
 * never (-1); redrawn at most ten times a second. */
typedef struct {
    int on;
    double last;
} mli_progress;

mli_progress mli_progress_make(int mode);
void mli_progress_show(mli_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mli_progress_end(mli_progress *p);
double mli_now(void); /* monotonic seconds */

#endif
