/* mli report RUN_DIR: read the run's files, draw each figure with gnuplot, write index.html.
 *
 * Everything is read and checked first, so a malformed input stops the report before any
 * file is written. Then each figure is a short function that fills the data table(s) and the
 * plot commands of an mli_gp_fig (report/gnuplot.h), or declines with a note saying which data
 * it lacks; the driver writes, renders and records it for the HTML page. */
#include "report/run_report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"
#include "report/gnuplot.h"

#define HALF_PI 1.57079632679489661923
#define MAX_INPUT (512u << 20)

/* ------------------------------------------------------------------------------------------
 * Tables: a header of column names, then numbers (nan allowed), read by column name. */

typedef struct {
    char path[4200];
    int present;
    int ncol, nrow;
    char **col;
    double *v; /* nrow x ncol, row-major */
} rtab;

static void tab_free(rtab *t)
{
    for (int j = 0; j < t->ncol; j++)
        free(t->col[j]);
    free(t->col);
    free(t->v);
    t->col = NULL;
    t->v = NULL;
    t->ncol = t->nrow = 0;
}

/* Split line at tabs into at most max cells (the rest stays in the last); returns the count. */
static int split_tabs(char *line, char **cell, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        cell[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab || n == max)
            return tab && n == max ? n + 1 : n;
        *tab = '\0';
        p = tab;
    }
}

static int tab_header(rtab *t, char *line)
{
    int n = 1;
    for (const char *p = line; *p; p++)
        n += *p == '\t';
    t->col = mli_calloc((size_t)n, sizeof *t->col);
    char **cell = mli_malloc(sizeof *cell * (size_t)n);
    t->ncol = split_tabs(line, cell, n);
    for (int j = 0; j < t->ncol; j++)
        t->col[j] = mli_strdup(cell[j]);
    free(cell);
    if (t->ncol == 1 && !t->col[0][0])
        return mli_err(MLI_EINPUT, "%s:1: empty header line, expected column names", t->path);
    return MLI_OK;
}

static int tab_row(rtab *t, char *line, int lineno, size_t *cap)
{
    char **cell = mli_malloc(sizeof *cell * (size_t)t->ncol);
    int n = split_tabs(line, cell, t->ncol);
    int rc = MLI_OK;
    if (n != t->ncol)
        rc = mli_err(MLI_EINPUT, "%s:%d: %s cells, the header has %d columns", t->path, lineno,
                     n > t->ncol ? "more" : "fewer", t->ncol);
    if ((size_t)(t->nrow + 1) * (size_t)t->ncol > *cap) {
        *cap = 2 * *cap + (size_t)t->ncol * 64;
        t->v = mli_realloc(t->v, sizeof *t->v * *cap);
    }
    double *row = t->v + (size_t)t->nrow * (size_t)t->ncol;
    for (int j = 0; j < n && !rc; j++) {
        char *end;
        row[j] = strtod(cell[j], &end);
        if (end == cell[j] || *end)
            rc = mli_err(MLI_EINPUT, "%s:%d: column '%s': '%.40s' is not a number", t->path, lineno,
                         t->col[j], cell[j]);
    }
    free(cell);
    if (!rc)
        t->nrow++;
    return rc;
}

static int tab_parse(rtab *t, char *text)
{
    int lineno = 0, rc = MLI_OK;
    size_t cap = 0;
    for (char *p = text; *p && !rc;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        lineno++;
        if (lineno == 1)
            rc = tab_header(t, p);
        else if (*p)
            rc = tab_row(t, p, lineno, &cap);
        p = nl ? nl + 1 : p + len;
    }
    if (!rc && !lineno)
        rc = mli_err(MLI_EINPUT, "%s: empty file, expected a header line of column names", t->path);
    return rc;
}

/* Read run/file if it exists; required names a column without which the table is useless. */
static int tab_load(rtab *t, const char *run, const char *file, const char *required)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s/%s", run, file);
    if (access(t->path, F_OK) != 0)
        return MLI_OK;
    unsigned char *buf;
    size_t n;
    int rc = mli_file_read(t->path, MAX_INPUT, &buf, &n);
    if (rc)
        return rc;
    if (memchr(buf, '\0', n))
        rc = mli_err(MLI_EINPUT, "%s: binary data in a text table", t->path);
    if (!rc)
        rc = tab_parse(t, (char *)buf);
    free(buf);
    int found = 0;
    for (int j = 0; !rc && j < t->ncol; j++)
        found |= !strcmp(t->col[j], required);
    if (!rc && !found)
        rc = mli_err(MLI_EINPUT, "%s:1: no '%s' column in the header", t->path, required);
    if (rc)
        tab_free(t);
    t->present = !rc;
    return rc;
}

