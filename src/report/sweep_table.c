/* mli table: read a sweep directory into one record per run, write summary.tsv, and count the
 * paper's table (sweep_table.h says what is counted and how). */
#include "report/sweep_table.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_statistics_double.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/arch.h"
#include "report/html.h"
#include "train/config.h"

/* ------------------------------------------------------------------------------------------
 * Paths */

int mli_table_is_sweep(const char *dir)
{
    char p[MLI_TABLE_PATH + 64];
    snprintf(p, sizeof p, "%s/runs", dir);
    return mli_is_dir(dir) && !mli_exists_in(dir, "config.json") && (mli_is_dir(p) || mli_exists_in(dir, "sweep.json"));
}

/* A run's name becomes a path component and a link: nothing that leaves runs/. */
static int safe_name(const char *s)
{
    return *s && strlen(s) < 128 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* A relative path without ".." components. */
static int safe_rel(const char *s)
{
    if (!*s || *s == '/' || strlen(s) >= 512)
        return 0;
    for (const char *p = s; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Keys and their canonical text */

/* Numbers as %.15g, so that "0.1", 0.1 and 0.10000000000000001 compare equal and read well;
 * lists (hsizes) and words stay as they are. */
static void canon(char *buf, size_t n)
{
    char *end;
    double v = strtod(buf, &end);
    if (end != buf && !*end && !strchr(buf, ',') && isfinite(v))
        snprintf(buf, n, "%.15g", v);
}

static void key_value(const mli_config *c, const char *key, char *buf, size_t n)
{
    mli_config_get(c, key, buf, n);
    canon(buf, n);
}

/* The training keys in the order of config.c's key table: the order in which
 * mli_config_to_json adds them. */
static void load_keys(mli_table_sweep *s)
{
    mli_config c;
    mli_config_default(&c);
    cJSON *o = mli_config_to_json(&c);
    s->nkey = cJSON_GetArraySize(o);
    s->key = mli_calloc((size_t)s->nkey, sizeof *s->key);
    s->varies = mli_calloc((size_t)s->nkey, sizeof *s->varies);
    int i = 0;
    for (const cJSON *e = o->child; e; e = e->next)
        s->key[i++] = mli_strdup(e->string);
    cJSON_Delete(o);
}

static int key_index(const mli_table_sweep *s, const char *key)
{
    for (int k = 0; k < s->nkey; k++)
        if (!strcmp(s->key[k], key))
            return k;
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * The list of runs: sweep.json, or the subdirectories of runs/ */

static mli_table_run *add_run(mli_table_sweep *s, const char *id, const char *rel)
{
    s->run = mli_realloc(s->run, sizeof *s->run * (size_t)(s->n + 1));
    mli_table_run *r = &s->run[s->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->rel, sizeof r->rel, "%s", rel);
    snprintf(r->dir, sizeof r->dir, "%s/%s", s->dir, rel);
    r->val = mli_calloc((size_t)s->nkey, sizeof *r->val);
    return r;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_runs_dir(mli_table_sweep *s)
{
    char runs[MLI_TABLE_PATH + 16];
    snprintf(runs, sizeof runs, "%s/runs", s->dir);
    DIR *d = opendir(runs);
    if (!d)
        return mli_err(MLI_EINPUT, "%s: not a sweep directory: no sweep.json and no runs/ folder", s->dir);
    char **name = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char p[MLI_TABLE_PATH + 300];
        snprintf(p, sizeof p, "%s/%s", runs, e->d_name);
        if (e->d_name[0] == '.' || !safe_name(e->d_name) || !mli_is_dir(p))
            continue;
        name = mli_realloc(name, sizeof *name * (size_t)(n + 1));
        name[n++] = mli_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(name, (size_t)n, sizeof *name, cmp_str);
    for (int i = 0; i < n; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "runs/%s", name[i]);
        add_run(s, name[i], rel);
        free(name[i]);
    }
    free(name);
    return MLI_OK;
}

/* A key of sweep.json's "keys" as text, the way it would be given on the command line. */
static int json_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v))
        snprintf(buf, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, n, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v)) {
        buf[0] = '\0';
        for (const cJSON *e = v->child; e; e = e->next) {
            if (!cJSON_IsNumber(e))
                return 0;
            snprintf(buf + strlen(buf), n - strlen(buf), "%s%d", buf[0] ? "," : "", e->valueint);
        }
    } else
        return 0;
    return 1;
}

