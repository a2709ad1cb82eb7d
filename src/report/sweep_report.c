/* mli report SWEEP_DIR: read every run of the sweep, draw the summary figures with gnuplot,
 * write index.html.
 *
 * As for one run (run_report.c), everything is read and checked first, then each figure is a
 * short function that fills an mli_gp_fig or declines with a note saying why. */
#include "report/sweep_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"
#include "io/tsv.h"
#include "report/gnuplot.h"
#include "report/html.h"
#include "report/sweep_table.h"

#define ALPHA_LABEL "α   (0: initialization θ_0,  1: trained parameters θ_1)"

/* Colours by role, distinct from each other across the figures: optimizers take linetypes
 * 1, 2, 5, 6 and batch norm off / on takes 3 / 4 (report/gnuplot.h's palette). */
static const int optim_lt[] = {MLI_LT_TRAIN, MLI_LT_TEST, MLI_LT_5, MLI_LT_6};
enum { LT_NO_BN = MLI_LT_3, LT_BN = MLI_LT_4, PT_NO_BN = 7, PT_BN = 9 };

/* ------------------------------------------------------------------------------------------
 * The training loss along the path of each run (interp.tsv: alpha, train_loss by name). */

typedef struct {
    int n;
    double *alpha, *loss;
} curve;

/* A run's curve, if it has interp.tsv: the two columns plotted. */
static int curve_load(curve *c, const mli_table_run *r)
{
    static const char *const need[] = {"alpha", "train_loss", NULL};
    memset(c, 0, sizeof *c);
    mli_tsv t;
    int rc = mli_tsv_load(&t, r->dir, "interp.tsv", need);
    if (rc || !t.present)
        return rc;
    int ca = mli_tsv_col(&t, "alpha"), cl = mli_tsv_col(&t, "train_loss");
    c->n = t.nrow;
    c->alpha = mli_malloc(sizeof *c->alpha * (size_t)(t.nrow + 1));
    c->loss = mli_malloc(sizeof *c->loss * (size_t)(t.nrow + 1));
    for (int i = 0; i < t.nrow; i++) {
        c->alpha[i] = mli_tsv_at(&t, i, ca);
        c->loss[i] = mli_tsv_at(&t, i, cl);
    }
    mli_tsv_free(&t);
    return MLI_OK;
}

static void curve_free(curve *c)
{
    free(c->alpha);
    free(c->loss);
}

/* ------------------------------------------------------------------------------------------
 * The report */

enum { MAX_FIG = MLI_SWEEP_MAX_FIG, MAX_OPTIM = 4 };

typedef struct {
    mli_table_sweep s;
    mli_table t;
    curve *cv;               /* per run */
    char dir[MLI_TABLE_PATH + 16]; /* SWEEP/report */
    char optim[MAX_OPTIM][32]; /* the optimizers, by name (mli has two; any beyond MAX_OPTIM are not drawn) */
    int noptim;
    double floor;            /* where delta = 0 is drawn on a log axis */
    char gnuplot[4096];
    int have_gnuplot;
    mli_gp_entry fig[MAX_FIG];
    int nfig;
    mli_buf notes; /* figures left out, as <li> items */
    mli_gp_sink sink; /* where figures render, and the first rendering failure */
} sreport;

static void note(sreport *r, const char *fig, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(sreport *r, const char *fig, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mli_buf_printf(&r->notes, "<li><code>%s</code>: %s</li>\n", fig, msg); /* our own text */
}

static int optim_index(const sreport *r, const char *name)
{
    for (int j = 0; j < r->noptim; j++)
        if (!strcmp(r->optim[j], name))
            return j;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The distinct values of x[0..n) (finite, above zero), sorted; returns their number. */
static int distinct(double *x, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && x[i] > 0)
            x[m++] = x[i];
    qsort(x, (size_t)m, sizeof *x, cmp_double);
    int k = 0;
    for (int i = 0; i < m; i++)
        if (!k || x[i] != x[k - 1])
            x[k++] = x[i];
    return k;
}

/* Positive values over more than 1.5 decades read better on a log scale. */
static int spans_decades(const double *x, int n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && x[i] > 0) {
            lo = fmin(lo, x[i]);
            hi = fmax(hi, x[i]);
        }
    return isfinite(lo) && hi > 31.6 * lo;
}

static int all_positive(const double *x, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && !(x[i] > 0))
            return 0;
    return 1;
}

static int has_zero(const double *x, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && x[i] <= 0)
            return 1;
    return 0;
}

/* Tics of a log axis holding delta from lo to hi: the decades, every step-th one when there
 * are many; with zero, lo is the floor where delta = 0 is drawn, and its tic reads 0. */
