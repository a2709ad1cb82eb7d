/* mli report: fixture run directories written by hand, the report they produce (figures that
 * are real images, SVG that is well-formed, an index.html without broken or missing links),
 * and the errors for malformed inputs, sweeps and a missing gnuplot. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/atomic.h"
#include "io/err.h"
#include "report/gnuplot.h"
#include "report/run_report.h"

static const char *const all_figs[] = {"loss_alpha", "acc_alpha",  "train_curves", "dloss_alpha",
                                       "geometry_alpha", "gauss_hist", "certificates", "hessian"};
enum { NFIG = 8 };

/* ---- fixtures ------------------------------------------------------------------------ */

static void put(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    tu_write_file(p, text, strlen(text));
}

static void put_buf(const char *dir, const char *name, mli_buf *b)
{
    put(dir, name, b->s ? b->s : "");
    mli_buf_free(b);
}

static void fixture_config(const char *dir, const char *loss)
{
    char c[2048];
    snprintf(c, sizeof c,
             "{\"dset_name\": \"fashionmnist\", \"datasize\": 5000, \"hsizes\": [100, 10],\n"
             " \"act_fn\": \"relu\", \"use_batchnorm\": false, \"loss_fn\": \"%s\", \"optim_name\": \"adam\",\n"
             " \"lr\": 0.003, \"epochs\": 6, \"seed\": 0, \"mli_version\": \"0.1.0\", \"status\": \"done\",\n"
             " \"dataset\": {\"n_train\": 5000, \"n_test\": 1000,\n"
             "   \"files\": [{\"path\": \"/data/a&b<c>.gz\", \"bytes\": 123}]}}\n",
             loss);
    put(dir, "config.json", c);
}

static void fixture_train(const char *dir)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "epoch\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\twdist\tnorm_wdist\tseconds\n");
    for (int e = 1; e <= 6; e++)
        mli_buf_printf(&b, "%d\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\n", e, 1.2 * exp(-0.5 * e),
                       0.7 + 0.04 * e, 1.3 * exp(-0.4 * e), 0.68 + 0.035 * e, 3.0 * sqrt(e),
                       0.3 * sqrt(e), 1.5);
    put_buf(dir, "train.tsv", &b);
}

/* A training loss that falls from 2.3 to 0.05 with a bump between α = 0.6 and 0.75. */
static double loss_at(double a) { return 0.05 + 2.25 * (1 - a) * (1 - a) + 0.08 * exp(-pow((a - 0.68) / 0.04, 2)); }

static void fixture_interp(const char *dir, int optional)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc");
    if (optional)
        mli_buf_printf(&b, "\ttrain_dloss\ttrain_d2loss\ttrain_d2loss_gn\ttrain_d2loss_curv"
                           "\tspeed\tcurvature\tgauss_speed\tgauss_length_cum");
    mli_buf_printf(&b, "\n");
    double cum = 0;
    for (int i = 0; i < 41; i++) {
        double a = i / 40.0, h = 1e-4;
        double l = loss_at(a), d1 = (loss_at(a + h) - loss_at(a - h)) / (2 * h);
        double d2 = (loss_at(a + h) - 2 * l + loss_at(a - h)) / (h * h);
        mli_buf_printf(&b, "%.9g\t%.9g\t%.9g\t%.9g\t", a, l, 0.1 + 0.85 * a, l * 1.1 + 0.02, 0.1 + 0.8 * a);
        if (i == 7)
            mli_buf_printf(&b, "nan");
        else
            mli_buf_printf(&b, "%.9g", 0.1 + 0.8 * a);
        /* the optional columns: one NaN in the curvature as well */
        double gs = 0.5 + a;
        if (optional)
            mli_buf_printf(&b, "\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%s\t%.9g\t%.9g", d1, d2, 4.5, d2 - 4.5,
                           2 - a, i == 3 ? "nan" : "", gs, cum);
        if (optional && i != 3)
            b.len -= 0; /* placeholder keeps the columns aligned below */
        mli_buf_printf(&b, "\n");
        cum += gs / 40;
    }
    /* fill the curvature column: it spans three decades (log scale) */
    mli_buf c = {0};
    char *save = NULL;
    int row = -1;
    for (char *line = strtok_r(b.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
        if (optional && row >= 0 && row != 3) {
            char *gap = strstr(line, "\t\t");
            *gap = '\0';
            mli_buf_printf(&c, "%s\t%.9g\t%s\n", line, 0.01 * pow(1000, row / 40.0), gap + 2);
        } else
            mli_buf_printf(&c, "%s\n", line);
    }
    mli_buf_free(&b);
    put_buf(dir, "interp.tsv", &c);
}

