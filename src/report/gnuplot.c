#include "report/gnuplot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "io/atomic.h"
#include "io/err.h"

/* The size and font of every figure; the SVG is "dynamic" so that browsers scale it. */
#define GP_WIDTH 960
#define GP_HEIGHT 600
#define GP_STR(x) #x
#define GP_XSTR(x) GP_STR(x)
#define GP_SIZE GP_XSTR(GP_WIDTH) "," GP_XSTR(GP_HEIGHT)
#define GP_FONT "DejaVu Sans,11"

void mli_gp_init(mli_gp_fig *f, const char *name)
{
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->nitems = -1;
    f->panel_w = 1;
}

void mli_gp_free(mli_gp_fig *f)
{
    for (int i = 0; i < f->ntab; i++)
        mli_buf_free(&f->tab[i].text);
    mli_buf_free(&f->body);
    mli_buf_free(&f->plot);
    f->ntab = 0;
}

mli_buf *mli_gp_table(mli_gp_fig *f, const char *suffix, const char **file)
{
    char name[sizeof f->tab[0].file];
    snprintf(name, sizeof name, "%s%s%s.tsv", f->name, suffix[0] ? "_" : "", suffix);
    int i = 0;
    while (i < f->ntab && strcmp(f->tab[i].file, name))
        i++;
    if (i == f->ntab) {
        if (f->ntab == MLI_GP_MAXTAB)
            abort(); /* a programming error: raise MLI_GP_MAXTAB */
        f->ntab++;
        memcpy(f->tab[i].file, name, sizeof name);
    }
    if (file)
        *file = f->tab[i].file;
    return &f->tab[i].text;
}

static void vcmd(mli_buf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        mli_buf_printf(b, "%s", small);
        return;
    }
    char *big = mli_malloc((size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    mli_buf_printf(b, "%s", big);
    free(big);
}

void mli_gp_cmd(mli_gp_fig *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcmd(&f->body, fmt, ap);
    va_end(ap);
    mli_buf_printf(&f->body, "\n");
}

void mli_gp_panel(mli_gp_fig *f) { mli_buf_printf(&f->body, "@defaults\n"); }

void mli_gp_multiplot(mli_gp_fig *f, int rows, int cols, const char *title)
{
    if (rows > 0)
        mli_buf_printf(&f->body, "set multiplot layout %d,%d title \"", rows, cols);
    else
        mli_buf_printf(&f->body, "set multiplot title \"");
    mli_gp_quote(&f->body, title);
    mli_buf_printf(&f->body, "\" font ',13'\n");
    f->panel_w = cols > 0 ? 1.0 / cols : 1;
}

void mli_gp_place(mli_gp_fig *f, double x, double y, double w, double h)
{
    mli_gp_cmd(f, "set origin %.4f,%.4f\nset size %.4f,%.4f", x, y, w, h);
    f->panel_w = w;
}

void mli_gp_plot(mli_gp_fig *f)
{
    f->plot.len = 0;
    mli_buf_printf(&f->plot, "plot ");
    f->nitems = f->key_n = f->key_len = 0;
}

void mli_gp_item(mli_gp_fig *f, const char *fmt, ...)
{
    if (f->nitems > 0)
        mli_buf_printf(&f->plot, ", \\\n     ");
    size_t start = f->plot.len;
    va_list ap;
    va_start(ap, fmt);
    vcmd(&f->plot, fmt, ap);
    va_end(ap);
    f->nitems++;
    /* the key entry: its title, in characters (UTF-8 continuation bytes not counted) */
    const char *t = strstr(f->plot.s + start, " title '");
    if (t) {
        int len = 0;
        for (const char *p = t + 8; *p && *p != '\''; p++)
            len += ((unsigned char)*p & 0xC0) != 0x80;
        f->key_n++;
        f->key_len = len > f->key_len ? len : f->key_len;
    }
}

/* The key below the plot, laid out here rather than by gnuplot, whose bottom margin does not
 * always leave room for both the x label and a key of several rows. gnuplot fits as many
 * columns as entries of (longest title + 4 characters) fit across the plot; estimating the
 * character generously (9.5 pixels at 11 points; the PNG's is 8-9, the SVG's less) and the
 * plot narrowly gives a column count it can always reach, which "maxcols" then imposes: the
 * rows are known, and so is the margin they need. */
static int key_cols(const mli_gp_fig *f)
{
    double avail = GP_WIDTH * f->panel_w - 130, entry = 9.5 * (f->key_len + 4) + 5;
    int cols = (int)(avail / entry);
    return cols < 1 ? 1 : cols > f->key_n ? f->key_n : cols;
}

void mli_gp_end(mli_gp_fig *f)
{
    int rows = 0;
    if (f->key_n) {
        int cols = key_cols(f);
        rows = (f->key_n + cols - 1) / cols;
        mli_buf_printf(&f->body, "set key maxcols %d\n", cols);
    }
    /* tick labels, the x label (with room for subscripts), the key rows, a little air */
    mli_buf_printf(&f->body, "set bmargin %.1f\n%s\n", 3.6 + 1.15 * rows, f->plot.s);
    f->nitems = -1;
}

void mli_gp_quote(mli_buf *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            mli_buf_printf(b, "\\%c", *p);
        else if (strchr("^_@&~{}", *p))
            mli_buf_printf(b, "\\\\%c", *p); /* \\x in a "string": a literal x in enhanced text */
        else if (*p == '\n' || *p == '\t')
            mli_buf_printf(b, " ");
        else
            mli_buf_printf(b, "%c", *p);
    }
}

