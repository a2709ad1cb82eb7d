/* mli table: a hand-made sweep of ten run directories with known deltas, losses and statuses
 * (one unsuccessful above the loss threshold, one diverged without geometry.json, one still
 * running), the summary.tsv it gives, the paper's table counted by hand, its Markdown and
 * LaTeX text, the threshold options, sweep.json, malformed inputs, Spearman's rank
 * correlation, and the sweep report drawn from the same fixture. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"
#include "report/gnuplot.h"
#include "report/sweep_report.h"
#include "report/sweep_table.h"

/* ---- the fixture ------------------------------------------------------------------------ */

typedef struct {
    const char *id, *lr, *optim, *bn, *hsizes, *status;
    const char *delta, *ftl; /* NULL: no geometry.json */
    const char *ntk;         /* ntk.kernel_distance, or NULL */
} frun;

/* Counted by hand (default thresholds: loss < 0.1, delta > 1e-3):
 *   adam no  0.01   a5 non-monotone (0.05), a6 excluded (loss 0.5)      1/1, mean 0.05, 1 excluded
 *   adam yes 0.01   a7 non-monotone (0.004), a8 diverged: excluded      1/1, mean 0.004, 1 excluded
 *   adam yes 0.001  a9 running: pending                                 0/0, 1 pending
 *   sgd  no  1      a2 (0.01), a3 (0.03) non-monotone                   2/2, mean 0.02
 *   sgd  no  0.1    a0 (0) monotone, a1 (0.002) non-monotone            1/2, mean 0.002
 *   sgd  yes 1      a4 (5e-05) monotone                                 0/1 */
static const frun runs[] = {
    {"a0", "0.1", "sgd", "false", "100,10", "done", "0", "0.05", NULL},
    {"a1", "0.1", "sgd", "false", "100,10", "done", "0.002", "0.04", NULL},
    {"a2", "1", "sgd", "false", "100,10", "done", "0.01", "0.02", NULL},
    {"a3", "1", "sgd", "false", "100,10", "done", "0.03", "0.03", NULL},
    {"a4", "1", "sgd", "true", "100,10", "done", "5e-05", "0.08", NULL},
    {"a5", "0.01", "adam", "false", "100,100,10", "done", "0.05", "0.01", NULL},
    {"a6", "0.01", "adam", "false", "100,100,10", "stopped_early", "0.2", "0.5", NULL},
    {"a7", "0.01", "adam", "true", "100,100,10", "done", "0.004", "0.06", "0.25"},
    {"a8", "0.01", "adam", "true", "100,100,10", "diverged", NULL, NULL, NULL},
    {"a9", "0.001", "adam", "true", "100,100,10", "running", NULL, NULL, NULL},
};
enum { NRUN = 10 };

static void put(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    tu_write_file(p, text, strlen(text));
}

static void interp(const char *dir, double delta, double ftl)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\n");
    for (int i = 0; i <= 20; i++) {
        double a = i / 20.0, l = ftl + (2.3 - ftl) * (1 - a) * (1 - a) + delta * exp(-pow((a - 0.7) / 0.06, 2));
        mli_buf_printf(&b, "%.9g\t%.9g\t0.5\t%.9g\t0.5\n", a, l, l + 0.1);
    }
    put(dir, "interp.tsv", b.s);
    mli_buf_free(&b);
}

/* Run i of the fixture as runs/<id>/ of sweep: config.json, and geometry.json and interp.tsv
 * when it has results. */
