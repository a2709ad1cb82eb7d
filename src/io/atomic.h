/* Atomic files: write to a temporary name in the same directory, flush, fsync, rename.
 * A killed process never leaves a half-written file under the final name. */
#ifndef MLI_ATOMIC_H
#define MLI_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *fp;
    char path[4096];
    char tmp[4096 + 32];
} mli_atomic;

/* Open a temporary file beside path; write through a->fp. */
int mli_atomic_open(mli_atomic *a, const char *path);
/* Flush, fsync and rename into place. Closes the file in every case. */
int mli_atomic_commit(mli_atomic *a);
/* Close and delete the temporary file. */
void mli_atomic_abort(mli_atomic *a);
/* Whole buffer in one call. */
int mli_atomic_write(const char *path, const void *buf, size_t n);

/* Read a whole file into memory (NUL-terminated for convenience); at most max bytes. */
int mli_file_read(const char *path, size_t max, unsigned char **buf, size_t *n);
/* mkdir -p */
int mli_mkdirs(const char *path);
/* Is path a directory? Does dir/name exist (any kind of file)? */
int mli_is_dir(const char *path);
int mli_exists_in(const char *dir, const char *name);

#endif
