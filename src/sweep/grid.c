#include "sweep/grid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/err.h"

/* ---- the analysis keys ------------------------------------------------------------------ */

typedef enum { A_INT, A_BOOL, A_BN } atype;

typedef struct {
    const char *name; /* after "analyze." */
    atype type;
    const char *option; /* the `mli analyze` option (A_INT, A_BN) */
    long lo, hi;        /* A_INT range: the one `mli analyze` accepts */
} akey;

/* Sorted by name: the canonical text lists them in this order. */
static const akey akeys[] = {
    {"alpha_steps", A_INT, "--alpha-steps", 2, 100000},
    {"bn_stats", A_BN, "--bn-stats", 0, 0},
    {"certificates", A_BOOL, NULL, 0, 0},
    {"exact", A_BOOL, NULL, 0, 0},
    {"examples", A_INT, "--examples", 0, 100000000},
    {"train_derivs", A_BOOL, NULL, 0, 0},
    {"verify_steps", A_INT, "--verify-steps", 0, 1000000},
};
enum { NAKEYS = (int)(sizeof akeys / sizeof akeys[0]) };
static const char APREFIX[] = "analyze.";

static const akey *find_akey(const char *key)
{
    if (strncmp(key, APREFIX, sizeof APREFIX - 1))
        return NULL;
    for (int i = 0; i < NAKEYS; i++)
        if (!strcmp(key + sizeof APREFIX - 1, akeys[i].name))
            return &akeys[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* Set one analysis option; MLI_EUSAGE naming the key and what it expects. */
static int set_analysis(mli_analyze_opts *o, const akey *k, const char *v)
{
    if (k->type == A_INT) {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno || x < k->lo || x > k->hi)
            return mli_err(MLI_EUSAGE, "analyze.%s: '%s' is not an integer in [%ld, %ld]", k->name, v, k->lo,
                           k->hi);
        int *field = !strcmp(k->name, "alpha_steps") ? &o->alpha_steps
                     : !strcmp(k->name, "examples")  ? &o->n_examples
                                                     : &o->verify_steps;
        *field = (int)x;
        return MLI_OK;
    }
    if (k->type == A_BN) {
        if (strcmp(v, "ema") && strcmp(v, "exact"))
            return mli_err(MLI_EUSAGE, "analyze.bn_stats: '%s' is not ema or exact", v);
        o->bn_stats = !strcmp(v, "ema") ? MLI_BN_EMA : MLI_BN_EXACT;
        return MLI_OK;
    }
    int b;
    if (parse_bool(v, &b))
        return mli_err(MLI_EUSAGE, "analyze.%s: '%s' is not true or false", k->name, v);
    *(!strcmp(k->name, "certificates") ? &o->certificates
      : !strcmp(k->name, "exact")      ? &o->exact
                                       : &o->train_derivs) = b;
    return MLI_OK;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* A message recorded by a lower layer, prefixed with the grid position. */
static int at_line(const mli_grid *g, int lineno, int status)
{
    return mli_err(status, "%s:%d: %s", g->label, lineno, mli_errmsg());
}

/* Does this value parse for this key? (A scratch configuration takes it.) */
static int check_value(const mli_grid_line *l, const char *v)
{
    const akey *k = find_akey(l->key);
    if (k) {
        mli_analyze_opts o;
        mli_analyze_opts_default(&o);
        return set_analysis(&o, k, v);
    }
    mli_config c;
    mli_config_default(&c);
    return mli_config_set(&c, l->key, v);
}

static int parse_key(mli_grid *g, mli_grid_line *l, char *key, int lineno)
{
    if (!*key)
        return mli_err(MLI_EUSAGE, "%s:%d: no key before '='", g->label, lineno);
    l->analysis = !strncmp(key, APREFIX, sizeof APREFIX - 1);
    if (l->analysis && !find_akey(key))
        return mli_err(MLI_EUSAGE, "%s:%d: unknown analysis key '%s' (expected analyze.examples, "
                       "analyze.verify_steps, analyze.alpha_steps, analyze.certificates, "
                       "analyze.exact, analyze.train_derivs or analyze.bn_stats)", g->label, lineno, key);
    if (!l->analysis && !mli_config_has_key(key))
        return mli_err(MLI_EUSAGE, "%s:%d: unknown key '%s' (the keys of 'mli train --help', or analyze.*)",
                       g->label, lineno, key);
    for (int i = 0; i < g->nlines; i++)
        if (!strcmp(g->lines[i].key, key))
            return mli_err(MLI_EUSAGE, "%s:%d: key '%s' repeated (first given on line %d)", g->label, lineno,
                           key, g->lines[i].lineno);
    l->key = mli_strdup(key);
    l->lineno = lineno;
    return MLI_OK;
}

static int parse_alts(mli_grid *g, mli_grid_line *l, char *rhs)
{
    int cap = 1;
    for (const char *p = rhs; *p; p++)
        cap += *p == '|';
    l->alts = mli_calloc((size_t)cap, sizeof *l->alts);
    char *tok = rhs;
    for (int k = 0; k < cap; k++) {
        char *bar = strchr(tok, '|');
        if (bar)
            *bar = '\0';
        char *v = trim(tok);
        tok = bar ? bar + 1 : NULL;
        if (!*v)
            return mli_err(MLI_EUSAGE, "%s:%d: %s: alternative %d of %d is empty", g->label, l->lineno, l->key,
                           k + 1, cap);
        /* values go into command lines and into the space-separated jobs.txt */
        if (strpbrk(v, " \t"))
            return mli_err(MLI_EUSAGE, "%s:%d: %s: alternative '%s' contains a space", g->label, l->lineno,
                           l->key, v);
        for (int j = 0; j < l->n; j++)
            if (!strcmp(l->alts[j], v))
                return mli_err(MLI_EUSAGE, "%s:%d: %s: alternative '%s' given twice", g->label, l->lineno,
                               l->key, v);
        if (check_value(l, v))
            return at_line(g, l->lineno, MLI_EUSAGE);
        l->alts[l->n++] = mli_strdup(v);
    }
    return MLI_OK;
}

static int parse_line(mli_grid *g, char *line, int lineno)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *s = trim(line);
    if (!*s)
        return MLI_OK;
    char *eq = strchr(s, '=');
    if (!eq)
        return mli_err(MLI_EUSAGE, "%s:%d: '%s' is not of the form key = value | value | ...", g->label, lineno, s);
    *eq = '\0';
    mli_grid_line l = {0};
    int rc = parse_key(g, &l, trim(s), lineno);
    if (!rc)
        rc = parse_alts(g, &l, eq + 1);
    g->lines = mli_realloc(g->lines, sizeof *g->lines * (size_t)(g->nlines + 1));
    g->lines[g->nlines++] = l; /* kept even on error, so that mli_grid_free frees it */
    if (!rc && g->nruns * l.n > MLI_GRID_MAX_RUNS)
        rc = mli_err(MLI_EUSAGE, "%s:%d: the grid has more than %d runs", g->label, lineno, MLI_GRID_MAX_RUNS);
    if (!rc)
        g->nruns *= l.n;
    return rc;
}

int mli_grid_parse(mli_grid *g, const char *label, const char *text, size_t len)
{
    memset(g, 0, sizeof *g);
    g->label = mli_strdup(label);
    g->text = mli_malloc(len + 1);
    memcpy(g->text, text, len);
    g->text[len] = '\0';
    g->len = len;
    g->nruns = 1;
    if (memchr(text, '\0', len))
        return mli_err(MLI_EUSAGE, "%s: not a text file (it holds a NUL byte)", label);
    char *copy = mli_strdup(g->text), *next;
    int rc = MLI_OK, lineno = 0;
    for (char *line = copy; line && !rc; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        if (!nl && !*line)
            break; /* the text ends with a newline */
        rc = parse_line(g, line, lineno);
    }
    free(copy);
    if (!rc && g->nlines == 0)
        rc = mli_err(MLI_EUSAGE, "%s: no 'key = value | value ...' line", label);
    return rc;
}

int mli_grid_load(mli_grid *g, const char *path)
{
    unsigned char *buf;
    size_t n;
    memset(g, 0, sizeof *g);
    if (mli_file_read(path, 1u << 24, &buf, &n)) {
        return mli_err(MLI_EUSAGE, "grid file: %s", mli_errmsg());
    }
    int rc = mli_grid_parse(g, path, (const char *)buf, n);
    free(buf);
    return rc;
}

void mli_grid_free(mli_grid *g)
{
    for (int i = 0; i < g->nlines; i++) {
        for (int k = 0; k < g->lines[i].n; k++)
            free(g->lines[i].alts[k]);
        free(g->lines[i].alts);
        free(g->lines[i].key);
    }
    free(g->lines);
    free(g->label);
    free(g->text);
    memset(g, 0, sizeof *g);
}

/* ---- ids -------------------------------------------------------------------------------- */

void mli_grid_id(const char *canon, char id[13])
{
    /* the top bits: FNV's multiplication carries every input byte upwards */
    uint64_t h = mli_fnv1a64(canon, strlen(canon));
    snprintf(id, 13, "%012" PRIx64, h >> 16);
}

char *mli_grid_canonical(const mli_config *cfg, const mli_analyze_opts *an)
{
    cJSON *j = mli_config_to_json(cfg);
    /* outR_mult and test_every came after sweeps existed: at their defaults (0, off; 1, every
     * epoch) they are left out, so the runs of those sweeps keep their ids */
    if (cfg->outR_mult == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "outR_mult");
    if (cfg->test_every == 1)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "test_every");
    /* so are the convolutional keys (arch=fcnet, depth and width 0, augment off) */
    if (cfg->arch == MLI_ARCH_FCNET)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "arch");
    if (cfg->depth == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "depth");
    if (cfg->width == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "width");
    if (!cfg->augment)
        cJSON_DeleteItemFromObjectCaseSensitive(j, "augment");
    char *keys = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    /* the analysis as it will run: defaults resolved the way mli analyze resolves them */
    int certificates = an->certificates >= 0 ? an->certificates : cfg->loss_fn != MLI_LOSS_CE;
    char examples[32];
    if (an->n_examples < 0)
        snprintf(examples, sizeof examples, "all");
    else
        snprintf(examples, sizeof examples, "%d", an->n_examples);
    mli_buf b = {0};
    mli_buf_printf(&b, "%s\n", keys);
    mli_buf_printf(&b, "analyze.alpha_steps=%d\n", an->alpha_steps > 0 ? an->alpha_steps : cfg->alpha_steps);
    mli_buf_printf(&b, "analyze.bn_stats=%s\n", an->bn_stats == MLI_BN_EXACT ? "exact" : "ema");
    mli_buf_printf(&b, "analyze.certificates=%s\n", certificates ? "true" : "false");
    if (an->exact) /* only when on: the ids of runs without it stay what they were */
        mli_buf_printf(&b, "analyze.exact=true\n");
    mli_buf_printf(&b, "analyze.examples=%s\n", examples);
    mli_buf_printf(&b, "analyze.train_derivs=%s\n", an->train_derivs ? "true" : "false");
    mli_buf_printf(&b, "analyze.verify_steps=%d\n", an->verify_steps);
    free(keys);
    return b.s;
}

