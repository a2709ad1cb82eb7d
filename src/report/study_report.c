/* mli report STUDY_DIR: the parts of a study (sweep directories), the paper's claims set
 * beside what they measured, with verdicts computed by the rules below, and one page.
 *
 * Each claim is a function that reads the parts of its role and fills a claim: the measured
 * text (plain text, numbers with counts: it also goes into claims.tsv) and the verdict. The
 * rule of each verdict is a string shown on the page, written next to the code that applies
 * it, so that the two are read together. */
#include "report/study_report.h"

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
#include "report/html.h"
#include "report/sweep_report.h"
#include "report/sweep_table.h"

enum { MAX_PARTS = 64, NCLAIM = 7, MAX_STUDY_FIG = 2 * MLI_SWEEP_MAX_FIG + 4 };

typedef enum { ROLE_OTHER, ROLE_ARCH, ROLE_OUTR, ROLE_OPTIM, ROLE_MSE, ROLE_AE } role;

/* The certificates of an mse/recon run (geometry.json "certificates"): fractions of the
 * analysed examples certified by C1, C2, C12, the counterexamples of every condition, and
 * the fraction of examples whose Gauss length is below π/2. */
typedef struct {
    int has;
    double c1, c2, c12, frac_below;
    int counterexamples, n_examples;
} certs;

typedef struct {
    char name[256];
    role role;
    mli_table_sweep s;
    certs *cert; /* per run */
} part;

typedef enum { V_NONE, V_NOT, V_PARTLY, V_YES } verdict;
static const char *const verdict_name[] = {"not measured", "not reproduced", "partly reproduced", "reproduced"};

typedef struct {
    const char *title, *paper, *rule;
    mli_buf measured; /* plain text */
    verdict v;
} claim;

typedef struct {
    char dir[MLI_TABLE_PATH];      /* the study directory */
    char out[MLI_TABLE_PATH + 16]; /* STUDY/report */
    int np;
    part p[MAX_PARTS];
    mli_table_opts opts;
    claim c[NCLAIM];
    mli_gp_entry fig[MAX_STUDY_FIG];
    int nfig, have_gnuplot;
    char gnuplot[4096];
    mli_buf notes;
    int render_rc;
    char render_err[1024];
} study;

/* ------------------------------------------------------------------------------------------
 * The parts */

