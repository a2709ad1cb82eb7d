/* mli report: fixture run directories written by hand, the report they produce (figures that
 * are real images, SVG that is well-formed, an index.html without broken or missing links),
 * and the errors for malformed inputs, sweeps and a missing gnuplot. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
        /* one NaN in the test accuracy, one in the curvature, which spans three decades */
        mli_buf_printf(&b, "%.9g\t%.9g\t%.9g\t%.9g\t%.9g", a, l, 0.1 + 0.85 * a, l * 1.1 + 0.02,
                       i == 7 ? NAN : 0.1 + 0.8 * a);
        double gs = 0.5 + a;
        if (optional)
            mli_buf_printf(&b, "\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g\t%.9g", d1, d2, 4.5, d2 - 4.5,
                           2 - a, i == 3 ? NAN : 0.01 * pow(1000, a), gs, cum);
        mli_buf_printf(&b, "\n");
        cum += gs / 40;
    }
    put_buf(dir, "interp.tsv", &b);
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
                       gl < M_PI / 2);
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

/* ---- checkers -------------------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *n)
{
    unsigned char *buf = NULL;
    if (mli_file_read(path, 64u << 20, &buf, n) != 0)
        fail_msg("cannot read %s: %s", path, mli_errmsg());
    return buf;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Check a PNG: signature, IHDR, IDAT that inflates to width x height pixels of 8-bit samples;
 * returns the number of distinct pixel values (a blank image has one). */
static int png_colours(const char *path, uint32_t *width)
{
    size_t n;
    unsigned char *f = slurp(path, &n);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(n > 33);
    assert_memory_equal(f, sig, 8);
    assert_memory_equal(f + 12, "IHDR", 4);
    uint32_t w = be32(f + 16), h = be32(f + 20);
    int depth = f[24], type = f[25], interlace = f[28];
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    assert_int_equal(depth, 8);
    assert_int_equal(interlace, 0);
    assert_true(type <= 6 && channels[type] > 0);
    int bpp = channels[type];
    unsigned char *idat = NULL;
    size_t nidat = 0;
    for (size_t p = 8; p + 12 <= n;) {
        uint32_t len = be32(f + p);
        assert_true(p + 12 + len <= n);
        if (!memcmp(f + p + 4, "IDAT", 4)) {
            idat = realloc(idat, nidat + len);
            memcpy(idat + nidat, f + p + 8, len);
            nidat += len;
        }
        p += 12 + len;
    }
    size_t stride = (size_t)w * bpp, raw_n = (size_t)h * (stride + 1);
    unsigned char *raw = malloc(raw_n);
    uLongf got = raw_n;
    assert_int_equal(uncompress(raw, &got, idat, nidat), Z_OK);
    assert_int_equal(got, raw_n);
    /* undo the per-row filters, then count distinct pixels */
    unsigned char *prev = calloc(stride, 1);
    uint32_t *px = malloc(sizeof *px * (size_t)w * h);
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = raw + (size_t)y * (stride + 1) + 1;
        int ft = row[-1];
        assert_true(ft <= 4);
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = prev[i], c = i >= (size_t)bpp ? prev[i - bpp] : 0;
            int add = ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : ft == 4 ? paeth(a, b, c) : 0;
            row[i] = (unsigned char)(row[i] + add);
        }
        for (uint32_t x = 0; x < w; x++) {
            uint32_t v = 0;
            for (int k = 0; k < bpp; k++)
                v = v << 8 | row[(size_t)x * bpp + k];
            px[(size_t)y * w + x] = v;
        }
        memcpy(prev, row, stride);
    }
    qsort(px, (size_t)w * h, sizeof *px, cmp_u32);
    int distinct = 1;
    for (size_t i = 1; i < (size_t)w * h; i++)
        distinct += px[i] != px[i - 1];
    free(px);
    free(prev);
    free(raw);
    free(idat);
    free(f);
    *width = w;
    return distinct;
}