static void fixture_run(const char *sweep, int i)
{
    const frun *f = &runs[i];
    char dir[1024], text[2048];
    snprintf(dir, sizeof dir, "%s/runs/%s", sweep, f->id);
    mli_mkdirs(dir);
    snprintf(text, sizeof text,
             "{\"dset_name\": \"fashionmnist\", \"datasize\": 1000, \"hsizes\": [%s], \"act_fn\": \"relu\",\n"
             " \"use_batchnorm\": %s, \"optim_name\": \"%s\", \"lr\": %s, \"epochs\": 5, \"seed\": 0,\n"
             " \"mli_version\": \"0.1.0\", \"status\": \"%s\"}\n",
             f->hsizes, f->bn, f->optim, f->lr, f->status);
    put(dir, "config.json", text);
    if (!f->delta)
        return;
    /* the other metrics follow from the run's number: wdist 10(i+1), norm_wdist (i+1)/10, ... */
    char ntk[128] = "";
    if (f->ntk)
        snprintf(ntk, sizeof ntk, ",\n \"ntk\": {\"n_examples\": 100, \"kernel_distance\": %s}", f->ntk);
    double d = strtod(f->delta, NULL), l = strtod(f->ftl, NULL);
    snprintf(text, sizeof text,
             "{\"alphas\": [0, 1], \"delta\": %s, \"monotone\": %s, \"nonmonotone_threshold\": 0.001,\n"
             " \"bumps\": [], \"wdist\": %d, \"norm_wdist\": %.1f, \"final_train_loss\": %s,\n"
             " \"final_test_loss\": %.9g, \"final_train_acc\": 0.9, \"final_test_acc\": null,\n"
             " \"gauss_length\": {\"mean\": %.1f, \"median\": 0.1, \"split\": \"test\"}%s}\n",
             f->delta, d > 1e-3 ? "false" : "true", 10 * (i + 1), (i + 1) / 10.0, f->ftl, l + 0.1,
             0.2 * (i + 1), ntk);
    put(dir, "geometry.json", text);
    interp(dir, d, l);
}

static const char *fixture(const char *tag)
{
    const char *sweep = tu_tmpdir(tag);
    for (int i = 0; i < NRUN; i++)
        fixture_run(sweep, i);
    put(sweep, "grid.txt", "lr = 1, 0.1, 0.01, 0.001\n");
    return sweep;
}

static char *slurp(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unsigned char *buf;
    size_t n;
    if (mli_file_read(p, 1u << 26, &buf, &n))
        fail_msg("cannot read %s: %s", p, mli_errmsg());
    return (char *)buf;
}

static void load_ok(mli_table_sweep *s, const char *dir)
{
    int rc = mli_table_load(s, dir);
    if (rc)
        fail_msg("mli_table_load(%s): %s", dir, mli_errmsg());
}

static const mli_table_row *row(const mli_table *t, const char *optim, int bn, double lr)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->row[i].optim, optim) && t->row[i].bn == bn && t->row[i].lr == lr)
            return &t->row[i];
    fail_msg("no row %s bn=%d lr=%g", optim, bn, lr);
    return NULL;
}

static void check_row(const mli_table *t, const char *optim, int bn, double lr, int nonmono, int success,
                      int excluded, int pending, double mean)
{
    const mli_table_row *w = row(t, optim, bn, lr);
    assert_int_equal(w->n_nonmono, nonmono);
    assert_int_equal(w->n_success, success);
    assert_int_equal(w->n_excluded, excluded);
    assert_int_equal(w->n_pending, pending);
    assert_int_equal(w->n_runs, success + excluded + pending);
    if (isnan(mean))
        assert_true(isnan(w->mean_delta));
    else
        assert_true(fabs(w->mean_delta - mean) < 1e-12);
}

/* ---- summary.tsv --------------------------------------------------------------------------- */

