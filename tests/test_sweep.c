/* mli sweep: grid files (good and bad), stable run ids, the job list and the SLURM script
 * against golden text. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "sweep/grid.h"
#include "sweep/sweep.h"

static int parse(mli_grid *g, const char *text) { return mli_grid_parse(g, "GRID", text, strlen(text)); }

/* Parse and expand; the runs stay with the caller. */
static mli_grid_run *expand(mli_grid *g, const char *text, int *n)
{
    assert_int_equal(parse(g, text), MLI_OK);
    mli_grid_run *runs;
    int rc = mli_grid_expand(g, &runs, n);
    if (rc)
        fail_msg("expand: %s", mli_errmsg());
    return runs;
}

/* ---- good grids ----------------------------------------------------------------------- */

static const char *GOOD = "# learning rates x batch norm\n"
                          "\n"
                          "lr = 1.0 | 0.1|0.01   # three\n"
                          "  use_batchnorm=false | true\n"
                          "hsizes = 1024,1024,10 | 1024,512,10\n"
                          "epochs = 3\n"
                          "analyze.examples = 20\n"
                          "analyze.certificates = true | false\n"
                          "analyze.bn_stats = exact\n";

static void test_good_grid_lines(void **state)
{
    (void)state;
    mli_grid g;
    assert_int_equal(parse(&g, GOOD), MLI_OK);
    assert_int_equal(g.nlines, 7);
    assert_int_equal(g.nruns, 3 * 2 * 2 * 2);
    assert_string_equal(g.lines[0].key, "lr");
    assert_int_equal(g.lines[0].lineno, 3);
    assert_int_equal(g.lines[0].n, 3);
    assert_string_equal(g.lines[0].alts[1], "0.1");
    assert_string_equal(g.lines[0].alts[2], "0.01");
    assert_string_equal(g.lines[1].key, "use_batchnorm");
    assert_string_equal(g.lines[2].alts[1], "1024,512,10");
    assert_int_equal(g.lines[3].n, 1);
    assert_true(g.lines[4].analysis);
    assert_false(g.lines[0].analysis);
    assert_int_equal(g.len, strlen(GOOD));
    assert_memory_equal(g.text, GOOD, g.len);
    mli_grid_free(&g);
}

static void test_good_grid_product(void **state)
{
    (void)state;
    mli_grid g;
    int n;
    mli_grid_run *r = expand(&g, GOOD, &n);
    assert_int_equal(n, 24);
    /* first line slowest, last fastest */
    assert_true(r[0].cfg.lr == 1.0 && !r[0].cfg.use_batchnorm && r[0].cfg.hsizes[1] == 1024);
    assert_int_equal(r[0].an.certificates, 1);
    assert_int_equal(r[1].an.certificates, 0);
    assert_int_equal(r[2].cfg.hsizes[1], 512);
    assert_int_equal(r[4].cfg.use_batchnorm, 1);
    assert_true(r[8].cfg.lr == 0.1);
    assert_true(r[23].cfg.lr == 0.01 && r[23].cfg.use_batchnorm && r[23].cfg.hsizes[1] == 512);
    for (int i = 0; i < n; i++) {
        assert_int_equal(r[i].index, i);
        assert_int_equal(r[i].cfg.epochs, 3);
        assert_int_equal(r[i].an.n_examples, 20);
        assert_int_equal(r[i].an.bn_stats, MLI_BN_EXACT);
        assert_int_equal(strlen(r[i].id), 12);
        for (int k = 0; k < i; k++)
            assert_string_not_equal(r[i].id, r[k].id);
    }
    /* varying training keys, fixed training keys, varying analysis, fixed analysis */
    mli_buf b = {0};
    mli_grid_run_pairs(&g, &r[5], ' ', &b);
    assert_string_equal(b.s, "lr=1.0 use_batchnorm=true hsizes=1024,1024,10 epochs=3 analyze.certificates=false "
                             "analyze.examples=20 analyze.bn_stats=exact");
    mli_buf_free(&b);
    mli_grid_runs_free(r, n);
    mli_grid_free(&g);
}

static void test_words(void **state)
{
    (void)state;
    mli_grid g;
    int n;
    mli_grid_run *r = expand(&g,
                             "lr = 0.1\nanalyze.certificates = false\nanalyze.train_derivs = false | true\n"
                             "analyze.verify_steps = 20\nanalyze.alpha_steps = 11\nanalyze.bn_stats = ema\n",
                             &n);
    assert_int_equal(n, 2);
    char *w[32];
    int nw = 0;
    mli_grid_train_words(&g, &r[0], w, &nw, 32);
    assert_int_equal(nw, 1);
    assert_string_equal(w[0], "lr=0.1");
    mli_grid_analyze_words(&g, &r[0], w, &nw, 32);
    const char *want[] = {"lr=0.1",    "--no-certificates", "--no-train-derivs", "--verify-steps",
                          "20",        "--alpha-steps",     "11",                "--bn-stats",
                          "ema"};
    assert_int_equal(nw, 9);
    for (int i = 0; i < nw; i++) {
        assert_string_equal(w[i], want[i]);
        free(w[i]);
    }
    nw = 0;
    mli_grid_analyze_words(&g, &r[1], w, &nw, 32); /* train_derivs true: the default, no option */
    assert_int_equal(nw, 7);
    for (int i = 0; i < nw; i++)
        free(w[i]);
    mli_grid_runs_free(r, n);
    mli_grid_free(&g);
}