/* Well-formed enough: every start tag closed in order, one root element <svg>. */
static void svg_check(const char *path)
{
    size_t n;
    char *s = (char *)slurp(path, &n);
    char stack[64][64];
    int depth = 0, roots = 0;
    for (char *p = s; (p = strchr(p, '<'));) {
        if (!strncmp(p, "<!--", 4)) {
            char *e = strstr(p, "-->");
            assert_non_null(e);
            p = e + 3;
            continue;
        }
        if (!strncmp(p, "<![CDATA[", 9)) {
            char *e = strstr(p, "]]>");
            assert_non_null(e);
            p = e + 3;
            continue;
        }
        /* the end of the tag, skipping quoted attribute values */
        char *e = p + 1, q = 0;
        for (; *e && (q || *e != '>'); e++)
            if (q ? *e == q : (*e == '"' || *e == '\''))
                q = q ? 0 : *e;
        assert_int_equal(*e, '>');
        if (p[1] == '?' || p[1] == '!') {
            p = e + 1;
            continue;
        }
        int closing = p[1] == '/', empty = e[-1] == '/';
        char name[64];
        size_t k = strcspn(p + 1 + closing, " \t\r\n/>");
        assert_true(k > 0 && k < sizeof name);
        memcpy(name, p + 1 + closing, k);
        name[k] = '\0';
        if (closing) {
            assert_true(depth > 0);
            if (strcmp(stack[depth - 1], name))
                fail_msg("%s: </%s> closes <%s>", path, name, stack[depth - 1]);
            depth--;
        } else if (!empty) {
            if (!depth) {
                roots++;
                assert_string_equal(name, "svg");
            }
            assert_true(depth < 64);
            strcpy(stack[depth++], name);
        } else if (!depth)
            roots++;
        p = e + 1;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
    free(s);
}

static int exists(const char *dir, const char *name, const char *ext)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s%s", dir, name, ext);
    return access(p, F_OK) == 0;
}

/* Every href/src of index.html names an existing local file (or an anchor of the page), and
 * every .png/.svg/.tsv/.gp of the report directory is linked. Returns the number of links. */
static int html_links(const char *rdir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/index.html", rdir);
    size_t n;
    char *html = (char *)slurp(p, &n);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "a&b<c>")); /* text from the inputs is escaped */
    assert_non_null(strstr(html, "a&amp;b&lt;c&gt;"));
    int links = 0;
    for (const char *a = html; (a = strstr(a, "=\"")); a += 2) {
        int href = a >= html + 4 && !strncmp(a - 4, "href", 4), src = a >= html + 3 && !strncmp(a - 3, "src", 3);
        if (!href && !src)
            continue;
        const char *v = a + 2, *e = strchr(v, '"');
        assert_non_null(e);
        char target[512];
        snprintf(target, sizeof target, "%.*s", (int)(e - v), v);
        if (target[0] == '#') {
            char id[520];
            snprintf(id, sizeof id, "id=\"%s\"", target + 1);
            if (!strstr(html, id))
                fail_msg("index.html: anchor %s has no target", target);
            continue;
        }
        if (strstr(target, "://") || target[0] == '/')
            fail_msg("index.html: non-relative link %s", target);
        snprintf(p, sizeof p, "%s/%s", rdir, target);
        if (access(p, F_OK) != 0)
            fail_msg("index.html: broken link %s", target);
        links++;
    }
    DIR *d = opendir(rdir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        const char *dot = strrchr(e->d_name, '.');
        if (strstr(e->d_name, ".tmp"))
            fail_msg("%s: temporary file %s left behind", rdir, e->d_name);
        if (!dot || (strcmp(dot, ".png") && strcmp(dot, ".svg") && strcmp(dot, ".tsv") && strcmp(dot, ".gp")))
            continue;
        char want[600];
        snprintf(want, sizeof want, "\"%s\"", e->d_name);
        if (!strstr(html, want))
            fail_msg("index.html does not link %s", e->d_name);
    }
    closedir(d);
    free(html);
    return links;
}

static int have_gnuplot(void)
{
    char p[4096];
    return mli_gp_find(p, sizeof p);
}