static const char *const SUMMARY =
    "run_id\thsizes\tuse_batchnorm\toptim_name\tlr\tstatus\tfinal_train_loss\tfinal_test_loss\t"
    "final_train_acc\tfinal_test_acc\tdelta\tmonotone\twdist\tnorm_wdist\tgauss_length_mean\tntk_kernel_distance\n"
    "a0\t100,10\tfalse\tsgd\t0.1\tdone\t0.05\t0.15\t0.9\tnan\t0\t1\t10\t0.1\t0.2\tnan\n"
    "a1\t100,10\tfalse\tsgd\t0.1\tdone\t0.04\t0.14\t0.9\tnan\t0.002\t0\t20\t0.2\t0.4\tnan\n"
    "a2\t100,10\tfalse\tsgd\t1\tdone\t0.02\t0.12\t0.9\tnan\t0.01\t0\t30\t0.3\t0.6\tnan\n"
    "a3\t100,10\tfalse\tsgd\t1\tdone\t0.03\t0.13\t0.9\tnan\t0.03\t0\t40\t0.4\t0.8\tnan\n"
    "a4\t100,10\ttrue\tsgd\t1\tdone\t0.08\t0.18\t0.9\tnan\t5e-05\t1\t50\t0.5\t1\tnan\n"
    "a5\t100,100,10\tfalse\tadam\t0.01\tdone\t0.01\t0.11\t0.9\tnan\t0.05\t0\t60\t0.6\t1.2\tnan\n"
    "a6\t100,100,10\tfalse\tadam\t0.01\tstopped_early\t0.5\t0.6\t0.9\tnan\t0.2\t0\t70\t0.7\t1.4\tnan\n"
    "a7\t100,100,10\ttrue\tadam\t0.01\tdone\t0.06\t0.16\t0.9\tnan\t0.004\t0\t80\t0.8\t1.6\t0.25\n"
    "a8\t100,100,10\ttrue\tadam\t0.01\tdiverged\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\n"
    "a9\t100,100,10\ttrue\tadam\t0.001\trunning\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\n";

static void test_summary_tsv(void **state)
{
    (void)state;
    mli_table_sweep s;
    load_ok(&s, fixture("table-summary"));
    assert_int_equal(s.n, NRUN);
    assert_true(s.has_ntk);
    mli_buf b = {0};
    mli_table_summary(&s, &b);
    assert_string_equal(b.s, SUMMARY);
    /* the grouping keys, derived: depth is the length of hsizes, width its last hidden size */
    assert_int_equal(s.run[0].depth, 2);
    assert_int_equal(s.run[0].width, 100);
    assert_int_equal(s.run[9].depth, 3);
    assert_int_equal(s.run[9].width, 100);
    assert_int_equal(s.run[4].bn, 1);
    assert_string_equal(s.run[5].optim, "adam");
    mli_buf_free(&b);
    mli_table_free(&s);
}

/* Without ntk and with a key varying that is not a grouping key (seed): the columns follow. */
static void test_summary_columns(void **state)
{
    (void)state;
    const char *sweep = tu_tmpdir("table-columns");
    char dir[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/runs/s%d", sweep, i);
        mli_mkdirs(dir);
        char c[512];
        snprintf(c, sizeof c, "{\"seed\": %d, \"lr\": 0.1, \"status\": \"done\"}", i);
        put(dir, "config.json", c);
    }
    mli_table_sweep s;
    load_ok(&s, sweep);
    mli_buf b = {0};
    mli_table_summary(&s, &b);
    assert_string_equal(b.s, "run_id\tseed\tstatus\tfinal_train_loss\tfinal_test_loss\tfinal_train_acc\t"
                             "final_test_acc\tdelta\tmonotone\twdist\tnorm_wdist\tgauss_length_mean\n"
                             "s0\t0\tdone\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\n"
                             "s1\t1\tdone\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\tnan\n");
    mli_buf_free(&b);
    mli_table_free(&s);
}

/* ---- the paper's table ------------------------------------------------------------------------ */