/* ---- the run list ----------------------------------------------------------------------- */

static int make_run(const mli_grid *g, long index, mli_grid_run *r)
{
    r->index = (int)index;
    r->choice = mli_calloc((size_t)g->nlines, sizeof *r->choice);
    long rest = index;
    for (int i = g->nlines - 1; i >= 0; i--) { /* the last line varies fastest */
        r->choice[i] = (int)(rest % g->lines[i].n);
        rest /= g->lines[i].n;
    }
    mli_config_default(&r->cfg);
    mli_analyze_opts_default(&r->an);
    for (int i = 0; i < g->nlines; i++) {
        const mli_grid_line *l = &g->lines[i];
        const char *v = l->alts[r->choice[i]];
        const akey *k = find_akey(l->key);
        int rc = k ? set_analysis(&r->an, k, v) : mli_config_set(&r->cfg, l->key, v);
        if (rc)
            return at_line(g, l->lineno, MLI_EUSAGE); /* values were checked: unreachable */
    }
    if (mli_config_validate(&r->cfg)) {
        mli_buf b = {0};
        mli_grid_run_pairs(g, r, ' ', &b);
        int rc = mli_err(MLI_EUSAGE, "%s: run %ld (%s): %s", g->label, index, b.s ? b.s : "", mli_errmsg());
        mli_buf_free(&b);
        return rc;
    }
    r->canon = mli_grid_canonical(&r->cfg, &r->an);
    mli_grid_id(r->canon, r->id);
    return MLI_OK;
}

