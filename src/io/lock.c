#include "io/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/err.h"

extern char **environ;

/* The descriptor a parent handed down, if it is a lock on dir that we share. */
static int inherited(const char *dir)
{
    const char *v = getenv(MLI_LOCK_ENV);
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || *end || n < 0 || n > 1 << 20)
        return -1;
    struct stat a, b;
    if (fstat((int)n, &a) != 0 || stat(dir, &b) != 0 || !S_ISDIR(a.st_mode) || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return -1;
    /* the same open file description as the holder's: converting our own lock succeeds,
     * anyone else's fails */
    if (flock((int)n, LOCK_EX | LOCK_NB) != 0)
        return -1;
    fcntl((int)n, F_SETFD, FD_CLOEXEC);
    return (int)n;
}

static _Thread_local int last_busy;

int mli_dir_lock_was_busy(void) { return last_busy; }

int mli_dir_lock(const char *dir, int *fd)
{
    last_busy = 0;
    *fd = inherited(dir);
    if (*fd >= 0)
        return MLI_OK;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return mli_err(MLI_EFAIL, "%s: cannot open the run directory to lock it: %s", dir, strerror(errno));
    if (flock(d, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(d);
        last_busy = err == EWOULDBLOCK;
        if (err == EWOULDBLOCK)
            return mli_err(MLI_EFAIL, "%s: another mli process holds this run directory (training it, or a "
                           "sweep working on it); wait for it to finish, or use another directory", dir);
        return mli_err(MLI_EFAIL, "%s: cannot lock the run directory: %s", dir, strerror(err));
    }
    *fd = d;
    return MLI_OK;
}

void mli_dir_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

char **mli_dir_lock_env(void)
{
    size_t n = 0, len = strlen(MLI_LOCK_ENV);
    while (environ && environ[n])
        n++;
    char **env = mli_calloc(n + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], MLI_LOCK_ENV, len) || environ[i][len] != '=')
            env[k++] = environ[i];
    char buf[64];
    snprintf(buf, sizeof buf, "%s=%d", MLI_LOCK_ENV, MLI_LOCK_CHILD_FD);
    env[k] = mli_strdup(buf);
    return env;
}

void mli_dir_lock_env_free(char **env)
{
    if (!env)
        return;
    size_t k = 0;
    while (env[k + 1])
        k++;
    free(env[k]); /* the one string we own is the last */
    free(env);
}
