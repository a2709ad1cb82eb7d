/* Reading the tables mli writes: one header line of column names, then rows of numbers
 * (nan and inf allowed), tab-separated; a column named "name" holds text. Read by column
 * name, so a table may gain columns without breaking its readers. */
#ifndef MLI_TSV_H
#define MLI_TSV_H

#include <stddef.h>

#include "io/text.h"

#define MLI_TSV_MAX_BYTES (512u << 20)

typedef struct {
    char path[4200];
    int present;  /* the file existed and was read */
    int ncol, nrow;
    int name_col; /* index of the text column "name", or −1 */
    char **col;   /* ncol column names */
    double *v;    /* nrow × ncol, row-major; NaN in the text column */
    char **names; /* nrow texts of the "name" column, when there is one */
} mli_tsv;

/* Read dir/file if it exists (present = 0 and MLI_OK when it does not). Every column of
 * required (NULL-terminated; NULL for none) must be in the header. A malformed file is
 * MLI_EINPUT naming the file and line; the table is then left empty. */
int mli_tsv_load(mli_tsv *t, const char *dir, const char *file, const char *const *required);
void mli_tsv_free(mli_tsv *t);
/* Index of a column, or −1. */
int mli_tsv_col(const mli_tsv *t, const char *name);

/* The table as TSV into b (a figure's data), a blank line before each row whose column
 * `group` changes (gnuplot then draws each group as its own curve or scan line); group < 0:
 * none. */
void mli_tsv_write(mli_buf *b, const mli_tsv *t, int group);

static inline double mli_tsv_at(const mli_tsv *t, int r, int c) { return t->v[(size_t)r * (size_t)t->ncol + (size_t)c]; }

#endif