static int cmp_id(const void *a, const void *b)
{
    const mli_grid_run *x = *(const mli_grid_run *const *)a, *y = *(const mli_grid_run *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->index - y->index;
}

/* Equal ids must mean equal configurations: sort by id and compare neighbours. */
static int check_ids(const mli_grid *g, mli_grid_run *runs, int n)
{
    mli_grid_run **s = mli_malloc(sizeof *s * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        s[i] = &runs[i];
    qsort(s, (size_t)n, sizeof *s, cmp_id);
    int rc = MLI_OK;
    for (int i = 1; i < n && !rc; i++) {
        if (strcmp(s[i - 1]->id, s[i]->id))
            continue;
        if (!strcmp(s[i - 1]->canon, s[i]->canon))
            rc = mli_err(MLI_EUSAGE, "%s: runs %d and %d have the same configuration (id %s): "
                         "two alternatives of a line mean the same value", g->label, s[i - 1]->index,
                         s[i]->index, s[i]->id);
        else
            rc = mli_err(MLI_EFAIL, "%s: hash collision: runs %d and %d have different configurations "
                         "but the same id %s; please report this grid", g->label, s[i - 1]->index,
                         s[i]->index, s[i]->id);
    }
    free(s);
    return rc;
}

int mli_grid_expand(const mli_grid *g, mli_grid_run **runs, int *n)
{
    *n = (int)g->nruns;
    *runs = mli_calloc((size_t)*n, sizeof **runs);
    int rc = MLI_OK;
    for (long i = 0; i < g->nruns && !rc; i++)
        rc = make_run(g, i, &(*runs)[i]);
    if (!rc)
        rc = check_ids(g, *runs, *n);
    if (rc) {
        mli_grid_runs_free(*runs, *n);
        *runs = NULL;
        *n = 0;
    }
    return rc;
}

void mli_grid_runs_free(mli_grid_run *runs, int n)
{
    for (int i = 0; runs && i < n; i++) {
        free(runs[i].choice);
        free(runs[i].canon);
    }
    free(runs);
}

/* ---- text and command lines of a run ---------------------------------------------------- */

void mli_grid_run_pairs(const mli_grid *g, const mli_grid_run *r, char sep, mli_buf *b)
{
    const char sepstr[2] = {sep, '\0'};
    int first = 1;
    /* pass 0: varying training keys, 1: fixed training keys, 2: varying analysis, 3: fixed */
    for (int pass = 0; pass < 4; pass++)
        for (int i = 0; i < g->nlines; i++) {
            const mli_grid_line *l = &g->lines[i];
            if (l->analysis != (pass >= 2) || (l->n > 1) != (pass % 2 == 0))
                continue;
            mli_buf_printf(b, "%s%s=%s", first ? "" : sepstr, l->key, l->alts[r->choice[i]]);
            first = 0;
        }
    if (!b->s)
        mli_buf_printf(b, "%s", "");
}

static void add_word(char **words, int *n, int max, const char *w)
{
    if (*n < max)
        words[(*n)++] = mli_strdup(w);
}

void mli_grid_train_words(const mli_grid *g, const mli_grid_run *r, char **words, int *n, int max)
{
    for (int i = 0; i < g->nlines; i++) {
        const mli_grid_line *l = &g->lines[i];
        if (l->analysis)
            continue;
        mli_buf b = {0};
        mli_buf_printf(&b, "%s=%s", l->key, l->alts[r->choice[i]]);
        if (*n < max)
            words[(*n)++] = b.s;
        else
            mli_buf_free(&b);
    }
}

void mli_grid_analyze_words(const mli_grid *g, const mli_grid_run *r, char **words, int *n, int max)
{
    for (int i = 0; i < g->nlines; i++) {
        const mli_grid_line *l = &g->lines[i];
        const akey *k = l->analysis ? find_akey(l->key) : NULL;
        if (!k)
            continue;
        const char *v = l->alts[r->choice[i]];
        if (k->type != A_BOOL) {
            add_word(words, n, max, k->option);
            add_word(words, n, max, v);
            continue;
        }
        int on = 0;
        parse_bool(v, &on);
        if (!strcmp(k->name, "certificates"))
            add_word(words, n, max, on ? "--certificates" : "--no-certificates");
        else if (!strcmp(k->name, "exact")) {
            if (on)
                add_word(words, n, max, "--exact");
        }
        else if (!on) /* training derivatives are on by default; analyze has no option to ask for them */
            add_word(words, n, max, "--no-train-derivs");
    }
}