static void delta_log_tics(mli_gp_fig *f, const char *axis, double lo, double hi, int zero)
{
    int k0 = zero ? (int)lround(log10(lo)) : (int)ceil(log10(lo) - 1e-9), k1 = (int)floor(log10(hi) + 1e-9);
    int step = (k1 - k0) > 8 ? (k1 - k0 + 7) / 8 : 1;
    mli_buf t = {0};
    mli_buf_printf(&t, "set %stics (", axis);
    if (zero)
        mli_buf_printf(&t, "\"0\" %.9g", lo);
    for (int k = k0 + (zero ? step : 0); k <= k1; k += step)
        mli_buf_printf(&t, "%s\"10^{%d}\" 1e%d", k > k0 || zero ? ", " : "", k, k);
    mli_gp_cmd(f, "%s)", t.s);
    mli_buf_free(&t);
}

/* Delta as drawn: the floor stands for 0 on a log axis. */
static double delta_drawn(double d, int log, double floor) { return log && d <= 0 ? floor : d; }

/* ---- heat maps ------------------------------------------------------------------------- */

typedef struct {
    const char *key, *label; /* the axis: "depth" or "width" */
} heat_axis;

static int run_axis(const mli_table_run *u, const heat_axis *a)
{
    return !strcmp(a->key, "depth") ? u->depth : u->width;
}

/* The cells of the heat map that hold an analysed run: position, mean delta, runs. */
typedef struct {
    int ix, iy, n;
    double mean;
} heat_cell;

static int heat_cells(const sreport *r, const double *lr, int nx, const double *yv, int ny, const heat_axis *a,
                      heat_cell *cell)
{
    int nc = 0;
    for (int iy = 0; iy < ny; iy++)
        for (int ix = 0; ix < nx; ix++) {
            heat_cell c = {ix, iy, 0, 0};
            for (int i = 0; i < r->s.n; i++) {
                const mli_table_run *u = &r->s.run[i];
                if (u->lr == lr[ix] && run_axis(u, a) == (int)yv[iy] && isfinite(u->delta)) {
                    c.mean += u->delta;
                    c.n++;
                }
            }
            if (c.n) { /* otherwise a blank cell: no analysed run there */
                c.mean /= c.n;
                cell[nc++] = c;
            }
        }
    return nc;
}

/* The cells as a table: ix iy learning_rate KEY mean_delta n_runs color label dark. */
static void heat_table(const sreport *r, mli_buf *b, const heat_cell *cell, int nc, const double *lr,
                       const double *yv, const heat_axis *a, int log, double lo, double hi)
{
    mli_buf_printf(b, "ix\tiy\tlearning_rate\t%s\tmean_delta\tn_runs\tcolor\tlabel\tdark\n", a->key);
    for (int k = 0; k < nc; k++) {
        const heat_cell *c = &cell[k];
        double v = delta_drawn(c->mean, log, r->floor);
        double pos = log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo);
        mli_buf_printf(b, "%d\t%d\t%.9g\t%d\t%.9g\t%d\t%.9g\t%.2g\t%d\n", c->ix, c->iy, lr[c->ix],
                       (int)yv[c->iy], c->mean, c->n, v, c->mean, pos < 0.6); /* white text on dark cells */
    }
}

/* Category tics: the values at 0, 1, 2, ... */
static void category_tics(mli_gp_fig *f, const char *axis, const double *v, int n)
{
    mli_buf t = {0};
    mli_buf_printf(&t, "set %stics (", axis);
    for (int i = 0; i < n; i++)
        mli_buf_printf(&t, "%s\"%.9g\" %d", i ? ", " : "", v[i], i);
    mli_gp_cmd(f, "%s) scale 0", t.s);
    mli_buf_free(&t);
}

