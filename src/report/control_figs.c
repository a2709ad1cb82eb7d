#include "report/control_figs.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/tsv.h"

#define ALPHA_LABEL "α   (0: the starting point,  1: the end point)"

/* ---- tables: numbers by column name; a column named "name" holds text ---------------------- */

typedef mli_tsv tsv;

/* Columns named prefix_0, prefix_1, ...: how many. */
static int count_series(const tsv *t, const char *prefix)
{
    int k = 0;
    char name[64];
    for (;; k++) {
        snprintf(name, sizeof name, "%s_%d", prefix, k);
        if (mli_tsv_col(t, name) < 0)
            return k;
    }
}

/* ---- the data ------------------------------------------------------------------------------ */

struct mli_ctl_figs {
    tsv ri, pm, plane, pts, logits;
    const cJSON *geo;
};

int mli_ctl_figs_load(const char *run, const cJSON *geo, mli_ctl_figs **out)
{
    static const char *const ri[] = {"alpha", "true_train_loss", "mean", "std", NULL};
    static const char *const pm[] = {"alpha", "true_train_loss", "final_perm_mean", "final_perm_std",
                                     "init_perm_mean", "init_perm_std", NULL};
    static const char *const pl[] = {"x", "y", "train_loss", NULL};
    static const char *const pp[] = {"name", "x", "y", "off_plane", NULL};
    static const char *const lg[] = {"example", "label", "alpha", "pc1", "pc2", NULL};
    mli_ctl_figs *c = mli_calloc(1, sizeof *c);
    c->geo = geo;
    int rc = mli_tsv_load(&c->ri, run, "random_inits.tsv", ri);
    if (!rc)
        rc = mli_tsv_load(&c->pm, run, "permute.tsv", pm);
    if (!rc)
        rc = mli_tsv_load(&c->plane, run, "plane.tsv", pl);
    if (!rc)
        rc = mli_tsv_load(&c->pts, run, "plane_points.tsv", pp);
    if (!rc)
        rc = mli_tsv_load(&c->logits, run, "logits.tsv", lg);
    if (rc) {
        mli_ctl_figs_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

void mli_ctl_figs_free(mli_ctl_figs *c)
{
    if (!c)
        return;
    mli_tsv_free(&c->ri);
    mli_tsv_free(&c->pm);
    mli_tsv_free(&c->plane);
    mli_tsv_free(&c->pts);
    mli_tsv_free(&c->logits);
    free(c);
}

/* A number of a geometry.json entry (NaN when absent or null). */
static double gnum(const mli_ctl_figs *c, const char *entry, const char *key)
{
    const cJSON *e = c->geo ? cJSON_GetObjectItemCaseSensitive(c->geo, entry) : NULL;
    const cJSON *v = e ? cJSON_GetObjectItemCaseSensitive(e, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

static void html_num(mli_buf *b, double x, const char *fmt)
{
    if (isfinite(x))
        mli_buf_printf(b, fmt, x);
    else
        mli_buf_printf(b, "n/a");
}

/* min/max of the finite values of columns */
static void range_cols(const tsv *t, const char *const *names, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++) {
        int c = mli_tsv_col(t, names[i]);
        for (int r = 0; c >= 0 && r < t->nrow; r++) {
            double x = mli_tsv_at(t, r, c);
            if (isfinite(x)) {
                *lo = fmin(*lo, x);
                *hi = fmax(*hi, x);
            }
        }
    }
}

/* ---- curves from unrelated starting points (random inits, permutations) ------------------------ */

typedef struct {
    const char *prefix, *mean, *std, *title;
    int lt;
} band;

static void curves_plot(mli_gp_fig *f, const tsv *t, const char *file, const band *bands, int nb, const char *title)
{
    double lo = INFINITY, hi = -INFINITY;
    const char *cols[] = {"true_train_loss", bands[0].mean, nb > 1 ? bands[1].mean : bands[0].mean};
    range_cols(t, cols, 3, &lo, &hi);
    int logy = lo > 0 && hi > 31.6 * lo;
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title '%s'\nset xlabel '" ALPHA_LABEL "'\nset ylabel 'training loss%s'%s", title,
               logy ? "  (log scale)" : "", logy ? "\nset logscale y" : "");
    mli_gp_plot(f);
    for (int b = 0; b < nb; b++) {
        const band *d = &bands[b];
        mli_gp_item(f, "'%s' using \"alpha\":(column(\"%s\")-column(\"%s\") > 0 || !%d ? column(\"%s\")-column(\"%s\") : "
                       "NaN):(column(\"%s\")+column(\"%s\")) with filledcurves fc lt %d fs transparent solid 0.25 "
                       "title '%s: mean ± std'",
                    file, d->mean, d->std, logy, d->mean, d->std, d->mean, d->std, d->lt, d->title);
        int k = count_series(t, d->prefix);
        if (k > 0)
            mli_gp_item(f, "for [i=0:%d] '%s' using \"alpha\":(column(sprintf('%s_%%d', i))) with lines lt %d lw 0.6 "
                           "notitle",
                        k - 1, file, d->prefix, d->lt);
        mli_gp_item(f, "'%s' using \"alpha\":\"%s\" with lines lt %d lw 2.5 title '%s: mean'", file, d->mean, d->lt, d->title);
    }
    mli_gp_item(f, "'%s' using \"alpha\":\"true_train_loss\" with linespoints lt %d pt 7 ps 0.5 title 'the path θ_0 → θ_1'",
                file, MLI_LT_BLACK);
    mli_gp_end(f);
}

static int fig_random_inits(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    const tsv *t = &c->ri;
    if (!t->present || !t->nrow) {
        why_set(why, nwhy, "no random_inits.tsv (written by 'mli analyze --random-inits K')");
        return 0;
    }
    const char *file;
    mli_tsv_write(mli_gp_table(f, "", &file), t, -1);
    int K = count_series(t, "init");
    band b = {"init", "mean", "std", "unrelated initializations θ_r → θ_1", MLI_LT_6};
    char title[160];
    snprintf(title, sizeof title, "From %d unrelated initializations to θ_1, beside the true path", K);
    curves_plot(f, t, file, &b, 1, title);
    mli_buf_printf(cap, "Training loss along θ<sub>r</sub> + α(θ<sub>1</sub> − θ<sub>r</sub>) from %d initializations "
                        "θ<sub>r</sub> drawn afresh with the run's initializer (seeds seed + 1000 + k): thin lines each, "
                        "the band their mean ± one standard deviation, beside the path from the true θ<sub>0</sub> (black). "
                        "Δ (largest bump): true path ",
                   K);
    html_num(cap, gnum(c, "random_inits", "true_delta"), "%.3g");
    mli_buf_printf(cap, ", unrelated initializations ");
    html_num(cap, gnum(c, "random_inits", "mean_delta"), "%.3g");
    mli_buf_printf(cap, " on average. Curves as monotone as the true one say that the monotone decrease is a property of "
                        "the solution θ<sub>1</sub> and the initialization distribution, not of the particular "
                        "θ<sub>0</sub> training started from (the paper finds the same).");
    return 1;
}

static int fig_permute(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    const tsv *t = &c->pm;
    if (!t->present || !t->nrow) {
        why_set(why, nwhy, "no permute.tsv (written by 'mli analyze --permute K')");
        return 0;
    }
    const char *file;
    mli_tsv_write(mli_gp_table(f, "", &file), t, -1);
    int K = count_series(t, "final_perm");
    band b[2] = {{"final_perm", "final_perm_mean", "final_perm_std", "θ_0 → π(θ_1)", MLI_LT_3},
                 {"init_perm", "init_perm_mean", "init_perm_std", "π(θ_0) → θ_1", MLI_LT_4}};
    char title[160];
    snprintf(title, sizeof title, "%d permutations π of the hidden units: same functions, other lines", K);
    curves_plot(f, t, file, b, 2, title);
    mli_buf_printf(cap, "A permutation π of the hidden units (rows of a layer's weights and biases, its batch-norm "
                        "parameters and statistics, the columns of the next layer) leaves the network's function "
                        "unchanged, so π(θ<sub>1</sub>) is as good a solution as θ<sub>1</sub> but lies elsewhere. Training "
                        "loss along θ<sub>0</sub> → π(θ<sub>1</sub>) (green) and π(θ<sub>0</sub>) → θ<sub>1</sub> "
                        "(purple) for %d random permutations (mean ± std, thin lines each) beside the original path "
                        "(black). Mean Δ: ",
                   K);
    html_num(cap, gnum(c, "permute", "mean_delta_final_permuted"), "%.3g");
    mli_buf_printf(cap, " and ");
    html_num(cap, gnum(c, "permute", "mean_delta_init_permuted"), "%.3g");
    mli_buf_printf(cap, " (true path ");
    html_num(cap, gnum(c, "permute", "true_delta"), "%.3g");
    mli_buf_printf(cap, "). Since π(θ<sub>0</sub>) is just another initialization, the second family behaves like the "
                        "unrelated initializations; the first asks whether the line to an equivalent but distant "
                        "solution still descends monotonically.");
    return 1;
}

/* ---- the plane -------------------------------------------------------------------------------------- */

/* Round tics 1, 2, 5 × 10^k inside [lo, hi], for a logarithmic colour bar. */
static void log_tics(mli_gp_fig *f, double lo, double hi)
{
    mli_buf b = {0};
    int n = 0;
    for (double p = pow(10, floor(log10(lo))); p <= hi * 1.0001 && n < 40; p *= 10)
        for (int m = 0; m < 3; m++) {
            double v = p * (m == 0 ? 1 : m == 1 ? 2 : 5);
            if (v >= lo * 0.9999 && v <= hi * 1.0001)
                mli_buf_printf(&b, "%s'%g' %.9g", n++ ? ", " : "", v, v);
        }
    if (n >= 2)
        mli_gp_cmd(f, "set cbtics (%s)", b.s);
    mli_buf_free(&b);
}

/* The plane as one panel of f (the whole figure, or the left half of figure 1). */
static int plane_panel(const mli_ctl_figs *c, mli_gp_fig *f, const double *place, mli_buf *cap, char *why,
                       size_t nwhy)
{
    const tsv *t = &c->plane, *p = &c->pts;
    if (!t->present || t->nrow < 4) {
        why_set(why, nwhy, "no plane.tsv (written by 'mli analyze --plane')");
        return 0;
    }
    int cx = mli_tsv_col(t, "x"), cy = mli_tsv_col(t, "y"), cl = mli_tsv_col(t, "train_loss");
    double lo = INFINITY, hi = -INFINITY, x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    const char *lc[] = {"train_loss"};
    range_cols(t, lc, 1, &lo, &hi);
    int n = 0;
    for (int r = 0; r < t->nrow; r++) {
        double x = mli_tsv_at(t, r, cx), y = mli_tsv_at(t, r, cy);
        n += y == mli_tsv_at(t, 0, cy); /* nodes per row */
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    if (!(lo > 0) || n < 2 || t->nrow % n || t->nrow / n < 2) {
        why_set(why, nwhy, "plane.tsv is not a grid of positive losses (%d rows)", t->nrow);
        return 0;
    }
    double hx = (x1 - x0) / (n - 1), hy = (y1 - y0) / (t->nrow / n - 1);
    /* the grid in scan lines (x y loss), the named points, the trajectory from θ₀ by epoch */
    const char *grid, *marks, *traj;
    mli_buf *b = mli_gp_table(f, "", &grid);
    mli_buf_printf(b, "x\ty\ttrain_loss\n");
    for (int r = 0; r < t->nrow; r++) {
        if (r && mli_tsv_at(t, r, cy) != mli_tsv_at(t, r - 1, cy))
            mli_buf_printf(b, "\n");
        mli_buf_num(b, mli_tsv_at(t, r, cx), '\t');
        mli_buf_num(b, mli_tsv_at(t, r, cy), '\t');
        mli_buf_num(b, mli_tsv_at(t, r, cl), '\n');
    }
    int ntraj = 0, have_rand = 0;
    double max_off = 0;
    b = mli_gp_table(f, "points", &marks);
    mli_buf_printf(b, "x\ty\tlabel\n");
    mli_buf *tb = mli_gp_table(f, "trajectory", &traj);
    mli_buf_printf(tb, "x\ty\n");
    for (int pass = 0; pass < 2 && p->present; pass++)
        for (int r = 0; r < p->nrow; r++) {
            const char *nm = p->names[r];
            double x = mli_tsv_at(p, r, mli_tsv_col(p, "x")), y = mli_tsv_at(p, r, mli_tsv_col(p, "y"));
            int epoch = !strncmp(nm, "epoch_", 6);
            if (pass == 0 && !epoch) { /* labels without spaces: the table is read with whitespace separators */
                const char *lab = !strcmp(nm, "theta0") ? "θ_0" : !strcmp(nm, "theta1") ? "θ_1" : !strcmp(nm, "theta_rand") ? "θ_r" : "?";
                have_rand |= !strcmp(nm, "theta_rand");
                mli_buf_num(b, x, '\t');
                mli_buf_num(b, y, '\t');
                mli_buf_printf(b, "%s\n", lab);
            }
            if ((pass == 0 && !strcmp(nm, "theta0")) || (pass == 1 && epoch)) {
                mli_buf_num(tb, x, '\t');
                mli_buf_num(tb, y, '\n');
                ntraj += epoch;
                if (epoch)
                    max_off = fmax(max_off, mli_tsv_at(p, r, mli_tsv_col(p, "off_plane")));
            }
        }
    double levels[12];
    mli_buf lv = {0};
    for (int i = 0; i < 12; i++) { /* geometric: denser contours where the loss is low */
        levels[i] = lo * pow(hi / lo, (i + 0.5) / 12);
        mli_buf_printf(&lv, "%s%.6g", i ? "," : "", levels[i]);
    }
    mli_gp_panel(f);
    if (place) /* x, y, w, h of a multiplot panel */
        mli_gp_place(f, place[0], place[1], place[2], place[3]);
    /* contour lines into a datablock (gnuplot writes it space-separated, without a header) */
    mli_gp_cmd(f, "set contour base\nunset surface\nset cntrparam levels discrete %s\nset table $contours\n"
                  "splot '%s' using \"x\":\"y\":\"train_loss\" with lines\nunset table\nunset contour\n"
                  "set datafile nocolumnheaders\nset datafile separator whitespace",
               lv.s, grid);
    mli_buf_free(&lv);
    const cJSON *pj = c->geo ? cJSON_GetObjectItemCaseSensitive(c->geo, "plane") : NULL;
    const cJSON *dirs = pj ? cJSON_GetObjectItemCaseSensitive(pj, "directions") : NULL;
    int init_plane = have_rand || (cJSON_IsString(dirs) && !strncmp(dirs->valuestring, "theta0", 6));
    mli_gp_cmd(f, "set title '%s'\nset size ratio -1\nset xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n"
                  "set logscale cb\nset cblabel 'training loss  (log scale)'\n"
                  "set palette defined (0 '#30123b', 1 '#4662d7', 2 '#36aaf9', 3 '#1ae4b6', 4 '#72fe5e', "
                  "5 '#c8ef34', 6 '#faba39', 7 '#f66b19', 8 '#ca2a04', 9 '#7a0403')\nset grid noxtics noytics",
               init_plane ? "Training loss on the plane through θ_0, θ_1 and an unrelated initialization θ_r"
                          : "Training loss around θ_1 along two random directions",
               x0 - hx / 2, x1 + hx / 2, y0 - hy / 2, y1 + hy / 2);
    log_tics(f, lo, hi);
    if (init_plane)
        mli_gp_cmd(f, "set xlabel 'along θ_1 − θ_0  (units of ‖θ_1 − θ_0‖)'\n"
                      "set ylabel 'orthogonal, towards θ_r  (same units)'");
    else
        mli_gp_cmd(f, "set xlabel 'first random direction'\nset ylabel 'second random direction'");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' skip 1 using 1:2:3 with image notitle", grid);
    mli_gp_item(f, "$contours using 1:2 with lines lc rgb '#40000000' lw 1 title 'contours (geometric levels)'");
    if (ntraj) { /* white on a black outline: visible on every colour of the map, black in the key */
        mli_gp_item(f, "'%s' skip 1 using 1:2 with linespoints lc rgb 'black' lw 4 pt 7 ps 0.9 title 'training "
                       "trajectory (snapshots, projected)'",
                    traj);
        mli_gp_item(f, "'%s' skip 1 using 1:2 with linespoints lc rgb 'white' lw 2 pt 7 ps 0.5 notitle", traj);
    }
    if (p->present)
        mli_gp_item(f, "'%s' skip 1 using 1:2:3 with labels point pt 7 ps 1.4 lc rgb 'black' offset 1.2,0.9 "
                       "font ',12' tc rgb 'black' notitle",
                    marks);
    mli_gp_end(f);
    int N = n;
    mli_buf_printf(cap, "Training loss (colour, log scale; contours at geometric levels) on a %d × %d grid of ", N,
                   t->nrow / n);
    if (init_plane)
        mli_buf_printf(cap, "the plane through the initialization θ<sub>0</sub> = (0, 0), the trained network "
                            "θ<sub>1</sub> = (1, 0) and an unrelated initialization θ<sub>r</sub>, in units of "
                            "‖θ<sub>1</sub> − θ<sub>0</sub>‖ (orthonormal axes, so distances and angles are true). The "
                            "interpolation path is the segment y = 0 from θ<sub>0</sub> to θ<sub>1</sub>.");
    else
        mli_buf_printf(cap, "two random directions centred at θ<sub>1</sub> (Li et al. 2018; θ<sub>0</sub>, far from "
                            "this plane, is marked where it projects).");
    if (ntraj)
        mli_buf_printf(cap, " The white line joins θ<sub>0</sub> and the %d training snapshots projected onto the plane; "
                            "they lie up to %.3g (parameter-space distance) off it.",
                       ntraj, max_off);
    mli_buf_printf(cap, " Loss range on the grid: %.4g to %.4g.", lo, hi);
    return 1;
}

static int fig_plane(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    return plane_panel(c, f, NULL, cap, why, nwhy);
}

/* ---- the paper's figure 1: the plane beside the two interpolations to θ₁ ---------------------------- */

static int figure1_ready(const mli_ctl_figs *c, char *why, size_t nwhy)
{
    const tsv *ri = &c->ri, *p = &c->pts;
    int have_r = 0;
    for (int r = 0; p->present && r < p->nrow; r++)
        have_r |= !strcmp(p->names[r], "theta_rand");
    if (!ri->present || !ri->nrow || mli_tsv_col(ri, "init_0") < 0 || !have_r) {
        why_set(why, nwhy, "needs random_inits.tsv and the plane through θ_0, θ_1 and θ_r ('mli figure1', or "
                           "'mli analyze --random-inits 1 --plane')");
        return 0;
    }
    return 1;
}

static int fig_figure1(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    if (!figure1_ready(c, why, nwhy))
        return 0;
    const tsv *t = &c->ri;
    const cJSON *ri = c->geo ? cJSON_GetObjectItemCaseSensitive(c->geo, "random_inits") : NULL;
    const cJSON *wd = ri ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ri, "wdist"), 0) : NULL;
    const cJSON *dl = ri ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ri, "deltas"), 0) : NULL;
    double dist_r = cJSON_IsNumber(wd) ? wd->valuedouble : NAN, delta_r = cJSON_IsNumber(dl) ? dl->valuedouble : NAN;
    const cJSON *w0 = c->geo ? cJSON_GetObjectItemCaseSensitive(c->geo, "wdist") : NULL;
    double dist_0 = cJSON_IsNumber(w0) ? w0->valuedouble : NAN, delta_0 = gnum(c, "random_inits", "true_delta");
    mli_gp_multiplot(f, 0, 0, "Monotonic linear interpolation: the plane through both initializations and the optimum, "
                              "and the loss along the two lines");
    mli_gp_size(f, 1500, 640);
    static const double left[4] = {0, 0, 0.55, 0.94};
    mli_buf pcap = {0};
    int drawn = plane_panel(c, f, left, &pcap, why, nwhy);
    if (!drawn) {
        mli_buf_free(&pcap);
        return 0;
    }
    const char *file;
    mli_tsv_write(mli_gp_table(f, "curves", &file), t, -1);
    double lo = INFINITY, hi = -INFINITY;
    const char *cols[] = {"true_train_loss", "init_0"};
    range_cols(t, cols, 2, &lo, &hi);
    int logy = lo > 0 && hi > 31.6 * lo;
    mli_gp_panel(f);
    mli_gp_place(f, 0.57, 0, 0.43, 0.94);
    mli_gp_cmd(f, "set title 'Training loss along the two lines to θ_1'\nset xlabel 'fraction of the distance travelled  "
                  "(α)'\nset ylabel 'training loss%s'%s",
               logy ? "  (log scale)" : "", logy ? "\nset logscale y" : "");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"alpha\":\"true_train_loss\" with linespoints lt %d pt 7 ps 0.5 lw 2 "
                   "title 'θ_0 → θ_1  (the initialization training started from)'",
                file, MLI_LT_TRAIN);
    mli_gp_item(f, "'%s' using \"alpha\":\"init_0\" with linespoints lt %d pt 5 ps 0.5 lw 2 "
                   "title 'θ_r → θ_1  (an unrelated initialization)'",
                file, MLI_LT_6);
    mli_gp_end(f);
    mli_gp_cmd(f, "unset multiplot");
    mli_buf_printf(cap, "The paper's figure 1 for this run. <b>Left:</b> ");
    mli_buf_printf(cap, "%s", pcap.s ? pcap.s : "");
    mli_buf_free(&pcap);
    mli_buf_printf(cap, " <b>Right:</b> the training loss along θ<sub>0</sub> + α(θ<sub>1</sub> − θ<sub>0</sub>) "
                        "(‖θ<sub>1</sub> − θ<sub>0</sub>‖ = ");
    html_num(cap, dist_0, "%.4g");
    mli_buf_printf(cap, ", Δ = ");
    html_num(cap, delta_0, "%.3g");
    mli_buf_printf(cap, ") and along θ<sub>r</sub> + α(θ<sub>1</sub> − θ<sub>r</sub>) from the unrelated "
                        "initialization θ<sub>r</sub> of the left panel (‖θ<sub>1</sub> − θ<sub>r</sub>‖ = ");
    html_num(cap, dist_r, "%.4g");
    mli_buf_printf(cap, ", Δ = ");
    html_num(cap, delta_r, "%.3g");
    mli_buf_printf(cap, "), against the fraction α of each line travelled. Δ is the largest bump (0: the loss "
                        "decreases monotonically on the grid).");
    return 1;
}