static int tab_col(const rtab *t, const char *name)
{
    for (int j = 0; j < t->ncol; j++)
        if (!strcmp(t->col[j], name))
            return j;
    return -1;
}

static double tab_at(const rtab *t, int r, int c) { return t->v[(size_t)r * (size_t)t->ncol + (size_t)c]; }

/* Number of finite values of a column (0 if there is no such column). */
static int tab_finite(const rtab *t, const char *name)
{
    int c = tab_col(t, name), n = 0;
    for (int r = 0; c >= 0 && r < t->nrow; r++)
        n += isfinite(tab_at(t, r, c)) != 0;
    return n;
}

/* Copy the named columns that exist, in that order, as a TSV table. */
static void tab_copy(mli_buf *b, const rtab *t, const char *const *names, int n)
{
    int *c = mli_malloc(sizeof *c * (size_t)n), m = 0;
    for (int i = 0; i < n; i++)
        if ((c[m] = tab_col(t, names[i])) >= 0)
            mli_buf_printf(b, "%s%s", m++ ? "\t" : "", names[i]);
    mli_buf_printf(b, "\n");
    for (int r = 0; r < t->nrow; r++)
        for (int i = 0; i < m; i++)
            mli_buf_num(b, tab_at(t, r, c[i]), i + 1 < m ? '\t' : '\n');
    free(c);
}

/* ------------------------------------------------------------------------------------------
 * geometry.json, parsed and checked up front into plain numbers. */

typedef struct {
    const char *path;
    int rc;
} jck;

static void jbad(jck *c, const char *key, const char *want)
{
    if (!c->rc)
        c->rc = mli_err(MLI_EINPUT, "%s: key '%s' should be %s", c->path, key, want);
}

static const cJSON *jitem(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* NaN when absent or null: JSON has no NaN, so mli writes it as null. */
static double jnum(jck *c, const cJSON *o, const char *key)
{
    const cJSON *v = jitem(o, key);
    if (!v)
        return NAN;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (!cJSON_IsNumber(v))
        jbad(c, key, "a number");
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *jobj(jck *c, const cJSON *o, const char *key, int array)
{
    const cJSON *v = jitem(o, key);
    if (v && !(array ? cJSON_IsArray(v) : cJSON_IsObject(v))) {
        jbad(c, key, array ? "a list" : "an object");
        return NULL;
    }
    return v;
}

/* A list of numbers (null = NaN); *n = its length. */
static double *jvec(jck *c, const cJSON *arr, const char *key, int *n)
{
    *n = cJSON_GetArraySize(arr);
    double *x = mli_malloc(sizeof *x * (size_t)(*n ? *n : 1));
    int i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++) {
        x[i] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!cJSON_IsNumber(e) && !cJSON_IsNull(e))
            jbad(c, key, "a list of numbers");
    }
    return x;
}

typedef struct {
    int present;
    double certified, monotone, counterexamples, n_examples;
} cert;

static const char *const cert_names[] = {"c0", "c1", "c2", "c12"};
enum { NCERT = 4 };

typedef struct {
    int n, ktop, kbot;
    double *alpha, *trace, *trace_se;
    double *top, *bot; /* n x ktop, n x kbot; NaN where a row is shorter */
} hess;

typedef struct {
    int present;
    double delta, threshold, wdist, norm_wdist;
    double final_train_loss, final_test_loss, final_train_acc, final_test_acc;
    int monotone; /* 1, 0, -1 unknown */
    int nbump;
    double (*bump)[4]; /* start, end, height, width */
    const cJSON *gauss, *certs, *dataset, *ntk;
    cert cert[NCERT];
    double verify_steps;
    hess h;
} geo;

static void geo_free(geo *g)
{
    free(g->bump);
    free(g->h.alpha);
    free(g->h.trace);
    free(g->h.trace_se);
    free(g->h.top);
    free(g->h.bot);
}