static void fixture_quantiles(const char *dir)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "alpha");
    static const char *const q[] = {"speed", "curvature", "gauss_speed"};
    for (int f = 0; f < 3; f++)
        mli_buf_printf(&b, "\t%s_q25\t%s_q50\t%s_q75", q[f], q[f], q[f]);
    mli_buf_printf(&b, "\n");
    for (int i = 0; i < 41; i++) {
        double a = i / 40.0, m[3] = {2 - a, 0.01 * pow(1000, a), 0.5 + a};
        mli_buf_printf(&b, "%.9g", a);
        for (int f = 0; f < 3; f++)
            mli_buf_printf(&b, "\t%.9g\t%.9g\t%.9g", 0.7 * m[f], 0.95 * m[f], 1.4 * m[f]);
        mli_buf_printf(&b, "\n");
    }
    put_buf(dir, "geometry_quantiles.tsv", &b);
}

static void fixture_examples(const char *dir)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "index\tlabel\tgauss_length\tarc_length\tmax_curvature\tmonotone\tcert_c0\tcert_c1"
                       "\tcert_c2\tfirst_violation_alpha\tc1_prefix\tcert_c12\n");
    mli_real g[300];
    tu_fill_uniform(g, 300, 0, 1, 3);
    for (int e = 0; e < 300; e++) {
        double gl = 0.4 + 1.6 * g[e] * g[(e * 7) % 300];
        mli_buf_printf(&b, "%d\t%d\t%.9g\t1.5\t3\t%d\t1\t%d\t0\t-1\t0.5\t1\n", e, e % 10, gl, gl < 1.4,
                       gl < HALF_PI_TEST);
    }
    put_buf(dir, "examples.tsv", &b);
}

static void fixture_geometry(const char *dir, int optional, int ce)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "{\"alphas\": [0, 0.025, 0.05], \"delta\": 0.0612, \"monotone\": false,\n"
                       " \"nonmonotone_threshold\": 0.001,\n"
                       " \"bumps\": [{\"start\": 0.6, \"end\": 0.75, \"height\": 0.0612, \"width\": 0.15}],\n"
                       " \"wdist\": 12.5, \"norm_wdist\": 1.25, \"final_train_loss\": 0.05,\n"
                       " \"final_test_loss\": 0.075, \"final_train_acc\": 0.95, \"final_test_acc\": null");
    if (optional) {
        mli_buf_printf(&b, ",\n \"gauss_length\": {\"mean\": 0.91, \"median\": 0.85, \"frac_below_half_pi\": 0.8,"
                           " \"split\": \"test\", \"n_examples\": 300},\n \"certificates\": {");
        if (ce)
            mli_buf_printf(&b, "\"c0\": {\"certified\": 150, \"monotone\": 180, \"counterexamples\": 0, "
                               "\"n_examples\": 300}, \"c1\": \"not applicable (cross-entropy)\",\n"
                               " \"c2\": {\"certified\": 90, \"monotone\": 180, \"counterexamples\": 0, "
                               "\"n_examples\": 300}, \"c12\": \"not applicable (cross-entropy)\",\n");
        else
            mli_buf_printf(&b, "\"c0\": {\"certified\": 150, \"monotone\": 180, \"counterexamples\": 0, "
                               "\"n_examples\": 300},\n \"c1\": {\"certified\": 120, \"monotone\": 180, "
                               "\"counterexamples\": 0, \"n_examples\": 300},\n \"c2\": {\"certified\": 90, "
                               "\"monotone\": 180, \"counterexamples\": 2, \"n_examples\": 300},\n \"c12\": "
                               "{\"certified\": 140, \"monotone\": 180, \"counterexamples\": 0, \"n_examples\": 300},\n");
        mli_buf_printf(&b, " \"dataset\": {\"c0\": false, \"c2\": false, \"monotone\": false, "
                           "\"first_violation_alpha\": 0.6, \"loss\": \"mean <loss>\"}, \"verify_steps\": 2000},\n"
                           " \"hessian\": {\"alphas\": [0, 0.5, 1],\n"
                           "   \"top_eigenvalues\": [[120, 80, 40, 22, 11], [300, 150, 90, 60, 35], [45, 30, 12, 8, 5]],\n"
                           "   \"bottom_eigenvalues\": [[-3, -1, -0.2], [-12, -5, -2], [-0.5, -0.1, null]],\n"
                           "   \"trace\": [900, 2400, null], \"trace_stderr\": [30, 80, null]}");
    }
    mli_buf_printf(&b, "}\n");
    put_buf(dir, "geometry.json", &b);
}

/* A run directory: the mandatory files only, or every optional part too. */
static const char *fixture(const char *tag, int optional, int ce)
{
    const char *dir = tu_tmpdir(tag);
    fixture_config(dir, ce ? "ce" : "mse");
    fixture_train(dir);
    fixture_interp(dir, optional);
    fixture_geometry(dir, optional, ce);
    if (optional) {
        fixture_quantiles(dir);
        fixture_examples(dir);
    }
    return dir;
}
