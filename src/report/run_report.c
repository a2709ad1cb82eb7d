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
#include "io/runfiles.h"
#include "io/text.h"
#include "io/tsv.h"
#include "report/control_figs.h"
#include "report/exact_figs.h"
#include "report/gnuplot.h"
#include "report/html.h"

#define HALF_PI 1.57079632679489661923
#define INPUT_MAX_BYTES (512u << 20)

/* ------------------------------------------------------------------------------------------
 * Tables: a header of column names, then numbers (nan allowed), read by column name. */

typedef mli_tsv rtab;

/* Read run/file if it exists; required names a column without which the table is useless. */
static int tab_load(rtab *t, const char *run, const char *file, const char *required)
{
    const char *req[] = {required, NULL};
    return mli_tsv_load(t, run, file, req);
}

/* Number of finite values of a column (0 if there is no such column). */
static int tab_finite(const rtab *t, const char *name)
{
    int c = mli_tsv_col(t, name), n = 0;
    for (int r = 0; c >= 0 && r < t->nrow; r++)
        n += isfinite(mli_tsv_at(t, r, c)) != 0;
    return n;
}

/* Copy the named columns that exist, in that order, as a TSV table. */
static void tab_copy(mli_buf *b, const rtab *t, const char *const *names, int n)
{
    int *c = mli_malloc(sizeof *c * (size_t)n), m = 0;
    for (int i = 0; i < n; i++)
        if ((c[m] = mli_tsv_col(t, names[i])) >= 0)
            mli_buf_printf(b, "%s%s", m++ ? "\t" : "", names[i]);
    mli_buf_printf(b, "\n");
    for (int r = 0; r < t->nrow; r++)
        for (int i = 0; i < m; i++)
            mli_buf_num(b, mli_tsv_at(t, r, c[i]), i + 1 < m ? '\t' : '\n');
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
    const char *na_text; /* why it does not apply, or NULL */
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
    double delta, end_rise, threshold, wdist, norm_wdist;
    double bn_reset_weight; /* NaN when absent (no batch norm, or an older analysis) */
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
        /* a string instead of counts: the condition does not apply, e.g. C1 for cross-entropy */
        const cJSON *e = jitem(g->certs, cert_names[i]);
        cert *k = &g->cert[i];
        k->present = e != NULL;
        k->na_text = cJSON_IsString(e) ? e->valuestring : NULL;
        e = k->na_text ? NULL : jobj(c, g->certs, cert_names[i], 0);
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
    g->end_rise = jnum(&c, o, "end_rise");
    g->bn_reset_weight = jnum(&c, o, "bn_reset_weight"); /* NaN (shown "–") in analyses older than the field */
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
    int rc = mli_file_read(path, INPUT_MAX_BYTES, &buf, &n);
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

enum { MAX_FIG = 17 }; /* 8 of the path, 3 of the exact analysis, 6 of the control experiments (figure 1 among them) */

typedef struct {
    char run[4096]; /* the run directory, without trailing slashes */
    char dir[4200]; /* its report/ */
    cJSON *config, *geom_json;
    rtab train, interp, quant, ex;
    geo g;
    mli_ctl_figs *ctl; /* control experiments (report/control_figs.h) */
    mli_exact_figs *exact; /* --exact (report/exact_figs.h) */
    char gnuplot[4096];
    int have_gnuplot;
    mli_gp_entry fig[MAX_FIG];
    int nfig;
    mli_buf notes; /* HTML <li> items: figures left out and why */
    mli_gp_sink sink; /* where figures render, and the first rendering failure */
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

/* A figure left out for want of what, in a table that may itself be missing. */
static int lacks(report *r, const char *fig, const rtab *t, const char *what)
{
    const char *file = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path;
    if (t->present)
        note(r, fig, "%s has no %s", file, what);
    else
        note(r, fig, "no %s (written by '%s')", file, !strcmp(file, "train.tsv") ? "mli train" : "mli analyze");
    return 0;
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
        return "cross-entropy (nats)";
    if (!strcmp(l, "mse"))
        return "mean squared error";
    if (!strcmp(l, "recon"))
        return "squared error per example";
    return "loss";
}

/* The π/2 threshold of the Gauss-length condition, drawn alike in every figure. */
#define HALF_PI_LINE "lt 8 dt (8,5) lw 1.5"

#define ALPHA_LABEL "α   (0: initialization θ_0,  1: trained parameters θ_1)"

static void html_num(mli_buf *b, double x, const char *fmt);

/* Min and max of the finite values of some columns; nonpos counts values <= 0. */
typedef struct {
    double min, max;
    int n, nonpos;
} span;

static void span_col(span *s, const rtab *t, const char *name)
{
    int c = mli_tsv_col(t, name);
    for (int i = 0; c >= 0 && i < t->nrow; i++) {
        double x = mli_tsv_at(t, i, c);
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

/* One curve: column y against column x of a table, if the column has any finite value; style
 * is a printf format for what follows "with" (style, linetype, ...). */
static void gp_series(mli_gp_fig *f, const rtab *t, const char *file, const char *x, const char *y,
                      const char *title, const char *style, ...) __attribute__((format(printf, 7, 8)));
static void gp_series(mli_gp_fig *f, const rtab *t, const char *file, const char *x, const char *y,
                      const char *title, const char *style, ...)
{
    if (!tab_finite(t, y))
        return;
    char with[256];
    va_list ap;
    va_start(ap, style);
    vsnprintf(with, sizeof with, style, ap);
    va_end(ap);
    mli_gp_item(f, "'%s' using \"%s\":\"%s\" with %s title '%s'", file, x, y, with, title);
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
    if (!tab_finite(&r->interp, "train_loss") && !tab_finite(&r->interp, "test_loss"))
        return lacks(r, f->name, &r->interp, "loss values");
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
    gp_series(f, &r->interp, file, "alpha", "train_loss", "training loss", "linespoints lt %d", MLI_LT_TRAIN);
    gp_series(f, &r->interp, file, "alpha", "test_loss", "test loss", "linespoints lt %d", MLI_LT_TEST);
    if (g->nbump)
        mli_gp_item(f, "keyentry with boxes fc lt %d fs transparent solid 0.15 noborder "
                       "title 'bumps (the training loss rises)'",
                    MLI_LT_TEST);
    mli_gp_end(f);
    char bumps[64];
    if (g->nbump)
        snprintf(bumps, sizeof bumps, "the shaded interval%s %s the bump%s", g->nbump > 1 ? "s" : "",
                 g->nbump > 1 ? "are" : "is", g->nbump > 1 ? "s" : "");
    mli_buf_printf(cap,
                   "Training and test loss at the %d values of α where they were evaluated (points), "
                   "on the straight line θ(α) = (1 − α) θ<sub>0</sub> + α θ<sub>1</sub> from "
                   "initialization (α = 0) to the trained network (α = 1); %s where the training loss "
                   "rises, and Δ in the title is the height of the largest bump (the MLI property holds "
                   "when Δ is below the threshold).",
                   r->interp.nrow, g->nbump ? bumps : "there is no interval");
    return 1;
}

static int fig_acc_alpha(report *r, mli_gp_fig *f, mli_buf *cap)
{
    if (!tab_finite(&r->interp, "train_acc") && !tab_finite(&r->interp, "test_acc"))
        return lacks(r, f->name, &r->interp, "accuracy (not defined for this loss)");
    static const char *const cols[] = {"alpha", "train_acc", "test_acc"};
    const char *file;
    tab_copy(mli_gp_table(f, "", &file), &r->interp, cols, 3);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Accuracy along the interpolation path'\n"
                  "set xlabel '" ALPHA_LABEL "'\n"
                  "set ylabel 'accuracy (fraction of examples classified correctly)'\n"
                  "set yrange [0:1.02]");
    mli_gp_plot(f);
    gp_series(f, &r->interp, file, "alpha", "train_acc", "training accuracy", "linespoints lt %d", MLI_LT_TRAIN);
    gp_series(f, &r->interp, file, "alpha", "test_acc", "test accuracy", "linespoints lt %d", MLI_LT_TEST);
    mli_gp_end(f);
    mli_buf_printf(cap, "Training and test accuracy along the same path as the loss, from "
                        "initialization (α = 0) to the trained network (α = 1).");
    return 1;
}

/* A round tic step (1, 2 or 5 times a power of ten) giving about five tics over range. */
static double nice_step(double range)
{
    if (!(range > 0))
        return 1;
    double raw = range / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* Epochs are whole numbers: whole-number tics. */
static void gp_epoch_axis(mli_gp_fig *f, const rtab *t)
{
    span s = {0};
    span_col(&s, t, "epoch");
    double step = fmax(1, nice_step(s.max - s.min));
    mli_gp_cmd(f, "set xlabel 'epoch'\nset xtics %.9g", round(step));
    if (s.n && s.max == s.min) /* a single epoch: a range gnuplot need not invent */
        mli_gp_cmd(f, "set xrange [%.9g:%.9g]", s.min - 1, s.max + 1);
}

static void train_dist_panel(const rtab *t, mli_gp_fig *f, const char *file)
{
    /* norm_wdist = wdist / ‖θ₀‖: one curve, with the relative distance on the right axis */
    double k = NAN;
    int cw = mli_tsv_col(t, "wdist"), cn = mli_tsv_col(t, "norm_wdist");
    for (int i = 0; cw >= 0 && cn >= 0 && i < t->nrow; i++) {
        double w = mli_tsv_at(t, i, cw), nw = mli_tsv_at(t, i, cn);
        if (isfinite(w) && isfinite(nw) && w > 0 && nw > 0)
            k = nw / w;
    }
    mli_gp_cmd(f, "set title 'Distance travelled from initialization'\n"
                  "set yrange [0:*]"); /* a distance: from zero, so that sizes compare */
    gp_epoch_axis(f, t);
    if (tab_finite(t, "wdist")) {
        mli_gp_cmd(f, "set ylabel '‖θ − θ_0‖_2'");
        /* gnuplot puts a linked axis' automatic tics where the left axis has them: give a
         * round step instead */
        span s = {0};
        span_col(&s, t, "wdist");
        if (isfinite(k))
            mli_gp_cmd(f, "set border 11 lc rgb '#555555'\nset link y2 via y*%.9g inverse y/%.9g\n"
                          "set y2tics %.3g out scale 0.6 textcolor rgb '#333333'\n"
                          "set y2label '‖θ − θ_0‖ / ‖θ_0‖'",
                       k, k, nice_step(k * s.max));
        mli_gp_plot(f);
        gp_series(f, t, file, "epoch", "wdist",
                  isfinite(k) ? "distance (left axis; right axis: relative to ‖θ_0‖)" : "distance",
                  "linespoints lt %d", MLI_LT_3);
    } else {
        mli_gp_cmd(f, "set ylabel 'normalized distance ‖θ − θ_0‖ / ‖θ_0‖'");
        mli_gp_plot(f);
        gp_series(f, t, file, "epoch", "norm_wdist", "normalized distance", "linespoints lt %d", MLI_LT_3);
    }
    mli_gp_end(f);
}

static int fig_train_curves(report *r, mli_gp_fig *f, mli_buf *cap)
{
    const rtab *t = &r->train;
    if (!t->present || !t->nrow)
        return lacks(r, f->name, t, "epochs yet");
    static const char *const cols[] = {"epoch",    "train_loss", "train_acc",  "test_loss",
                                       "test_acc", "wdist",      "norm_wdist", "seconds"};
    const char *file;
    tab_copy(mli_gp_table(f, "", &file), t, cols, 8);
    int loss = tab_finite(t, "train_loss") || tab_finite(t, "test_loss");
    int acc = tab_finite(t, "train_acc") || tab_finite(t, "test_acc");
    int dist = tab_finite(t, "wdist") || tab_finite(t, "norm_wdist");
    if (!loss && !acc && !dist)
        return lacks(r, f->name, t, "finite values");
    /* loss and accuracy side by side on top, the distance across the bottom */
    const char *st = cfg_str(r, "status"), *opt = cfg_str(r, "optim_name");
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(r->config, "lr");
    char title[256];
    int k = snprintf(title, sizeof title, "Training: %d epoch%s%s%s%s%s", t->nrow, t->nrow == 1 ? "" : "s",
                     st ? ", status " : "", st ? st : "", opt ? ", optimizer " : "", opt ? opt : "");
    if (cJSON_IsNumber(lr) && k > 0 && (size_t)k < sizeof title)
        snprintf(title + k, sizeof title - (size_t)k, ", lr %.3g", lr->valuedouble);
    mli_gp_multiplot(f, 0, 0, title);
    const double band = 0.05;
    int ntop = loss + acc, i = 0;
    double h = ntop && dist ? (1 - band) / 2 : 1 - band;
    if (loss) {
        mli_gp_panel(f);
        mli_gp_place(f, (double)i++ / ntop, dist ? h : 0, 1.0 / ntop, h);
        span s = {0};
        span_col(&s, t, "train_loss");
        span_col(&s, t, "test_loss");
        mli_gp_cmd(f, "set title 'Loss'");
        gp_epoch_axis(f, t);
        gp_log_y(f, span_log(&s), loss_label(r));
        mli_gp_plot(f);
        gp_series(f, t, file, "epoch", "train_loss", "training", "linespoints lt %d", MLI_LT_TRAIN);
        gp_series(f, t, file, "epoch", "test_loss", "test", "linespoints lt %d", MLI_LT_TEST);
        mli_gp_end(f);
    }
    if (acc) {
        mli_gp_panel(f);
        mli_gp_place(f, (double)i++ / ntop, dist ? h : 0, 1.0 / ntop, h);
        mli_gp_cmd(f, "set title 'Accuracy'\nset ylabel 'accuracy (fraction correct)'");
        gp_epoch_axis(f, t);
        mli_gp_plot(f);
        gp_series(f, t, file, "epoch", "train_acc", "training", "linespoints lt %d", MLI_LT_TRAIN);
        gp_series(f, t, file, "epoch", "test_acc", "test", "linespoints lt %d", MLI_LT_TEST);
        mli_gp_end(f);
    }
    if (dist) {
        mli_gp_panel(f);
        mli_gp_place(f, 0, 0, 1, ntop ? h : 1 - band);
        train_dist_panel(t, f, file);
    }
    mli_gp_cmd(f, "unset multiplot");
    mli_buf_printf(cap, "Per epoch: training and test loss, accuracy, and the distance "
                        "‖θ − θ<sub>0</sub>‖ travelled from initialization (right axis: relative to "
                        "‖θ<sub>0</sub>‖); the paper finds MLI violated mostly by networks that travel far.");
    return 1;
}

static int fig_dloss_alpha(report *r, mli_gp_fig *f, mli_buf *cap)
{
    const rtab *t = &r->interp;
    int d1 = tab_finite(t, "train_dloss") > 0;
    int d2 = tab_finite(t, "train_d2loss") || tab_finite(t, "train_d2loss_gn") ||
             tab_finite(t, "train_d2loss_curv");
    if (!d1 && !d2)
        return lacks(r, f->name, t, "train_dloss / train_d2loss columns");
    static const char *const cols[] = {"alpha", "train_dloss", "train_d2loss", "train_d2loss_gn",
                                       "train_d2loss_curv"};
    const char *file;
    tab_copy(mli_gp_table(f, "", &file), t, cols, 5);
    if (d1 && d2)
        mli_gp_multiplot(f, 2, 1, "Derivatives of the training loss along the path");
    if (d1) {
        mli_gp_panel(f);
        mli_gp_cmd(f, "set title 'dL/dα: the loss decreases where this is below zero'\n"
                      "set xlabel '" ALPHA_LABEL "'\nset ylabel 'dL/dα  (loss per unit α)'");
        mli_gp_plot(f);
        gp_series(f, t, file, "alpha", "train_dloss", "dL/dα", "linespoints lt %d", MLI_LT_TRAIN);
        mli_gp_item(f, "0 with lines lt %d title 'zero'", MLI_LT_REF);
        mli_gp_end(f);
    }
    if (d2) {
        mli_gp_panel(f);
        mli_gp_cmd(f, "set title 'd^2L/dα^2 = Gauss–Newton part + output-curvature part (convex where ≥ 0)'\n"
                      "set xlabel '" ALPHA_LABEL "'\nset ylabel 'd^2L/dα^2  (loss per unit α^2)'");
        mli_gp_plot(f);
        gp_series(f, t, file, "alpha", "train_d2loss", "d^2L/dα^2 = Δ^T H Δ", "linespoints lt %d", MLI_LT_BLACK);
        gp_series(f, t, file, "alpha", "train_d2loss_gn", "Gauss–Newton part", "lines lt %d", MLI_LT_3);
        gp_series(f, t, file, "alpha", "train_d2loss_curv", "output-curvature part", "lines lt %d", MLI_LT_4);
        mli_gp_item(f, "0 with lines lt %d title 'zero'", MLI_LT_REF);
        mli_gp_end(f);
    }
    if (d1 && d2)
        mli_gp_cmd(f, "unset multiplot");
    mli_buf_printf(cap, "Exact first and second derivatives of the training loss along the path: "
                        "L is monotone where dL/dα ≤ 0, and d²L/dα² splits into a Gauss–Newton part "
                        "(never negative for a convex loss) and a part driven by the curvature of the "
                        "network's outputs, the only one that can break convexity.");
    return 1;
}

/* The geometry panels: the mean per α (interp.tsv) with the median and quartile band over
 * the analysed examples (geometry_quantiles.tsv) when present. */
typedef struct {
    const char *col, *title, *ylabel;
    int lt;
} gpanel;

static const gpanel geo_panels[] = {
    {"speed", "Speed ‖v‖ = ‖dz/dα‖ of the output path", "output units per unit α", MLI_LT_TRAIN},
    {"curvature", "Curvature κ = ‖a_⊥‖ / ‖v‖^2", "1 / output units", MLI_LT_4},
    {"gauss_speed", "Gauss-map speed ‖dT/dα‖ = κ ‖v‖", "radians per unit α", MLI_LT_3},
    {"gauss_length_cum", "Cumulative Gauss length ∫_0^α ‖dT/dα‖ dα", "radians", MLI_LT_5},
};

static int geo_panel_has(const report *r, const gpanel *p)
{
    char q50[64];
    snprintf(q50, sizeof q50, "%s_q50", p->col);
    return tab_finite(&r->interp, p->col) || tab_finite(&r->quant, q50);
}

static void geo_panel(report *r, mli_gp_fig *f, const gpanel *p, const char *file, const char *qfile)
{
    char q[3][64];
    static const char *const qs[] = {"q25", "q50", "q75"};
    span s = {0};
    span_col(&s, &r->interp, p->col);
    for (int i = 0; i < 3; i++) {
        snprintf(q[i], sizeof q[i], "%s_%s", p->col, qs[i]);
        span_col(&s, &r->quant, q[i]);
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title '%s'\nset xlabel 'α'", p->title);
    gp_log_y(f, span_log(&s), p->ylabel);
    int band = tab_finite(&r->quant, q[0]) && tab_finite(&r->quant, q[2]);
    mli_gp_plot(f);
    if (band)
        mli_gp_item(f, "'%s' using \"alpha\":\"%s\":\"%s\" with filledcurves lt %d "
                       "fs transparent solid 0.22 noborder title '25–75%%'",
                    qfile, q[0], q[2], p->lt);
    gp_series(f, &r->quant, qfile, "alpha", q[1], "median", "lines lt %d dt (6,4) lw 1.5", p->lt);
    gp_series(f, &r->interp, file, "alpha", p->col, "mean", "linespoints lt %d", p->lt);
    if (!strcmp(p->col, "gauss_length_cum"))
        mli_gp_item(f, "pi/2 with lines " HALF_PI_LINE " title 'π/2'");
    mli_gp_end(f);
}

static int fig_geometry_alpha(report *r, mli_gp_fig *f, mli_buf *cap)
{
    const int np = (int)(sizeof geo_panels / sizeof geo_panels[0]);
    int n = 0;
    for (int i = 0; i < np; i++)
        n += geo_panel_has(r, &geo_panels[i]);
    if (!n)
        return lacks(r, f->name, &r->interp, "speed / curvature / gauss_speed / gauss_length_cum columns");
    static const char *const cols[] = {"alpha", "speed", "curvature", "gauss_speed", "gauss_length_cum"};
    const char *file, *qfile = NULL;
    tab_copy(mli_gp_table(f, "", &file), &r->interp, cols, 5);
    if (r->quant.present)
        tab_copy(mli_gp_table(f, "quantiles", &qfile), &r->quant, (const char *const *)r->quant.col,
                 r->quant.ncol);
    if (n > 1)
        mli_gp_multiplot(f, n > 2 ? 2 : 1, 2, "Geometry of the output path z(α) = f(x; θ(α))");
    for (int i = 0; i < np; i++)
        if (geo_panel_has(r, &geo_panels[i]))
            geo_panel(r, f, &geo_panels[i], file, qfile ? qfile : file);
    if (n > 1)
        mli_gp_cmd(f, "unset multiplot");
    mli_buf_printf(cap, "How the network's outputs move along the path, averaged over the analysed "
                        "examples (solid: mean; dashed: median; band: 25–75%% quantiles): speed, "
                        "curvature and turning rate of the output curve, and the accumulated turning "
                        "(Gauss length): for an MSE loss whose outputs reach their targets, a Gauss "
                        "length below π/2 (dashed line) certifies a monotone loss.");
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/* Bin width: Freedman–Diaconis (√n bins when the quartiles coincide), 5 to 50 bins, then
 * rounded so that 0 and π/2 are bin edges: no bin straddles the C1 threshold. */
static double hist_width(const double *x, int n)
{
    double range = x[n - 1] - x[0];
    double h = 2 * (quantile(x, n, 0.75) - quantile(x, n, 0.25)) / cbrt(n);
    if (!(h > 0))
        h = range / sqrt(n);
    if (!(h > 0))
        h = fmax(0.05 * fabs(x[0]), 0.01);
    if (range > 0)
        h = fmin(fmax(h, range / 50), range / 5);
    double m = round(HALF_PI / h);
    return m >= 1 ? HALF_PI / m : HALF_PI * round(h / HALF_PI);
}

static int fig_gauss_hist(report *r, mli_gp_fig *f, mli_buf *cap)
{
    int c = mli_tsv_col(&r->ex, "gauss_length"), n = 0;
    double *x = mli_malloc(sizeof *x * (size_t)(r->ex.nrow + 1));
    for (int i = 0; c >= 0 && i < r->ex.nrow; i++)
        if (isfinite(mli_tsv_at(&r->ex, i, c)))
            x[n++] = mli_tsv_at(&r->ex, i, c);
    if (!n) {
        free(x);
        return lacks(r, f->name, &r->ex, "finite gauss_length");
    }
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    double h = hist_width(x, n), mean = 0;
    long j0 = (long)floor(x[0] / h), nb = (long)floor(x[n - 1] / h) + 1 - j0;
    long *count = mli_calloc((size_t)nb, sizeof *count);
    int below = 0;
    for (int i = 0; i < n; i++) {
        long j = (long)floor(x[i] / h) - j0;
        count[j < 0 ? 0 : j >= nb ? nb - 1 : j]++;
        below += x[i] < HALF_PI;
        mean += x[i] / n;
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "left\tright\tcenter\twidth\tcount\tcount_below_half_pi\tcount_above_half_pi\n");
    for (long j = 0; j < nb; j++) {
        double lo = (double)(j0 + j) * h, hi = lo + h;
        int is_below = hi <= HALF_PI * (1 + 1e-12);
        mli_buf_printf(b, "%.9g\t%.9g\t%.9g\t%.9g\t%ld\t%ld\t%ld\n", lo, hi, lo + h / 2, h, count[j],
                       is_below ? count[j] : 0, is_below ? 0 : count[j]);
    }
    double xl = (double)j0 * h, xr = (double)(j0 + nb) * h, w = xr - xl;
    /* show π/2 when that at most triples the axis; otherwise the title says where it is */
    int show = HALF_PI >= xl - 2 * w && HALF_PI <= xr + 2 * w;
    if (show) {
        xl = fmin(xl, HALF_PI - 0.03 * w);
        xr = fmax(xr, HALF_PI + 0.03 * w);
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Gauss length of the output path, per test example:  n = %d,  %.1f%% below π/2%s'\n"
                  "set xlabel 'Gauss length G = ∫_0^1 ‖dT/dα‖ dα  (radians)'\n"
                  "set ylabel 'number of examples'\nset xrange [%.9g:%.9g]\nset yrange [0:*]\n"
                  "set style fill solid 0.85 border lc rgb 'white'",
               n, 100.0 * below / n, show ? "" : below == n ? " (π/2 is off the axis, to the right)"
                                                              : " (π/2 is off the axis, to the left)",
               xl - 0.02 * (xr - xl), xr + 0.02 * (xr - xl));
    if (show)
        mli_gp_cmd(f, "set arrow 1 from first pi/2, graph 0 to first pi/2, graph 1 nohead " HALF_PI_LINE " front");
    mli_gp_cmd(f, "set arrow 2 from first %.9g, graph 0 to first %.9g, graph 1 nohead lt %d lw 1.5 front",
               mean, mean, MLI_LT_4);
    mli_gp_plot(f);
    if (below)
        mli_gp_item(f, "'%s' using \"center\":\"count_below_half_pi\":\"width\" with boxes lt %d "
                       "title 'G < π/2'", file, MLI_LT_3);
    if (below < n)
        mli_gp_item(f, "'%s' using \"center\":\"count_above_half_pi\":\"width\" with boxes lt %d "
                       "title 'G ≥ π/2'", file, MLI_LT_5);
    if (show)
        mli_gp_item(f, "keyentry with lines " HALF_PI_LINE " title 'π/2'");
    mli_gp_item(f, "keyentry with lines lt %d lw 1.5 title 'mean %.3g'", MLI_LT_4, mean);
    mli_gp_end(f);
    mli_buf_printf(cap, "Distribution of the Gauss length (total turning of the output path's tangent) "
                        "over the %d analysed test examples, %ld bins of width %.3g with π/2 on a bin "
                        "edge: for an MSE loss whose output path reaches its target, G &lt; π/2 "
                        "certifies a monotone loss (condition C1).",
                   n, nb, h);
    free(count);
    free(x);
    return 1;
}

static int fig_certificates(report *r, mli_gp_fig *f, mli_buf *cap)
{
    static const char *const label[] = {"C0", "C1", "C2", "C1+C2"};
    const geo *g = &r->g;
    double nmax = 0;
    int n = 0, counted = 0; /* conditions listed, and those with counts */
    for (int i = 0; i < NCERT; i++)
        if (g->cert[i].present) {
            n++;
            counted += isfinite(g->cert[i].certified) != 0;
            nmax = fmax(nmax, isfinite(g->cert[i].n_examples) ? g->cert[i].n_examples : 0);
        }
    if (!counted) {
        note(r, f->name, r->g.present ? "geometry.json has no certificates (computed for mse and recon models)"
                                      : "no geometry.json (written by 'mli analyze')");
        return 0;
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "condition\tcertified\tmonotone\tcounterexamples\tn_examples\n");
    for (int i = 0; i < NCERT; i++) {
        const cert *k = &g->cert[i];
        if (!k->present)
            continue;
        mli_buf_printf(b, "%s%s\t", label[i], isfinite(k->certified) ? "" : " (n/a)");
        mli_buf_num(b, k->certified, '\t');
        mli_buf_num(b, k->monotone, '\t');
        mli_buf_num(b, k->counterexamples, '\t');
        mli_buf_num(b, k->n_examples, '\n');
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Certificates of monotonicity per example (n = %.0f)'\n"
                  "set style data histograms\nset style histogram clustered gap 1\n"
                  "set style fill solid 0.85 noborder\nset xtics scale 0\nset grid noxtics ytics\n"
                  "set xlabel 'sufficient condition'\nset xrange [-0.6:%.1f]\n"
                  "set ylabel 'number of examples'\nset yrange [0:%.9g]",
               nmax, n - 0.4, nmax > 0 ? nmax * 1.15 : 1);
    if (nmax > 0)
        mli_gp_cmd(f, "set arrow 1 from graph 0, first %.9g to graph 1, first %.9g nohead lt %d back\n"
                      "set label 1 'all %.0f examples' at graph 0.01, first %.9g offset 0,0.6 left",
                   nmax, nmax, MLI_LT_REF, nmax, nmax);
    static const char *const col[] = {"certified", "monotone", "counterexamples"};
    static const char *const title[] = {"certified", "monotone on the fine grid",
                                        "counterexamples (certified, not monotone)"};
    static const int lt[] = {MLI_LT_3, MLI_LT_TRAIN, MLI_LT_TEST};
    mli_gp_plot(f);
    for (int j = 0; j < 3; j++)
        mli_gp_item(f, "'%s' using \"%s\"%s lt %d title '%s'", file, col[j], j ? "" : ":xtic(1)", lt[j],
                    title[j]);
    /* bar j of cluster i sits at i + (j - 1) / 4 (3 bars and a gap of one bar per cluster) */
    for (int j = 0; j < 3; j++)
        mli_gp_item(f, "'%s' using ($0%+.2f):\"%s\":(sprintf('%%.0f', column(\"%s\"))) with labels "
                       "offset 0,0.6 font ',10' notitle",
                    file, (j - 1) / 4.0, col[j], col[j]);
    mli_gp_end(f);
    mli_buf_printf(cap, "For each sufficient condition, how many analysed examples it certifies, how "
                        "many are monotone when checked on a %s grid, and the counterexamples "
                        "(certified yet not monotone), which must be zero for a correct "
                        "implementation of a true theorem; conditions are evaluated at the α of the grid, "
                        "which is evidence, not proof, between grid points.",
                   isfinite(g->verify_steps) ? "finer" : "fine");
    if (isfinite(g->verify_steps))
        mli_buf_printf(cap, " Fine grid: %.0f values of α.", g->verify_steps);
    return 1;
}

static void hess_panel(mli_gp_fig *f, const hess *h, const char *file, const char *prefix, int k,
                       int lt, const char *title, const char *first, int log)
{
    /* a few α only: a fixed margin around them, not gnuplot's extension to the next tic */
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->alpha[i])) {
            lo = fmin(lo, h->alpha[i]);
            hi = fmax(hi, h->alpha[i]);
        }
    double pad = 0.06 * fmax(hi - lo, 1);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title '%s'\nset xlabel '" ALPHA_LABEL "'", title);
    if (isfinite(lo))
        mli_gp_cmd(f, "set xrange [%.9g:%.9g]", lo - pad, hi + pad);
    gp_log_y(f, log, "eigenvalue of the Hessian of the training loss");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"alpha\":\"%s_1\" with linespoints lt %d pt 7 ps 1 title '%s'", file,
                prefix, lt, first);
    if (k >= 2)
        mli_gp_item(f, "'%s' using \"alpha\":\"%s_2\" with points lt %d pt 6 ps 1 title 'the next %d'",
                    file, prefix, lt, k - 1);
    if (k >= 3)
        mli_gp_item(f, "for [i=3:%d] '%s' using \"alpha\":(column(sprintf('%s_%%d', i))) with points "
                       "lt %d pt 6 ps 1 notitle",
                    k, file, prefix, lt);
    mli_gp_end(f);
}

/* Finite entries of column j of an n x k matrix: gnuplot refuses a plot with no point. */
static int finite_col(const double *m, int n, int k, int j)
{
    int c = 0;
    for (int i = 0; m && i < n; i++)
        c += isfinite(m[(size_t)i * (size_t)k + (size_t)j]) != 0;
    return c;
}

static int fig_hessian(report *r, mli_gp_fig *f, mli_buf *cap)
{
    hess *h = &r->g.h;
    if (!finite_col(h->bot, h->n, h->kbot, 0))
        h->kbot = 0;
    if (!finite_col(h->top, h->n, h->ktop, 0)) {
        note(r, f->name, r->g.present ? "geometry.json has no Hessian eigenvalues ('mli analyze --hessian K')"
                                      : "no geometry.json (written by 'mli analyze')");
        return 0;
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "alpha\ttrace\ttrace_stderr");
    for (int j = 0; j < h->ktop; j++)
        mli_buf_printf(b, "\ttop_%d", j + 1);
    for (int j = 0; j < h->kbot; j++)
        mli_buf_printf(b, "\tbottom_%d", j + 1);
    mli_buf_printf(b, "\n");
    int pos = 1;
    for (int i = 0; i < h->n; i++) {
        mli_buf_num(b, h->alpha[i], '\t');
        mli_buf_num(b, h->trace[i], '\t');
        mli_buf_num(b, h->trace_se[i], h->ktop + h->kbot ? '\t' : '\n');
        for (int j = 0; j < h->ktop; j++) {
            double v = h->top[(size_t)i * (size_t)h->ktop + (size_t)j];
            pos &= !(v <= 0);
            mli_buf_num(b, v, j + 1 < h->ktop + h->kbot ? '\t' : '\n');
        }
        for (int j = 0; j < h->kbot; j++)
            mli_buf_num(b, h->bot[(size_t)i * (size_t)h->kbot + (size_t)j], j + 1 < h->kbot ? '\t' : '\n');
    }
    if (h->kbot)
        mli_gp_multiplot(f, 1, 2, "Hessian spectrum of the training loss along the path");
    hess_panel(f, h, file, "top", h->ktop, MLI_LT_TRAIN, "Largest eigenvalues", "largest eigenvalue", pos);
    if (h->kbot) {
        hess_panel(f, h, file, "bottom", h->kbot, MLI_LT_TEST, "Smallest eigenvalues",
                   "smallest eigenvalue", 0);
        mli_gp_cmd(f, "unset multiplot");
    }
    mli_buf_printf(cap, "Extreme eigenvalues of the Hessian of the training loss (Lanczos) at the %d "
                        "value(s) of α where they were computed; trace (Hutchinson estimate ± standard error):",
                   h->n);
    for (int i = 0; i < h->n; i++) {
        mli_buf_printf(cap, "%s α = %.3g: ", i ? ";" : "", h->alpha[i]);
        html_num(cap, h->trace[i], "%.4g");
        if (isfinite(h->trace[i]) && isfinite(h->trace_se[i]))
            mli_buf_printf(cap, " ± %.2g", h->trace_se[i]);
    }
    mli_buf_printf(cap, ".");
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * index.html */

static void html_num(mli_buf *b, double x, const char *fmt)
{
    if (isfinite(x))
        mli_buf_printf(b, fmt, x);
    else
        mli_buf_printf(b, "<span class=\"na\">n/a</span>");
}

/* A JSON value as escaped text: lists joined with commas, objects as key: value. */
static void html_json(mli_buf *b, const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        mli_buf_printf(b, "<span class=\"na\">n/a</span>");
    else if (cJSON_IsBool(v))
        mli_buf_printf(b, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v))
        mli_buf_printf(b, "%.9g", v->valuedouble);
    else if (cJSON_IsString(v))
        mli_html_esc(b, v->valuestring);
    else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        int obj = cJSON_IsObject(v);
        mli_buf_printf(b, "%s", obj ? "" : "[");
        for (const cJSON *e = v->child; e; e = e->next) {
            if (obj && e->string) {
                mli_html_esc(b, e->string);
                mli_buf_printf(b, ": ");
            }
            html_json(b, e);
            mli_buf_printf(b, "%s", e->next ? (obj ? "; " : ", ") : "");
        }
        mli_buf_printf(b, "%s", obj ? "" : "]");
    }
}

static void html_row(mli_buf *b, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void html_row(mli_buf *b, const char *label, const char *fmt, ...)
{
    mli_buf_printf(b, "<tr><th>%s</th><td>", label);
    char v[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    mli_buf_printf(b, "%s</td></tr>\n", v);
}

static void html_summary(const report *r, mli_buf *b)
{
    const geo *g = &r->g;
    mli_buf_printf(b, "<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\">\n");
    mli_buf_printf(b, "<tr><th>training status</th><td>");
    html_json(b, cJSON_GetObjectItemCaseSensitive(r->config, "status"));
    mli_buf_printf(b, "</td></tr>\n");
    if (!g->present) {
        mli_buf_printf(b, "<tr><th>analysis</th><td>no geometry.json: run <code>mli analyze</code></td></tr>\n"
                          "</table>\n");
        return;
    }
    mli_buf v = {0};
    html_num(&v, g->delta, "%.4g");
    html_row(b, "Δ (largest bump of the training loss)", "%s%s", v.s,
             g->monotone < 0 ? "" : g->monotone ? " — <b>monotone</b>" : " — <b class=\"bad\">non-monotone</b>");
    v.len = 0;
    html_num(&v, g->threshold, "%.3g");
    html_row(b, "non-monotone threshold", "%s; %d bump(s)", v.s, g->nbump);
    v.len = 0;
    html_num(&v, g->end_rise, "%.4g");
    html_row(b, "end_rise (rise over the last α step, not counted in Δ)", "%s%s", v.s,
             isfinite(g->end_rise) && g->end_rise > (isfinite(g->threshold) ? g->threshold : 1e-3)
                 ? " — <b class=\"bad\">the loss rises on the last step</b>"
                 : "");
    if (isfinite(g->bn_reset_weight)) {
        v.len = 0;
        html_num(&v, g->bn_reset_weight, "%.3g");
        html_row(b, "batch norm: weight of the reset statistics left after the ema pass", "%s%s", v.s,
                 g->bn_reset_weight > 0.01
                     ? " — <b class=\"bad\">warning: above 1%, the moving-average statistics are far from "
                       "converged; compare with <code>mli analyze --bn-stats exact</code></b>"
                     : "");
    }
    static const char *const lab[] = {"‖θ<sub>1</sub> − θ<sub>0</sub>‖ (distance travelled)",
                                      "‖θ<sub>1</sub> − θ<sub>0</sub>‖ / ‖θ<sub>0</sub>‖ (normalized)",
                                      "final training loss", "final test loss",
                                      "final training accuracy", "final test accuracy"};
    const double val[] = {g->wdist, g->norm_wdist, g->final_train_loss, g->final_test_loss,
                          g->final_train_acc, g->final_test_acc};
    for (int i = 0; i < 6; i++) {
        v.len = 0;
        html_num(&v, val[i], "%.5g");
        html_row(b, lab[i], "%s", v.s);
    }
    if (g->gauss) {
        static const char *const gk[] = {"mean", "median", "frac_below_half_pi", "n_examples", "split"};
        static const char *const gl[] = {"Gauss length: mean", "Gauss length: median",
                                         "Gauss length: fraction below π/2", "Gauss length: examples",
                                         "Gauss length: data split"};
        for (int i = 0; i < 5; i++) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(g->gauss, gk[i]);
            if (!e)
                continue;
            v.len = 0;
            html_json(&v, e);
            html_row(b, gl[i], "%s", v.s);
        }
    }
    mli_exact_summary_rows(r->exact, b);
    static const char *const cl[] = {"C0", "C1", "C2", "C1+C2 (C12)"};
    for (int i = 0; i < NCERT; i++) {
        const cert *k = &g->cert[i];
        if (!k->present)
            continue;
        char lbl[64];
        snprintf(lbl, sizeof lbl, "certificate %s", cl[i]);
        v.len = 0;
        if (k->na_text)
            mli_html_esc(&v, k->na_text);
        else if (!isfinite(k->certified))
            mli_buf_printf(&v, "not applicable");
        else
            mli_buf_printf(&v, "%.0f certified, %.0f monotone, <b%s>%.0f counterexamples</b> of %.0f",
                           k->certified, k->monotone, k->counterexamples > 0 ? " class=\"bad\"" : "",
                           k->counterexamples, k->n_examples);
        html_row(b, lbl, "%s", v.s);
    }
    const cJSON *extra[] = {g->dataset, g->ntk};
    static const char *const el[] = {"certificates for the data-set loss", "neural tangent kernel"};
    for (int i = 0; i < 2; i++)
        if (extra[i]) {
            v.len = 0;
            html_json(&v, extra[i]);
            mli_buf_printf(b, "<tr><th>%s</th><td>%s</td></tr>\n", el[i], v.s);
        }
    mli_buf_free(&v);
    mli_buf_printf(b, "</table>\n");
}

/* The configuration, flattened (dataset.n_train, ...), three keys per row. */
static void html_config_cells(mli_buf *b, const cJSON *o, const char *prefix, int *n)
{
    for (const cJSON *e = o->child; e; e = e->next) {
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, e->string ? e->string : "");
        if (cJSON_IsObject(e)) {
            char p[260];
            snprintf(p, sizeof p, "%s.", key);
            html_config_cells(b, e, p, n);
            continue;
        }
        if (cJSON_IsArray(e) && cJSON_IsObject(e->child))
            continue; /* lists of records (the data files) are listed below the table */
        if (*n % 3 == 0)
            mli_buf_printf(b, "%s<tr>", *n ? "</tr>\n" : "");
        mli_buf_printf(b, "<th>");
        mli_html_esc(b, key);
        mli_buf_printf(b, "</th><td>");
        html_json(b, e);
        mli_buf_printf(b, "</td>");
        ++*n;
    }
}

static void html_config(const report *r, mli_buf *b)
{
    int n = 0;
    mli_buf_printf(b, "<h2 id=\"config\">Configuration</h2>\n<table class=\"config\">\n");
    html_config_cells(b, r->config, "", &n);
    mli_buf_printf(b, "%s</table>\n", n ? "</tr>\n" : "");
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(r->config, "dataset");
    const cJSON *files = ds ? cJSON_GetObjectItemCaseSensitive(ds, "files") : NULL, *f;
    if (cJSON_IsArray(files) && cJSON_GetArraySize(files) > 0) {
        mli_buf_printf(b, "<p class=\"files\">Data files:</p>\n<ul class=\"files\">\n");
        cJSON_ArrayForEach(f, files)
        {
            const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
            const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(f, "bytes");
            mli_buf_printf(b, "<li><code>");
            mli_html_esc(b, cJSON_IsString(path) ? path->valuestring : "?");
            mli_buf_printf(b, "</code> (%.0f bytes)</li>\n", cJSON_IsNumber(bytes) ? bytes->valuedouble : 0.0);
        }
        mli_buf_printf(b, "</ul>\n");
    }
}

static void html_files(const report *r, mli_buf *b)
{
    static const char *const files[] = {"config.json", "train.tsv", "interp.tsv", "geometry.json",
                                        "geometry_quantiles.tsv", "examples.tsv", "exact_loss.tsv",
                                        "exact_breaks.tsv", "exact_dataset.tsv",
                                        /* control experiments */
                                        "random_inits.tsv", "permute.tsv", "plane.tsv", "plane_points.tsv",
                                        "logits.tsv"};
    mli_buf_printf(b, "<h2 id=\"data\">Data files</h2>\n<p>Of the run:");
    for (int i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", r->run, files[i]);
        if (access(path, F_OK) == 0)
            mli_buf_printf(b, " <a href=\"../%s\">%s</a>", files[i], files[i]);
    }
    mli_buf_printf(b, ".</p>\n<p>Plotted (tab-separated, one header line):");
    for (int i = 0; i < r->nfig; i++)
        for (int j = 0; j < r->fig[i].ntab; j++)
            mli_buf_printf(b, " <a href=\"%s\">%s</a>", r->fig[i].tab[j], r->fig[i].tab[j]);
    mli_buf_printf(b, ". Each figure is redrawn by <code>gnuplot NAME.gp</code> in this directory.</p>\n");
}

static int write_html(const report *r)
{
    char real[4096];
    const char *name = realpath(r->run, real) ? real : r->run;
    const char *slash = strrchr(name, '/');
    if (slash && slash[1])
        name = slash + 1;
    mli_buf b = {0};
    mli_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>mli report: ");
    mli_html_esc(&b, name);
    mli_buf_printf(&b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>mli report: ", mli_html_css);
    mli_html_esc(&b, name);
    mli_buf_printf(&b, "</h1>\n<p>Run directory <code>");
    mli_html_esc(&b, r->run);
    mli_buf_printf(&b, "</code>: monotonic linear interpolation (Lucas et al., ICML 2021) along "
                       "θ(α) = θ<sub>0</sub> + α(θ<sub>1</sub> − θ<sub>0</sub>).</p>\n<nav>"
                       "<a href=\"#summary\">Summary</a><a href=\"#config\">Configuration</a>");
    for (int i = 0; i < r->nfig; i++)
        mli_buf_printf(&b, "<a href=\"#%s\">%s</a>", r->fig[i].name, r->fig[i].heading);
    mli_buf_printf(&b, "<a href=\"#data\">Data</a></nav>\n");
    if (!r->have_gnuplot)
        mli_buf_printf(&b, "<p class=\"warn\">gnuplot was not found, so the figures are not drawn. "
                           "Install <code>gnuplot-nox</code> and run <code>mli report</code> again, or "
                           "run <code>gnuplot *.gp</code> in this directory for the images alone.</p>\n");
    html_summary(r, &b);
    html_config(r, &b);
    mli_buf_printf(&b, "<h2 id=\"figures\">Figures</h2>\n<p>Click a figure for its scalable (SVG) version.</p>\n");
    for (int i = 0; i < r->nfig; i++)
        mli_html_figure(&b, &r->fig[i], r->have_gnuplot);
    if (r->notes.len)
        mli_buf_printf(&b, "<h3>Figures left out</h3>\n<ul>\n%s</ul>\n", r->notes.s);
    html_files(r, &b);
    mli_buf_printf(&b, "</body>\n</html>\n");
    char path[4300];
    snprintf(path, sizeof path, "%s/index.html", r->dir);
    int rc = mli_buf_write(&b, path);
    mli_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Driver */

typedef int (*fig_fn)(report *, mli_gp_fig *, mli_buf *);

/* The figures of the control experiments, drawn by report/control_figs.c (named by f->name). */
static int fig_control(report *r, mli_gp_fig *f, mli_buf *cap)
{
    char why[512];
    int drawn = mli_ctl_fig_draw(r->ctl, f, cap, why, sizeof why);
    if (!drawn)
        note(r, f->name, "%s", why);
    return drawn;
}

/* The paper's figure 1 (the plane beside the two interpolations to θ₁): noted as missing only for
 * a run that has one of its parts. */
static int fig_figure1(report *r, mli_gp_fig *f, mli_buf *cap)
{
    char why[512];
    int drawn = mli_ctl_fig_draw(r->ctl, f, cap, why, sizeof why);
    if (!drawn && mli_ctl_figure1_partial(r->ctl))
        note(r, f->name, "%s", why);
    return drawn;
}

/* The figures of the exact analysis, drawn by report/exact_figs.c (named by f->name). */
static int fig_exact(report *r, mli_gp_fig *f, mli_buf *cap)
{
    char why[512];
    int drawn = mli_exact_fig_draw(r->exact, f, cap, why, sizeof why);
    if (!drawn && mli_exact_figs_present(r->exact))
        note(r, f->name, "%s", why); /* a run analysed without --exact needs no note */
    return drawn;
}

static const struct {
    const char *name, *heading;
    fig_fn make;
} figures[MAX_FIG] = {
    {"figure1", "Figure 1: the plane and the two interpolations", fig_figure1},
    {"loss_alpha", "Loss along the path", fig_loss_alpha},
    {"acc_alpha", "Accuracy along the path", fig_acc_alpha},
    {"train_curves", "Training curves", fig_train_curves},
    {"dloss_alpha", "Derivatives of the loss", fig_dloss_alpha},
    {"geometry_alpha", "Output-space geometry", fig_geometry_alpha},
    {"gauss_hist", "Gauss length per example", fig_gauss_hist},
    {"certificates", "Certificates", fig_certificates},
    {"hessian", "Hessian spectrum", fig_hessian},
    {"exact_dataset", "Exact training loss", fig_exact},
    {"exact_loss", "Exact loss of single examples", fig_exact},
    {"exact_turning", "Total turning", fig_exact},
    {"random_inits", "Unrelated initializations", fig_control},
    {"permute", "Permuted hidden units", fig_control},
    {"plane", "2D slice of the loss", fig_control},
    {"logits", "Logit paths", fig_control},
    {"ntk", "Neural tangent kernel", fig_control},
};

static int make_figure(report *r, int i)
{
    mli_gp_fig f;
    mli_gp_init(&f, figures[i].name);
    mli_gp_entry *e = &r->fig[r->nfig];
    memset(e, 0, sizeof *e);
    int made = figures[i].make(r, &f, &e->caption) != 0;
    int rc = mli_gp_entry_make(&r->sink, &f, made, figures[i].heading, e);
    r->nfig += made;
    mli_gp_free(&f);
    return rc;
}

/* A run directory has config.json; a folder of run directories is a sweep. */
static int locate(report *r, const char *run_dir)
{
    size_t len = strlen(run_dir);
    while (len > 1 && run_dir[len - 1] == '/')
        len--;
    if (!len || len >= sizeof r->run - 32)
        return mli_err(MLI_EUSAGE, "report: bad run directory '%s'", run_dir);
    memcpy(r->run, run_dir, len);
    r->run[len] = '\0';
    snprintf(r->dir, sizeof r->dir, "%s/report", r->run);
    struct stat st;
    if (stat(r->run, &st) != 0)
        return mli_err(MLI_EINPUT, "%s: no such run directory", r->run);
    if (!S_ISDIR(st.st_mode))
        return mli_err(MLI_EINPUT, "%s: not a directory (expected a run directory with config.json)", r->run);
    char path[4300];
    snprintf(path, sizeof path, "%s/config.json", r->run);
    if (access(path, F_OK) == 0)
        return MLI_OK;
    DIR *d = opendir(r->run);
    struct dirent *e;
    int sweep = 0;
    while (d && !sweep && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s/config.json", r->run, e->d_name);
        sweep = e->d_name[0] != '.' && access(path, F_OK) == 0;
    }
    if (d)
        closedir(d);
    if (sweep)
        return mli_err(MLI_EUSAGE, "%s: a folder of run directories, not a sweep directory (a sweep "
                                   "keeps its runs in runs/, as 'mli sweep' writes them); run 'mli report' "
                                   "on each run directory",
                       r->run);
    return mli_err(MLI_EINPUT, "%s: not a run directory: no config.json", r->run);
}

/* The tables of one analysis belong together (geometry/analyze.c replaces them as a set, with
 * geometry.json last): geometry.json lists each with its row count and digest. A table that
 * differs, is missing, or is present but not listed comes from another analysis. Analyses
 * older than the list (no "outputs") are not checked. */

static int check_output_set(const report *r, const cJSON *geom)
{
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(geom, "outputs");
    if (!outs)
        return MLI_OK;
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(geom, "analysis_id");
    const char *id = cJSON_IsString(idj) ? idj->valuestring : "?";
    for (int i = 0; i < MLI_N_ANALYSIS_TABLES; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", r->run, mli_analysis_tables[i]);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(outs, mli_analysis_tables[i]);
        int exists = access(path, F_OK) == 0;
        if (!e && !exists)
            continue;
        if (!e)
            return mli_err(MLI_EINPUT, "%s is not part of the analysis recorded in %s/geometry.json "
                           "(analysis %s): a file left by another analysis; rerun 'mli analyze %s'",
                           path, r->run, id, r->run);
        if (!exists)
            return mli_err(MLI_EINPUT, "%s is missing: %s/geometry.json (analysis %s) lists it; rerun "
                           "'mli analyze %s'", path, r->run, id, r->run);
        unsigned char *buf;
        size_t n;
        int rc = mli_file_read(path, (size_t)1 << 34, &buf, &n);
        if (rc)
            return rc;
        long rows = -1;
        for (size_t k = 0; k < n; k++)
            rows += buf[k] == '\n';
        char hex[20];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)mli_fnv1a64(buf, n));
        free(buf);
        const cJSON *wr = cJSON_GetObjectItemCaseSensitive(e, "rows");
        const cJSON *wd = cJSON_GetObjectItemCaseSensitive(e, "fnv1a64");
        if (!cJSON_IsNumber(wr) || !cJSON_IsString(wd))
            return mli_err(MLI_EINPUT, "%s/geometry.json: outputs.%s should have rows (a number) and "
                           "fnv1a64 (a string)", r->run, mli_analysis_tables[i]);
        if (strcmp(hex, wd->valuestring) != 0)
            return mli_err(MLI_EINPUT, "%s does not belong to the analysis recorded in %s/geometry.json "
                           "(analysis %s: %g rows expected, the file has %ld; digest %s, expected %s): the "
                           "files are a mix of two analyses; rerun 'mli analyze %s'",
                           path, r->run, id, wr->valuedouble, rows, hex, wd->valuestring, r->run);
    }
    return MLI_OK;
}

static int load(report *r)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/config.json", r->run);
    int rc = json_load(path, &r->config);
    if (!rc)
        rc = tab_load(&r->train, r->run, "train.tsv", "epoch");
    if (!rc)
        rc = tab_load(&r->interp, r->run, "interp.tsv", "alpha");
    if (!rc)
        rc = tab_load(&r->quant, r->run, "geometry_quantiles.tsv", "alpha");
    if (!rc)
        rc = tab_load(&r->ex, r->run, "examples.tsv", "index");
    snprintf(path, sizeof path, "%s/geometry.json", r->run);
    if (!rc && access(path, F_OK) == 0) {
        rc = json_load(path, &r->geom_json);
        if (!rc)
            rc = check_output_set(r, r->geom_json);
        if (!rc)
            rc = geo_parse(r->geom_json, path, &r->g);
    } else if (!rc)
        for (int i = 0; i < MLI_N_ANALYSIS_TABLES && !rc; i++) { /* tables without their geometry.json: cut short */
            char tp[4300];
            snprintf(tp, sizeof tp, "%s/%s", r->run, mli_analysis_tables[i]);
            if (access(tp, F_OK) == 0)
                rc = mli_err(MLI_EINPUT, "%s: no geometry.json beside it: the analysis that wrote it did "
                             "not finish; rerun 'mli analyze %s'", tp, r->run);
        }
    if (!rc)
        rc = mli_ctl_figs_load(r->run, r->geom_json, &r->ctl); /* control experiments */
    if (!rc)
        rc = mli_exact_figs_load(r->run, r->geom_json, &r->exact);
    return rc;
}

static int produce(report *r)
{
    int rc = mli_mkdirs(r->dir);
    r->have_gnuplot = mli_gp_find(r->gnuplot, sizeof r->gnuplot);
    r->sink.dir = r->dir;
    r->sink.gnuplot = r->have_gnuplot ? r->gnuplot : NULL;
    /* the page of an earlier report goes first: it links figures about to be replaced, and
     * none of them must be linked unless it is whole and in place */
    char page[4300];
    snprintf(page, sizeof page, "%s/index.html", r->dir);
    if (!rc && unlink(page) != 0 && errno != ENOENT)
        rc = mli_err(MLI_EFAIL, "%s: cannot remove the earlier page: %s", page, strerror(errno));
    for (int i = 0; i < MAX_FIG && !rc; i++)
        rc = make_figure(r, i);
    if (!rc)
        rc = write_html(r);
    return mli_gp_sink_close(&r->sink, rc);
}

int mli_report_run(const char *run_dir)
{
    report *r = mli_calloc(1, sizeof *r);
    int rc = locate(r, run_dir);
    if (!rc)
        rc = load(r);
    if (!rc)
        rc = produce(r);
    for (int i = 0; i < r->nfig; i++)
        mli_buf_free(&r->fig[i].caption);
    mli_buf_free(&r->notes);
    mli_tsv_free(&r->train);
    mli_tsv_free(&r->interp);
    mli_tsv_free(&r->quant);
    mli_tsv_free(&r->ex);
    geo_free(&r->g);
    mli_ctl_figs_free(r->ctl);
    mli_exact_figs_free(r->exact);
    cJSON_Delete(r->config);
    cJSON_Delete(r->geom_json);
    free(r);
    return rc;
}