static void parse_bumps(jck *c, const cJSON *o, geo *g)
{
    const cJSON *b = jobj(c, o, "bumps", 1);
    g->bump = mli_calloc((size_t)cJSON_GetArraySize(b) + 1, sizeof *g->bump);
    for (const cJSON *e = b ? b->child : NULL; e; e = e->next) {
        if (!cJSON_IsObject(e)) {
            jbad(c, "bumps", "a list of {start, end, height, width}");
            return;
        }
        static const char *const k[] = {"start", "end", "height", "width"};
        for (int i = 0; i < 4; i++)
            g->bump[g->nbump][i] = jnum(c, e, k[i]);
        g->nbump++;
    }
}

static void parse_certs(jck *c, const cJSON *o, geo *g)
{
    g->certs = jobj(c, o, "certificates", 0);
    g->dataset = jobj(c, g->certs, "dataset", 0);
    g->verify_steps = jnum(c, g->certs, "verify_steps");
    for (int i = 0; i < NCERT; i++) {
        const cJSON *e = jobj(c, g->certs, cert_names[i], 0);
        cert *k = &g->cert[i];
        k->present = e != NULL;
        k->certified = jnum(c, e, "certified");
        k->monotone = jnum(c, e, "monotone");
        k->counterexamples = jnum(c, e, "counterexamples");
        k->n_examples = jnum(c, e, "n_examples");
    }
}

/* A list of n lists of numbers (ragged allowed) as an n x k matrix, NaN-padded. */
static double *parse_rows(jck *c, const cJSON *arr, const char *key, int n, int *k)
{
    *k = 0;
    if (!arr)
        return NULL;
    if (cJSON_GetArraySize(arr) != n) {
        if (!c->rc)
            c->rc = mli_err(MLI_EINPUT, "%s: hessian.%s has %d rows but hessian.alphas has %d",
                            c->path, key, cJSON_GetArraySize(arr), n);
        return NULL;
    }
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (!cJSON_IsArray(e))
            jbad(c, key, "a list of lists of numbers, one per alpha");
        else if (cJSON_GetArraySize(e) > *k)
            *k = cJSON_GetArraySize(e);
    }
    if (c->rc || !*k)
        return NULL;
    double *m = mli_malloc(sizeof *m * (size_t)n * (size_t)*k);
    int r = 0;
    for (const cJSON *e = arr->child; e; e = e->next, r++) {
        int len;
        double *row = jvec(c, e, key, &len);
        for (int j = 0; j < *k; j++)
            m[(size_t)r * (size_t)*k + (size_t)j] = j < len ? row[j] : NAN;
        free(row);
    }
    return m;
}

static void parse_hessian(jck *c, const cJSON *o, hess *h)
{
    const cJSON *hj = jobj(c, o, "hessian", 0);
    const cJSON *a = jobj(c, hj, "alphas", 1);
    if (!a)
        return;
    h->alpha = jvec(c, a, "alphas", &h->n);
    h->top = parse_rows(c, jobj(c, hj, "top_eigenvalues", 1), "top_eigenvalues", h->n, &h->ktop);
    h->bot = parse_rows(c, jobj(c, hj, "bottom_eigenvalues", 1), "bottom_eigenvalues", h->n, &h->kbot);
    const char *const key[2] = {"trace", "trace_stderr"};
    double **dst[2] = {&h->trace, &h->trace_se};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = jobj(c, hj, key[i], 1);
        int len = 0;
        double *x = v ? jvec(c, v, key[i], &len) : NULL;
        *dst[i] = mli_malloc(sizeof **dst[i] * (size_t)(h->n ? h->n : 1));
        for (int j = 0; j < h->n; j++)
            (*dst[i])[j] = j < len ? x[j] : NAN;
        free(x);
    }
}

static int geo_parse(const cJSON *o, const char *path, geo *g)
{
    jck c = {path, MLI_OK};
    g->present = 1;
    g->delta = jnum(&c, o, "delta");
    g->threshold = jnum(&c, o, "nonmonotone_threshold");
    g->wdist = jnum(&c, o, "wdist");
    g->norm_wdist = jnum(&c, o, "norm_wdist");
    g->final_train_loss = jnum(&c, o, "final_train_loss");
    g->final_test_loss = jnum(&c, o, "final_test_loss");
    g->final_train_acc = jnum(&c, o, "final_train_acc");
    g->final_test_acc = jnum(&c, o, "final_test_acc");
    double m = jnum(&c, o, "monotone");
    g->monotone = isnan(m) ? -1 : m != 0;
    parse_bumps(&c, o, g);
    g->gauss = jobj(&c, o, "gauss_length", 0);
    g->ntk = jobj(&c, o, "ntk", 0);
    parse_certs(&c, o, g);
    parse_hessian(&c, o, &g->h);
    return c.rc;
}