/* ---- logit paths ------------------------------------------------------------------------------------- */

static int fig_logits(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    const tsv *t = &c->logits;
    if (!t->present || !t->nrow) {
        why_set(why, nwhy, "no logits.tsv (written by 'mli analyze --logits N')");
        return 0;
    }
    const char *file;
    mli_tsv_write(mli_gp_table(f, "", &file), t, mli_tsv_col(t, "example"));
    double lmin = INFINITY, lmax = -INFINITY, emax = -INFINITY, emin = INFINITY;
    const char *lc[] = {"label"}, *ec[] = {"example"};
    range_cols(t, lc, 1, &lmin, &lmax);
    range_cols(t, ec, 1, &emin, &emax);
    int ncls = (int)lmax + 1, nex = (int)(emax - emin) + 1;
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Outputs of %d test examples along the path, on their first two principal components'\n"
                  "set xlabel 'first principal component'\nset ylabel 'second principal component'\n"
                  "set cbrange [-0.5:%d.5]\nset cblabel 'class (test label)'\nset palette maxcolors %d",
               nex, ncls - 1, ncls);
    if (ncls <= 10)
        mli_gp_cmd(f, "set palette defined (0 '#0072B2', 1 '#D55E00', 2 '#009E73', 3 '#CC79A7', 4 '#E69F00', "
                      "5 '#56B4E9', 6 '#000000', 7 '#F0E442', 8 '#882255', 9 '#999933')\nset cbtics 0,1,%d",
                   ncls - 1);
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"pc1\":\"pc2\":\"label\" with lines lc palette lw 1.3 notitle", file);
    mli_gp_item(f, "'%s' using (column(\"alpha\") == 0 ? column(\"pc1\") : NaN):\"pc2\" with points pt 6 ps 1.1 "
                   "lc rgb '#444444' title 'α = 0 (θ_0)'",
                file);
    mli_gp_item(f, "'%s' using (column(\"alpha\") == 1 ? column(\"pc1\") : NaN):\"pc2\":\"label\" with points pt 7 ps 1.1 "
                   "lc palette notitle",
                file);
    mli_gp_item(f, "keyentry with points pt 7 ps 1.1 lc rgb '#444444' title 'α = 1 (θ_1), in the colour of the class'");
    mli_gp_end(f);
    double ev = gnum(c, "logits", "explained_variance_2d");
    mli_buf_printf(cap, "The outputs z(α) of the first %d test examples along the path, all projected on the two principal "
                        "components of every output vector of every example at every α (they hold ",
                   nex);
    html_num(cap, 100 * ev, "%.1f");
    mli_buf_printf(cap, "%% of the variance). One curve per example, coloured by its class; open circles at "
                        "initialization, filled dots at the trained network. Straight curves traversed at an even pace "
                        "are output paths of small Gauss length, the regime in which the paper's argument makes the loss "
                        "monotone; loops and sharp turns are what can make it rise.");
    return 1;
}