/* ---- bad grids: MLI_EUSAGE naming the line -------------------------------------------- */

static void test_bad_grids(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"lr = 0.1\nepochs 3\n", "GRID:2:", "key = value"},                      /* no '=' */
        {"# c\nlr = 0.1\nnosuch = 1\n", "GRID:3:", "unknown key 'nosuch'"},      /* unknown key */
        {"lr = 0.1 | abc\n", "GRID:1:", "lr: 'abc' is not a number"},            /* bad value */
        {"\nlr = 0.1 | | 0.01\n", "GRID:2:", "alternative 2 of 3 is empty"},     /* empty alternative */
        {"lr = 0.1 |\n", "GRID:1:", "alternative 2 of 2 is empty"},              /* trailing bar */
        {"lr = \n", "GRID:1:", "alternative 1 of 1 is empty"},                    /* no value */
        {"lr = 0.1\nepochs = 2\nlr = 0.2\n", "GRID:3:", "repeated (first given on line 1)"},
        {"  = 0.1\n", "GRID:1:", "no key"},                                        /* empty key */
        {"analyze.foo = 1\n", "GRID:1:", "unknown analysis key 'analyze.foo'"},
        {"lr = 0.1\nanalyze.certificates = maybe\n", "GRID:2:", "analyze.certificates: 'maybe'"},
        {"analyze.bn_stats = ema | batch\n", "GRID:1:", "'batch' is not ema or exact"},
        {"analyze.examples = -3\n", "GRID:1:", "analyze.examples: '-3' is not an integer"},
        {"hsizes = 16,,10\n", "GRID:1:", "hsizes:"},
        {"use_batchnorm = yes\n", "GRID:1:", "use_batchnorm: 'yes' is not true or false"},
        {"lr = 0.1 | 0.1\n", "GRID:1:", "'0.1' given twice"},
        {"dset_name = fashion mnist\n", "GRID:1:", "contains a space"},
        {"lr = 0.1\n\n\noptim_name = sgd | rmsprop\n", "GRID:4:", "optim_name: 'rmsprop'"},
        {"seed = 0|1|2|3|4|5|6|7|8|9\nlr=1|2|3|4|5|6|7|8|9|10\nepochs=1|2|3|4|5|6|7|8|9|10\n"
         "beta=0|0.1|0.2|0.3|0.4|0.5|0.6|0.7|0.8|0.9\nbatchsize=1|2|3|4|5|6|7|8|9|10|11\n",
         "GRID:5:", "more than 100000 runs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mli_grid g;
        int rc = parse(&g, bad[i].text);
        if (rc != MLI_EUSAGE || !strstr(mli_errmsg(), bad[i].where) || !strstr(mli_errmsg(), bad[i].what))
            fail_msg("bad grid %zu: status %d, message '%s' (expected '%s' ... '%s')", i, rc, mli_errmsg(),
                     bad[i].where, bad[i].what);
        mli_grid_free(&g);
    }
}

static void test_bad_grid_files(void **state)
{
    (void)state;
    mli_grid g;
    assert_int_equal(parse(&g, "# only a comment\n\n"), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "no 'key = value"));
    mli_grid_free(&g);
    assert_int_equal(mli_grid_parse(&g, "GRID", "lr = 0.1\0", 9), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "NUL"));
    mli_grid_free(&g);
    assert_int_equal(mli_grid_load(&g, "/nonexistent/grid"), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "/nonexistent/grid"));
    mli_grid_free(&g);
}

static void test_bad_runs(void **state)
{
    (void)state;
    mli_grid g;
    mli_grid_run *r;
    int n;
    /* a run that fails the cross-key check is named with its keys */
    assert_int_equal(parse(&g, "hsizes = 16,10 | 16,1\nloss_fn = ce\n"), MLI_OK);
    assert_int_equal(mli_grid_expand(&g, &r, &n), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "GRID: run 1 (hsizes=16,1 loss_fn=ce)"));
    assert_null(r);
    mli_grid_free(&g);
    /* two spellings of one value: the same configuration twice */
    assert_int_equal(parse(&g, "lr = 0.1 | 0.10\n"), MLI_OK);
    assert_int_equal(mli_grid_expand(&g, &r, &n), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "runs 0 and 1 have the same configuration"));
    mli_grid_free(&g);
    /* a real collision of the 48-bit ids (found by a birthday search over the seeds): loud */
    assert_int_equal(parse(&g, "seed = 7 | 1072249 | 12152594\n"), MLI_OK);
    assert_int_equal(mli_grid_expand(&g, &r, &n), MLI_EFAIL);
    assert_non_null(strstr(mli_errmsg(), "hash collision: runs 1 and 2 have different configurations"));
    mli_grid_free(&g);
}