static role role_of(const char *name)
{
    static const struct {
        const char *prefix;
        role r;
    } roles[] = {{"arch", ROLE_ARCH}, {"outr", ROLE_OUTR}, {"optim", ROLE_OPTIM}, {"mse", ROLE_MSE}, {"ae", ROLE_AE}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strncmp(name, roles[i].prefix, strlen(roles[i].prefix)))
            return roles[i].r;
    return ROLE_OTHER;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The subdirectories of dir that are sweep directories, sorted by name (at most max). */
static int list_parts(const char *dir, char **names, int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= 200 || !strcmp(e->d_name, "report"))
            continue;
        char p[MLI_TABLE_PATH + 300];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (mli_is_dir(p) && mli_table_is_sweep(p))
            names[n++] = mli_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

int mli_study_is(const char *dir)
{
    if (!mli_is_dir(dir) || mli_exists_in(dir, "config.json") || mli_exists_in(dir, "sweep.json") || mli_exists_in(dir, "runs"))
        return 0;
    char *names[MAX_PARTS];
    int n = list_parts(dir, names, MAX_PARTS);
    for (int i = 0; i < n; i++)
        free(names[i]);
    return n > 0;
}

static const char *value(const mli_table_sweep *s, const mli_table_run *u, const char *key)
{
    for (int k = 0; k < s->nkey; k++)
        if (!strcmp(s->key[k], key))
            return u->val[k];
    return NULL;
}

static double num_value(const mli_table_sweep *s, const mli_table_run *u, const char *key)
{
    const char *v = value(s, u, key);
    return v ? strtod(v, NULL) : NAN;
}

static int jint(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    const cJSON *y = x ? cJSON_GetObjectItemCaseSensitive(x, b) : NULL;
    return cJSON_IsNumber(y) ? y->valueint : -1;
}

/* geometry.json's certificates, when the run has them. */
static int load_certs(const mli_table_run *u, certs *c)
{
    memset(c, 0, sizeof *c);
    if (!u->has_geometry)
        return MLI_OK;
    char path[MLI_TABLE_PATH + 32];
    snprintf(path, sizeof path, "%s/geometry.json", u->dir);
    cJSON *o;
    int rc = mli_json_read(path, &o);
    if (rc)
        return rc;
    const cJSON *ce = cJSON_GetObjectItemCaseSensitive(o, "certificates");
    const cJSON *gl = cJSON_GetObjectItemCaseSensitive(o, "gauss_length");
    const cJSON *fb = gl ? cJSON_GetObjectItemCaseSensitive(gl, "frac_below_half_pi") : NULL;
    if (cJSON_IsObject(ce)) {
        int n = jint(ce, "c12", "n_examples");
        if (n <= 0 || jint(ce, "c1", "certified") < 0 || jint(ce, "c2", "certified") < 0) {
            cJSON_Delete(o);
            return mli_err(MLI_EINPUT, "%s: certificates without c1, c2, c12 counts", path);
        }
        c->has = 1;
        c->n_examples = n;
        c->c1 = (double)jint(ce, "c1", "certified") / n;
        c->c2 = (double)jint(ce, "c2", "certified") / n;
        c->c12 = (double)jint(ce, "c12", "certified") / n;
        static const char *const cond[] = {"c0", "c1", "c2", "c12"};
        for (int k = 0; k < 4; k++) {
            int x = jint(ce, cond[k], "counterexamples");
            c->counterexamples += x > 0 ? x : 0;
        }
        c->frac_below = cJSON_IsNumber(fb) ? fb->valuedouble : NAN;
    }
    cJSON_Delete(o);
    return MLI_OK;
}

/* ------------------------------------------------------------------------------------------
 * Counting */

static int analysed(const mli_table_run *u) { return u->has_geometry && isfinite(u->delta); }

static int success(const study *st, const mli_table_run *u)
{
    return mli_table_classify(u, &st->opts) == MLI_TABLE_SUCCESS;
}

static int nonmono(const study *st, const mli_table_run *u) { return u->delta > st->opts.delta_threshold; }

static void frac_text(mli_buf *b, int k, int n)
{
    if (n)
        mli_buf_printf(b, "%d/%d (%.2f)", k, n, (double)k / n);
    else
        mli_buf_printf(b, "0/0");
}

/* A mean of n values, "n/a" of none. */
static void mean_text(mli_buf *b, double sum, int n)
{
    if (n)
        mli_buf_printf(b, "%.3g", sum / n);
    else
        mli_buf_printf(b, "n/a");
}

static void rho_text(mli_buf *b, double rho, int used)
{
    if (isfinite(rho))
        mli_buf_printf(b, "%.2f (%d runs)", rho, used);
    else
        mli_buf_printf(b, "undefined (%d runs)", used);
}

/* A group of runs: successful, non-monotone among them, and their mean normalized distance. */
typedef struct {
    int n, nm, excluded;
    double sum_dist, sum_delta_nm;
} group;

static void group_add(const study *st, group *g, const mli_table_run *u)
{
    if (!success(st, u)) {
        g->excluded += mli_table_classify(u, &st->opts) == MLI_TABLE_EXCLUDED;
        return;
    }
    g->n++;
    g->sum_dist += u->norm_wdist;
    if (nonmono(st, u)) {
        g->nm++;
        g->sum_delta_nm += u->delta;
    }
}

static double group_frac(const group *g) { return g->n ? (double)g->nm / g->n : NAN; }

/* ------------------------------------------------------------------------------------------
 * The claims. Each fills c->measured and c->v; V_NONE when its parts are missing. */

static void claim_arch(study *st, claim *c)
{
    c->title = "MLI is usual: networks trained with SGD without batch norm have a monotone path, across "
               "depths, widths and activations";
    c->paper = "In its grid of fully connected MNIST and FashionMNIST networks, nearly every run trained "
               "with SGD without batch norm that reaches the loss threshold is monotone (a small "
               "fraction non-monotone), for every depth, width and activation.";
    c->rule = "reproduced when at least 10 runs are successful, at most 10% of them are non-monotone, and "
              "in at least two thirds of the cells (activation × hsizes) most runs are successful; partly "
              "when at most 25% are non-monotone; not reproduced otherwise.";
    group all = {0};
    group by_act[3] = {{0}};
    static const char *const acts[] = {"relu", "tanh", "sigmoid"};
    int cells = 0, covered = 0, parts = 0;
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        if (p->role != ROLE_ARCH)
            continue;
        parts++;
        for (int i = 0; i < p->s.n; i++) {
            const mli_table_run *u = &p->s.run[i];
            group_add(st, &all, u);
            const char *a = value(&p->s, u, "act_fn");
            for (int k = 0; k < 3; k++)
                if (a && !strcmp(a, acts[k]))
                    group_add(st, &by_act[k], u);
        }
        /* cells: activation × hsizes within the part (the seeds are the repetitions) */
        for (int i = 0; i < p->s.n; i++) {
            const mli_table_run *u = &p->s.run[i];
            const char *a = value(&p->s, u, "act_fn"), *h = value(&p->s, u, "hsizes");
            int first = 1, n = 0, ok = 0;
            for (int j = 0; j < p->s.n; j++) {
                const mli_table_run *w = &p->s.run[j];
                const char *a2 = value(&p->s, w, "act_fn"), *h2 = value(&p->s, w, "hsizes");
                if (!a || !h || !a2 || !h2 || strcmp(a, a2) || strcmp(h, h2))
                    continue;
                if (j < i)
                    first = 0;
                n++;
                ok += success(st, w);
            }
            if (first && n) {
                cells++;
                covered += 2 * ok > n;
            }
        }
    }
    if (!parts)
        return;
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "%d successful runs (loss < %g; %d excluded), non-monotone (Δ > %g): ", all.n,
                   st->opts.loss_threshold, all.excluded, st->opts.delta_threshold);
    frac_text(b, all.nm, all.n);
    mli_buf_printf(b, ". By activation:");
    for (int k = 0; k < 3; k++) {
        mli_buf_printf(b, " %s ", acts[k]);
        frac_text(b, by_act[k].nm, by_act[k].n);
        mli_buf_printf(b, "%s", k < 2 ? "," : ".");
    }
    mli_buf_printf(b, " Cells where most runs reach the threshold: %d of %d.", covered, cells);
    double f = group_frac(&all);
    /* the rule above */
    if (!all.n)
        c->v = V_NONE;
    else if (all.n >= 10 && f <= 0.10 && 3 * covered >= 2 * cells)
        c->v = V_YES;
    else if (all.n > 0 && f <= 0.25)
        c->v = V_PARTLY;
    else
        c->v = V_NOT;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Spearman's ρ of two quantities over the runs that pass keep (x, y given by get). */
typedef double (*getter)(const mli_table_run *);
static double get_delta(const mli_table_run *u) { return u->delta; }
static double get_ndist(const mli_table_run *u) { return u->norm_wdist; }
static double get_dist(const mli_table_run *u) { return u->wdist; }
static double get_gauss(const mli_table_run *u) { return u->gauss_length_mean; }
static double get_lr(const mli_table_run *u) { return u->lr; }

static double rho_over(const study *st, const role *roles, int nroles, int only_success, getter gx, getter gy,
                       int *used)
{
    int total = 0;
    for (int q = 0; q < st->np; q++)
        total += st->p[q].s.n;
    double *x = mli_malloc(sizeof *x * (size_t)(2 * total + 2)), *y = x + total + 1;
    int n = 0;
    for (int q = 0; q < st->np; q++) {
        int in = 0;
        for (int k = 0; k < nroles; k++)
            in |= st->p[q].role == roles[k];
        for (int i = 0; in && i < st->p[q].s.n; i++) {
            const mli_table_run *u = &st->p[q].s.run[i];
            if (!analysed(u) || (only_success && !success(st, u)))
                continue;
            x[n] = gx(u);
            y[n++] = gy(u);
        }
    }
    double rho = mli_table_spearman(x, y, n, used);
    free(x);
    return rho;
}