/* ---- NTK spectra ------------------------------------------------------------------------------------- */

static int fig_ntk(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    const cJSON *o = c->geo ? cJSON_GetObjectItemCaseSensitive(c->geo, "ntk") : NULL;
    const cJSON *ei = o ? cJSON_GetObjectItemCaseSensitive(o, "top_eigs_init") : NULL;
    const cJSON *ef = o ? cJSON_GetObjectItemCaseSensitive(o, "top_eigs_final") : NULL;
    int n = cJSON_GetArraySize(ei) < cJSON_GetArraySize(ef) ? cJSON_GetArraySize(ei) : cJSON_GetArraySize(ef);
    if (!cJSON_IsArray(ei) || !cJSON_IsArray(ef) || n < 1) {
        why_set(why, nwhy, "geometry.json has no NTK eigenvalues ('mli analyze --ntk N')");
        return 0;
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "index\tinit\tfinal\n");
    int pos = 1;
    for (int i = 0; i < n; i++) {
        const cJSON *a = cJSON_GetArrayItem(ei, i), *z = cJSON_GetArrayItem(ef, i);
        double va = cJSON_IsNumber(a) ? a->valuedouble : NAN, vz = cJSON_IsNumber(z) ? z->valuedouble : NAN;
        pos &= !(va <= 0) && !(vz <= 0);
        mli_buf_printf(b, "%d\t", i + 1);
        mli_buf_num(b, va, '\t');
        mli_buf_num(b, vz, '\n');
    }
    double kd = gnum(c, "ntk", "kernel_distance"), jc = gnum(c, "ntk", "jacobian_rel_change"), ne = gnum(c, "ntk", "n_examples");
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Empirical NTK on %.0f test examples:  kernel distance %.3g,  ‖J_1 − J_0‖ / ‖J_0‖ = %.3g'\n"
                  "set xlabel 'index of the eigenvalue (largest first)'\nset xrange [0.5:%d.5]%s",
               ne, kd, jc, n, pos ? "\nset logscale y\nset ylabel 'eigenvalue of Θ  (log scale)'" : "\nset ylabel 'eigenvalue of Θ'");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"index\":\"init\" with linespoints lt %d pt 7 title 'at initialization θ_0'", file, MLI_LT_TRAIN);
    mli_gp_item(f, "'%s' using \"index\":\"final\" with linespoints lt %d pt 5 title 'at the trained network θ_1'", file,
                MLI_LT_TEST);
    mli_gp_end(f);
    mli_buf_printf(cap, "The largest eigenvalues of the empirical neural tangent kernel Θ = J J<sup>T</sup> "
                        "(J: Jacobian of the outputs with respect to the parameters) on %.0f test examples, at "
                        "initialization and after training. Kernel distance 1 − ⟨Θ<sub>0</sub>, Θ<sub>1</sub>⟩ / "
                        "(‖Θ<sub>0</sub>‖ ‖Θ<sub>1</sub>‖) = ",
                   ne);
    html_num(cap, kd, "%.3g");
    mli_buf_printf(cap, " and relative change of the Jacobian ");
    html_num(cap, jc, "%.3g");
    mli_buf_printf(cap, ". Both near 0 is the lazy (kernel) regime: the network behaves like its linearisation around "
                        "θ<sub>0</sub>, its output path is nearly straight and MLI is expected; a kernel that moved "
                        "(distance approaching 1, growing top eigenvalues) is feature learning, where the paper finds "
                        "the violations.");
    return 1;
}

int mli_ctl_figure1_partial(const mli_ctl_figs *c)
{
    return c && (c->ri.present || c->plane.present);
}

int mli_ctl_fig_draw(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    static const struct {
        const char *name;
        int (*draw)(const mli_ctl_figs *, mli_gp_fig *, mli_buf *, char *, size_t);
    } figs[] = {{"figure1", fig_figure1}, {"random_inits", fig_random_inits}, {"permute", fig_permute}, {"plane", fig_plane},
                {"logits", fig_logits}, {"ntk", fig_ntk}};
    for (size_t i = 0; c && i < sizeof figs / sizeof figs[0]; i++)
        if (!strcmp(f->name, figs[i].name))
            return figs[i].draw(c, f, cap, why, nwhy);
    why_set(why, nwhy, "unknown figure");
    return 0;
}