static void test_table_counts(void **state)
{
    (void)state;
    mli_table_sweep s;
    load_ok(&s, fixture("table-counts"));
    mli_table_opts o;
    mli_table_opts_default(&o);
    assert_true(o.loss_threshold == 0.1 && o.delta_threshold == 1e-3);
    mli_table t;
    mli_table_make(&s, &o, &t);
    assert_int_equal(t.n, 6);
    assert_int_equal(t.n_runs, 10);
    assert_int_equal(t.n_success, 7);
    assert_int_equal(t.n_excluded, 2);
    assert_int_equal(t.n_pending, 1);
    assert_int_equal(t.n_nonmono, 5);
    assert_int_equal(t.n_unknown, 0);
    check_row(&t, "adam", 0, 0.01, 1, 1, 1, 0, 0.05);
    check_row(&t, "adam", 1, 0.01, 1, 1, 1, 0, 0.004);
    check_row(&t, "adam", 1, 0.001, 0, 0, 0, 1, NAN);
    check_row(&t, "sgd", 0, 1, 2, 2, 0, 0, 0.02);
    check_row(&t, "sgd", 0, 0.1, 1, 2, 0, 0, 0.002);
    check_row(&t, "sgd", 1, 1, 0, 1, 0, 0, NAN);
    /* the paper's order: optimizer, batch norm off first, learning rate descending */
    assert_string_equal(t.row[0].optim, "adam");
    assert_true(t.row[1].bn == 1 && t.row[1].lr == 0.01 && t.row[2].lr == 0.001);
    assert_true(!strcmp(t.row[3].optim, "sgd") && t.row[3].lr == 1 && t.row[4].lr == 0.1 && t.row[5].bn == 1);
    /* each run's outcome */
    assert_int_equal(mli_table_classify(&s.run[6], &o), MLI_TABLE_EXCLUDED); /* loss 0.5 */
    assert_int_equal(mli_table_classify(&s.run[8], &o), MLI_TABLE_EXCLUDED); /* diverged */
    assert_int_equal(mli_table_classify(&s.run[9], &o), MLI_TABLE_PENDING);  /* running */
    assert_int_equal(mli_table_classify(&s.run[0], &o), MLI_TABLE_SUCCESS);
    mli_table_clear(&t);
    mli_table_free(&s);
}

static const char *const MARKDOWN =
    "Non-monotone runs (Δ > 0.001) among the successful runs (final training loss < 0.1), per optimizer, "
    "batch norm and learning rate: 10 runs, 7 successful, 2 excluded as unsuccessful, 1 pending (not "
    "trained or not analysed yet).\n"
    "\n"
    "| optimizer | batch norm | learning rate | non-monotone / successful | fraction non-monotone | "
    "mean Δ of the non-monotone | excluded | pending |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    "| adam | no | 0.01 | 1/1 | 1.00 | 0.05 | 1 | 0 |\n"
    "| adam | yes | 0.01 | 1/1 | 1.00 | 0.004 | 1 | 0 |\n"
    "| adam | yes | 0.001 | 0/0 | – | – | 0 | 1 |\n"
    "| sgd | no | 1 | 2/2 | 1.00 | 0.02 | 0 | 0 |\n"
    "| sgd | no | 0.1 | 1/2 | 0.50 | 0.002 | 0 | 0 |\n"
    "| sgd | yes | 1 | 0/1 | 0.00 | – | 0 | 0 |\n";

static const char *const LATEX =
    "% Written by 'mli table' (needs no package). Non-monotone runs (delta > 0.001) among the successful "
    "runs (final training loss < 0.1), per optimizer, batch norm and learning rate: 10 runs, 7 successful, "
    "2 excluded as unsuccessful, 1 pending (not trained or not analysed yet).\n"
    "\\begin{tabular}{llrrrrrr}\n"
    "\\hline\n"
    "Optimizer & Batch norm & Learning rate & Non-monotone / successful & Fraction & Mean $\\Delta$ "
    "(non-monotone) & Excluded & Pending \\\\\n"
    "\\hline\n"
    "adam & no & 0.01 & 1/1 & 1.00 & 0.05 & 1 & 0 \\\\\n"
    "adam & yes & 0.01 & 1/1 & 1.00 & 0.004 & 1 & 0 \\\\\n"
    "adam & yes & 0.001 & 0/0 & -- & -- & 0 & 1 \\\\\n"
    "sgd & no & 1 & 2/2 & 1.00 & 0.02 & 0 & 0 \\\\\n"
    "sgd & no & 0.1 & 1/2 & 0.50 & 0.002 & 0 & 0 \\\\\n"
    "sgd & yes & 1 & 0/1 & 0.00 & -- & 0 & 0 \\\\\n"
    "\\hline\n"
    "\\end{tabular}\n";