static void claim_outr(study *st, claim *c)
{
    c->title = "Moving far from initialization breaks MLI: pushing every weight tensor to a multiple of its "
               "initial norm (outR) makes runs non-monotone, more so the farther they go";
    c->paper = "Networks trained with a regularizer that drives the weight norms away from their initial "
               "values travel far from initialization and frequently violate MLI; non-monotone runs have "
               "larger normalized distances.";
    c->rule = "reproduced when, among successful runs, the fraction non-monotone at the largest multiple is "
              "at least 0.5 and above the fraction at the smallest, and Spearman ρ(normalized distance, Δ) "
              "over the part's analysed runs is at least 0.3; partly when the fraction rises from the "
              "smallest to the largest multiple; not reproduced otherwise.";
    double mult[64];
    int nmult = 0, parts = 0;
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        if (p->role != ROLE_OUTR)
            continue;
        parts++;
        for (int i = 0; i < p->s.n && nmult < 64; i++) {
            double m = num_value(&p->s, &p->s.run[i], "outR_mult");
            int seen = 0;
            for (int k = 0; k < nmult; k++)
                seen |= mult[k] == m;
            if (!seen && isfinite(m))
                mult[nmult++] = m;
        }
    }
    if (!parts || !nmult)
        return;
    qsort(mult, (size_t)nmult, sizeof *mult, cmp_double);
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "Non-monotone among successful runs, mean normalized distance, per outR_mult:");
    group first = {0}, last = {0};
    for (int k = 0; k < nmult; k++) {
        group g = {0};
        double dsum = 0;
        int dn = 0;
        for (int q = 0; q < st->np; q++)
            for (int i = 0; st->p[q].role == ROLE_OUTR && i < st->p[q].s.n; i++) {
                const mli_table_run *u = &st->p[q].s.run[i];
                if (num_value(&st->p[q].s, u, "outR_mult") != mult[k])
                    continue;
                group_add(st, &g, u);
                if (analysed(u) && isfinite(u->norm_wdist)) {
                    dsum += u->norm_wdist;
                    dn++;
                }
            }
        mli_buf_printf(b, " ×%g: ", mult[k]);
        frac_text(b, g.nm, g.n);
        mli_buf_printf(b, ", distance ");
        mean_text(b, dsum, dn);
        mli_buf_printf(b, "%s", k + 1 < nmult ? ";" : ".");
        if (!k)
            first = g;
        if (k == nmult - 1)
            last = g;
    }
    static const role r[] = {ROLE_OUTR};
    int used, used_s;
    double rho = rho_over(st, r, 1, 0, get_ndist, get_delta, &used);
    double rho_s = rho_over(st, r, 1, 1, get_ndist, get_delta, &used_s);
    mli_buf_printf(b, " Spearman ρ(normalized distance, Δ): ");
    rho_text(b, rho, used);
    mli_buf_printf(b, " over analysed runs, ");
    rho_text(b, rho_s, used_s);
    mli_buf_printf(b, " over successful ones.");
    double f0 = group_frac(&first), f1 = group_frac(&last);
    if (!first.n && !last.n)
        c->v = V_NONE;
    else if (f1 >= 0.5 && f1 > f0 && rho >= 0.3)
        c->v = V_YES;
    else if (f1 > f0 || (last.n && !first.n && last.nm))
        c->v = V_PARTLY;
    else
        c->v = V_NOT;
}

static void claim_optim(study *st, claim *c)
{
    c->title = "Large learning rates, Adam and batch norm make violations of MLI more frequent";
    c->paper = "Non-monotone runs are rare with SGD without batch norm, more frequent with Adam and with "
               "batch norm, and concentrated at large learning rates.";
    c->rule = "reproduced when, among successful runs, both Adam without batch norm and SGD with batch norm "
              "have a larger fraction non-monotone than SGD without batch norm (each group with at least 3 "
              "successful runs); partly when one of the two does; not reproduced otherwise.";
    group g[2][2] = {{{0}}};   /* [adam][bn] */
    group hi = {0}, lo = {0}; /* SGD without batch norm, by learning rate above / at most the median */
    int parts = 0;
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        if (p->role != ROLE_OPTIM)
            continue;
        parts++;
        double lrs[512];
        int nl = 0;
        for (int i = 0; i < p->s.n && nl < 512; i++)
            if (isfinite(p->s.run[i].lr))
                lrs[nl++] = p->s.run[i].lr;
        qsort(lrs, (size_t)nl, sizeof *lrs, cmp_double);
        double med = nl ? lrs[nl / 2] : NAN;
        for (int i = 0; i < p->s.n; i++) {
            const mli_table_run *u = &p->s.run[i];
            int adam = !strcmp(u->optim, "adam");
            if (u->bn < 0 || (!adam && strcmp(u->optim, "sgd")))
                continue;
            group_add(st, &g[adam][u->bn], u);
            if (!adam && !u->bn)
                group_add(st, u->lr >= med ? &hi : &lo, u);
        }
    }
    if (!parts)
        return;
    mli_buf *b = &c->measured;
    static const char *const name[2][2] = {{"SGD", "SGD + batch norm"}, {"Adam", "Adam + batch norm"}};
    mli_buf_printf(b, "Non-monotone among successful runs:");
    for (int a = 0; a < 2; a++)
        for (int n = 0; n < 2; n++) {
            mli_buf_printf(b, " %s ", name[a][n]);
            frac_text(b, g[a][n].nm, g[a][n].n);
            mli_buf_printf(b, " (%d excluded)%s", g[a][n].excluded, a && n ? "." : ";");
        }
    mli_buf_printf(b, " SGD without batch norm at the larger half of the learning rates: ");
    frac_text(b, hi.nm, hi.n);
    mli_buf_printf(b, ", the smaller half: ");
    frac_text(b, lo.nm, lo.n);
    static const role r[] = {ROLE_OPTIM};
    int used;
    double rho = rho_over(st, r, 1, 1, get_lr, get_delta, &used);
    mli_buf_printf(b, "; Spearman ρ(learning rate, Δ) over successful runs: ");
    rho_text(b, rho, used);
    mli_buf_printf(b, ".");
    double base = group_frac(&g[0][0]);
    int adam_more = g[1][0].n >= 3 && g[0][0].n >= 3 && group_frac(&g[1][0]) > base;
    int bn_more = g[0][1].n >= 3 && g[0][0].n >= 3 && group_frac(&g[0][1]) > base;
    c->v = !g[0][0].n                ? V_NONE /* no baseline to compare with */
           : adam_more && bn_more ? V_YES
           : adam_more || bn_more ? V_PARTLY
                                  : V_NOT;
}

static const role CE_ROLES[] = {ROLE_ARCH, ROLE_OUTR, ROLE_OPTIM};

