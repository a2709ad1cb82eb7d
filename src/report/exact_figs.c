/* Figures of the exact analysis: see exact_figs.h. */
#include "report/exact_figs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/tsv.h"

#define HALF_PI 1.57079632679489661923

struct mli_exact_figs {
    mli_tsv loss, breaks, dataset, ex, interp;
    const cJSON *exact; /* geometry.json's exact object, or NULL */
};

int mli_exact_figs_load(const char *run, const cJSON *geo, mli_exact_figs **out)
{
    mli_exact_figs *x = mli_calloc(1, sizeof *x);
    static const char *const a[] = {"alpha", NULL}, *const br[] = {"example", "alpha", "loss", NULL};
    static const char *const ds[] = {"alpha", "train_loss", NULL};
    int rc = mli_tsv_load(&x->loss, run, "exact_loss.tsv", a);
    if (!rc)
        rc = mli_tsv_load(&x->breaks, run, "exact_breaks.tsv", br);
    if (!rc)
        rc = mli_tsv_load(&x->dataset, run, "exact_dataset.tsv", ds);
    if (!rc)
        rc = mli_tsv_load(&x->ex, run, "examples.tsv", NULL);
    if (!rc)
        rc = mli_tsv_load(&x->interp, run, "interp.tsv", NULL);
    x->exact = geo ? cJSON_GetObjectItemCaseSensitive(geo, "exact") : NULL;
    if (rc) {
        mli_exact_figs_free(x);
        x = NULL;
    }
    *out = x;
    return rc;
}

void mli_exact_figs_free(mli_exact_figs *x)
{
    if (!x)
        return;
    mli_tsv_free(&x->loss);
    mli_tsv_free(&x->breaks);
    mli_tsv_free(&x->dataset);
    mli_tsv_free(&x->ex);
    mli_tsv_free(&x->interp);
    free(x);
}

int mli_exact_figs_present(const mli_exact_figs *x) { return x && x->exact; }

static double jnum(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

#define ALPHA_LABEL "α   (0: initialization θ_0,  1: trained parameters θ_1)"

/* The exact loss of the first examples, every breakpoint marked. */
static int fig_loss(const mli_exact_figs *x, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    int n = 0;
    while (n < 8) {
        char c[32];
        snprintf(c, sizeof c, "loss_%d", n);
        if (mli_tsv_col(&x->loss, c) < 0)
            break;
        n++;
    }
    if (!x->loss.present || !n || !x->loss.nrow) {
        snprintf(why, nwhy, "no exact_loss.tsv (written by 'mli analyze --exact')");
        return 0;
    }
    const char *lf, *bf;
    mli_tsv_write(mli_gp_table(f, "", &lf), &x->loss, -1);
    mli_tsv_write(mli_gp_table(f, "breaks", &bf), &x->breaks, 0);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Exact loss of the first %d test examples, each breakpoint (a unit switching) marked'\n"
                  "set xlabel '" ALPHA_LABEL "'\nset ylabel 'loss of the example'\nset xrange [0:1]",
               n);
    mli_gp_plot(f);
    for (int e = 0; e < n; e++) {
        mli_gp_item(f, "'%s' using \"alpha\":\"loss_%d\" with lines lt %d lw 1.5 title 'example %d'", lf, e,
                    e + 1, e);
        mli_gp_item(f, "'%s' using \"alpha\":($1 == %d ? $3 : 1/0) with points lt %d pt 7 ps 0.4 notitle",
                    bf, e, e + 1);
    }
    mli_gp_end(f);
    mli_buf_printf(cap, "The loss of single test examples along the path, computed exactly from the "
                        "pieces of the network's output (polynomials in α between the points where a "
                        "ReLU unit switches, marked as dots). A bump between two of the analysis grid's "
                        "points is still a bump here.");
    return 1;
}