static int fig_heat(sreport *r, mli_gp_fig *f, mli_buf *cap, const heat_axis *a)
{
    int n = r->s.n;
    double *lr = mli_malloc(sizeof *lr * (size_t)(3 * n + 3)), *yv = lr + n + 1, *means = yv + n + 1;
    for (int i = 0; i < n; i++) {
        lr[i] = r->s.run[i].lr;
        yv[i] = run_axis(&r->s.run[i], a);
    }
    int nx = distinct(lr, n), ny = distinct(yv, n), nc = 0, drawn = 0;
    heat_cell *cell = mli_malloc(sizeof *cell * (size_t)(nx * ny + 1));
    if (nx < 2 || ny < 2)
        note(r, f->name, "the sweep does not vary both the learning rate and the %s (%d learning rate%s, %d %s "
                         "value%s)", a->key, nx, nx == 1 ? "" : "s", ny, a->key, ny == 1 ? "" : "s");
    else if (!(nc = heat_cells(r, lr, nx, yv, ny, a, cell)))
        note(r, f->name, "no run has a delta yet (written by 'mli analyze')");
    if (!nc) {
        free(lr);
        free(cell);
        return 0;
    }
    /* the colour scale spans the cell means: log when they span decades */
    for (int k = 0; k < nc; k++) {
        means[k] = cell[k].mean;
        drawn += cell[k].n;
    }
    int log = spans_decades(means, nc), zero = log && has_zero(means, nc);
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < nc; k++) {
        lo = fmin(lo, delta_drawn(means[k], log, r->floor));
        hi = fmax(hi, delta_drawn(means[k], log, r->floor));
    }
    if (!(hi > lo))
        hi = lo > 0 ? 10 * lo : r->t.opts.delta_threshold; /* a single value: any range that holds it */
    const char *file;
    heat_table(r, mli_gp_table(f, "", &file), cell, nc, lr, yv, a, log, lo, hi);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Δ by learning rate and %s: mean over the other keys'\n"
                  "set xlabel 'learning rate'\nset ylabel '%s'\nunset grid\nset border 15 lc rgb '#555555'\n"
                  "set xrange [-0.5:%d.5]\nset yrange [-0.5:%d.5]",
               a->key, a->label, nx - 1, ny - 1);
    category_tics(f, "x", lr, nx);
    category_tics(f, "y", yv, ny);
    mli_gp_cmd(f, "set palette defined (0 '#440154', 1 '#3B528B', 2 '#21908C', 3 '#5DC863', 4 '#FDE725')\n"
                  "set cbrange [%.9g:%.9g]\nset colorbox\nset cbtics out nomirror",
               lo, hi);
    if (log) {
        mli_gp_cmd(f, "set logscale cb\nset cblabel 'mean Δ  (log scale%s)'", zero ? "; 0 at the bottom" : "");
        delta_log_tics(f, "cb", lo, hi, zero);
    } else
        mli_gp_cmd(f, "set cblabel 'mean Δ'");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"ix\":\"iy\":(0.5):(0.5):\"color\" with boxxyerror fc palette fs solid 1 "
                   "border lc rgb 'white' notitle", file);
    mli_gp_item(f, "'%s' using \"ix\":\"iy\":(column(\"dark\") > 0 ? stringcolumn(\"label\") : '') with labels "
                   "tc rgb 'white' notitle", file);
    mli_gp_item(f, "'%s' using \"ix\":\"iy\":(column(\"dark\") > 0 ? '' : stringcolumn(\"label\")) with labels "
                   "tc rgb 'black' notitle", file);
    mli_gp_end(f);
    mli_buf_printf(cap, "Δ (the largest bump of the training loss along the path) averaged over the "
                        "other keys in each cell of learning rate × %s, over the %d analysed run%s; the "
                        "number in a cell is its mean Δ, and a blank cell has no analysed run (none there, "
                        "diverged, or not analysed yet)%s.",
                   a->label, drawn, drawn == 1 ? "" : "s",
                   !log   ? ""
                   : zero ? "; colours on a log scale, with Δ = 0 at its lower end"
                          : "; colours on a log scale");
    free(lr);
    free(cell);
    return 1;
}

static int fig_heat_depth(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    static const heat_axis a = {"depth", "depth (number of layers: entries of hsizes)"};
    return fig_heat(r, f, cap, &a);
}

static int fig_heat_width(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    static const heat_axis a = {"width", "width (size of the last hidden layer)"};
    return fig_heat(r, f, cap, &a);
}

/* ---- scatter plots ----------------------------------------------------------------------- */

typedef struct {
    const char *name, *label, *short_label; /* column name, axis label, text of the title */
    int is_delta;
} quantity;

static const quantity Q_DELTA = {"delta", "Δ  (largest bump of the training loss)", "Δ", 1};
static const quantity Q_GAUSS = {"gauss_length_mean", "mean Gauss length of the output paths  (radians)",
                                 "Gauss length", 0};
static const quantity Q_DIST = {"norm_wdist", "normalized distance ‖θ_1 − θ_0‖ / ‖θ_0‖",
                                "normalized distance", 0};
static const quantity Q_WDIST = {"wdist", "distance ‖θ_1 − θ_0‖", "distance", 0};

static const quantity Q_EXACT = {"exact_delta_hi", "exact Δ  (the continuous curve; for ce the upper end of its enclosure)",
                                 "exact Δ", 1};

static double qval(const mli_table_run *u, const quantity *q)
{
    if (!strcmp(q->name, "exact_delta_hi"))
        return u->exact_delta_hi;
    return q->is_delta                               ? u->delta
           : !strcmp(q->name, "gauss_length_mean") ? u->gauss_length_mean
           : !strcmp(q->name, "wdist")             ? u->wdist
                                                   : u->norm_wdist;
}

/* An axis of a scatter plot: its label, and a log scale when the values span decades, with
 * delta = 0 at the floor. Returns AX_LIN, AX_LOG, or AX_FLOOR (log, some delta = 0 drawn at the
 * floor). */
enum { AX_LIN, AX_LOG, AX_FLOOR };