/* The keys sweep.json gives a run: what is known of a run that has not started yet. Keys
 * that are not training keys are left to whoever wrote them. */
static int grid_keys(mli_table_sweep *s, mli_table_run *r, const cJSON *keys, const char *path, int idx)
{
    if (!keys)
        return MLI_OK;
    if (!cJSON_IsObject(keys))
        return mli_err(MLI_EINPUT, "%s: runs[%d].keys should be an object of key: value", path, idx);
    for (const cJSON *e = keys->child; e; e = e->next) {
        int k = key_index(s, e->string);
        if (k < 0)
            continue;
        char text[512];
        mli_config c;
        mli_config_default(&c);
        if (!json_text(e, text, sizeof text) || mli_config_set(&c, e->string, text) != MLI_OK)
            return mli_err(MLI_EINPUT, "%s: runs[%d].keys.%s: not a valid value for this key", path, idx, e->string);
        key_value(&c, e->string, text, sizeof text);
        r->val[k] = mli_strdup(text);
    }
    return MLI_OK;
}

static int sweep_entry(mli_table_sweep *s, const cJSON *e, const char *path, int idx)
{
    if (!cJSON_IsObject(e))
        return mli_err(MLI_EINPUT, "%s: runs[%d] should be an object {index, id, path, keys}", path, idx);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(e, "path");
    if (!cJSON_IsString(id) || !safe_name(id->valuestring))
        return mli_err(MLI_EINPUT, "%s: runs[%d].id should be a run name (no '/', at most 127 characters)",
                       path, idx);
    if (rel && (!cJSON_IsString(rel) || !safe_rel(rel->valuestring)))
        return mli_err(MLI_EINPUT, "%s: runs[%d].path should be a path inside the sweep directory", path, idx);
    char def[512];
    snprintf(def, sizeof def, "runs/%s", id->valuestring);
    mli_table_run *r = add_run(s, id->valuestring, rel ? rel->valuestring : def);
    return grid_keys(s, r, cJSON_GetObjectItemCaseSensitive(e, "keys"), path, idx);
}

static int list_runs_json(mli_table_sweep *s)
{
    char path[MLI_TABLE_PATH + 16];
    snprintf(path, sizeof path, "%s/sweep.json", s->dir);
    cJSON *o;
    int rc = mli_json_read(path, &o);
    if (rc)
        return rc;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(o, "runs");
    if (!cJSON_IsArray(runs))
        rc = mli_err(MLI_EINPUT, "%s: expected a list \"runs\"", path);
    int idx = 0;
    for (const cJSON *e = runs ? runs->child : NULL; e && !rc; e = e->next, idx++)
        rc = sweep_entry(s, e, path, idx);
    cJSON_Delete(o);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * One run: config.json and geometry.json */

static int load_config(const mli_table_sweep *s, mli_table_run *r)
{
    char path[MLI_TABLE_PATH + 16];
    snprintf(path, sizeof path, "%s/config.json", r->dir);
    if (access(path, F_OK) != 0) {
        snprintf(r->status, sizeof r->status, "pending");
        return MLI_OK;
    }
    cJSON *o;
    int rc = mli_json_read(path, &o);
    if (rc)
        return rc;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    mli_config c;
    if (st && !cJSON_IsString(st))
        rc = mli_err(MLI_EINPUT, "%s: key 'status' should be a string (running, done, diverged, stopped_early)",
                     path);
    if (!rc)
        rc = mli_config_from_json(&c, o, path);
    if (!rc) {
        r->has_config = 1;
        snprintf(r->status, sizeof r->status, "%s", st ? st->valuestring : "unknown");
        for (char *p = r->status; *p; p++) /* it goes into a TSV cell and a table */
            if (*p == '\t' || *p == '\n' || *p == '\r' || *p == '|')
                *p = ' ';
        for (int k = 0; k < s->nkey; k++) {
            char text[512];
            key_value(&c, s->key[k], text, sizeof text);
            free(r->val[k]);
            r->val[k] = mli_strdup(text);
        }
    }
    cJSON_Delete(o);
    return rc;
}

typedef struct {
    const char *path;
    int rc;
} jck;

/* A number, null (NaN) or absent (NaN); booleans count as 1 and 0 (monotone). */
static double jnum(jck *c, const cJSON *o, const char *key, const char *label)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v || cJSON_IsNull(v))
        return NAN;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (!c->rc)
        c->rc = mli_err(MLI_EINPUT, "%s: key '%s' should be a number or null", c->path, label);
    return NAN;
}