/* Read a JSON object; a syntax error names the line where parsing stopped. */
static int json_load(const char *path, cJSON **obj)
{
    unsigned char *buf;
    size_t n;
    *obj = NULL;
    int rc = mli_file_read(path, MAX_INPUT, &buf, &n);
    if (rc)
        return rc;
    const char *end = NULL;
    *obj = cJSON_ParseWithLengthOpts((const char *)buf, n, &end, 0);
    if (!*obj || !cJSON_IsObject(*obj)) {
        int line = 1;
        for (const char *p = (const char *)buf; end && p < end && p < (const char *)buf + n; p++)
            line += *p == '\n';
        rc = mli_err(MLI_EINPUT, "%s:%d: %s", path, line,
                     *obj ? "expected a JSON object" : "not valid JSON");
        cJSON_Delete(*obj);
        *obj = NULL;
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The report. */

enum { MAX_FIG = 8 };

typedef struct {
    char name[64];
    const char *heading;
    mli_buf caption; /* HTML */
    int ntab, rendered;
    char tab[MLI_GP_MAXTAB][96];
} rfig;

typedef struct {
    char run[4096]; /* the run directory, without trailing slashes */
    char dir[4200]; /* its report/ */
    cJSON *config, *geom_json;
    rtab train, interp, quant, ex;
    geo g;
    char gnuplot[4096];
    int have_gnuplot;
    rfig fig[MAX_FIG];
    int nfig;
    mli_buf notes; /* HTML <li> items: figures left out and why */
    int rc;        /* first rendering failure */
    char err[1024];
} report;

static void note(report *r, const char *fig, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(report *r, const char *fig, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mli_buf_printf(&r->notes, "<li><code>%s</code>: %s</li>\n", fig, msg); /* our own text */
}

static const char *cfg_str(const report *r, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->config, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *loss_label(const report *r)
{
    const char *l = cfg_str(r, "loss_fn");
    if (!l)
        return "loss";
    if (!strcmp(l, "ce"))
        return "cross-entropy loss (nats, mean over examples)";
    if (!strcmp(l, "mse"))
        return "squared-error loss (mean over examples)";
    if (!strcmp(l, "recon"))
        return "reconstruction loss (sum of squared errors per example)";
    return "loss";
}

#define ALPHA_LABEL "α   (0: initialization θ_0,  1: trained parameters θ_1)"

/* Min and max of the finite values of some columns; nonpos counts values <= 0. */
typedef struct {
    double min, max;
    int n, nonpos;
} span;

static void span_col(span *s, const rtab *t, const char *name)
{
    int c = tab_col(t, name);
    for (int i = 0; c >= 0 && i < t->nrow; i++) {
        double x = tab_at(t, i, c);
        if (!isfinite(x))
            continue;
        if (!s->n++)
            s->min = s->max = x;
        s->min = fmin(s->min, x);
        s->max = fmax(s->max, x);
        s->nonpos += x <= 0;
    }
}

/* Values over more than 1.5 decades, all positive, read better on a log scale. */
static int span_log(const span *s) { return s->n && !s->nonpos && s->max > 31.6 * s->min; }

static void gp_log_y(mli_gp_fig *f, int on, const char *ylabel)
{
    if (on)
        mli_gp_cmd(f, "set logscale y\nset ylabel '%s  (log scale)'", ylabel);
    else
        mli_gp_cmd(f, "set ylabel '%s'", ylabel);
}

/* One curve: column y against column x of a table, if the column has any finite value. */
static void gp_series(mli_gp_fig *f, const rtab *t, const char *file, const char *x, const char *y,
                      int lt, const char *with, const char *title)
{
    if (tab_finite(t, y))
        mli_gp_item(f, "'%s' using \"%s\":\"%s\" with %s lt %d title '%s'", file, x, y, with, lt, title);
}

/* Shading of the bumps of the training loss, and their key entry. */
static void gp_bumps(report *r, mli_gp_fig *f)
{
    for (int i = 0; i < r->g.nbump; i++) {
        double s = r->g.bump[i][0], e = r->g.bump[i][1];
        if (isfinite(s) && isfinite(e))
            mli_gp_cmd(f, "set object %d rect from %.9g, graph 0 to %.9g, graph 1 "
                          "fc lt %d fs transparent solid 0.15 noborder behind",
                       i + 1, s, e, MLI_LT_TEST);
    }
}

static int fig_loss_alpha(report *r, mli_gp_fig *f, mli_buf *cap)
{
    if (!tab_finite(&r->interp, "train_loss") && !tab_finite(&r->interp, "test_loss")) {
        note(r, f->name, r->interp.present ? "interp.tsv has no loss values"
                                           : "no interp.tsv (run 'mli analyze')");
        return 0;
    }
    static const char *const cols[] = {"alpha", "train_loss", "test_loss"};
    const char *file;
    tab_copy(mli_gp_table(f, "", &file), &r->interp, cols, 3);
    const geo *g = &r->g;
    mli_gp_panel(f);
    if (isfinite(g->delta)) {
        double thr = isfinite(g->threshold) ? g->threshold : 1e-3;
        int mono = g->monotone >= 0 ? g->monotone : g->delta <= thr;
        mli_gp_cmd(f, "set title 'Loss along the interpolation path:   Δ = %.3g,  %s at threshold %.3g'",
                   g->delta, mono ? "monotone" : "non-monotone", thr);
    } else
        mli_gp_cmd(f, "set title 'Loss along the interpolation path'");
    mli_gp_cmd(f, "set xlabel '" ALPHA_LABEL "'");
    span s = {0};
    span_col(&s, &r->interp, "train_loss");
    span_col(&s, &r->interp, "test_loss");
    gp_log_y(f, span_log(&s), loss_label(r));
    gp_bumps(r, f);
    mli_gp_plot(f);
    gp_series(f, &r->interp, file, "alpha", "train_loss", MLI_LT_TRAIN, "linespoints", "training loss");
    gp_series(f, &r->interp, file, "alpha", "test_loss", MLI_LT_TEST, "linespoints", "test loss");
    if (g->nbump)
        mli_gp_item(f, "keyentry with boxes fc lt %d fs transparent solid 0.15 noborder "
                       "title 'bumps: intervals where the training loss rises'",
                    MLI_LT_TEST);
    mli_gp_end(f);
    mli_buf_printf(cap,
                   "Training and test loss at the %d values of α where they were evaluated (points), "
                   "on the straight line θ(α) = θ<sub>0</sub> + αΔ from initialization (α = 0) to the "
                   "trained network (α = 1); shaded intervals are the %d bump(s) where the training "
                   "loss rises, and Δ in the title is the height of the largest (the MLI property "
                   "holds when it is below the threshold).",
                   r->interp.nrow, g->nbump);
    return 1;
}

static int fig_acc_alpha(report *r, mli_gp_fig *f, mli_buf *cap)
{
    if (!tab_finite(&r->interp, "train_acc") && !tab_finite(&r->interp, "test_acc")) {
        note(r, f->name, r->interp.present ? "no accuracy in interp.tsv (not defined for this loss)"
                                           : "no interp.tsv (run 'mli analyze')");
        return 0;
    }
    static const char *const cols[] = {"alpha", "train_acc", "test_acc"};
    const char *file;
    tab_copy(mli_gp_table(f, "", &file), &r->interp, cols, 3);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Accuracy along the interpolation path'\n"
                  "set xlabel '" ALPHA_LABEL "'\n"
                  "set ylabel 'accuracy (fraction of examples classified correctly)'\n"
                  "set yrange [0:1.02]");
    mli_gp_plot(f);
    gp_series(f, &r->interp, file, "alpha", "train_acc", MLI_LT_TRAIN, "linespoints", "training accuracy");
    gp_series(f, &r->interp, file, "alpha", "test_acc", MLI_LT_TEST, "linespoints", "test accuracy");
    mli_gp_end(f);
    mli_buf_printf(cap, "Training and test accuracy along the same path as the loss, from "
                        "initialization (α = 0) to the trained network (α = 1).");
    return 1;
}