static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#888888", "#000000"};

const char *mli_gp_rgb(int lt) { return palette[(lt - 1 + 8) % 8]; }

/* The part of every script before the drawing commands. The palette is set with "set
 * linetype", which survives "reset"; everything else a panel relies on is in the defaults
 * macro, so that each panel starts from the same state. */
static void preamble(mli_buf *s, const mli_gp_fig *f)
{
    mli_buf_printf(s,
                   "# %s.gp: written by 'mli report'. Rerun from this directory with\n"
                   "#   gnuplot %s.gp\n"
                   "# to draw %s.png and %s.svg from",
                   f->name, f->name, f->name, f->name);
    for (int i = 0; i < f->ntab; i++)
        mli_buf_printf(s, " %s", f->tab[i].file);
    mli_buf_printf(s, ".\n"
                      "out = exists(\"mli_output\") ? mli_output : '%s'\n"
                      "set encoding utf8\n\n",
                   f->name);
    static const int points[] = {7, 5, 9, 11, 13, 7, 1, 7};
    for (int i = 0; i < 8; i++)
        mli_buf_printf(s, "set linetype %d lc rgb '%s' lw %s pt %d ps 0.7 dt %s\n", i + 1,
                       palette[i], i == MLI_LT_REF - 1 ? "1.2" : "2", points[i],
                       i == MLI_LT_REF - 1 ? "(8,5)" : "solid");
    mli_buf_printf(s,
                   "defaults = \"reset; set datafile separator tab; set datafile columnheaders; "
                   "set grid lt 1 lc rgb '#e3e3e3' lw 1 dt solid; set border 3 lc rgb '#555555'; "
                   "set tics nomirror out scale 0.6 textcolor rgb '#333333'; "
                   "set key bmargin center horizontal reverse Left samplen 2; "
                   "set title font ',12'; set style fill solid 0.85 noborder\"\n\n");
}

void mli_gp_size(mli_gp_fig *f, int width, int height)
{
    f->width = width;
    f->height = height;
}

static int write_script(const mli_gp_fig *f, const char *dir)
{
    mli_buf s = {0};
    preamble(&s, f);
    int w = f->width > 0 ? f->width : GP_WIDTH, h = f->height > 0 ? f->height : GP_HEIGHT;
    mli_buf_printf(&s,
                   "do for [fmt in \"png svg\"] {\n"
                   "if (fmt eq \"png\") {\n"
                   "    set terminal pngcairo size %d,%d enhanced font '" GP_FONT "'\n"
                   "} else {\n"
                   "    set terminal svg size %d,%d dynamic enhanced font '" GP_FONT
                   "' background rgb 'white'\n"
                   "}\n"
                   "set output out.'.'.fmt\n"
                   "%s"
                   "unset output\n"
                   "}\n",
                   w, h, w, h, f->body.s ? f->body.s : "");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gp", dir, f->name);
    int rc = mli_buf_write(&s, path);
    mli_buf_free(&s);
    return rc;
}