static const cJSON *jobj(jck *c, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsObject(v) && !c->rc)
        c->rc = mli_err(MLI_EINPUT, "%s: key '%s' should be an object", c->path, key);
    return cJSON_IsObject(v) ? v : NULL;
}

static int load_geometry(mli_table_run *r)
{
    r->final_train_loss = r->final_test_loss = r->final_train_acc = r->final_test_acc = NAN;
    r->delta = r->monotone = r->wdist = r->norm_wdist = r->gauss_length_mean = r->ntk_kernel_distance = NAN;
    r->exact_delta_lo = r->exact_delta_hi = r->exact_turning_mean = NAN;
    char path[MLI_TABLE_PATH + 16];
    snprintf(path, sizeof path, "%s/geometry.json", r->dir);
    if (access(path, F_OK) != 0)
        return MLI_OK;
    cJSON *o;
    int rc = mli_json_read(path, &o);
    if (rc)
        return rc;
    jck c = {path, MLI_OK};
    r->final_train_loss = jnum(&c, o, "final_train_loss", "final_train_loss");
    r->final_test_loss = jnum(&c, o, "final_test_loss", "final_test_loss");
    r->final_train_acc = jnum(&c, o, "final_train_acc", "final_train_acc");
    r->final_test_acc = jnum(&c, o, "final_test_acc", "final_test_acc");
    r->delta = jnum(&c, o, "delta", "delta");
    r->monotone = jnum(&c, o, "monotone", "monotone");
    r->wdist = jnum(&c, o, "wdist", "wdist");
    r->norm_wdist = jnum(&c, o, "norm_wdist", "norm_wdist");
    r->gauss_length_mean = jnum(&c, jobj(&c, o, "gauss_length"), "mean", "gauss_length.mean");
    r->ntk_kernel_distance = jnum(&c, jobj(&c, o, "ntk"), "kernel_distance", "ntk.kernel_distance");
    const cJSON *ex = jobj(&c, o, "exact");
    if (ex) {
        const cJSON *ds = jobj(&c, ex, "dataset");
        r->exact_delta_lo = jnum(&c, ds, "delta_lo", "exact.dataset.delta_lo");
        r->exact_delta_hi = jnum(&c, ds, "delta_hi", "exact.dataset.delta_hi");
        r->exact_turning_mean = jnum(&c, jobj(&c, ex, "turning"), "mean", "exact.turning.mean");
    }
    r->has_geometry = 1;
    cJSON_Delete(o);
    return c.rc;
}

/* ------------------------------------------------------------------------------------------
 * Across runs: the keys that vary, and the grouping keys of each run */

static void find_varying(mli_table_sweep *s)
{
    for (int k = 0; k < s->nkey; k++) {
        const char *first = NULL;
        for (int i = 0; i < s->n && !s->varies[k]; i++) {
            const char *v = s->run[i].val[k];
            if (v && first && strcmp(v, first))
                s->varies[k] = 1;
            first = first ? first : v;
        }
        /* a key that does not vary has the same value in the runs not started yet */
        for (int i = 0; i < s->n && first && !s->varies[k]; i++)
            if (!s->run[i].val[k])
                s->run[i].val[k] = mli_strdup(first);
    }
}