static void test_table_text(void **state)
{
    (void)state;
    const char *sweep = fixture("table-text");
    mli_table_sweep s;
    load_ok(&s, sweep);
    mli_table_opts o;
    mli_table_opts_default(&o);
    mli_buf md = {0};
    assert_int_equal(mli_table_write(&s, &o, &md), MLI_OK);
    assert_string_equal(md.s, MARKDOWN);
    char *text = slurp(sweep, "table.md");
    assert_string_equal(text, MARKDOWN);
    free(text);
    text = slurp(sweep, "table.tex");
    assert_string_equal(text, LATEX);
    free(text);
    text = slurp(sweep, "summary.tsv");
    assert_string_equal(text, SUMMARY);
    free(text);
    /* the HTML version escapes its text and has one row per line of the table */
    mli_table t;
    mli_table_make(&s, &o, &t);
    mli_buf h = {0};
    mli_table_html(&t, &h);
    assert_non_null(strstr(h.s, "(final training loss &lt; 0.1)"));
    int rows = 0;
    for (const char *p = h.s; (p = strstr(p, "<tr>")); p++)
        rows++;
    assert_int_equal(rows, 1 + 6);
    mli_buf_free(&h);
    mli_table_clear(&t);
    mli_buf_free(&md);
    mli_table_free(&s);
}

/* --loss-threshold 1 counts a6 (loss 0.5) as successful; --delta-threshold 0.01 makes a1
 * (0.002), a2 (0.01, not above) and a7 (0.004) monotone; 1e-5 makes a4 (5e-05) non-monotone,
 * which LaTeX writes as a power of ten. No run is pending once a9 is left out. */
static void test_thresholds(void **state)
{
    (void)state;
    mli_table_sweep s;
    load_ok(&s, fixture("table-thresholds"));
    mli_table t;
    mli_table_opts o = {1, 1e-3};
    mli_table_make(&s, &o, &t);
    assert_int_equal(t.n_success, 8);
    assert_int_equal(t.n_excluded, 1);
    check_row(&t, "adam", 0, 0.01, 2, 2, 0, 0, 0.125);
    mli_table_clear(&t);

    o = (mli_table_opts){0.1, 0.01};
    mli_table_make(&s, &o, &t);
    assert_int_equal(t.n_nonmono, 2);
    check_row(&t, "sgd", 0, 0.1, 0, 2, 0, 0, NAN);
    check_row(&t, "sgd", 0, 1, 1, 2, 0, 0, 0.03);
    check_row(&t, "adam", 0, 0.01, 1, 1, 1, 0, 0.05);
    check_row(&t, "adam", 1, 0.01, 0, 1, 1, 0, NAN);
    mli_table_clear(&t);

    s.n = NRUN - 1; /* without the running a9: no pending column */
    o = (mli_table_opts){0.1, 1e-5};
    mli_table_make(&s, &o, &t);
    mli_buf b = {0};
    mli_table_latex(&t, &b);
    assert_non_null(strstr(b.s, "\\begin{tabular}{llrrrrr}\n"));
    assert_non_null(strstr(b.s, "Mean $\\Delta$ (non-monotone) & Excluded \\\\\n"));
    assert_non_null(strstr(b.s, "sgd & yes & 1 & 1/1 & 1.00 & $5\\times 10^{-5}$ & 0 \\\\\n"));
    b.len = 0;
    mli_table_markdown(&t, &b);
    assert_non_null(strstr(b.s, "Non-monotone runs (Δ > 1e-05) among the successful runs "
                                "(final training loss < 0.1)"));
    assert_non_null(strstr(b.s, "9 runs, 7 successful, 2 excluded as unsuccessful.\n"));
    assert_non_null(strstr(b.s, "| excluded |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"));
    assert_non_null(strstr(b.s, "| sgd | yes | 1 | 1/1 | 1.00 | 5e-05 | 0 |\n"));
    mli_buf_free(&b);
    mli_table_clear(&t);
    s.n = NRUN;
    mli_table_free(&s);
}