int mli_gp_write(const mli_gp_fig *f, const char *dir)
{
    char path[4096];
    for (int i = 0; i < f->ntab; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, f->tab[i].file);
        int rc = mli_buf_write(&f->tab[i].text, path);
        if (rc)
            return rc;
    }
    return write_script(f, dir);
}

int mli_gp_find(char *buf, size_t n)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    for (const char *p = path;; p++) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        /* an empty PATH entry means the current directory */
        int k = snprintf(buf, n, "%.*s%sgnuplot", (int)len, len ? p : "", len ? "/" : "");
        if (k > 0 && (size_t)k < n && access(buf, X_OK) == 0)
            return 1;
        if (!e)
            return 0;
        p = e;
    }
}

/* Run gnuplot in dir on script with mli_output=stem; its stdout and stderr are collected in err.
 * Returns the exit status, or -1 if it could not be run. */
static int run_gnuplot(const char *gnuplot, const char *dir, const char *script, const char *stem,
                       mli_buf *err)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    char expr[256];
    snprintf(expr, sizeof expr, "mli_output='%s'", stem);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        if (chdir(dir) != 0)
            _exit(126);
        execl(gnuplot, "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char chunk[4096];
    ssize_t k;
    while ((k = read(fd[0], chunk, sizeof chunk)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        mli_buf_printf(err, "%.*s", (int)k, chunk);
    }
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The end of gnuplot's output, from the start of a line: its error message is there. */
static const char *tail(mli_buf *b, size_t max)
{
    if (!b->s)
        return "";
    size_t len = b->len;
    while (len && (b->s[len - 1] == '\n' || b->s[len - 1] == ' '))
        b->s[--len] = '\0';
    if (len <= max)
        return b->s;
    const char *p = b->s + len - max, *nl = strchr(p, '\n');
    return nl ? nl + 1 : p;
}

/* gnuplot's output on success, less the notes that it widened a range holding a single value
 * (one epoch, a constant curve): harmless, and what the figure shows anyway. */
static void drop_range_notes(mli_buf *b)
{
    size_t w = 0;
    for (size_t r = 0; r < b->len;) {
        char *nl = memchr(b->s + r, '\n', b->len - r);
        size_t n = nl ? (size_t)(nl - (b->s + r)) + 1 : b->len - r;
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), b->s + r);
        if (!(strstr(line, "Warning: empty ") && strstr(line, " range"))) {
            memmove(b->s + w, b->s + r, n);
            w += n;
        }
        r += n;
    }
    b->len = w;
    if (b->s)
        b->s[w] = '\0';
}

/* ---- is an image whole? ------------------------------------------------------------------
 * gnuplot exits 0 when it could not write its output (a full disk leaves a 0-byte SVG, a PNG
 * cut at a buffer boundary), so what it wrote is checked before it is renamed into place. */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int mli_gp_check_png(const unsigned char *p, size_t n, char *why, size_t nwhy)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n == 0)
        return snprintf(why, nwhy, "empty file"), MLI_EFAIL;
    if (n < 8 || memcmp(p, sig, 8))
        return snprintf(why, nwhy, "no PNG signature"), MLI_EFAIL;
    size_t pos = 8;
    int chunks = 0;
    for (;;) {
        if (n - pos < 12)
            return snprintf(why, nwhy, "%zu bytes, cut after chunk %d: no IEND chunk at the end", n,
                            chunks),
                   MLI_EFAIL;
        uint32_t len = be32(p + pos);
        const unsigned char *type = p + pos + 4;
        if (len > 0x7fffffffu || (size_t)len > n - pos - 12)
            return snprintf(why, nwhy, "%zu bytes, cut inside chunk %d ('%.4s' of %u bytes at offset %zu)",
                            n, chunks, (const char *)type, (unsigned)len, pos),
                   MLI_EFAIL;
        if (chunks == 0 && (memcmp(type, "IHDR", 4) || len != 13))
            return snprintf(why, nwhy, "the first chunk is not a 13-byte IHDR"), MLI_EFAIL;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), type, (uInt)len + 4);
        if (crc != be32(p + pos + 8 + len))
            return snprintf(why, nwhy, "chunk %d ('%.4s' at offset %zu) has a bad CRC", chunks,
                            (const char *)type, pos),
                   MLI_EFAIL;
        pos += 12 + (size_t)len;
        chunks++;
        if (!memcmp(type, "IEND", 4)) {
            if (pos != n)
                return snprintf(why, nwhy, "%zu bytes after the IEND chunk", n - pos), MLI_EFAIL;
            return MLI_OK;
        }
    }
}

