#include "io/tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"

void mli_tsv_free(mli_tsv *t)
{
    for (int j = 0; j < t->ncol; j++)
        free(t->col[j]);
    for (int i = 0; t->names && i < t->nrow; i++)
        free(t->names[i]);
    free(t->col);
    free(t->v);
    free(t->names);
    char path[sizeof t->path];
    memcpy(path, t->path, sizeof path);
    memset(t, 0, sizeof *t);
    memcpy(t->path, path, sizeof path);
    t->name_col = -1;
}

int mli_tsv_col(const mli_tsv *t, const char *name)
{
    for (int j = 0; j < t->ncol; j++)
        if (!strcmp(t->col[j], name))
            return j;
    return -1;
}

/* Split at tabs in place; returns the number of cells (at most max + 1: one too many). */
static int cells(char *line, char **cell, int max)
{
    int n = 0;
    for (char *p = line; n <= max;) {
        cell[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int header(mli_tsv *t, char *line, char ***cell)
{
    t->ncol = 1;
    for (const char *q = line; *q; q++)
        t->ncol += *q == '\t';
    *cell = mli_malloc(sizeof(char *) * (size_t)(t->ncol + 1));
    cells(line, *cell, t->ncol);
    t->col = mli_malloc(sizeof(char *) * (size_t)t->ncol);
    for (int j = 0; j < t->ncol; j++) {
        t->col[j] = mli_strdup((*cell)[j]);
        if (!strcmp((*cell)[j], "name"))
            t->name_col = j;
    }
    if (t->ncol == 1 && !t->col[0][0])
        return mli_err(MLI_EINPUT, "%s:1: empty header line, expected column names", t->path);
    return MLI_OK;
}

static int row(mli_tsv *t, char *line, int lineno, size_t *cap, char **cell)
{
    int n = cells(line, cell, t->ncol);
    if (n != t->ncol)
        return mli_err(MLI_EINPUT, "%s:%d: %s cells, the header has %d columns", t->path, lineno,
                       n > t->ncol ? "more" : "fewer", t->ncol);
    if ((size_t)(t->nrow + 1) > *cap) {
        *cap = 2 * *cap + 64;
        t->v = mli_realloc(t->v, sizeof(double) * *cap * (size_t)t->ncol);
        if (t->name_col >= 0)
            t->names = mli_realloc(t->names, sizeof(char *) * *cap);
    }
    double *r = t->v + (size_t)t->nrow * (size_t)t->ncol;
    for (int j = 0; j < n; j++) {
        if (j == t->name_col) {
            r[j] = NAN;
            continue;
        }
        char *end;
        r[j] = strtod(cell[j], &end);
        if (end == cell[j] || *end)
            return mli_err(MLI_EINPUT, "%s:%d: column '%s': '%.40s' is not a number", t->path, lineno, t->col[j],
                           cell[j]);
    }
    if (t->name_col >= 0)
        t->names[t->nrow] = mli_strdup(cell[t->name_col]);
    t->nrow++;
    return MLI_OK;
}

static int parse(mli_tsv *t, char *text)
{
    int lineno = 0, rc = MLI_OK;
    size_t cap = 0;
    char **cell = NULL;
    for (char *p = text; *p && !rc;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (++lineno == 1)
            rc = header(t, p, &cell);
        else if (*p)
            rc = row(t, p, lineno, &cap, cell);
        p = nl ? nl + 1 : p + len;
    }
    free(cell);
    if (!rc && !lineno)
        rc = mli_err(MLI_EINPUT, "%s: empty file, expected a header line of column names", t->path);
    return rc;
}

int mli_tsv_load(mli_tsv *t, const char *dir, const char *file, const char *const *required)
{
    memset(t, 0, sizeof *t);
    t->name_col = -1;
    snprintf(t->path, sizeof t->path, "%s/%s", dir, file);
    if (access(t->path, F_OK) != 0)
        return MLI_OK;
    unsigned char *buf;
    size_t n;
    int rc = mli_file_read(t->path, MLI_TSV_MAX_BYTES, &buf, &n);
    if (rc)
        return rc;
    rc = memchr(buf, '\0', n) ? mli_err(MLI_EINPUT, "%s: binary data in a text table", t->path)
                              : parse(t, (char *)buf);
    free(buf);
    for (int i = 0; !rc && required && required[i]; i++)
        if (mli_tsv_col(t, required[i]) < 0)
            rc = mli_err(MLI_EINPUT, "%s:1: no '%s' column in the header", t->path, required[i]);
    if (rc)
        mli_tsv_free(t);
    t->present = !rc;
    return rc;
}

void mli_tsv_write(mli_buf *b, const mli_tsv *t, int group)
{
    for (int j = 0; j < t->ncol; j++)
        mli_buf_printf(b, "%s%c", t->col[j], j + 1 < t->ncol ? '\t' : '\n');
    for (int r = 0; r < t->nrow; r++) {
        if (group >= 0 && r && mli_tsv_at(t, r, group) != mli_tsv_at(t, r - 1, group))
            mli_buf_printf(b, "\n");
        for (int j = 0; j < t->ncol; j++) {
            if (j == t->name_col)
                mli_buf_printf(b, "%s%c", t->names[r], j + 1 < t->ncol ? '\t' : '\n');
            else
                mli_buf_num(b, mli_tsv_at(t, r, j), j + 1 < t->ncol ? '\t' : '\n');
        }
    }
}