static void derive(const mli_table_sweep *s, mli_table_run *r)
{
    const char *v;
    int k;
    r->lr = NAN;
    r->bn = -1;
    if ((k = key_index(s, "lr")) >= 0 && (v = r->val[k]))
        r->lr = strtod(v, NULL);
    if ((k = key_index(s, "optim_name")) >= 0 && (v = r->val[k]))
        snprintf(r->optim, sizeof r->optim, "%s", v);
    if ((k = key_index(s, "use_batchnorm")) >= 0 && (v = r->val[k]))
        r->bn = !strcmp(v, "true");
    int h[MLI_MAX_HIDDEN], nh = 0;
    if ((k = key_index(s, "hsizes")) >= 0 && (v = r->val[k]) && mli_hsizes_parse(v, h, &nh) == MLI_OK) {
        r->depth = nh;
        r->width = nh > 1 ? h[nh - 2] : 0;
    }
    /* a convolutional run: its depth and width keys (0 is the architecture's default) */
    if ((k = key_index(s, "arch")) >= 0 && (v = r->val[k]) && strcmp(v, "fcnet")) {
        int kind = MLI_ARCH_FCNET;
        mli_arch_kind_parse(v, &kind);
        const char *dv = (k = key_index(s, "depth")) >= 0 ? r->val[k] : NULL;
        const char *wv = (k = key_index(s, "width")) >= 0 ? r->val[k] : NULL;
        r->depth = dv && atoi(dv) ? atoi(dv) : mli_arch_default_depth(kind);
        r->width = wv && atoi(wv) ? atoi(wv) : mli_arch_default_width(kind);
    }
}

int mli_table_load(mli_table_sweep *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (!len || len >= sizeof s->dir - 700)
        return mli_err(MLI_EUSAGE, "bad sweep directory '%s'", dir);
    memcpy(s->dir, dir, len);
    s->dir[len] = '\0';
    load_keys(s);
    if (!mli_is_dir(s->dir))
        return mli_err(MLI_EINPUT, "%s: no such sweep directory", s->dir);
    int rc = mli_exists_in(s->dir, "sweep.json") ? list_runs_json(s) : list_runs_dir(s);
    if (!rc && !s->n)
        rc = mli_err(MLI_EINPUT, "%s: a sweep without runs (%s)", s->dir,
                     mli_exists_in(s->dir, "sweep.json") ? "sweep.json lists none" : "runs/ is empty");
    for (int i = 0; i < s->n && !rc; i++) {
        rc = load_config(s, &s->run[i]);
        if (!rc)
            rc = load_geometry(&s->run[i]);
        s->has_ntk |= isfinite(s->run[i].ntk_kernel_distance) != 0;
        s->has_exact |= isfinite(s->run[i].exact_delta_hi) != 0;
    }
    if (rc)
        return rc;
    find_varying(s);
    for (int i = 0; i < s->n; i++)
        derive(s, &s->run[i]);
    return MLI_OK;
}