int mli_gp_check_svg(const unsigned char *p, size_t n, char *why, size_t nwhy)
{
    while (n && strchr(" \t\r\n", p[n - 1]))
        n--;
    if (n == 0)
        return snprintf(why, nwhy, "empty file"), MLI_EFAIL;
    if (!memmem(p, n, "<svg", 4))
        return snprintf(why, nwhy, "no <svg> element"), MLI_EFAIL;
    if (n < 6 || memcmp(p + n - 6, "</svg>", 6))
        return snprintf(why, nwhy, "%zu bytes, cut before its closing </svg>", n), MLI_EFAIL;
    return MLI_OK;
}

/* The system's reason for an incomplete file in dir, 0 if none shows: the file system has no
 * room left (statvfs), or a test write of 256 KiB fails. */
static int write_errno(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) == 0 && (v.f_bavail == 0 || (v.f_favail == 0 && v.f_files > 0)))
        return ENOSPC;
    char path[4200];
    snprintf(path, sizeof path, "%s/.mli-space-test.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return errno;
    unlink(path);
    static const char zeros[65536];
    int err = 0;
    for (int i = 0; i < 4 && !err; i++)
        if (write(fd, zeros, sizeof zeros) != (ssize_t)sizeof zeros)
            err = errno ? errno : ENOSPC;
    if (!err && fsync(fd) != 0)
        err = errno;
    close(fd);
    return err;
}

/* The file gnuplot wrote, checked: MLI_OK, or MLI_EFAIL naming the figure file (its final
 * name, dst) and the cause. */
static int check_output(const char *tmp, const char *dst, const char *dir, int png)
{
    unsigned char *buf;
    size_t n;
    const char *kind = png ? "PNG" : "SVG";
    if (mli_file_read(tmp, (size_t)1 << 30, &buf, &n))
        return mli_err(MLI_EFAIL, "%s: gnuplot did not write the %s: %s", dst, kind, mli_errmsg());
    char why[256];
    int bad = png ? mli_gp_check_png(buf, n, why, sizeof why) : mli_gp_check_svg(buf, n, why, sizeof why);
    free(buf);
    if (!bad)
        return MLI_OK;
    int err = write_errno(dir);
    if (err)
        return mli_err(MLI_EFAIL, "%s: gnuplot wrote an incomplete %s (%s): %s", dst, kind, why, strerror(err));
    return mli_err(MLI_EFAIL, "%s: gnuplot wrote an incomplete %s (%s)", dst, kind, why);
}