static int scatter_axis(sreport *r, mli_gp_fig *f, const char *axis, const quantity *q, const double *v, int n)
{
    if (!spans_decades(v, n) || !(q->is_delta || all_positive(v, n))) {
        mli_gp_cmd(f, "set %slabel '%s'", axis, q->label);
        return AX_LIN;
    }
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > 0) {
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
    int zero = has_zero(v, n);
    mli_gp_cmd(f, "set logscale %s", axis);
    if (zero) {
        mli_gp_cmd(f, "set %slabel '%s  (log scale; Δ = 0 drawn at %.3g)'\nset %srange [%.9g:*]", axis, q->label,
                   r->floor, axis, r->floor / 2);
        delta_log_tics(f, axis, r->floor, hi, 1);
    } else
        mli_gp_cmd(f, "set %slabel '%s  (log scale)'", axis, q->label);
    if (q->is_delta && !zero)
        delta_log_tics(f, axis, lo, hi, 0);
    return zero ? AX_FLOOR : AX_LOG;
}

static int fig_scatter(sreport *r, mli_gp_fig *f, mli_buf *cap, const quantity *qx, const quantity *qy)
{
    int n = r->s.n, used;
    double *x = mli_malloc(sizeof *x * (size_t)(2 * n + 2)), *y = x + n + 1;
    for (int i = 0; i < n; i++) {
        x[i] = qval(&r->s.run[i], qx);
        y[i] = qval(&r->s.run[i], qy);
        if (!isfinite(y[i]))
            x[i] = NAN; /* a point needs both */
        if (!isfinite(x[i]))
            y[i] = NAN;
    }
    double rho = mli_table_spearman(x, y, n, &used);
    if (used < 2) {
        note(r, f->name, "%d run%s with both %s and %s (geometry.json: delta, norm_wdist, gauss_length.mean)",
             used, used == 1 ? "" : "s", qx->name, qy->name);
        free(x);
        return 0;
    }
    char rho_text[64];
    if (isfinite(rho))
        snprintf(rho_text, sizeof rho_text, "Spearman ρ = %.2f", rho);
    else
        snprintf(rho_text, sizeof rho_text, "Spearman ρ undefined (constant values)");
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title '%s against %s:  %s over %d runs'", qy->short_label, qx->short_label, rho_text, used);
    int xlog = scatter_axis(r, f, "x", qx, x, n), ylog = scatter_axis(r, f, "y", qy, y, n);
    if (qy->is_delta) { /* the threshold across the whole plot, and in it when all runs are below */
        double thr = r->t.opts.delta_threshold, ymax = 0;
        for (int i = 0; i < n; i++)
            ymax = isfinite(y[i]) ? fmax(ymax, y[i]) : ymax;
        mli_gp_cmd(f, "set arrow 1 from graph 0, first %.9g to graph 1, first %.9g nohead lt %d back", thr, thr,
                   MLI_LT_REF);
        if (ymax < thr)
            mli_gp_cmd(f, "set yrange [%s:%.9g]", ylog == AX_FLOOR ? "" : "*", ylog ? 2 * thr : 1.15 * thr);
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "run_id\toptim_index\tbatchnorm\t%s\t%s\tx\ty\n", qx->name, qy->name);
    int has[MAX_OPTIM][2] = {{0}};
    for (int i = 0; i < n; i++) {
        const mli_table_run *u = &r->s.run[i];
        int j = optim_index(r, u->optim);
        if (!isfinite(x[i]) || j < 0 || u->bn < 0)
            continue;
        has[j][u->bn] = 1;
        mli_buf_printf(b, "%s\t%d\t%d\t%.9g\t%.9g\t%.9g\t%.9g\n", u->id, j, u->bn, x[i], y[i],
                       delta_drawn(x[i], xlog, r->floor), delta_drawn(y[i], ylog, r->floor));
    }
    mli_gp_plot(f);
    for (int j = 0; j < r->noptim; j++)
        for (int bn = 0; bn < 2; bn++)
            if (has[j][bn])
                mli_gp_item(f, "'%s' using (column(\"optim_index\") == %d && column(\"batchnorm\") == %d ? "
                               "column(\"x\") : NaN):\"y\" with points lt %d pt %d ps 1.3 title '%s, %s'",
                            file, j, bn, optim_lt[j], bn ? PT_BN : PT_NO_BN, r->optim[j],
                            bn ? "batch norm" : "no batch norm");
    if (qy->is_delta)
        mli_gp_item(f, "keyentry with lines lt %d title 'non-monotone above Δ = %.3g'", MLI_LT_REF,
                    r->t.opts.delta_threshold);
    mli_gp_end(f);
    mli_buf_printf(cap, "%s against %s for every analysed run (%d), coloured by optimizer and marked by "
                        "batch norm (circles: without, triangles: with); Spearman's rank correlation ρ = %s",
                   qy->short_label, qx->short_label, used, isfinite(rho) ? "" : "undefined");
    if (isfinite(rho))
        mli_buf_printf(cap, "%.3f", rho);
    if (xlog || ylog)
        mli_buf_printf(cap, "; log scale where the values span decades");
    if (xlog == AX_FLOOR || ylog == AX_FLOOR)
        mli_buf_printf(cap, ", with Δ = 0 drawn at %.3g, the tic labelled 0", r->floor);
    mli_buf_printf(cap, ".");
    free(x);
    return 1;
}