/* ---- sweep.json ------------------------------------------------------------------------------- */

/* sweep.json sets the order of the runs and lists runs not started yet: they are pending,
 * with the keys sweep.json gives them and the common value of the others. */
static void test_sweep_json(void **state)
{
    (void)state;
    const char *sweep = fixture("table-json");
    put(sweep, "sweep.json",
        "{\"runs\": [{\"index\": 0, \"id\": \"a3\", \"path\": \"runs/a3\", \"keys\": {\"lr\": \"1\"}},\n"
        " {\"index\": 1, \"id\": \"a0\", \"keys\": {\"lr\": 0.1}},\n"
        " {\"index\": 2, \"id\": \"b0\", \"path\": \"runs/b0\", \"keys\": {\"lr\": \"3.0\", \"optim_name\": \"sgd\","
        " \"use_batchnorm\": \"true\", \"hsizes\": \"1024,8,10\", \"not_a_key\": \"x\"}}]}\n");
    mli_table_sweep s;
    load_ok(&s, sweep);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.run[0].id, "a3");
    assert_string_equal(s.run[1].id, "a0");
    assert_string_equal(s.run[2].status, "pending");
    assert_false(s.run[2].has_config);
    mli_buf b = {0};
    mli_table_summary(&s, &b);
    /* hsizes, use_batchnorm and lr vary; "3.0" is written as the other numbers are */
    assert_non_null(strstr(b.s, "run_id\thsizes\tuse_batchnorm\tlr\tstatus\t"));
    assert_non_null(strstr(b.s, "\nb0\t1024,8,10\ttrue\t3\tpending\tnan\t"));
    assert_string_equal(s.run[2].optim, "sgd");
    assert_int_equal(s.run[2].depth, 3);
    assert_int_equal(s.run[2].width, 8); /* the last hidden layer, not the largest */
    mli_table t;
    mli_table_opts o;
    mli_table_opts_default(&o);
    mli_table_make(&s, &o, &t);
    check_row(&t, "sgd", 1, 3, 0, 0, 0, 1, NAN);
    mli_table_clear(&t);
    mli_buf_free(&b);
    mli_table_free(&s);
}

static void expect_input_error(const char *dir, const char *what1, const char *what2)
{
    mli_table_sweep s;
    int rc = mli_table_load(&s, dir);
    mli_table_free(&s);
    if (rc != MLI_EINPUT)
        fail_msg("%s: status %d, expected MLI_EINPUT (%s)", dir, rc, mli_errmsg());
    if (!strstr(mli_errmsg(), what1) || (what2 && !strstr(mli_errmsg(), what2)))
        fail_msg("message '%s' should name '%s' and '%s'", mli_errmsg(), what1, what2 ? what2 : "");
}