static void claim_distance(study *st, claim *c)
{
    c->title = "Non-monotone runs travelled far: Δ grows with the normalized distance ‖θ₁ − θ₀‖ / ‖θ₀‖";
    c->paper = "Across its grid, runs that violate MLI moved farther from initialization, relative to the "
               "initial norm, than monotone ones; Δ rises with the distance.";
    c->rule = "reproduced when, over the successful classifier runs of the study, Spearman ρ(normalized "
              "distance, Δ) is at least 0.3 and the non-monotone runs (at least 3) have the larger mean "
              "normalized distance; partly when one of the two holds; not reproduced otherwise.";
    group mono = {0}, nm = {0};
    int any = 0;
    for (int q = 0; q < st->np; q++)
        for (int i = 0; i < st->p[q].s.n; i++) {
            role ro = st->p[q].role;
            if (ro != ROLE_ARCH && ro != ROLE_OUTR && ro != ROLE_OPTIM)
                continue;
            any = 1;
            const mli_table_run *u = &st->p[q].s.run[i];
            if (success(st, u) && isfinite(u->norm_wdist))
                group_add(st, nonmono(st, u) ? &nm : &mono, u);
        }
    if (!any)
        return;
    int used, used_w;
    double rho = rho_over(st, CE_ROLES, 3, 1, get_ndist, get_delta, &used);
    double rho_w = rho_over(st, CE_ROLES, 3, 1, get_dist, get_delta, &used_w);
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "Successful classifier runs: Spearman ρ(normalized distance, Δ) = ");
    rho_text(b, rho, used);
    mli_buf_printf(b, ", ρ(‖θ₁ − θ₀‖, Δ) = ");
    rho_text(b, rho_w, used_w);
    mli_buf_printf(b, ". Mean normalized distance: %d non-monotone runs ", nm.n);
    mean_text(b, nm.sum_dist, nm.n);
    mli_buf_printf(b, ", %d monotone runs ", mono.n);
    mean_text(b, mono.sum_dist, mono.n);
    mli_buf_printf(b, ".");
    int farther = nm.n >= 3 && mono.n && nm.sum_dist / nm.n > mono.sum_dist / mono.n;
    int corr = rho >= 0.3;
    c->v = used < 2 ? V_NONE : farther && corr ? V_YES : farther || corr ? V_PARTLY : V_NOT;
}

static void claim_gauss(study *st, claim *c)
{
    c->title = "Δ grows with the Gauss length of the output paths, which grows with the distance";
    c->paper = "Non-monotone runs have output paths of larger Gauss length (more turning of the logits "
               "along the path); the Gauss length rises with the normalized distance.";
    c->rule = "reproduced when, over the successful classifier runs, Spearman ρ(mean Gauss length, Δ) is at "
              "least 0.3; partly when it is at least 0.1 or ρ(normalized distance, Gauss length) is at "
              "least 0.3; not reproduced otherwise.";
    int any = 0;
    for (int q = 0; q < st->np; q++)
        any |= st->p[q].role == ROLE_ARCH || st->p[q].role == ROLE_OUTR || st->p[q].role == ROLE_OPTIM;
    if (!any)
        return;
    int used, used_d;
    double rho = rho_over(st, CE_ROLES, 3, 1, get_gauss, get_delta, &used);
    double rho_d = rho_over(st, CE_ROLES, 3, 1, get_ndist, get_gauss, &used_d);
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "Successful classifier runs: Spearman ρ(Gauss length, Δ) = ");
    rho_text(b, rho, used);
    mli_buf_printf(b, "; ρ(normalized distance, Gauss length) = ");
    rho_text(b, rho_d, used_d);
    mli_buf_printf(b, ".");
    c->v = used < 2 ? V_NONE : rho >= 0.3 ? V_YES : rho >= 0.1 || rho_d >= 0.3 ? V_PARTLY : V_NOT;
}

static void claim_mse(study *st, claim *c)
{
    c->title = "Under squared error the paper's sufficient conditions hold: an example certified by C1 "
               "(Gauss length below π/2), C2 (convexity) or C12 is monotone; short Gauss lengths go with "
               "monotone paths";
    c->paper = "For mean squared error, a tail Gauss length below π/2 (with the arc-length condition), or "
               "convexity along the path, guarantees a monotone loss; networks whose output paths stay "
               "below π/2 satisfy MLI.";
    c->rule = "not reproduced when any certified example is non-monotone on the fine grid (a "
              "counterexample); reproduced when there is none and the conditions certify a share of the "
              "examples (mean C12 or C2 fraction above 0); partly when nothing is certified.";
    int runs = 0, cx = 0, parts = 0, nmono = 0;
    double s1 = 0, s2 = 0, s12 = 0, sb = 0;
    int total = 0;
    for (int q = 0; q < st->np; q++)
        total += st->p[q].s.n;
    double *fb = mli_malloc(sizeof *fb * (size_t)(3 * total + 3)), *c12 = fb + total + 1, *dl = c12 + total + 1;
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        if (p->role != ROLE_MSE)
            continue;
        parts++;
        for (int i = 0; i < p->s.n; i++) {
            const certs *e = &p->cert[i];
            if (!e->has || !analysed(&p->s.run[i]))
                continue;
            fb[runs] = e->frac_below;
            c12[runs] = e->c12;
            dl[runs] = p->s.run[i].delta;
            nmono += !nonmono(st, &p->s.run[i]);
            runs++;
            cx += e->counterexamples;
            s1 += e->c1;
            s2 += e->c2;
            s12 += e->c12;
            sb += isfinite(e->frac_below) ? e->frac_below : 0;
        }
    }
    if (!parts) {
        free(fb);
        return;
    }
    int u1, u2, u3;
    double r_fb = mli_table_spearman(fb, dl, runs, &u1), r_c12 = mli_table_spearman(c12, dl, runs, &u2);
    double r_fc = mli_table_spearman(fb, c12, runs, &u3);
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "%d runs with certificates; counterexamples: %d. Mean fraction of examples certified: "
                      "C1 %.3f, C2 %.3f, C12 %.3f; below π/2: %.3f. Monotone runs: ",
                   runs, cx, runs ? s1 / runs : NAN, runs ? s2 / runs : NAN, runs ? s12 / runs : NAN,
                   runs ? sb / runs : NAN);
    frac_text(b, nmono, runs);
    mli_buf_printf(b, ". Spearman ρ(fraction below π/2, Δ) = ");
    rho_text(b, r_fb, u1);
    mli_buf_printf(b, ", ρ(C12 fraction, Δ) = ");
    rho_text(b, r_c12, u2);
    mli_buf_printf(b, ", ρ(fraction below π/2, C12 fraction) = ");
    rho_text(b, r_fc, u3);
    mli_buf_printf(b, ".");
    free(fb);
    if (!runs)
        return;
    c->v = cx > 0 ? V_NOT : (s12 > 0 || s2 > 0) ? V_YES : V_PARTLY;
}