static int fig_gauss_delta(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    return fig_scatter(r, f, cap, &Q_GAUSS, &Q_DELTA);
}

static int fig_dist_delta(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    return fig_scatter(r, f, cap, &Q_DIST, &Q_DELTA);
}

/* the paper plots Δ against log ‖θ₁ − θ₀‖ as well as against the normalized distance: the
 * two differ when the sweep mixes architectures of different initial norms */
static int fig_wdist_delta(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    return fig_scatter(r, f, cap, &Q_WDIST, &Q_DELTA);
}

static int fig_gauss_dist(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    return fig_scatter(r, f, cap, &Q_DIST, &Q_GAUSS);
}

/* The exact Δ (analyze.exact) against the 50-point grid's: points above the diagonal are
 * bumps the grid underestimates or misses. Drawn only when some run has it. */
static int fig_exact_delta(sreport *r, mli_gp_fig *f, mli_buf *cap)
{
    if (!r->s.has_exact)
        return 0;
    int made = fig_scatter(r, f, cap, &Q_DELTA, &Q_EXACT);
    if (made)
        mli_buf_printf(cap, " The exact Δ is never below the grid's: a rise the grid samples is a rise of the "
                            "curve; above the grid's, the grid missed part of a bump.");
    return made;
}

/* ---- interpolation curves ------------------------------------------------------------------ */

/* Every run's curve, one block per run (a blank line between runs breaks the line there).
 * Returns the number of runs with a curve; *log says whether the loss spans decades. */
static int curves_table(sreport *r, mli_buf *b, int *log)
{
    int ncurve = 0, pos = 1;
    double lo = INFINITY, hi = 0;
    mli_buf_printf(b, "run_id\talpha\ttrain_loss\tbatchnorm\toptim_index\n");
    for (int i = 0; i < r->s.n; i++) {
        const mli_table_run *u = &r->s.run[i];
        const curve *c = &r->cv[i];
        int finite = 0;
        for (int k = 0; k < c->n; k++)
            finite += isfinite(c->loss[k]) != 0;
        if (!finite)
            continue;
        if (ncurve++)
            mli_buf_printf(b, "\n");
        for (int k = 0; k < c->n; k++) {
            double l = isfinite(c->loss[k]) ? c->loss[k] : NAN;
            if (isfinite(l)) {
                pos &= l > 0;
                lo = fmin(lo, l);
                hi = fmax(hi, l);
            }
            mli_buf_printf(b, "%s\t%.9g\t%.9g\t%d\t%d\n", u->id, c->alpha[k], l, u->bn, optim_index(r, u->optim));
        }
    }
    *log = pos && hi > 31.6 * lo;
    return ncurve;
}

static int fig_curves(sreport *r, mli_gp_fig *f, mli_buf *cap, int by_bn)
{
    const char *file;
    int log;
    int ncurve = curves_table(r, mli_gp_table(f, "", &file), &log);
    if (!ncurve) {
        note(r, f->name, "no run has interp.tsv yet (written by 'mli analyze')");
        return 0;
    }
    int count[MAX_OPTIM > 2 ? MAX_OPTIM : 2] = {0};
    for (int i = 0; i < r->s.n; i++) {
        int finite = 0;
        for (int k = 0; k < r->cv[i].n; k++)
            finite += isfinite(r->cv[i].loss[k]) != 0;
        int g = by_bn ? r->s.run[i].bn : optim_index(r, r->s.run[i].optim);
        if (finite && g >= 0)
            count[g]++;
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Training loss along the path of every run (%d), by %s'\nset xlabel '" ALPHA_LABEL "'",
               ncurve, by_bn ? "batch norm" : "optimizer");
    mli_gp_cmd(f, log ? "set logscale y\nset ylabel 'training loss  (log scale)'" : "set ylabel 'training loss'");
    mli_gp_plot(f);
    int ngroup = by_bn ? 2 : r->noptim;
    for (int g = 0; g < ngroup; g++) {
        if (!count[g])
            continue;
        char title[96];
        if (by_bn)
            snprintf(title, sizeof title, "%s (%d run%s)", g ? "batch norm" : "no batch norm", count[g],
                     count[g] == 1 ? "" : "s");
        else
            snprintf(title, sizeof title, "%s (%d run%s)", r->optim[g], count[g], count[g] == 1 ? "" : "s");
        /* half transparent: where many runs overlap, the colours still show through */
        int lt = by_bn ? (g ? LT_BN : LT_NO_BN) : optim_lt[g];
        mli_gp_item(f, "'%s' using \"alpha\":(column(\"%s\") == %d ? column(\"train_loss\") : NaN) with lines "
                       "lw 1.5 lc rgb '#60%s' notitle",
                    file, by_bn ? "batchnorm" : "optim_index", g, mli_gp_rgb(lt) + 1);
        mli_gp_item(f, "keyentry with lines lt %d title '%s'", lt, title);
    }
    mli_gp_end(f);
    mli_buf_printf(cap, "The training loss along the straight line from initialization (α = 0) to the "
                        "trained network (α = 1) of each of the %d runs analysed so far, coloured by %s: the "
                        "raw loss (not normalized)%s; a curve that rises anywhere is non-monotone.",
                   ncurve, by_bn ? "batch norm" : "optimizer",
                   log ? ", on a log scale because it spans decades" : ", on a linear scale");
    return 1;
}

