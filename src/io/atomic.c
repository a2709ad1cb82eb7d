#include "atomic.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mli_atomic_open(mli_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->path)
        return mli_err(MLI_EUSAGE, "%s: path too long", path);
    strcpy(a->path, path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0)
        return mli_err(MLI_EFAIL, "%s: cannot create temporary file: %s", path, strerror(errno));
    fchmod(fd, 0644);
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        close(fd);
        unlink(a->tmp);
        return mli_err(MLI_EFAIL, "%s: %s", path, strerror(errno));
    }
    return MLI_OK;
}

int mli_atomic_commit(mli_atomic *a)
{
    /* every step checked, the first failure's errno kept: a full disk often shows only at
     * the flush of the last buffer, at fsync, or at close (network file systems) */
    int err = 0;
    if (fflush(a->fp) != 0)
        err = errno ? errno : EIO;
    else if (ferror(a->fp))
        err = EIO; /* an earlier write failed and the caller did not say why */
    if (!err && fsync(fileno(a->fp)) != 0)
        err = errno;
    if (fclose(a->fp) != 0 && !err)
        err = errno ? errno : EIO;
    a->fp = NULL;
    if (err) {
        unlink(a->tmp);
        return mli_err(MLI_EFAIL, "%s: write failed: %s", a->path, strerror(err));
    }
    if (rename(a->tmp, a->path) != 0) {
        err = errno;
        unlink(a->tmp);
        return mli_err(MLI_EFAIL, "%s: rename failed: %s", a->path, strerror(err));
    }
    return MLI_OK;
}

void mli_atomic_abort(mli_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    a->fp = NULL;
    unlink(a->tmp);
}

int mli_atomic_write(const char *path, const void *buf, size_t n)
{
    mli_atomic a;
    int rc = mli_atomic_open(&a, path);
    if (rc)
        return rc;
    if (n && fwrite(buf, 1, n, a.fp) != n) {
        int err = errno ? errno : EIO;
        mli_atomic_abort(&a);
        return mli_err(MLI_EFAIL, "%s: write failed: %s", path, strerror(err));
    }
    return mli_atomic_commit(&a);
}

int mli_file_read(const char *path, size_t max, unsigned char **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mli_err(MLI_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mli_err(MLI_EINPUT, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max) {
        fclose(f);
        return mli_err(MLI_EINPUT, "%s: file is %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *b = mli_malloc(len + 1);
    if (fread(b, 1, len, f) != len) {
        fclose(f);
        free(b);
        return mli_err(MLI_EINPUT, "%s: read failed", path);
    }
    fclose(f);
    b[len] = 0;
    *buf = b;
    *n = len;
    return MLI_OK;
}

int mli_mkdirs(const char *path)
{
    char tmp[4096];
    if (strlen(path) >= sizeof tmp)
        return mli_err(MLI_EUSAGE, "%s: path too long", path);
    strcpy(tmp, path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return mli_err(MLI_EFAIL, "%s: cannot create directory: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return mli_err(MLI_EFAIL, "%s: cannot create directory: %s", tmp, strerror(errno));
    return MLI_OK;
}

int mli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mli_exists_in(const char *dir, const char *name)
{
    char *p = mli_malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    struct stat st;
    int yes = stat(p, &st) == 0;
    free(p);
    return yes;
}