void mli_table_free(mli_table_sweep *s)
{
    for (int i = 0; i < s->n; i++) {
        for (int k = 0; k < s->nkey; k++)
            free(s->run[i].val[k]);
        free(s->run[i].val);
    }
    for (int k = 0; k < s->nkey; k++)
        free(s->key[k]);
    free(s->run);
    free(s->key);
    free(s->varies);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------------------------
 * summary.tsv */

void mli_table_summary(const mli_table_sweep *s, mli_buf *b)
{
    enum { NM = 13 };
    static const char *const metric[NM] = {"final_train_loss", "final_test_loss", "final_train_acc",
                                           "final_test_acc", "delta", "monotone", "wdist", "norm_wdist",
                                           "gauss_length_mean", "ntk_kernel_distance", "exact_delta_lo",
                                           "exact_delta_hi", "exact_turning_mean"};
    /* the NTK and exact columns only when some run has them */
    int on[NM];
    for (int m = 0; m < NM; m++)
        on[m] = m < 9 || (m == 9 && s->has_ntk) || (m > 9 && s->has_exact);
    mli_buf_printf(b, "run_id");
    for (int k = 0; k < s->nkey; k++)
        if (s->varies[k])
            mli_buf_printf(b, "\t%s", s->key[k]);
    mli_buf_printf(b, "\tstatus");
    for (int m = 0; m < NM; m++)
        if (on[m])
            mli_buf_printf(b, "\t%s", metric[m]);
    mli_buf_printf(b, "\n");
    for (int i = 0; i < s->n; i++) {
        const mli_table_run *r = &s->run[i];
        mli_buf_printf(b, "%s", r->id);
        for (int k = 0; k < s->nkey; k++)
            if (s->varies[k])
                mli_buf_printf(b, "\t%s", r->val[k] ? r->val[k] : "");
        mli_buf_printf(b, "\t%s", r->status);
        const double v[NM] = {r->final_train_loss, r->final_test_loss, r->final_train_acc, r->final_test_acc,
                              r->delta, r->monotone, r->wdist, r->norm_wdist, r->gauss_length_mean,
                              r->ntk_kernel_distance, r->exact_delta_lo, r->exact_delta_hi,
                              r->exact_turning_mean};
        for (int m = 0; m < NM; m++)
            if (on[m])
                mli_buf_printf(b, "\t%.9g", isnan(v[m]) ? NAN : v[m]); /* never "-nan" */
        mli_buf_printf(b, "\n");
    }
}

/* ------------------------------------------------------------------------------------------
 * The paper's table */

void mli_table_opts_default(mli_table_opts *o)
{
    o->loss_threshold = 0.1;
    o->delta_threshold = 1e-3;
}

mli_table_outcome mli_table_classify(const mli_table_run *r, const mli_table_opts *o)
{
    if (r->has_geometry) {
        if (!(r->final_train_loss < o->loss_threshold))
            return MLI_TABLE_EXCLUDED; /* includes a NaN loss: the network did not train */
        /* trained, but no delta to count: the analysis has not said yet */
        return isfinite(r->delta) ? MLI_TABLE_SUCCESS : MLI_TABLE_PENDING;
    }
    if (!strcmp(r->status, "diverged") || !strcmp(r->status, "stopped_early"))
        return MLI_TABLE_EXCLUDED;
    return MLI_TABLE_PENDING;
}

static int cmp_row(const void *pa, const void *pb)
{
    const mli_table_row *a = pa, *b = pb;
    int c = strcmp(a->optim, b->optim);
    if (c)
        return c;
    if (a->bn != b->bn)
        return a->bn - b->bn;
    return (a->lr < b->lr) - (a->lr > b->lr); /* descending */
}

static mli_table_row *find_row(mli_table *t, const mli_table_run *r)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->row[i].optim, r->optim) && t->row[i].bn == r->bn && t->row[i].lr == r->lr)
            return &t->row[i];
    t->row = mli_realloc(t->row, sizeof *t->row * (size_t)(t->n + 1));
    mli_table_row *w = &t->row[t->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->optim, sizeof w->optim, "%s", r->optim);
    w->bn = r->bn;
    w->lr = r->lr;
    return w;
}

void mli_table_make(const mli_table_sweep *s, const mli_table_opts *o, mli_table *t)
{
    memset(t, 0, sizeof *t);
    t->opts = *o;
    for (int i = 0; i < s->n; i++) {
        const mli_table_run *r = &s->run[i];
        mli_table_outcome oc = mli_table_classify(r, o);
        int nonmono = oc == MLI_TABLE_SUCCESS && r->delta > o->delta_threshold;
        t->n_runs++;
        t->n_success += oc == MLI_TABLE_SUCCESS;
        t->n_excluded += oc == MLI_TABLE_EXCLUDED;
        t->n_pending += oc == MLI_TABLE_PENDING;
        t->n_nonmono += nonmono;
        if (!isfinite(r->lr) || !r->optim[0] || r->bn < 0) {
            t->n_unknown++;
            continue;
        }
        mli_table_row *w = find_row(t, r);
        w->n_runs++;
        w->n_success += oc == MLI_TABLE_SUCCESS;
        w->n_excluded += oc == MLI_TABLE_EXCLUDED;
        w->n_pending += oc == MLI_TABLE_PENDING;
        w->n_nonmono += nonmono;
        w->mean_delta += nonmono ? r->delta : 0; /* the sum, until the division below */
    }
    for (int i = 0; i < t->n; i++)
        t->row[i].mean_delta = t->row[i].n_nonmono ? t->row[i].mean_delta / t->row[i].n_nonmono : NAN;
    if (t->n)
        qsort(t->row, (size_t)t->n, sizeof *t->row, cmp_row);
}

void mli_table_clear(mli_table *t)
{
    free(t->row);
    memset(t, 0, sizeof *t);
}