static void claim_ae(study *st, claim *c)
{
    c->title = "MLI holds for autoencoders (ReLU, 784-512-k-512-784, SGD and Adam)";
    c->paper = "The fully connected autoencoders of its family show monotone interpolation in most runs.";
    c->rule = "reproduced when at least 80% of the analysed runs are monotone; partly when at least 50%; not "
              "reproduced otherwise (every analysed run counts: the reconstruction loss, summed over 784 "
              "pixels, has no threshold comparable to 0.1).";
    int n = 0, m = 0, parts = 0, by[2][2] = {{0}};
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        if (p->role != ROLE_AE)
            continue;
        parts++;
        for (int i = 0; i < p->s.n; i++) {
            const mli_table_run *u = &p->s.run[i];
            if (!analysed(u))
                continue;
            int adam = !strcmp(u->optim, "adam"), mono = !nonmono(st, u);
            n++;
            m += mono;
            by[adam][0]++;
            by[adam][1] += mono;
        }
    }
    if (!parts || !n)
        return;
    mli_buf *b = &c->measured;
    mli_buf_printf(b, "Monotone: ");
    frac_text(b, m, n);
    mli_buf_printf(b, " of the analysed runs; SGD ");
    frac_text(b, by[0][1], by[0][0]);
    mli_buf_printf(b, ", Adam ");
    frac_text(b, by[1][1], by[1][0]);
    mli_buf_printf(b, ".");
    double f = (double)m / n;
    c->v = f >= 0.8 ? V_YES : f >= 0.5 ? V_PARTLY : V_NOT;
}

/* ------------------------------------------------------------------------------------------
 * Figures of the study's own: Δ by outR multiple, and the MSE certificates */

static int fig_outr(study *st, mli_gp_fig *f, mli_buf *cap)
{
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "run_id\toutR_mult\tdelta\tnorm_wdist\tsuccessful\n");
    int n = 0;
    for (int q = 0; q < st->np; q++)
        for (int i = 0; st->p[q].role == ROLE_OUTR && i < st->p[q].s.n; i++) {
            const mli_table_run *u = &st->p[q].s.run[i];
            double m = num_value(&st->p[q].s, u, "outR_mult");
            if (!analysed(u) || !isfinite(m))
                continue;
            mli_buf_printf(b, "%s\t%.9g\t%.9g\t%.9g\t%d\n", u->id, m, u->delta, u->norm_wdist, success(st, u));
            n++;
        }
    if (!n) {
        mli_buf_printf(&st->notes, "<li><code>outr_delta</code>: no analysed run of an outr part</li>\n");
        return 0;
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'outR: Δ and normalized distance by target multiple of the initial norms (%d runs)'\n"
                  "set xlabel 'outR\\_mult  (target norm of each tensor / its norm at initialization)'\n"
                  "set logscale x 2\nset ylabel 'Δ'\nset y2label 'normalized distance'\nset y2tics\n"
                  "set ytics nomirror\nset arrow 1 from graph 0, first %.9g to graph 1, first %.9g nohead lt %d back",
               n, st->opts.delta_threshold, st->opts.delta_threshold, MLI_LT_REF);
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"outR_mult\":(column(\"successful\") > 0 ? column(\"delta\") : NaN) with points "
                   "lt %d pt 7 ps 1.4 title 'Δ, successful run'",
                file, MLI_LT_TEST);
    mli_gp_item(f, "'%s' using \"outR_mult\":(column(\"successful\") > 0 ? NaN : column(\"delta\")) with points "
                   "lt %d pt 6 ps 1.4 title 'Δ, loss not below %g'",
                file, MLI_LT_TEST, st->opts.loss_threshold);
    mli_gp_item(f, "'%s' using \"outR_mult\":\"norm_wdist\" axes x1y2 with points lt %d pt 9 ps 1.2 "
                   "title 'normalized distance (right axis)'",
                file, MLI_LT_TRAIN);
    mli_gp_item(f, "keyentry with lines lt %d title 'non-monotone above Δ = %g'", MLI_LT_REF,
                st->opts.delta_threshold);
    mli_gp_end(f);
    mli_buf_printf(cap, "Each analysed run of the outR part (%d): Δ (left axis; filled: final training loss below "
                        "%g, open: not) and the normalized distance ‖θ<sub>1</sub> − θ<sub>0</sub>‖ / "
                        "‖θ<sub>0</sub>‖ (right axis) against outR_mult, the target norm of every parameter "
                        "tensor as a multiple of its norm at initialization. The grey line is the paper's "
                        "threshold of non-monotonicity.",
                   n, st->opts.loss_threshold);
    return 1;
}

