#include "train/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/err.h"
#include "io/runfiles.h"

/* train (config.json first: see mli_rundir_clean), geometry.json, the controls; the tables of
 * analyze and check are io/runfiles.h's list */
static const char *const RUN_FILES[] = {
    "config.json",      "init.safetensors", "checkpoint.safetensors", "final.safetensors",
    "train.tsv",        "geometry.json",    "random_inits.tsv",       "permute.tsv",
    "plane.tsv",        "plane_points.tsv", "logits.tsv",
    "init.onnx",        "final.onnx", /* mli export */
};
#define NRUN ((int)(sizeof RUN_FILES / sizeof RUN_FILES[0]))

/* the figures of report/run_report.c */
static const char *const FIGURES[] = {"loss_alpha",  "acc_alpha", "train_curves", "dloss_alpha",
                                      "geometry_alpha", "gauss_hist", "certificates", "hessian",
                                      "exact_dataset", "exact_loss", "exact_turning",
                                      "random_inits", "permute",   "plane",        "logits",
                                      "ntk"};
#define NFIG ((int)(sizeof FIGURES / sizeof FIGURES[0]))

int mli_rundir_known(const char *name)
{
    for (int i = 0; i < NRUN; i++)
        if (!strcmp(name, RUN_FILES[i]))
            return 1;
    for (int i = 0; i < MLI_N_ANALYSIS_TABLES; i++) {
        const char *t = mli_analysis_tables[i];
        size_t n = strlen(t);
        if (!strcmp(name, t)) /* or the name analyze stages it under: .TABLE.staged */
            return 1;
        if (name[0] == '.' && !strncmp(name + 1, t, n) && !strcmp(name + 1 + n, ".staged"))
            return 1;
    }
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int mli_rundir_known_traj(const char *name)
{
    static const char pre[] = "epoch_", suf[] = ".safetensors";
    size_t n = strlen(name), np = sizeof pre - 1, ns = sizeof suf - 1;
    return n > np + ns && !strncmp(name, pre, np) && !strcmp(name + n - ns, suf) &&
           all_digits(name + np, n - np - ns);
}

static int word_chars(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

int mli_rundir_known_report(const char *name)
{
    if (!strcmp(name, "index.html"))
        return 1;
    static const char *const ext[] = {".gp", ".tsv", ".png", ".svg"};
    for (int f = 0; f < NFIG; f++) {
        size_t nf = strlen(FIGURES[f]);
        if (strncmp(name, FIGURES[f], nf))
            continue;
        const char *rest = name + nf;
        for (int e = 0; e < 4; e++)
            if (!strcmp(rest, ext[e]))
                return 1;
        size_t nr = strlen(rest);
        /* NAME_SUFFIX.tsv: a figure's further tables */
        if (rest[0] == '_' && nr > 5 && !strcmp(rest + nr - 4, ".tsv") && word_chars(rest + 1, nr - 5))
            return 1;
        /* NAME.tmp-PID.gp|png|svg: gnuplot's output while it renders */
        if (!strncmp(rest, ".tmp-", 5)) {
            const char *dot = strchr(rest + 5, '.');
            if (dot && all_digits(rest + 5, (size_t)(dot - rest - 5)) &&
                (!strcmp(dot, ".gp") || !strcmp(dot, ".png") || !strcmp(dot, ".svg")))
                return 1;
        }
    }
    return 0;
}

int mli_rundir_is_tmp(const char *name, int (*known)(const char *))
{
    /* io/atomic.c: snprintf("%s.tmp.XXXXXX", path) then mkstemp, whose six characters are
     * letters and digits */
    size_t n = strlen(name);
    if (n < 12 || strncmp(name + n - 11, ".tmp.", 5))
        return 0;
    for (size_t i = n - 6; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    char base[1024];
    if (n - 11 >= sizeof base)
        return 0;
    memcpy(base, name, n - 11);
    base[n - 11] = '\0';
    return known(base);
}

static int remove_file(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return MLI_OK; /* (unlink says EROFS, not ENOENT, on a read-only file system) */
    if (unlink(path) != 0 && errno != ENOENT)
        return mli_err(MLI_EFAIL, "%s: cannot remove it: %s", path, strerror(errno));
    return MLI_OK;
}

/* Remove the files of sub (NULL: dir itself) that pick accepts; rmdir sub when empty. */
static int sweep_dir(const char *dir, const char *sub, int (*pick)(const char *, int (*)(const char *)),
                     int (*known)(const char *))
{
    char d[4096];
    snprintf(d, sizeof d, sub ? "%s/%s" : "%s", dir, sub);
    DIR *h = opendir(d);
    if (!h)
        return errno == ENOENT || errno == ENOTDIR
                   ? MLI_OK
                   : mli_err(MLI_EFAIL, "%s: cannot list: %s", d, strerror(errno));
    int rc = MLI_OK;
    struct dirent *e;
    while (!rc && (e = readdir(h))) {
        if (!pick(e->d_name, known))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        rc = remove_file(p);
    }
    closedir(h);
    if (!rc && sub && pick != mli_rundir_is_tmp && rmdir(d) != 0 && errno != ENOTEMPTY && errno != EEXIST &&
        errno != ENOENT)
        rc = mli_err(MLI_EFAIL, "%s: cannot remove the directory: %s", d, strerror(errno));
    return rc;
}

static int known_or_tmp(const char *name, int (*known)(const char *))
{
    return known(name) || mli_rundir_is_tmp(name, known);
}

int mli_rundir_clean(const char *dir)
{
    int rc = MLI_OK;
    for (int i = 0; !rc && i < NRUN + MLI_N_ANALYSIS_TABLES; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, i < NRUN ? RUN_FILES[i] : mli_analysis_tables[i - NRUN]);
        rc = remove_file(p);
    }
    if (!rc)
        rc = sweep_dir(dir, NULL, mli_rundir_is_tmp, mli_rundir_known);
    if (!rc)
        rc = sweep_dir(dir, "traj", known_or_tmp, mli_rundir_known_traj);
    if (!rc)
        rc = sweep_dir(dir, "report", known_or_tmp, mli_rundir_known_report);
    return rc;
}

int mli_rundir_remove_stale_tmp(const char *dir)
{
    int rc = sweep_dir(dir, NULL, mli_rundir_is_tmp, mli_rundir_known);
    if (!rc)
        rc = sweep_dir(dir, "traj", mli_rundir_is_tmp, mli_rundir_known_traj);
    if (!rc)
        rc = sweep_dir(dir, "report", mli_rundir_is_tmp, mli_rundir_known_report);
    return rc;
}