/* The sentence above the table: what is counted, and out of how many runs. */
static void table_intro(const mli_table *t, mli_buf *b, const char *delta, const char *lt)
{
    mli_buf_printf(b, "Non-monotone runs (%s > %.9g) among the successful runs (final training loss %s %.9g), "
                      "per optimizer, batch norm and learning rate: %d run%s, %d successful, %d excluded as "
                      "unsuccessful",
                   delta, t->opts.delta_threshold, lt, t->opts.loss_threshold, t->n_runs,
                   t->n_runs == 1 ? "" : "s", t->n_success, t->n_excluded);
    if (t->n_pending)
        mli_buf_printf(b, ", %d pending (not trained or not analysed yet)", t->n_pending);
    mli_buf_printf(b, ".");
    if (t->n_unknown)
        mli_buf_printf(b, " %d run%s of unknown optimizer, batch norm or learning rate %s not in the table.",
                       t->n_unknown, t->n_unknown == 1 ? "" : "s", t->n_unknown == 1 ? "is" : "are");
}

/* The cells of a row as text: learning rate, counts, fraction, mean delta. */
typedef struct {
    char lr[32], counts[32], frac[16], mean[32], excluded[16], pending[16];
} row_text;

static void row_cells(const mli_table_row *w, row_text *c, const char *none)
{
    snprintf(c->lr, sizeof c->lr, "%.9g", w->lr);
    snprintf(c->counts, sizeof c->counts, "%d/%d", w->n_nonmono, w->n_success);
    if (w->n_success)
        snprintf(c->frac, sizeof c->frac, "%.2f", (double)w->n_nonmono / w->n_success);
    else
        snprintf(c->frac, sizeof c->frac, "%s", none);
    if (w->n_nonmono)
        snprintf(c->mean, sizeof c->mean, "%.3g", w->mean_delta);
    else
        snprintf(c->mean, sizeof c->mean, "%s", none);
    snprintf(c->excluded, sizeof c->excluded, "%d", w->n_excluded);
    snprintf(c->pending, sizeof c->pending, "%d", w->n_pending);
}

void mli_table_markdown(const mli_table *t, mli_buf *b)
{
    table_intro(t, b, "Δ", "<");
    mli_buf_printf(b, "\n\n| optimizer | batch norm | learning rate | non-monotone / successful | "
                      "fraction non-monotone | mean Δ of the non-monotone | excluded |%s\n"
                      "| --- | --- | ---: | ---: | ---: | ---: | ---: |%s\n",
                   t->n_pending ? " pending |" : "", t->n_pending ? " ---: |" : "");
    for (int i = 0; i < t->n; i++) {
        row_text c;
        row_cells(&t->row[i], &c, "–");
        mli_buf_printf(b, "| %s | %s | %s | %s | %s | %s | %s |", t->row[i].optim, t->row[i].bn ? "yes" : "no",
                       c.lr, c.counts, c.frac, c.mean, c.excluded);
        if (t->n_pending)
            mli_buf_printf(b, " %s |", c.pending);
        mli_buf_printf(b, "\n");
    }
}

static void tex_esc(mli_buf *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '\\': mli_buf_printf(b, "\\textbackslash{}"); break;
        case '~': mli_buf_printf(b, "\\textasciitilde{}"); break;
        case '^': mli_buf_printf(b, "\\textasciicircum{}"); break;
        case '&': case '%': case '$': case '#': case '_': case '{': case '}':
            mli_buf_printf(b, "\\%c", *s);
            break;
        default: mli_buf_printf(b, "%c", *s);
        }
}

/* A number as LaTeX: 1e-05 becomes $10^{-5}$ and 2.5e-05 $2.5\times 10^{-5}$. */
static void tex_num(mli_buf *b, const char *text)
{
    const char *e = strchr(text, 'e');
    if (!e) {
        mli_buf_printf(b, "%s", text);
        return;
    }
    int ex = atoi(e + 1);
    if (e - text == 1 && text[0] == '1')
        mli_buf_printf(b, "$10^{%d}$", ex);
    else
        mli_buf_printf(b, "$%.*s\\times 10^{%d}$", (int)(e - text), text, ex);
}