static int fig_mse(study *st, mli_gp_fig *f, mli_buf *cap)
{
    const char *file;
    mli_buf *b = mli_gp_table(f, "", &file);
    mli_buf_printf(b, "run_id\tfrac_below_half_pi\tc1\tc2\tc12\tcounterexamples\tdelta\tmonotone\n");
    int n = 0;
    for (int q = 0; q < st->np; q++)
        for (int i = 0; st->p[q].role == ROLE_MSE && i < st->p[q].s.n; i++) {
            const mli_table_run *u = &st->p[q].s.run[i];
            const certs *e = &st->p[q].cert[i];
            if (!analysed(u) || !e->has)
                continue;
            mli_buf_printf(b, "%s\t%.9g\t%.9g\t%.9g\t%.9g\t%d\t%.9g\t%d\n", u->id, e->frac_below, e->c1, e->c2,
                           e->c12, e->counterexamples, u->delta, !nonmono(st, u));
            n++;
        }
    if (!n) {
        mli_buf_printf(&st->notes, "<li><code>mse_certificates</code>: no analysed run of an mse part with "
                                   "certificates</li>\n");
        return 0;
    }
    mli_gp_panel(f);
    mli_gp_cmd(f, "set title 'Squared error: certified fractions against the fraction of Gauss lengths below "
                  "π/2 (%d runs)'\nset xlabel 'fraction of test examples with Gauss length < π/2'\n"
                  "set ylabel 'fraction of examples certified'\nset xrange [0:1]\nset yrange [0:1]",
               n);
    mli_gp_plot(f);
    mli_gp_item(f, "'%s' using \"frac_below_half_pi\":\"c12\":(column(\"monotone\") > 0 ? 7 : 6) with points lt %d "
                   "pt variable ps 1.4 title 'C12 (filled: run monotone, open: not)'",
                file, MLI_LT_TRAIN);
    mli_gp_item(f, "'%s' using \"frac_below_half_pi\":\"c2\" with points lt %d pt 9 ps 1.2 title 'C2'", file,
                MLI_LT_TEST);
    mli_gp_item(f, "'%s' using \"frac_below_half_pi\":\"c1\" with points lt %d pt 5 ps 1.0 title 'C1'", file,
                MLI_LT_3);
    mli_gp_end(f);
    mli_buf_printf(cap, "One point per analysed run of the mse part (%d) and condition: the fraction of the "
                        "analysed test examples certified by C1 (tail Gauss length and arc length), C2 "
                        "(convexity) and C12 (C1 on a prefix, then C2), against the fraction of examples whose "
                        "output path has Gauss length below π/2. C12 points are filled when the run's training "
                        "loss is monotone along the path. The counterexamples of each run are in the table "
                        "(<code>mse_certificates.tsv</code>).",
                   n);
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * The page */

static void url_esc(mli_buf *b, const char *s)
{
    for (; *s; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._~/-", *s))
            mli_buf_printf(b, "%c", *s);
        else
            mli_buf_printf(b, "%%%02X", (unsigned char)*s);
}

static void html_num(mli_buf *b, double x)
{
    if (isfinite(x))
        mli_buf_printf(b, "%.4g", x);
    else
        mli_buf_printf(b, "<span class=\"na\">n/a</span>");
}

static void html_claims(const study *st, mli_buf *b)
{
    mli_buf_printf(b, "<h2 id=\"claims\">The paper's claims and what this study measured</h2>\n"
                      "<table class=\"claims\">\n<tr><th>#</th><th>claim</th><th>what the paper reports</th>"
                      "<th>what this study measured</th><th>verdict</th></tr>\n");
    for (int k = 0; k < NCLAIM; k++) {
        const claim *c = &st->c[k];
        mli_buf_printf(b, "<tr><td>%d</td><td>", k + 1);
        mli_html_esc(b, c->title);
        mli_buf_printf(b, "</td><td>");
        mli_html_esc(b, c->paper);
        mli_buf_printf(b, "</td><td>");
        mli_html_esc(b, c->measured.s ? c->measured.s : "no part of this study measures it");
        mli_buf_printf(b, "</td><td class=\"v%d\"><b>%s</b></td></tr>\n", (int)c->v, verdict_name[c->v]);
    }
    mli_buf_printf(b, "</table>\n<p>At the paper's thresholds: a run is <em>successful</em> when its final "
                      "training loss is below %g, <em>non-monotone</em> when Δ (the largest bump of the "
                      "training loss on the 50-point α grid) exceeds %g. A claim none of whose runs count (no "
                      "successful run, or fewer than 2 for a correlation) is <em>not measured</em>.</p>\n"
                      "<h3>How each verdict is decided</h3>\n<ol>\n",
                   st->opts.loss_threshold, st->opts.delta_threshold);
    for (int k = 0; k < NCLAIM; k++) {
        mli_buf_printf(b, "<li>");
        mli_html_esc(b, st->c[k].rule);
        mli_buf_printf(b, "</li>\n");
    }
    mli_buf_printf(b, "</ol>\n<p class=\"files\">These rules are the code of <code>mli report</code> "
                      "(study mode); the verdicts are computed from the runs, never edited. The table is "
                      "also in <a href=\"claims.tsv\">claims.tsv</a>.</p>\n");
}

/* STUDY/timing.tsv (written by make paper): part, start, seconds, the sweep's summary. */
static void html_timing(const study *st, mli_buf *b)
{
    char path[MLI_TABLE_PATH + 32];
    snprintf(path, sizeof path, "%s/timing.tsv", st->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    mli_buf_printf(b, "<h2 id=\"time\">Wall time</h2>\n<table>\n<tr><th>part</th><th>started (UTC)</th>"
                      "<th>seconds</th><th>sweep</th></tr>\n");
    char line[2048];
    double total = 0;
    int row = 0;
    while (fgets(line, sizeof line, f)) {
        if (!row++)
            continue; /* the header */
        line[strcspn(line, "\n")] = '\0';
        char *fld[4] = {line, "", "", ""};
        for (int k = 1; k < 4; k++) {
            char *t = strchr(fld[k - 1], '\t');
            if (!t)
                break;
            *t = '\0';
            fld[k] = t + 1;
        }
        total += strtod(fld[2], NULL);
        mli_buf_printf(b, "<tr>");
        for (int k = 0; k < 4; k++) {
            mli_buf_printf(b, "<td>");
            mli_html_esc(b, fld[k]);
            mli_buf_printf(b, "</td>");
        }
        mli_buf_printf(b, "</tr>\n");
    }
    fclose(f);
    mli_buf_printf(b, "</table>\n<p>Total of the rows: %.0f s (%.1f min), every pass of <code>make paper</code> "
                      "included (a pass that finds the runs finished takes seconds).</p>\n",
                   total, total / 60);
}

static void html_runs(const study *st, mli_buf *b)
{
    mli_buf_printf(b, "<h2 id=\"runs\">Every run</h2>\n");
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        const mli_table_sweep *s = &p->s;
        mli_buf_printf(b, "<h3 id=\"part-");
        mli_html_esc(b, p->name);
        mli_buf_printf(b, "\">");
        mli_html_esc(b, p->name);
        mli_buf_printf(b, " (%d runs)</h3>\n<p class=\"files\">Its own report: <a href=\"../", s->n);
        url_esc(b, p->name);
        mli_buf_printf(b, "/report/index.html\">");
        mli_html_esc(b, p->name);
        mli_buf_printf(b, "/report/index.html</a> (the paper's table of the part, its figures); <a href=\"../");
        url_esc(b, p->name);
        mli_buf_printf(b, "/summary.tsv\">summary.tsv</a>, <a href=\"../");
        url_esc(b, p->name);
        mli_buf_printf(b, "/grid.txt\">grid.txt</a>.</p>\n<table class=\"sweep\">\n<tr><th>run</th>");
        for (int k = 0; k < s->nkey; k++)
            if (s->varies[k]) {
                mli_buf_printf(b, "<th>");
                mli_html_esc(b, s->key[k]);
                mli_buf_printf(b, "</th>");
            }
        mli_buf_printf(b, "<th>status</th><th>Δ</th><th>final training loss</th><th>normalized distance</th>"
                          "<th>Gauss length</th></tr>\n");
        for (int i = 0; i < s->n; i++) {
            const mli_table_run *u = &s->run[i];
            char rep[MLI_TABLE_PATH + 64];
            snprintf(rep, sizeof rep, "%s/report/index.html", u->dir);
            int own = access(rep, F_OK) == 0;
            mli_buf_printf(b, "<tr><td><a href=\"../");
            url_esc(b, p->name);
            mli_buf_printf(b, "/");
            url_esc(b, u->rel);
            mli_buf_printf(b, "/%s\">", own ? "report/index.html" : u->has_geometry ? "geometry.json" : "");
            mli_html_esc(b, u->id);
            mli_buf_printf(b, "</a></td>");
            for (int k = 0; k < s->nkey; k++)
                if (s->varies[k]) {
                    mli_buf_printf(b, "<td>");
                    mli_html_esc(b, u->val[k] ? u->val[k] : "");
                    mli_buf_printf(b, "</td>");
                }
            mli_buf_printf(b, "<td>");
            mli_html_esc(b, u->status);
            mli_buf_printf(b, "</td>");
            const double v[] = {u->delta, u->final_train_loss, u->norm_wdist, u->gauss_length_mean};
            for (int m = 0; m < 4; m++) {
                mli_buf_printf(b, "<td class=\"num\">");
                html_num(b, v[m]);
                mli_buf_printf(b, "</td>");
            }
            mli_buf_printf(b, "</tr>\n");
        }
        mli_buf_printf(b, "</table>\n");
    }
    mli_buf_printf(b, "<p class=\"files\">A run links to its own report when it has one (<code>mli report</code> "
                      "on the run directory), otherwise to its <code>geometry.json</code>.</p>\n");
}

static const char *const STUDY_CSS = "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
                                     "td.v3{background:#e6f4ea}td.v2{background:#fff4e0}td.v1{background:#fde8e8}"
                                     "td.v0{color:#777}\n";

static int write_html(const study *st)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<title>mli study report</title>\n<style>\n%s%s</style>\n</head>\n<body>\n"
                       "<h1>Monotonic linear interpolation: the paper's claims, measured</h1>\n<p>Study directory "
                       "<code>",
                   mli_html_css, STUDY_CSS);
    mli_html_esc(&b, st->dir);
    mli_buf_printf(&b, "</code>: %d part%s (", st->np, st->np == 1 ? "" : "s");
    for (int q = 0; q < st->np; q++) {
        mli_buf_printf(&b, "%s<a href=\"#part-", q ? ", " : "");
        mli_html_esc(&b, st->p[q].name);
        mli_buf_printf(&b, "\">");
        mli_html_esc(&b, st->p[q].name);
        mli_buf_printf(&b, "</a>");
    }
    mli_buf_printf(&b, "), each a sweep of runs interpolated along θ(α) = θ<sub>0</sub> + α(θ<sub>1</sub> − "
                       "θ<sub>0</sub>), set beside the claims of Lucas et al., <em>Analyzing Monotonic Linear "
                       "Interpolation in Neural Network Loss Landscapes</em> (ICML 2021).</p>\n"
                       "<nav><a href=\"#claims\">Claims</a><a href=\"#figures\">Figures</a>"
                       "<a href=\"#time\">Wall time</a><a href=\"#runs\">Runs</a></nav>\n");
    if (!st->have_gnuplot)
        mli_buf_printf(&b, "<p class=\"warn\">gnuplot was not found, so the figures are not drawn. Install "
                           "<code>gnuplot-nox</code> and run <code>mli report</code> again.</p>\n");
    html_claims(st, &b);
    mli_buf_printf(&b, "<h2 id=\"figures\">Figures</h2>\n<p>As in the paper, the heat maps, scatter plots and loss "
                       "curves show the successful runs (final training loss below %g): the heat maps those of "
                       "the arch and optim parts (no regularizer), the others every successful classifier run "
                       "(arch, outr, optim). The outR and MSE figures show every analysed run of their part. "
                       "Click a figure for its SVG.</p>\n",
                   st->opts.loss_threshold);
    for (int i = 0; i < st->nfig; i++)
        mli_html_figure(&b, &st->fig[i], st->have_gnuplot);
    if (st->notes.len)
        mli_buf_printf(&b, "<h3>Figures left out</h3>\n<ul>\n%s</ul>\n", st->notes.s);
    html_timing(st, &b);
    html_runs(st, &b);
    mli_buf_printf(&b, "</body>\n</html>\n");
    char path[MLI_TABLE_PATH + 64];
    snprintf(path, sizeof path, "%s/index.html", st->out);
    int rc = mli_buf_write(&b, path);
    mli_buf_free(&b);
    return rc;
}