static void test_malformed(void **state)
{
    (void)state;
    const char *sweep = tu_tmpdir("table-bad");
    char p[1024];
    snprintf(p, sizeof p, "%s/nonexistent", sweep);
    expect_input_error(p, "no such sweep directory", NULL);
    expect_input_error(sweep, "no sweep.json and no runs/", NULL);
    snprintf(p, sizeof p, "%s/runs", sweep);
    mli_mkdirs(p);
    expect_input_error(sweep, "without runs", "runs/ is empty");
    put(sweep, "sweep.json", "{\"runs\": []}");
    expect_input_error(sweep, "without runs", "sweep.json");

    sweep = fixture("table-bad2");
    put(sweep, "sweep.json", "{\"runs\": [{\"id\": \"../etc\"}]}");
    expect_input_error(sweep, "sweep.json", "runs[0].id");
    put(sweep, "sweep.json", "{\"runs\": [{\"id\": \"a0\", \"path\": \"/tmp\"}]}");
    expect_input_error(sweep, "sweep.json", "runs[0].path");
    put(sweep, "sweep.json", "{\"runs\": [{\"id\": \"a0\", \"keys\": {\"lr\": \"fast\"}}]}");
    expect_input_error(sweep, "sweep.json", "runs[0].keys.lr");
    put(sweep, "sweep.json", "{\"runs\": {}}");
    expect_input_error(sweep, "sweep.json", "runs");
    put(sweep, "sweep.json", "[oops");
    expect_input_error(sweep, "sweep.json", NULL);

    sweep = fixture("table-bad3");
    snprintf(p, sizeof p, "%s/runs/a2", sweep);
    put(p, "geometry.json", "{\"delta\": \"big\"}");
    expect_input_error(sweep, "runs/a2/geometry.json", "delta");
    put(p, "geometry.json", "{\"delta\": 0.1, \"gauss_length\": [1]}");
    expect_input_error(sweep, "runs/a2/geometry.json", "gauss_length");
    put(p, "geometry.json", "{\"delta\": 0.1,");
    expect_input_error(sweep, "runs/a2/geometry.json", NULL);
    put(p, "config.json", "{\"lr\": \"abc\", \"status\": \"done\"}");
    expect_input_error(sweep, "runs/a2/config.json", "lr");
    put(p, "config.json", "{\"lr\": 0.1, \"status\": 3}");
    expect_input_error(sweep, "runs/a2/config.json", "status");
}

static void test_is_sweep(void **state)
{
    (void)state;
    const char *sweep = fixture("table-is");
    assert_true(mli_table_is_sweep(sweep));
    char p[1024];
    snprintf(p, sizeof p, "%s/runs/a0", sweep);
    assert_false(mli_table_is_sweep(p)); /* a run directory */
    snprintf(p, sizeof p, "%s/runs", sweep);
    assert_false(mli_table_is_sweep(p)); /* a folder of runs, without runs/ of its own */
    snprintf(p, sizeof p, "%s/nonexistent", sweep);
    assert_false(mli_table_is_sweep(p));
}

/* ---- Spearman ----------------------------------------------------------------------------------- */

static void test_spearman(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5}, up[] = {0.1, 0.5, 2, 30, 400}, down[] = {9, 7, 5, 3, 1};
    int used;
    assert_true(fabs(mli_table_spearman(x, up, 5, &used) - 1) < 1e-12);
    assert_int_equal(used, 5);
    assert_true(fabs(mli_table_spearman(x, down, 5, &used) + 1) < 1e-12);
    /* one swap: 1 - 6 Σd² / (n (n² - 1)) = 1 - 6·2 / (5·24) = 0.9 */
    const double swap[] = {1, 2, 3, 5, 4};
    assert_true(fabs(mli_table_spearman(x, swap, 5, NULL) - 0.9) < 1e-12);
    /* pairs with a NaN are left out: the rest is perfectly monotone */
    const double gaps[] = {1, NAN, 3, 4, INFINITY};
    assert_true(fabs(mli_table_spearman(x, gaps, 5, &used) - 1) < 1e-12);
    assert_int_equal(used, 3);
    /* ties share their mean rank: y ranks 1.5 1.5 3 4 5 against 1..5 gives 0.974679434 */
    const double ties[] = {0, 0, 1, 2, 3};
    assert_true(fabs(mli_table_spearman(x, ties, 5, NULL) - 0.974679434480896) < 1e-9);
    const double flat[] = {2, 2, 2, 2, 2};
    assert_true(isnan(mli_table_spearman(x, flat, 5, &used)));
    assert_true(isnan(mli_table_spearman(x, up, 1, &used)));
    assert_int_equal(used, 1);
}

/* ---- the sweep report of the same fixture --------------------------------------------------------- */