void mli_table_latex(const mli_table *t, mli_buf *b)
{
    /* the intro as a comment: a tabular has no caption of its own, the document gives it */
    mli_buf intro = {0};
    table_intro(t, &intro, "delta", "<");
    mli_buf_printf(b, "%% Written by 'mli table' (needs no package). ");
    tex_esc(b, intro.s);
    mli_buf_free(&intro);
    mli_buf_printf(b, "\n\\begin{tabular}{llrrrrr%s}\n\\hline\n"
                      "Optimizer & Batch norm & Learning rate & Non-monotone / successful & Fraction & "
                      "Mean $\\Delta$ (non-monotone) & Excluded%s \\\\\n\\hline\n",
                   t->n_pending ? "r" : "", t->n_pending ? " & Pending" : "");
    for (int i = 0; i < t->n; i++) {
        row_text c;
        row_cells(&t->row[i], &c, "--");
        tex_esc(b, t->row[i].optim);
        mli_buf_printf(b, " & %s & ", t->row[i].bn ? "yes" : "no");
        tex_num(b, c.lr);
        mli_buf_printf(b, " & %s & %s & ", c.counts, c.frac);
        tex_num(b, c.mean);
        mli_buf_printf(b, " & %s", c.excluded);
        if (t->n_pending)
            mli_buf_printf(b, " & %s", c.pending);
        mli_buf_printf(b, " \\\\\n");
    }
    mli_buf_printf(b, "\\hline\n\\end{tabular}\n");
}

void mli_table_html(const mli_table *t, mli_buf *b)
{
    mli_buf intro = {0};
    table_intro(t, &intro, "Δ", "<");
    mli_buf_printf(b, "<p>");
    mli_html_esc(b, intro.s);
    mli_buf_free(&intro);
    mli_buf_printf(b, "</p>\n<table class=\"sweep\">\n<tr><th>optimizer</th><th>batch norm</th>"
                      "<th>learning rate</th><th>non-monotone / successful</th><th>fraction non-monotone</th>"
                      "<th>mean Δ of the non-monotone</th><th>excluded</th>%s</tr>\n",
                   t->n_pending ? "<th>pending</th>" : "");
    for (int i = 0; i < t->n; i++) {
        row_text c;
        row_cells(&t->row[i], &c, "–");
        mli_buf_printf(b, "<tr><td>");
        mli_html_esc(b, t->row[i].optim);
        mli_buf_printf(b, "</td><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                          "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>",
                       t->row[i].bn ? "yes" : "no", c.lr, c.counts, c.frac, c.mean, c.excluded);
        if (t->n_pending)
            mli_buf_printf(b, "<td class=\"num\">%s</td>", c.pending);
        mli_buf_printf(b, "</tr>\n");
    }
    mli_buf_printf(b, "</table>\n");
}

int mli_table_write(const mli_table_sweep *s, const mli_table_opts *o, mli_buf *md)
{
    mli_table t;
    mli_table_make(s, o, &t);
    mli_buf sum = {0}, m = {0}, tex = {0};
    mli_table_summary(s, &sum);
    mli_table_markdown(&t, &m);
    mli_table_latex(&t, &tex);
    mli_table_clear(&t);
    const char *const name[] = {"summary.tsv", "table.md", "table.tex"};
    const mli_buf *text[] = {&sum, &m, &tex};
    int rc = MLI_OK;
    for (int i = 0; i < 3 && !rc; i++) {
        char path[MLI_TABLE_PATH + 16];
        snprintf(path, sizeof path, "%s/%s", s->dir, name[i]);
        rc = mli_buf_write(text[i], path);
    }
    if (md && !rc)
        mli_buf_printf(md, "%s", m.s);
    mli_buf_free(&sum);
    mli_buf_free(&m);
    mli_buf_free(&tex);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Rank correlation */

double mli_table_spearman(const double *x, const double *y, int n, int *used)
{
    double *a = mli_malloc(sizeof *a * (size_t)(4 * n + 4)), *b = a + n + 1, *work = b + n + 1;
    int m = 0, xconst = 1, yconst = 1;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            a[m] = x[i];
            b[m] = y[i];
            xconst &= a[m] == a[0];
            yconst &= b[m] == b[0];
            m++;
        }
    /* a constant side has no ranking: GSL would divide zero by zero */
    double rho = m >= 2 && !xconst && !yconst ? gsl_stats_spearman(a, 1, b, 1, (size_t)m, work) : NAN;
    free(a);
    if (used)
        *used = m;
    return rho;
}