static int write_claims_tsv(const study *st)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "claim\tverdict\ttitle\tmeasured\n");
    for (int k = 0; k < NCLAIM; k++)
        mli_buf_printf(&b, "%d\t%s\t%s\t%s\n", k + 1, verdict_name[st->c[k].v], st->c[k].title,
                       st->c[k].measured.s ? st->c[k].measured.s : "");
    char path[MLI_TABLE_PATH + 64];
    snprintf(path, sizeof path, "%s/claims.tsv", st->out);
    int rc = mli_buf_write(&b, path);
    mli_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Driver */

/* The successful runs of the parts whose role is in roles, as one sweep (borrowed: free with
 * merged_free). Only successful runs, as the paper's figures and the claims count them. */
static void merged(const study *st, const role *roles, int nroles, mli_table_sweep *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "%s", st->dir);
    int total = 0;
    for (int q = 0; q < st->np; q++)
        total += st->p[q].s.n;
    m->run = mli_calloc((size_t)total + 1, sizeof *m->run);
    for (int q = 0; q < st->np; q++) {
        const part *p = &st->p[q];
        int in = 0;
        for (int k = 0; k < nroles; k++)
            in |= p->role == roles[k];
        if (!in)
            continue;
        if (!m->key) {
            m->nkey = p->s.nkey;
            m->key = p->s.key;
            m->varies = mli_calloc((size_t)m->nkey + 1, sizeof *m->varies);
        }
        for (int i = 0; i < p->s.n; i++)
            if (success(st, &p->s.run[i]))
                m->run[m->n++] = p->s.run[i];
        for (int k = 0; k < m->nkey && k < p->s.nkey; k++)
            m->varies[k] |= p->s.varies[k];
    }
}