/* Histograms of the total turning (kinks included) and of the pointwise Gauss length. */
static int fig_turning(const mli_exact_figs *x, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    int ct = mli_tsv_col(&x->ex, "total_turning"), cg = mli_tsv_col(&x->ex, "gauss_length");
    if (ct < 0 || !x->ex.nrow) {
        snprintf(why, nwhy, "examples.tsv has no total_turning column ('mli analyze --exact')");
        return 0;
    }
    double hi = HALF_PI * 1.05;
    for (int i = 0; i < x->ex.nrow; i++) {
        double t = mli_tsv_at(&x->ex, i, ct);
        if (isfinite(t))
            hi = fmax(hi, t);
    }
    int nb = 40;
    double h = hi / nb;
    long *ht = mli_calloc(nb, sizeof(long)), *hg = mli_calloc(nb, sizeof(long));
    int n = 0, tb = 0, gb = 0;
    for (int i = 0; i < x->ex.nrow; i++) {
        double t = mli_tsv_at(&x->ex, i, ct), g = cg >= 0 ? mli_tsv_at(&x->ex, i, cg) : NAN;
        if (!isfinite(t))
            continue;
        n++;
        int j = (int)(t / h);
        ht[j < 0 ? 0 : j >= nb ? nb - 1 : j]++;
        tb += t < HALF_PI;
        if (isfinite(g)) {
            j = (int)(g / h);
            hg[j < 0 ? 0 : j >= nb ? nb - 1 : j]++;
            gb += g < HALF_PI;
        }
    }
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "center\ttotal_turning\tpointwise_gauss_length\n");
    for (int j = 0; j < nb; j++)
        mli_buf_printf(b, "%.9g\t%ld\t%ld\n", (j + 0.5) * h, ht[j], hg[j]);
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Total turning of the output path (with the kinks) against the pointwise Gauss "
                  "length:  %.1f%% and %.1f%% below π/2'\n"
                  "set xlabel 'radians'\nset ylabel 'number of examples'\nset xrange [0:%.9g]\nset yrange [0:*]\n"
                  "set style fill transparent solid 0.45 noborder\n"
                  "set arrow 1 from first pi/2, graph 0 to first pi/2, graph 1 nohead lt 8 dt (8,5) lw 1.5 front",
               100.0 * tb / (n ? n : 1), 100.0 * gb / (n ? n : 1), hi);
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"center\":\"total_turning\":(%.9g) with boxes lt %d title 'total turning (exact, kinks included)'",
                file, h, MLI_LT_5);
    if (cg >= 0)
        mli_gp_item(f, "'%s' using \"center\":\"pointwise_gauss_length\":(%.9g) with boxes lt %d "
                       "title 'pointwise Gauss length (grid, the reference definition)'",
                    file, h, MLI_LT_3);
    mli_gp_item(f, "keyentry with lines lt 8 dt (8,5) lw 1.5 title 'π/2'");
    mli_gp_end(f);
    mli_buf_printf(cap, "For each analysed example, how far the tangent of its output path turns: the exact "
                        "total (the integral of ‖dT/dα‖ on every piece plus the angle at every kink, where a "
                        "ReLU unit switches) and the pointwise Gauss length, which leaves the kinks out. "
                        "The Gauss-length condition C1 needs the turning below π/2; on a ReLU network only "
                        "the total is a valid measure for it.");
    free(ht);
    free(hg);
    return 1;
}

/* The data set's exact training loss beside the analysis grid's. */
static int fig_dataset(const mli_exact_figs *x, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    if (!x->dataset.present || !x->dataset.nrow) {
        snprintf(why, nwhy, "no exact_dataset.tsv ('mli analyze --exact')");
        return 0;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(x->exact, "dataset");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(d, "curve");
    int exact = cJSON_IsString(kind) && !strcmp(kind->valuestring, "exact");
    double dlo = jnum(d, "delta_lo", NULL), dhi = jnum(d, "delta_hi", NULL), dg = jnum(d, "delta_grid", NULL);
    const char *df, *gf = NULL;
    mli_tsv_write(mli_gp_table(f, "", &df), &x->dataset, -1);
    if (x->interp.present && mli_tsv_col(&x->interp, "train_loss") >= 0)
        mli_tsv_write(mli_gp_table(f, "grid", &gf), &x->interp, -1);
    mli_gp_panel(f);
    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(d, "bumps");
    int nb = 0;
    const cJSON *bp;
    cJSON_ArrayForEach(bp, bl)
    {
        double s = jnum(bp, "start", NULL), e = jnum(bp, "end", NULL);
        if (isfinite(s) && isfinite(e))
            mli_gp_cmd(f, "set object %d rect from %.9g, graph 0 to %.9g, graph 1 fc lt %d "
                          "fs transparent solid 0.15 noborder behind",
                       ++nb, s, e, MLI_LT_TEST);
    }
    double cerr = jnum(d, "curve_error", NULL);
    if (exact && isfinite(cerr) && dhi - dlo > 1e-6 * (1 + fabs(dhi)))
        mli_gp_cmd(f, "set title 'Training loss along the path, summed exactly but known only to ±%.3g (rounding "
                      "of huge coefficients): %.4g ≤ Δ ≤ %.4g'", cerr, dlo, dhi);
    else if (exact)
        mli_gp_cmd(f, "set title 'Training loss along the path, exact: Δ = %.4g (the 50-point grid: %.4g)'",
                   0.5 * (dlo + dhi), dg);
    else
        mli_gp_cmd(f, "set title 'Training loss along the path: %.4g ≤ Δ ≤ %.4g (the grid: %.4g)'", dlo, dhi, dg);
    mli_gp_cmd(f, "set xlabel '" ALPHA_LABEL "'\nset ylabel 'mean training loss'\nset xrange [0:1]");
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"alpha\":\"train_loss\" with lines lt %d lw 2 title '%s'", df, MLI_LT_TRAIN,
                exact ? "exact (every piece of every example)" : "exact values at the cell edges of the enclosure");
    if (gf)
        mli_gp_item(f, "'%s' using \"alpha\":\"train_loss\" with points lt %d pt 7 ps 0.6 title 'analysis grid'",
                    gf, MLI_LT_TEST);
    if (nb)
        mli_gp_item(f, "keyentry with boxes fc lt %d fs transparent solid 0.15 noborder title 'exact bumps'",
                    MLI_LT_TEST);
    mli_gp_end(f);
    if (exact)
        mli_buf_printf(cap, "The mean training loss, exactly: the sum of every training example's loss "
                            "polynomials on the union of their pieces. Δ is the reference's bump "
                            "definition applied to this continuous curve (largest rise over the running "
                            "minimum), so no bump can hide between grid points.");
    else
        mli_buf_printf(cap, "Cross-entropy is not a polynomial in α: the mean training loss is shown by its "
                            "exact values at the edges of the enclosure's cells, and Δ is enclosed between "
                            "the largest rise those values show and a bound from the slope of every "
                            "example on every cell.");
    return 1;
}