static int fig_curves_bn(sreport *r, mli_gp_fig *f, mli_buf *cap) { return fig_curves(r, f, cap, 1); }
static int fig_curves_optim(sreport *r, mli_gp_fig *f, mli_buf *cap) { return fig_curves(r, f, cap, 0); }

/* ------------------------------------------------------------------------------------------
 * index.html */

/* A link target: run names are safe path components, but may hold characters a URL escapes. */
static void url_esc(mli_buf *b, const char *s)
{
    for (; *s; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._~/-", *s))
            mli_buf_printf(b, "%c", *s);
        else
            mli_buf_printf(b, "%%%02X", (unsigned char)*s);
}

static void html_status(const sreport *r, mli_buf *b)
{
    /* the statuses in order of first appearance, with their counts */
    const char *name[64];
    int count[64], n = 0;
    for (int i = 0; i < r->s.n; i++) {
        int k = 0;
        while (k < n && strcmp(name[k], r->s.run[i].status))
            k++;
        if (k == n && n < 64) {
            name[n] = r->s.run[i].status;
            count[n++] = 0;
        }
        if (k < n)
            count[k]++;
    }
    mli_buf_printf(b, "<p>%d run%s:", r->s.n, r->s.n == 1 ? "" : "s");
    for (int k = 0; k < n; k++) {
        mli_buf_printf(b, "%s %d ", k ? "," : "", count[k]);
        mli_html_esc(b, name[k]);
    }
    mli_buf_printf(b, ". Keys that vary:");
    int nv = 0;
    for (int k = 0; k < r->s.nkey; k++)
        if (r->s.varies[k]) {
            mli_buf_printf(b, "%s <code>", nv++ ? "," : "");
            mli_html_esc(b, r->s.key[k]);
            mli_buf_printf(b, "</code>");
        }
    mli_buf_printf(b, "%s.</p>\n", nv ? "" : " none");
}

static void html_num(mli_buf *b, double x, const char *fmt)
{
    if (isfinite(x))
        mli_buf_printf(b, fmt, x);
    else
        mli_buf_printf(b, "<span class=\"na\">n/a</span>");
}

static void html_runs(const sreport *r, mli_buf *b)
{
    static const char *const outcome[] = {"successful", "excluded", "pending"};
    mli_buf_printf(b, "<h2 id=\"runs\">Runs</h2>\n<table class=\"sweep\">\n<tr><th>run</th>");
    for (int k = 0; k < r->s.nkey; k++)
        if (r->s.varies[k]) {
            mli_buf_printf(b, "<th>");
            mli_html_esc(b, r->s.key[k]);
            mli_buf_printf(b, "</th>");
        }
    mli_buf_printf(b, "<th>status</th><th>in the table</th><th>Δ</th><th>final training loss</th>"
                      "<th>normalized distance</th><th>Gauss length</th></tr>\n");
    for (int i = 0; i < r->s.n; i++) {
        const mli_table_run *u = &r->s.run[i];
        char p[MLI_TABLE_PATH + 64];
        snprintf(p, sizeof p, "%s/report/index.html", u->dir);
        int linked = access(p, F_OK) == 0;
        mli_buf_printf(b, "<tr><td>");
        if (linked) {
            mli_buf_printf(b, "<a href=\"../");
            url_esc(b, u->rel);
            mli_buf_printf(b, "/report/index.html\">");
        }
        mli_html_esc(b, u->id);
        mli_buf_printf(b, "%s</td>", linked ? "</a>" : "");
        for (int k = 0; k < r->s.nkey; k++)
            if (r->s.varies[k]) {
                mli_buf_printf(b, "<td>");
                mli_html_esc(b, u->val[k] ? u->val[k] : "");
                mli_buf_printf(b, "</td>");
            }
        mli_buf_printf(b, "<td>");
        mli_html_esc(b, u->status);
        mli_buf_printf(b, "</td><td>%s</td>", outcome[mli_table_classify(u, &r->t.opts)]);
        const double v[] = {u->delta, u->final_train_loss, u->norm_wdist, u->gauss_length_mean};
        for (int m = 0; m < 4; m++) {
            mli_buf_printf(b, "<td class=\"num\">");
            html_num(b, v[m], "%.4g");
            mli_buf_printf(b, "</td>");
        }
        mli_buf_printf(b, "</tr>\n");
    }
    mli_buf_printf(b, "</table>\n<p class=\"files\">A run's name links to its own report when it has one "
                      "(<code>mli report</code> on the run directory).</p>\n");
}

static const char *const SWEEP_CSS = "td.num{text-align:right;font-variant-numeric:tabular-nums}\n";

static void html_head(const sreport *r, mli_buf *b)
{
    char real[4096];
    const char *name = realpath(r->s.dir, real) ? real : r->s.dir;
    const char *slash = strrchr(name, '/');
    if (slash && slash[1])
        name = slash + 1;
    mli_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<title>mli sweep report: ");
    mli_html_esc(b, name);
    mli_buf_printf(b, "</title>\n<style>\n%s%s</style>\n</head>\n<body>\n<h1>mli sweep report: ", mli_html_css,
                   SWEEP_CSS);
    mli_html_esc(b, name);
    mli_buf_printf(b, "</h1>\n<p>Sweep directory <code>");
    mli_html_esc(b, r->s.dir);
    mli_buf_printf(b, "</code>: monotonic linear interpolation (Lucas et al., ICML 2021) across the runs of "
                      "a sweep, each interpolated along θ(α) = θ<sub>0</sub> + α(θ<sub>1</sub> − "
                      "θ<sub>0</sub>).</p>\n<nav><a href=\"#table\">Table</a>");
    for (int i = 0; i < r->nfig; i++)
        mli_buf_printf(b, "<a href=\"#%s\">%s</a>", r->fig[i].name, r->fig[i].heading);
    mli_buf_printf(b, "<a href=\"#runs\">Runs</a><a href=\"#data\">Data</a></nav>\n");
    if (!r->have_gnuplot)
        mli_buf_printf(b, "<p class=\"warn\">gnuplot was not found, so the figures are not drawn. Install "
                          "<code>gnuplot-nox</code> and run <code>mli report</code> again, or run "
                          "<code>gnuplot *.gp</code> in this directory for the images alone.</p>\n");
}

static int write_html(const sreport *r)
{
    mli_buf b = {0};
    html_head(r, &b);
    mli_buf_printf(&b, "<h2 id=\"table\">The paper's table</h2>\n");
    html_status(r, &b);
    mli_table_html(&r->t, &b);
    mli_buf_printf(&b, "<p class=\"files\">Also as <a href=\"../table.md\">table.md</a> (Markdown) and "
                       "<a href=\"../table.tex\">table.tex</a> (LaTeX tabular); one row per run in "
                       "<a href=\"../summary.tsv\">summary.tsv</a>. Written with the default thresholds: "
                       "<code>mli table</code> rewrites them with others.</p>\n");
    mli_buf_printf(&b, "<h2 id=\"figures\">Figures</h2>\n<p>Click a figure for its scalable (SVG) version.</p>\n");
    for (int i = 0; i < r->nfig; i++)
        mli_html_figure(&b, &r->fig[i], r->have_gnuplot);
    if (r->notes.len)
        mli_buf_printf(&b, "<h3>Figures left out</h3>\n<ul>\n%s</ul>\n", r->notes.s);
    html_runs(r, &b);
    mli_buf_printf(&b, "<h2 id=\"data\">Data files</h2>\n<p>Of the sweep: <a href=\"../summary.tsv\">summary.tsv</a> "
                       "<a href=\"../table.md\">table.md</a> <a href=\"../table.tex\">table.tex</a>.</p>\n"
                       "<p>Plotted (tab-separated, one header line):");
    for (int i = 0; i < r->nfig; i++)
        for (int j = 0; j < r->fig[i].ntab; j++)
            mli_buf_printf(&b, " <a href=\"%s\">%s</a>", r->fig[i].tab[j], r->fig[i].tab[j]);
    mli_buf_printf(&b, ". Each figure is redrawn by <code>gnuplot NAME.gp</code> in this directory.</p>\n"
                       "</body>\n</html>\n");
    char path[MLI_TABLE_PATH + 64];
    snprintf(path, sizeof path, "%s/index.html", r->dir);
    int rc = mli_buf_write(&b, path);
    mli_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Driver */

typedef int (*fig_fn)(sreport *, mli_gp_fig *, mli_buf *);

static const struct {
    const char *name, *heading;
    fig_fn make;
    unsigned kind;
} figures[MAX_FIG] = {
    {"delta_lr_depth", "Δ by learning rate and depth", fig_heat_depth, MLI_SWEEP_FIG_HEAT},
    {"delta_lr_width", "Δ by learning rate and width", fig_heat_width, MLI_SWEEP_FIG_HEAT},
    {"gauss_delta", "Δ against Gauss length", fig_gauss_delta, MLI_SWEEP_FIG_SCATTER},
    {"dist_delta", "Δ against normalized distance", fig_dist_delta, MLI_SWEEP_FIG_SCATTER},
    {"wdist_delta", "Δ against distance", fig_wdist_delta, MLI_SWEEP_FIG_SCATTER},
    {"gauss_dist", "Gauss length against normalized distance", fig_gauss_dist, MLI_SWEEP_FIG_SCATTER},
    {"exact_delta", "Exact Δ against the grid's", fig_exact_delta, MLI_SWEEP_FIG_SCATTER},
    {"curves_bn", "Loss curves by batch norm", fig_curves_bn, MLI_SWEEP_FIG_CURVES},
    {"curves_optim", "Loss curves by optimizer", fig_curves_optim, MLI_SWEEP_FIG_CURVES},
};

static int make_figure(sreport *r, int i)
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

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* The optimizers (by name, as the table orders them) and the floor that stands for delta = 0
 * on a log axis: a decade below the smallest positive delta (1e-4 when there is none). */
static void prepare(sreport *r)
{
    double minpos = INFINITY;
    for (int i = 0; i < r->s.n; i++) {
        const mli_table_run *u = &r->s.run[i];
        if (u->optim[0] && optim_index(r, u->optim) < 0 && r->noptim < MAX_OPTIM)
            snprintf(r->optim[r->noptim++], sizeof r->optim[0], "%s", u->optim);
        if (u->delta > 0 && isfinite(u->delta))
            minpos = fmin(minpos, u->delta);
    }
    qsort(r->optim, (size_t)r->noptim, sizeof r->optim[0], cmp_name);
    r->floor = isfinite(minpos) ? pow(10, floor(log10(minpos)) - 1) : 1e-4;
}

static int load(sreport *r, const char *dir)
{
    int rc = mli_table_load(&r->s, dir);
    if (rc)
        return rc;
    r->cv = mli_calloc((size_t)r->s.n + 1, sizeof *r->cv);
    for (int i = 0; i < r->s.n && !rc; i++)
        rc = curve_load(&r->cv[i], &r->s.run[i]);
    mli_table_opts o;
    mli_table_opts_default(&o);
    mli_table_make(&r->s, &o, &r->t);
    snprintf(r->dir, sizeof r->dir, "%s/report", r->s.dir);
    prepare(r);
    return rc;
}

static int produce(sreport *r)
{
    int rc = mli_mkdirs(r->dir);
    if (!rc)
        rc = mli_table_write(&r->s, &r->t.opts, NULL);
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

int mli_report_sweep_figures(const mli_table_sweep *s, const char *dir, unsigned which, mli_gp_entry *fig,
                             int *nfig, mli_buf *notes, char *err, size_t nerr)
{
    sreport *r = mli_calloc(1, sizeof *r);
    r->s = *s; /* borrowed: not freed here */
    int rc = MLI_OK;
    r->cv = mli_calloc((size_t)r->s.n + 1, sizeof *r->cv);
    for (int i = 0; i < r->s.n && !rc; i++)
        rc = curve_load(&r->cv[i], &r->s.run[i]);
    mli_table_opts o;
    mli_table_opts_default(&o);
    mli_table_make(&r->s, &o, &r->t);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    prepare(r);
    r->have_gnuplot = mli_gp_find(r->gnuplot, sizeof r->gnuplot);
    r->sink.dir = r->dir;
    r->sink.gnuplot = r->have_gnuplot ? r->gnuplot : NULL;
    for (int i = 0; i < MAX_FIG && !rc; i++)
        if (which & figures[i].kind)
            rc = make_figure(r, i);
    int render = mli_gp_sink_status(&r->sink);
    if (!rc && render && err) /* the first rendering failure (or no gnuplot), for the caller */
        snprintf(err, nerr, "%s", mli_errmsg());
    mli_gp_sink_free(&r->sink);
    *nfig = r->nfig;
    memcpy(fig, r->fig, sizeof *fig * (size_t)r->nfig); /* the captions move to the caller */
    mli_buf_printf(notes, "%s", r->notes.s ? r->notes.s : "");
    for (int i = 0; r->cv && i < r->s.n; i++)
        curve_free(&r->cv[i]);
    free(r->cv);
    mli_buf_free(&r->notes);
    mli_table_clear(&r->t);
    free(r);
    return rc ? rc : render;
}

int mli_report_sweep(const char *sweep_dir)
{
    sreport *r = mli_calloc(1, sizeof *r);
    int rc = load(r, sweep_dir);
    if (!rc)
        rc = produce(r);
    for (int i = 0; i < r->nfig; i++)
        mli_buf_free(&r->fig[i].caption);
    for (int i = 0; r->cv && i < r->s.n; i++)
        curve_free(&r->cv[i]);
    free(r->cv);
    mli_buf_free(&r->notes);
    mli_table_clear(&r->t);
    mli_table_free(&r->s);
    free(r);
    return rc;
}