static void check_rendered(const char *rdir, const char *name)
{
    char p[1024];
    assert_true(exists(rdir, name, ".tsv"));
    assert_true(exists(rdir, name, ".gp"));
    snprintf(p, sizeof p, "%s/%s.png", rdir, name);
    uint32_t w;
    int colours = png_colours(p, &w);
    if (w < 640 || colours < 3)
        fail_msg("%s: width %u, %d distinct colours", p, w, colours);
    snprintf(p, sizeof p, "%s/%s.svg", rdir, name);
    svg_check(p);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_full_report(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = fixture("report-full", 1, 0);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    int rc = mli_report_run(dir);
    if (rc)
        fail_msg("mli_report_run: %s", mli_errmsg());
    for (int i = 0; i < NFIG; i++)
        check_rendered(rdir, all_figs[i]);
    assert_true(exists(rdir, "geometry_alpha_quantiles", ".tsv"));
    assert_true(html_links(rdir) >= 4 * NFIG);
}

static void test_cross_entropy_certificates(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = fixture("report-ce", 1, 1);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    int rc = mli_report_run(dir);
    if (rc)
        fail_msg("mli_report_run: %s", mli_errmsg());
    check_rendered(rdir, "certificates");
    html_links(rdir);
    char p[700];
    snprintf(p, sizeof p, "%s/index.html", rdir);
    size_t n;
    char *html = (char *)slurp(p, &n);
    assert_non_null(strstr(html, "not applicable (cross-entropy)"));
    free(html);
}

static void test_mandatory_only(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = fixture("report-min", 0, 0);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    int rc = mli_report_run(dir);
    if (rc)
        fail_msg("mli_report_run: %s", mli_errmsg());
    static const char *const present[] = {"loss_alpha", "acc_alpha", "train_curves"};
    for (int i = 0; i < 3; i++)
        check_rendered(rdir, present[i]);
    static const char *const absent[] = {"dloss_alpha", "geometry_alpha", "gauss_hist", "certificates", "hessian"};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            assert_false(exists(rdir, absent[i], (const char *[]){".tsv", ".gp", ".png", ".svg"}[k]));
    html_links(rdir);
}

/* Drawing again after the data of a figure went away removes that figure's files. */
static void test_rerun_removes_stale_figures(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    const char *dir = fixture("report-rerun", 1, 0);
    char rdir[600], p[700];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    assert_int_equal(mli_report_run(dir), MLI_OK);
    assert_true(exists(rdir, "gauss_hist", ".png"));
    snprintf(p, sizeof p, "%s/examples.tsv", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/geometry_quantiles.tsv", dir);
    unlink(p);
    assert_int_equal(mli_report_run(dir), MLI_OK);
    assert_false(exists(rdir, "gauss_hist", ".png"));
    assert_false(exists(rdir, "gauss_hist", ".tsv"));
    assert_false(exists(rdir, "geometry_alpha_quantiles", ".tsv"));
    assert_true(exists(rdir, "geometry_alpha", ".png"));
    html_links(rdir);
}

static void test_malformed_tsv(void **state)
{
    (void)state;
    const char *dir = fixture("report-badtsv", 0, 0);
    put(dir, "interp.tsv", "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\n"
                           "0\t2.3\t0.1\t2.3\t0.1\n0.5\t1\t0.5\t1\t0.5\n1\tabc\t0.9\t0.1\t0.9\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "interp.tsv:4"));
    assert_non_null(strstr(mli_errmsg(), "train_loss"));
    assert_false(exists(dir, "report", "")); /* nothing written */

    put(dir, "interp.tsv", "alpha\ttrain_loss\n0\t1\t2\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "interp.tsv:2"));
    put(dir, "interp.tsv", "train_loss\n1\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "alpha"));
}

static void test_malformed_json(void **state)
{
    (void)state;
    const char *dir = fixture("report-badjson", 0, 0);
    put(dir, "geometry.json", "{\"delta\": 0.1,\n \"bumps\": [\n oops ]}\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "geometry.json:3"));
    put(dir, "geometry.json", "{\"delta\": \"big\"}\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "delta"));
    put(dir, "geometry.json", "{\"hessian\": {\"alphas\": [0, 1], \"top_eigenvalues\": [[1]]}}\n");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "top_eigenvalues"));
    put(dir, "config.json", "[1, 2]");
    assert_int_equal(mli_report_run(dir), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "config.json"));
}

static void test_not_a_run(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("report-sweep");
    char p[700];
    assert_int_equal(mli_report_run(dir), MLI_EINPUT); /* empty: not a run */
    assert_non_null(strstr(mli_errmsg(), "config.json"));
    snprintf(p, sizeof p, "%s/run1", dir);
    mli_mkdirs(p);
    fixture_config(p, "ce");
    assert_int_equal(mli_report_run(dir), MLI_EUSAGE); /* a sweep */
    assert_non_null(strstr(mli_errmsg(), "sweep"));
    snprintf(p, sizeof p, "%s/nonexistent", dir);
    assert_int_equal(mli_report_run(p), MLI_EINPUT);
}

/* Only config.json and train.tsv (a run not analysed yet): the training curves alone. */
static void test_train_only(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("report-trainonly");
    fixture_config(dir, "ce");
    fixture_train(dir);
    char old[8192];
    snprintf(old, sizeof old, "%s", getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", dir, 1); /* no gnuplot here */
    int rc = mli_report_run(dir);
    setenv("PATH", old, 1);
    assert_int_equal(rc, MLI_EFAIL);
    assert_non_null(strstr(mli_errmsg(), "gnuplot not found"));
    assert_non_null(strstr(mli_errmsg(), "gnuplot *.gp"));
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    assert_true(exists(rdir, "train_curves", ".gp"));
    assert_true(exists(rdir, "train_curves", ".tsv"));
    assert_false(exists(rdir, "train_curves", ".png"));
    assert_false(exists(rdir, "loss_alpha", ".gp"));
    html_links(rdir);
}

static void test_gnuplot_missing(void **state)
{
    (void)state;
    const char *dir = fixture("report-nognuplot", 1, 0);
    char old[8192];
    snprintf(old, sizeof old, "%s", getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", "/nonexistent-mli-dir", 1);
    int rc = mli_report_run(dir);
    setenv("PATH", old, 1);
    assert_int_equal(rc, MLI_EFAIL);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    for (int i = 0; i < NFIG; i++) {
        assert_true(exists(rdir, all_figs[i], ".gp"));
        assert_true(exists(rdir, all_figs[i], ".tsv"));
        assert_false(exists(rdir, all_figs[i], ".png"));
    }
    assert_true(exists(rdir, "index", ".html"));
    html_links(rdir);
}

/* ---- incomplete images (issue 9: a full disk) ------------------------------------------- */

static void png_chunk(mli_buf *b, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char hdr[8] = {len >> 24, len >> 16 & 255, len >> 8 & 255, len & 255};
    memcpy(hdr + 4, type, 4);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), hdr + 4, 4);
    if (len)
        crc = (uint32_t)crc32(crc, data, len);
    unsigned char c[4] = {crc >> 24, crc >> 16 & 255, crc >> 8 & 255, crc & 255};
    size_t at = b->len;
    mli_buf_printf(b, "%*s", (int)(12 + len), "");
    memcpy(b->s + at, hdr, 8);
    if (len)
        memcpy(b->s + at + 8, data, len);
    memcpy(b->s + at + 8 + len, c, 4);
}

/* A whole PNG: a 2x2 RGB image. */
static void tiny_png(mli_buf *b)
{
    mli_buf_printf(b, "%*s", 8, "");
    memcpy(b->s, "\x89PNG\r\n\x1a\n", 8);
    const unsigned char ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0};
    png_chunk(b, "IHDR", ihdr, 13);
    unsigned char raw[14] = {0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 9, 9, 9}, z[64];
    uLongf zn = sizeof z;
    assert_int_equal(compress(z, &zn, raw, sizeof raw), Z_OK);
    png_chunk(b, "IDAT", z, (uint32_t)zn);
    png_chunk(b, "IEND", NULL, 0);
}

static const char whole_svg[] = "<?xml version=\"1.0\" encoding=\"utf-8\"  standalone=\"no\"?>\n"
                                "<svg width=\"960\" height=\"600\">\n<g><path d=\"M1,1 L2,2\"/></g>\n</svg>\n\n";

/* The validators, handed whole and cut images: every cut is refused, with a reason. */
static void test_image_validators(void **state)
{
    (void)state;
    mli_buf png = {0};
    tiny_png(&png);
    char why[256];
    const unsigned char *p = (const unsigned char *)png.s;
    if (mli_gp_check_png(p, png.len, why, sizeof why))
        fail_msg("a whole PNG refused: %s", why);
    for (size_t n = 0; n < png.len; n++) {
        why[0] = '\0';
        if (mli_gp_check_png(p, n, why, sizeof why) != MLI_EFAIL || !why[0])
            fail_msg("a PNG cut at %zu of %zu bytes accepted", n, png.len);
    }
    assert_int_equal(mli_gp_check_png(p, 8 + 12 + 13, why, sizeof why), MLI_EFAIL); /* IHDR only */
    assert_non_null(strstr(why, "no IEND"));
    /* the lengths must add up to the file: a PNG with bytes after IEND, or a chunk longer
     * than the file, or a corrupted byte */
    mli_buf longer = {0};
    mli_buf_printf(&longer, "%*s", (int)png.len + 3, "");
    memcpy(longer.s, png.s, png.len);
    assert_int_equal(mli_gp_check_png((unsigned char *)longer.s, longer.len, why, sizeof why), MLI_EFAIL);
    assert_non_null(strstr(why, "after the IEND"));
    longer.s[8 + 12 + 13 + 3] ^= 0x40; /* the IDAT length */
    assert_int_equal(mli_gp_check_png((unsigned char *)longer.s, png.len, why, sizeof why), MLI_EFAIL);
    memcpy(longer.s, png.s, png.len);
    longer.s[8 + 12 + 13 + 8] ^= 1; /* the first byte of the IDAT data */
    assert_int_equal(mli_gp_check_png((unsigned char *)longer.s, png.len, why, sizeof why), MLI_EFAIL);
    assert_non_null(strstr(why, "CRC"));
    assert_int_equal(mli_gp_check_png((const unsigned char *)"GIF89a..........", 16, why, sizeof why), MLI_EFAIL);
    mli_buf_free(&longer);
    mli_buf_free(&png);

    size_t n = strlen(whole_svg);
    const unsigned char *v = (const unsigned char *)whole_svg;
    if (mli_gp_check_svg(v, n, why, sizeof why))
        fail_msg("a whole SVG refused: %s", why);
    for (size_t k = 0; k < n - 2; k++) /* cut anywhere before its closing tag and newlines */
        if (mli_gp_check_svg(v, k, why, sizeof why) != MLI_EFAIL)
            fail_msg("an SVG cut at %zu of %zu bytes accepted", k, n);
    assert_int_equal(mli_gp_check_svg(v, 0, why, sizeof why), MLI_EFAIL);
    assert_non_null(strstr(why, "empty"));
    assert_int_equal(mli_gp_check_svg((const unsigned char *)"\n\n", 2, why, sizeof why), MLI_EFAIL);
}

/* A stand-in for gnuplot that does what gnuplot does on a full disk: exits 0 after writing
 * the images given to it here (bin/out.png, bin/out.svg) under the names mli asked for. */
static const char *fake_gnuplot(const mli_buf *png, const char *svg)
{
    static char bin[PATH_MAX + 32];
    if (!realpath(tu_tmpdir("fake-gnuplot"), bin)) /* gnuplot runs from the report directory */
        fail_msg("realpath: %s", strerror(errno));
    char p[700];
    snprintf(p, sizeof p, "%s/gnuplot", bin);
    const char *script = "#!/bin/sh\n"
                         "# mli runs: gnuplot -e \"mli_output='STEM'\" NAME.gp\n"
                         "stem=$(printf '%s' \"$2\" | sed \"s/^mli_output='\\(.*\\)'$/\\1/\")\n"
                         "bin=$(dirname \"$0\")\n"
                         "cp \"$bin/out.png\" \"$stem.png\" && cp \"$bin/out.svg\" \"$stem.svg\"\n"
                         "exit 0\n";
    tu_write_file(p, script, strlen(script));
    chmod(p, 0755);
    snprintf(p, sizeof p, "%s/out.png", bin);
    tu_write_file(p, png->s, png->len);
    snprintf(p, sizeof p, "%s/out.svg", bin);
    tu_write_file(p, svg, strlen(svg));
    strcat(bin, ":/usr/bin:/bin"); /* the PATH: the stand-in first, then the tools it uses */
    return bin;
}

static int report_with_path(const char *dir, const char *path)
{
    char old[8192];
    snprintf(old, sizeof old, "%s", getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", path, 1);
    int rc = mli_report_run(dir);
    setenv("PATH", old, 1);
    return rc;
}

/* gnuplot exits 0 on a failed write: a cut PNG or an empty SVG must not be put in place, nor
 * linked from index.html; the report fails naming the figure file and the cause. */
static void test_incomplete_images_not_in_place(void **state)
{
    (void)state;
    mli_buf png = {0}, cut = {0};
    tiny_png(&png);
    mli_buf_printf(&cut, "%*s", (int)png.len - 20, "");
    memcpy(cut.s, png.s, cut.len);
    static const struct {
        int cut_png;
        const char *svg, *expect;
    } cases[] = {
        {1, whole_svg, "loss_alpha.png: gnuplot wrote an incomplete PNG"},
        {0, "", "loss_alpha.svg: gnuplot wrote an incomplete SVG (empty file)"},
        {0, "<?xml version=\"1.0\"?>\n<svg width=\"960\">\n<g>\n", "loss_alpha.svg: gnuplot wrote an incomplete SVG"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *bin = fake_gnuplot(cases[c].cut_png ? &cut : &png, cases[c].svg);
        const char *dir = fixture("report-incomplete", 1, 0);
        char rdir[600];
        snprintf(rdir, sizeof rdir, "%s/report", dir);
        int rc = report_with_path(dir, bin);
        const char *m = mli_errmsg();
        if (rc != MLI_EFAIL || !strstr(m, cases[c].expect) || !strstr(m, rdir))
            fail_msg("case %zu: status %d, message \"%s\"; expected 1 and \"%s\"", c, rc, m, cases[c].expect);
        for (int i = 0; i < NFIG; i++) {
            if (exists(rdir, all_figs[i], ".png") || exists(rdir, all_figs[i], ".svg"))
                fail_msg("case %zu: an image of %s is in place", c, all_figs[i]);
            assert_true(exists(rdir, all_figs[i], ".gp"));
        }
        html_links(rdir); /* links only what is there, no temporary file left */
        char p[700];
        snprintf(p, sizeof p, "%s/index.html", rdir);
        size_t n;
        char *html = (char *)slurp(p, &n);
        assert_non_null(strstr(html, "Not rendered (loss_alpha."));
        free(html);
    }
    /* the same stand-in writing whole images: in place, linked */
    const char *bin = fake_gnuplot(&png, whole_svg);
    const char *dir = fixture("report-whole", 1, 0);
    char rdir[600];
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    if (report_with_path(dir, bin))
        fail_msg("whole images refused: %s", mli_errmsg());
    for (int i = 0; i < NFIG; i++)
        assert_true(exists(rdir, all_figs[i], ".png") && exists(rdir, all_figs[i], ".svg"));
    html_links(rdir);
    mli_buf_free(&png);
    mli_buf_free(&cut);
}

static void test_gp_quote(void **state)
{
    (void)state;
    mli_buf b = {0};
    mli_gp_quote(&b, "a_b^c \"q\" {x}\\");
    assert_string_equal(b.s, "a\\\\_b\\\\^c \\\"q\\\" \\\\{x\\\\}\\\\");
    mli_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report),
        cmocka_unit_test(test_cross_entropy_certificates),
        cmocka_unit_test(test_mandatory_only),
        cmocka_unit_test(test_rerun_removes_stale_figures),
        cmocka_unit_test(test_malformed_tsv),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_not_a_run),
        cmocka_unit_test(test_train_only),
        cmocka_unit_test(test_gnuplot_missing),
        cmocka_unit_test(test_gp_quote),
        cmocka_unit_test(test_image_validators),
        cmocka_unit_test(test_incomplete_images_not_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