static int exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Every href/src of index.html names an existing file or an anchor of the page. */
static void links_ok(const char *rdir)
{
    char *html = slurp(rdir, "index.html");
    for (const char *a = html; (a = strstr(a, "=\"")); a += 2) {
        int href = a >= html + 4 && !strncmp(a - 4, "href", 4), src = a >= html + 3 && !strncmp(a - 3, "src", 3);
        if (!href && !src)
            continue;
        const char *v = a + 2, *e = strchr(v, '"');
        char target[512], id[520];
        snprintf(target, sizeof target, "%.*s", (int)(e - v), v);
        snprintf(id, sizeof id, "id=\"%s\"", target + 1);
        if (target[0] == '#' ? !strstr(html, id) : !exists(rdir, target))
            fail_msg("%s/index.html: broken link %s", rdir, target);
    }
    free(html);
}

static void test_report(void **state)
{
    (void)state;
    char gp[4096];
    if (!mli_gp_find(gp, sizeof gp))
        skip();
    const char *sweep = fixture("table-report");
    char p[1024], rdir[1024];
    snprintf(p, sizeof p, "%s/runs/a0/report", sweep);
    mli_mkdirs(p);
    put(p, "index.html", "<html></html>"); /* a run report to link to */
    int rc = mli_report_sweep(sweep);
    if (rc)
        fail_msg("mli_report_sweep: %s", mli_errmsg());
    snprintf(rdir, sizeof rdir, "%s/report", sweep);
    static const char *const drawn[] = {"delta_lr_depth", "gauss_delta", "dist_delta", "gauss_dist",
                                        "curves_bn", "curves_optim"};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 4; k++) {
            snprintf(p, sizeof p, "%s%s", drawn[i], (const char *[]){".png", ".svg", ".gp", ".tsv"}[k]);
            if (!exists(rdir, p))
                fail_msg("%s/%s missing", rdir, p);
        }
    assert_false(exists(rdir, "delta_lr_width.png")); /* every run has width 100 */
    char *html = slurp(rdir, "index.html");
    assert_non_null(strstr(html, "the sweep does not vary both the learning rate and the width"));
    assert_non_null(strstr(html, "href=\"../runs/a0/report/index.html\""));
    assert_null(strstr(html, "../runs/a1/report/index.html"));
    assert_non_null(strstr(html, "10 runs: 7 done, 1 stopped_early, 1 diverged, 1 running."));
    assert_non_null(strstr(html, "<td class=\"num\">1/2</td>"));
    free(html);
    links_ok(rdir);
    /* the table files were written beside the report */
    assert_true(exists(sweep, "summary.tsv") && exists(sweep, "table.md") && exists(sweep, "table.tex"));
    /* the heat map: the mean delta of each (learning rate, depth) cell with an analysed run */
    char *tsv = slurp(rdir, "delta_lr_depth.tsv");
    assert_non_null(strstr(tsv, "ix\tiy\tlearning_rate\tdepth\tmean_delta\tn_runs\t"));
    assert_non_null(strstr(tsv, "\n3\t0\t1\t2\t0.01335\t3\t")); /* a2 a3 a4 */
    assert_non_null(strstr(tsv, "\n1\t1\t0.01\t3\t0.0846666667\t3\t")); /* a5 a6 a7 */
    assert_null(strstr(tsv, "\n0\t1\t0.001\t")); /* a9 has no delta: a blank cell */
    free(tsv);
}

static void test_report_no_runs(void **state)
{
    (void)state;
    const char *sweep = tu_tmpdir("table-report-empty");
    char p[1024];
    snprintf(p, sizeof p, "%s/runs", sweep);
    mli_mkdirs(p);
    assert_int_equal(mli_report_sweep(sweep), MLI_EINPUT);
    assert_false(exists(sweep, "report"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_tsv),   cmocka_unit_test(test_summary_columns),
        cmocka_unit_test(test_table_counts),  cmocka_unit_test(test_table_text),
        cmocka_unit_test(test_thresholds),    cmocka_unit_test(test_sweep_json),
        cmocka_unit_test(test_malformed),     cmocka_unit_test(test_is_sweep),
        cmocka_unit_test(test_spearman),      cmocka_unit_test(test_report),
        cmocka_unit_test(test_report_no_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