int mli_gp_render(const char *gnuplot, const char *dir, const char *name)
{
    static const char *const ext[] = {"png", "svg"};
    char stem[128], script[128], tmp[2][4096], dst[2][4096];
    snprintf(stem, sizeof stem, "%s.tmp-%ld", name, (long)getpid());
    snprintf(script, sizeof script, "%s.gp", name);
    for (int i = 0; i < 2; i++) {
        snprintf(tmp[i], sizeof tmp[i], "%s/%s.%s", dir, stem, ext[i]);
        snprintf(dst[i], sizeof dst[i], "%s/%s.%s", dir, name, ext[i]);
    }
    mli_buf out = {0};
    int st = run_gnuplot(gnuplot, dir, script, stem, &out);
    int rc = MLI_OK;
    if (st != 0)
        rc = mli_err(MLI_EFAIL, "%s/%s: gnuplot %s: %s", dir, script,
                     st < 0 ? "could not be run" : "failed", st < 0 ? strerror(errno) : tail(&out, 600));
    /* both images whole before either is in place */
    for (int i = 0; i < 2 && !rc; i++)
        rc = check_output(tmp[i], dst[i], dir, i == 0);
    int renamed = 0;
    for (int i = 0; i < 2 && !rc; i++, renamed++)
        if (rename(tmp[i], dst[i]) != 0)
            rc = mli_err(MLI_EFAIL, "%s: cannot rename %s into place: %s", dst[i], tmp[i], strerror(errno));
    if (rc) {
        for (int i = 0; i < 2; i++)
            unlink(tmp[i]);
        for (int i = 0; i < renamed; i++)
            unlink(dst[i]); /* a figure is in place whole, or not at all */
    } else
        drop_range_notes(&out);
    if (!rc && out.len)
        mli_warn("%s/%s: gnuplot: %s", dir, script, tail(&out, 300));
    mli_buf_free(&out);
    return rc;
}

void mli_gp_remove(const char *dir, const char *name)
{
    static const char *const ext[] = {".tsv", ".gp", ".png", ".svg"};
    char path[4096];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, name, ext[i]);
        unlink(path);
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t n = strlen(name);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (!strncmp(e->d_name, name, n) && e->d_name[n] == '_' && len > n + 5 &&
            !strcmp(e->d_name + len - 4, ".tsv")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int mli_gp_entry_make(mli_gp_sink *s, mli_gp_fig *f, int made, const char *heading, mli_gp_entry *e)
{
    mli_gp_remove(s->dir, f->name);
    if (!made) {
        mli_buf_free(&e->caption);
        return MLI_OK;
    }
    int rc = mli_gp_write(f, s->dir);
    if (!rc && s->gnuplot) {
        e->rendered = mli_gp_render(s->gnuplot, s->dir, f->name) == MLI_OK;
        if (!e->rendered) {
            /* the cause for the page, without the report directory it lives in */
            const char *m = mli_errmsg();
            size_t k = strlen(s->dir);
            if (!strncmp(m, s->dir, k) && m[k] == '/')
                m += k + 1;
            mli_err_shorten(e->why, sizeof e->why, m);
            if (!s->rc) {
                s->rc = MLI_EFAIL;
                s->err = mli_strdup(mli_errmsg());
            } else
                s->more++;
        }
    }
    snprintf(e->name, sizeof e->name, "%s", f->name);
    e->heading = heading;
    e->ntab = f->ntab;
    for (int j = 0; j < f->ntab; j++)
        snprintf(e->tab[j], sizeof e->tab[j], "%s", f->tab[j].file);
    return rc;
}

int mli_gp_sink_status(const mli_gp_sink *s)
{
    if (!s->gnuplot)
        return mli_err(MLI_EFAIL, "gnuplot not found: the data and scripts are in %s; install "
                                  "gnuplot-nox and run 'cd %s && gnuplot *.gp'",
                       s->dir, s->dir);
    if (s->rc && s->more)
        return mli_err(s->rc, "%s (and %d more figure%s not rendered: see index.html)", s->err, s->more,
                       s->more == 1 ? "" : "s");
    if (s->rc)
        return mli_err(s->rc, "%s", s->err);
    return MLI_OK;
}

void mli_gp_sink_free(mli_gp_sink *s)
{
    free(s->err);
    s->err = NULL;
}

int mli_gp_sink_close(mli_gp_sink *s, int rc)
{
    if (!rc)
        rc = mli_gp_sink_status(s);
    else if (s->rc) /* a full disk: the first figure it cut, then what could not be written */
        rc = mli_err(rc, "%s; then %s", s->err, mli_errmsg());
    mli_gp_sink_free(s);
    return rc;
}