static void merged_free(mli_table_sweep *m)
{
    free(m->run);
    free(m->varies);
}

static int sweep_figs(study *st, const role *roles, int nroles, unsigned which)
{
    mli_table_sweep m;
    merged(st, roles, nroles, &m);
    int rc = MLI_OK;
    if (m.n) {
        int nf = 0;
        char err[1024] = "";
        rc = mli_report_sweep_figures(&m, st->out, which, st->fig + st->nfig, &nf, &st->notes, err, sizeof err);
        st->nfig += nf;
        if (rc == MLI_EFAIL && err[0]) { /* gnuplot: the page is still written */
            if (!st->render_rc)
                snprintf(st->render_err, sizeof st->render_err, "%s", err);
            st->render_rc = MLI_EFAIL;
            rc = MLI_OK;
        }
    }
    merged_free(&m);
    return rc;
}

static int own_fig(study *st, mli_gp_sink *sink, const char *name, const char *heading,
                   int (*make)(study *, mli_gp_fig *, mli_buf *))
{
    mli_gp_fig f;
    mli_gp_init(&f, name);
    mli_gp_entry *e = &st->fig[st->nfig];
    memset(e, 0, sizeof *e);
    int made = make(st, &f, &e->caption) != 0;
    int rc = mli_gp_entry_make(sink, &f, made, heading, e);
    st->nfig += made;
    mli_gp_free(&f);
    return rc;
}

static int load(study *st, const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (!len || len >= sizeof st->dir - 400)
        return mli_err(MLI_EUSAGE, "bad study directory '%s'", dir);
    memcpy(st->dir, dir, len);
    snprintf(st->out, sizeof st->out, "%s/report", st->dir);
    mli_table_opts_default(&st->opts);
    char *names[MAX_PARTS];
    int n = list_parts(st->dir, names, MAX_PARTS);
    if (n < 0)
        return mli_err(MLI_EINPUT, "%s: cannot read the study directory: %s", st->dir, strerror(errno));
    if (!n)
        return mli_err(MLI_EINPUT, "%s: a study without parts (no subdirectory is a sweep directory)", st->dir);
    int rc = MLI_OK;
    for (int q = 0; q < n; q++) {
        if (!rc) {
            part *p = &st->p[st->np];
            snprintf(p->name, sizeof p->name, "%s", names[q]);
            p->role = role_of(p->name);
            char pd[MLI_TABLE_PATH + 300];
            snprintf(pd, sizeof pd, "%s/%s", st->dir, p->name);
            rc = mli_table_load(&p->s, pd);
            if (rc)
                mli_table_free(&p->s); /* what it read before the error */
            if (!rc) {
                st->np++;
                p->cert = mli_calloc((size_t)p->s.n + 1, sizeof *p->cert);
                for (int i = 0; i < p->s.n && !rc; i++)
                    rc = load_certs(&p->s.run[i], &p->cert[i]);
            }
        }
        free(names[q]);
    }
    return rc;
}

static int produce(study *st)
{
    /* each part's own report first: its tables and figures, linked from the page */
    int rc = MLI_OK;
    for (int q = 0; q < st->np && !rc; q++) {
        int prc = mli_report_sweep(st->p[q].s.dir);
        if (prc == MLI_EFAIL && !st->render_rc) { /* gnuplot; the rest is written */
            st->render_rc = prc;
            snprintf(st->render_err, sizeof st->render_err, "%s", mli_errmsg());
        } else if (prc && prc != MLI_EFAIL)
            rc = prc;
    }
    if (!rc)
        rc = mli_mkdirs(st->out);
    if (rc)
        return rc;
    char page[MLI_TABLE_PATH + 64];
    snprintf(page, sizeof page, "%s/index.html", st->out);
    if (unlink(page) != 0 && errno != ENOENT) /* it links figures about to be replaced */
        return mli_err(MLI_EFAIL, "%s: cannot remove the earlier page: %s", page, strerror(errno));
    claim_arch(st, &st->c[0]);
    claim_outr(st, &st->c[1]);
    claim_optim(st, &st->c[2]);
    claim_distance(st, &st->c[3]);
    claim_gauss(st, &st->c[4]);
    claim_mse(st, &st->c[5]);
    claim_ae(st, &st->c[6]);
    rc = write_claims_tsv(st);
    static const role heat[] = {ROLE_ARCH, ROLE_OPTIM};
    if (!rc)
        rc = sweep_figs(st, heat, 2, MLI_SWEEP_FIG_HEAT);
    if (!rc)
        rc = sweep_figs(st, CE_ROLES, 3, MLI_SWEEP_FIG_SCATTER | MLI_SWEEP_FIG_CURVES);
    st->have_gnuplot = mli_gp_find(st->gnuplot, sizeof st->gnuplot);
    mli_gp_sink sink = {st->out, st->have_gnuplot ? st->gnuplot : NULL, 0, NULL, 0};
    if (!rc)
        rc = own_fig(st, &sink, "outr_delta", "Δ and distance by outR multiple", fig_outr);
    if (!rc)
        rc = own_fig(st, &sink, "mse_certificates", "Squared error: certificates and Gauss length", fig_mse);
    if (!rc)
        rc = write_html(st);
    int render = mli_gp_sink_status(&sink);
    mli_gp_sink_free(&sink);
    if (rc)
        return rc;
    if (st->render_rc)
        return mli_err(MLI_EFAIL, "%s", st->render_err);
    return render;
}

int mli_report_study(const char *dir)
{
    study *st = mli_calloc(1, sizeof *st);
    int rc = load(st, dir);
    if (!rc)
        rc = produce(st);
    for (int i = 0; i < st->nfig; i++)
        mli_buf_free(&st->fig[i].caption);
    for (int k = 0; k < NCLAIM; k++)
        mli_buf_free(&st->c[k].measured);
    for (int q = 0; q < st->np; q++) {
        free(st->p[q].cert);
        mli_table_free(&st->p[q].s);
    }
    mli_buf_free(&st->notes);
    free(st);
    return rc;
}