void mli_exact_summary_rows(const mli_exact_figs *x, mli_buf *b)
{
    if (!mli_exact_figs_present(x))
        return;
    const cJSON *e = x->exact, *d = cJSON_GetObjectItemCaseSensitive(e, "dataset");
    double n = jnum(e, "n_examples", NULL);
    mli_buf_printf(b, "<tr><th>exact: examples proved monotone / violating / undecided</th><td>%.0f / %.0f / "
                      "%.0f of %.0f (%.0f violating ones monotone on the grid)</td></tr>\n",
                   jnum(e, "proved_monotone", NULL), jnum(e, "violating", NULL), jnum(e, "undecided", NULL), n,
                   jnum(e, "missed_by_grid", NULL));
    mli_buf_printf(b, "<tr><th>exact: total turning (mean), pointwise Gauss length (mean)</th><td>%.4g, %.4g "
                      "(%.1f%% and %.1f%% below π/2)</td></tr>\n",
                   jnum(e, "turning", "mean"), jnum(e, "turning", "pointwise_mean"),
                   100 * jnum(e, "turning", "frac_below_half_pi"),
                   100 * jnum(e, "turning", "pointwise_frac_below_half_pi"));
    double c = jnum(e, "certificates", "counterexamples");
    if (isfinite(c))
        mli_buf_printf(b, "<tr><th>exact: certificates C1 / C2 / C12, counterexamples</th><td>%.0f / %.0f / %.0f, "
                          "<b%s>%.0f counterexamples</b>; the pointwise Gauss-length condition would certify a "
                          "rise for %.0f examples</td></tr>\n",
                       jnum(e, "certificates", "c1"), jnum(e, "certificates", "c2"), jnum(e, "certificates", "c12"),
                       c > 0 ? " class=\"bad\"" : "", c, jnum(e, "certificates", "pointwise_c1_false"));
    if (d) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(d, "curve");
        if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "exact"))
            mli_buf_printf(b, "<tr><th>exact Δ of the training loss (the grid's)</th><td>%.4g (%.4g), on %.0f "
                              "pieces</td></tr>\n",
                           jnum(d, "delta", NULL), jnum(d, "delta_grid", NULL), jnum(d, "pieces", NULL));
        else
            mli_buf_printf(b, "<tr><th>Δ of the training loss, enclosed (the grid's)</th><td>%.4g ≤ Δ ≤ %.4g (%.4g)"
                              "</td></tr>\n",
                           jnum(d, "delta_lo", NULL), jnum(d, "delta_hi", NULL), jnum(d, "delta_grid", NULL));
    }
}

int mli_exact_fig_draw(const mli_exact_figs *x, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy)
{
    if (!mli_exact_figs_present(x)) {
        snprintf(why, nwhy, "no exact analysis (mli analyze --exact, for relu networks without batch norm)");
        return 0;
    }
    if (!strcmp(f->name, "exact_loss"))
        return fig_loss(x, f, cap, why, nwhy);
    if (!strcmp(f->name, "exact_turning"))
        return fig_turning(x, f, cap, why, nwhy);
    return fig_dataset(x, f, cap, why, nwhy);
}