/* ---- ids ------------------------------------------------------------------------------ */

static void test_fnv(void **state)
{
    (void)state;
    assert_true(mli_fnv1a64("", 0) == 0xcbf29ce484222325ull);
    assert_true(mli_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(mli_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
}

static void id_of(const char *text, char id[13])
{
    mli_grid g;
    int n;
    mli_grid_run *r = expand(&g, text, &n);
    assert_int_equal(n, 1);
    strcpy(id, r[0].id);
    mli_grid_runs_free(r, n);
    mli_grid_free(&g);
}

static void test_ids(void **state)
{
    (void)state;
    char a[13], b[13], c[13], d[13], e[13];
    id_of("lr = 0.01\nhsizes = 64,10\nuse_batchnorm = true\nanalyze.examples = 20\n", a);
    id_of("# another order\nanalyze.examples=20\nuse_batchnorm=true\nhsizes = 64,10\nlr=0.01\n", b);
    assert_string_equal(a, b);
    id_of("lr = 0.02\nhsizes = 64,10\nuse_batchnorm = true\nanalyze.examples = 20\n", c);
    assert_string_not_equal(a, c);
    /* ids are of the resolved configuration: a default written out changes nothing */
    id_of("lr = 0.01\nhsizes = 64,10\nuse_batchnorm = true\nanalyze.examples = 20\nseed = 0\n"
          "analyze.bn_stats = ema\nanalyze.train_derivs = true\nanalyze.certificates = false\n",
          d);
    assert_string_equal(a, d);
    id_of("lr = 0.01\nhsizes = 64,10\nuse_batchnorm = true\nanalyze.examples = 21\n", e);
    assert_string_not_equal(a, e);
    /* golden (computed independently, in Python, from the canonical text of the defaults):
     * a change of the canonical text or of the hash shows here (and moves every run
     * directory of existing sweeps: change it only on purpose) */
    char g[13];
    id_of("lr = 0.1\n", g);
    assert_string_equal(g, "0a9304dcba75");
}

static void test_canonical_text(void **state)
{
    (void)state;
    mli_config c;
    mli_config_default(&c);
    mli_analyze_opts o;
    mli_analyze_opts_default(&o);
    char *t = mli_grid_canonical(&c, &o);
    assert_non_null(strstr(t, "{\"dset_name\":\"fashionmnist\",\"datasize\":60000,"));
    assert_non_null(strstr(t, "\"lr\":0.1,"));
    assert_non_null(strstr(t, "}\nanalyze.alpha_steps=50\nanalyze.bn_stats=ema\nanalyze.certificates=false\n"
                              "analyze.examples=all\nanalyze.train_derivs=true\nanalyze.verify_steps=1000\n"));
    free(t);
    c.loss_fn = MLI_LOSS_MSE; /* certificates: auto resolves to on for mse */
    t = mli_grid_canonical(&c, &o);
    assert_non_null(strstr(t, "analyze.certificates=true\n"));
    free(t);
}

/* ---- golden text: jobs.txt, sweep.json, slurm.sbatch ---------------------------------- */

static const char *SMALL = "lr = 0.1 | 0.01\nuse_batchnorm = false | true\ndatasize = 500\n"
                           "analyze.examples = 20\n";

static void test_jobs_text(void **state)
{
    (void)state;
    mli_grid g;
    int n;
    mli_grid_run *r = expand(&g, SMALL, &n);
    mli_buf b = {0};
    mli_sweep_jobs_text(&g, r, n, &b);
    char want[1024];
    snprintf(want, sizeof want,
             "0\t%s\tlr=0.1 use_batchnorm=false datasize=500 analyze.examples=20\n"
             "1\t%s\tlr=0.1 use_batchnorm=true datasize=500 analyze.examples=20\n"
             "2\t%s\tlr=0.01 use_batchnorm=false datasize=500 analyze.examples=20\n"
             "3\t%s\tlr=0.01 use_batchnorm=true datasize=500 analyze.examples=20\n",
             r[0].id, r[1].id, r[2].id, r[3].id);
    assert_string_equal(b.s, want);
    mli_buf_free(&b);

    cJSON *j = mli_sweep_json(&g, r, n);
    char *text = cJSON_PrintUnformatted(j);
    snprintf(want, sizeof want,
             "{\"mli_version\":\"0.1.0\",\"grid\":\"grid.txt\",\"n_runs\":4,\"varying\":[\"lr\",\"use_batchnorm\"],"
             "\"fixed\":{\"datasize\":500,\"analyze.examples\":20},\"runs\":["
             "{\"index\":0,\"id\":\"%s\",\"keys\":{\"lr\":0.1,\"use_batchnorm\":false},\"path\":\"runs/%s\"},",
             r[0].id, r[0].id);
    assert_memory_equal(text, want, strlen(want));
    free(text);
    cJSON_Delete(j);
    mli_grid_runs_free(r, n);
    mli_grid_free(&g);
}

static void test_sbatch_text(void **state)
{
    (void)state;
    mli_slurm_opts s = {.partition = "short", .time = "01:30:00", .mem = "2G", .cpus = 4, .max_parallel = 2};
    assert_int_equal(mli_slurm_check(&s), MLI_OK);
    mli_buf b = {0};
    const char *EXE = "/opt/mli/bin/mli", *DIR = "/data/sweeps/s1";
    mli_slurm_script(&s, 4, EXE, DIR, "/home/u", NULL, &b);
    const char *golden = "#!/bin/bash\n"
                         "# mli sweep: 4 runs as a SLURM job array, written by `mli sweep --slurm`.\n"
                         "# Submit with `sbatch @DIR/slurm.sbatch`. Array task K trains and analyses run K of\n"
                         "# @DIR/jobs.txt into @DIR/runs/<id>/; a task run again skips a finished run\n"
                         "# and resumes an unfinished one.\n"
                         "#SBATCH --job-name=mli-sweep\n"
                         "#SBATCH --array=0-3%2\n"
                         "#SBATCH --partition=short\n"
                         "#SBATCH --time=01:30:00\n"
                         "#SBATCH --mem=2G\n"
                         "#SBATCH --cpus-per-task=4\n"
                         "#SBATCH --chdir=/home/u\n"
                         "#SBATCH --output=@DIR/slurm-%A_%a.out\n"
                         "exec @EXE sweep @DIR/grid.txt --out @DIR --task \"$SLURM_ARRAY_TASK_ID\" "
                         "--threads \"${SLURM_CPUS_PER_TASK:-1}\"\n";
    /* substitute the binary and the sweep directory into the golden text */
    mli_buf want = {0};
    for (const char *p = golden; *p; p++) {
        if (!strncmp(p, "@DIR", 4)) {
            mli_buf_printf(&want, "%s", DIR);
            p += 3;
        } else if (!strncmp(p, "@EXE", 4)) {
            mli_buf_printf(&want, "%s", EXE);
            p += 3;
        } else
            mli_buf_printf(&want, "%c", *p);
    }
    assert_string_equal(b.s, want.s);
    mli_buf_free(&b);
    mli_buf_free(&want);
    /* defaults, and --data-dir passed on */
    mli_slurm_opts d = {0};
    mli_slurm_script(&d, 3, EXE, DIR, "/home/u", "/data/fm", &b);
    assert_non_null(strstr(b.s, "#SBATCH --array=0-2%3\n#SBATCH --time=04:00:00\n#SBATCH --mem=4G\n"
                                "#SBATCH --cpus-per-task=1\n"));
    assert_null(strstr(b.s, "--partition"));
    assert_non_null(strstr(b.s, "--threads \"${SLURM_CPUS_PER_TASK:-1}\" --data-dir /data/fm\n"));
    mli_buf_free(&b);
}

static void test_slurm_check(void **state)
{
    (void)state;
    mli_slurm_opts s = {.time = "1 day"};
    assert_int_equal(mli_slurm_check(&s), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "--time"));
    s = (mli_slurm_opts){.mem = "4GB"};
    assert_int_equal(mli_slurm_check(&s), MLI_EUSAGE);
    s = (mli_slurm_opts){.partition = "a b"};
    assert_int_equal(mli_slurm_check(&s), MLI_EUSAGE);
    s = (mli_slurm_opts){.time = "2-00:00:00", .mem = "500M", .partition = "gpu-long"};
    assert_int_equal(mli_slurm_check(&s), MLI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_grid_lines), cmocka_unit_test(test_good_grid_product),
        cmocka_unit_test(test_words),           cmocka_unit_test(test_bad_grids),
        cmocka_unit_test(test_bad_grid_files),  cmocka_unit_test(test_bad_runs),
        cmocka_unit_test(test_fnv),             cmocka_unit_test(test_ids),
        cmocka_unit_test(test_canonical_text),  cmocka_unit_test(test_jobs_text),
        cmocka_unit_test(test_sbatch_text),     cmocka_unit_test(test_slurm_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
