#include "geometry/controls.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "geometry/curve.h"
#include "geometry/logits.h"
#include "geometry/ntk.h"
#include "geometry/plane.h"
#include "io/err.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/op.h"
#include "train/init.h"

#define MAX_BUMPS 1024

void mli_controls_opts_default(mli_controls_opts *o)
{
    memset(o, 0, sizeof *o);
    o->plane_size = 25;
    o->plane_dirs = MLI_PLANE_INIT;
    o->ntk_top = 10;
}

int mli_controls_any(const mli_controls_opts *o)
{
    return o->random_inits > 0 || o->permute > 0 || o->plane || o->logits > 0 || o->ntk > 0;
}

int mli_controls_check(const mli_controls_opts *o, const mli_arch *a, const mli_dataset *ds)
{
    int n = o->ntk < ds->test.n ? o->ntk : ds->test.n;
    if (o->ntk > 0 && (long)n * a->nout > MLI_NTK_MAX_ROWS)
        return mli_err(MLI_EUSAGE, "--ntk %d: the kernel would have %d examples x %d outputs = %ld rows; at "
                       "most %d are supported (the kernel has rows^2 reals): use --ntk %d or fewer",
                       o->ntk, n, a->nout, (long)n * a->nout, MLI_NTK_MAX_ROWS, MLI_NTK_MAX_ROWS / a->nout);
    if (o->permute > 0 && !a->nh && a->kind == MLI_ARCH_FCNET) /* an imported graph */
        return mli_err(MLI_EUSAGE, "--permute needs an FCNet (a chain of Linear layers whose hidden units it "
                       "permutes) or a convolutional architecture built from keys (arch=); this network is a "
                       "general graph (imported from ONNX)");
    if (o->permute > 0 && a->nh == 1)
        return mli_err(MLI_EUSAGE, "--permute: the network has no hidden layer to permute (hsizes has one size)");
    int node_group[MLI_MAX_NODES], gsize[MLI_MAX_NODES];
    if (o->permute > 0 && mli_perm_groups(a, node_group, gsize) == 0)
        return mli_err(MLI_EUSAGE, "--permute: the network has no hidden channels to permute");
    return MLI_OK;
}

void mli_controls_merge(cJSON *to, cJSON *from)
{
    while (from && from->child) {
        cJSON *e = cJSON_DetachItemViaPointer(from, from->child);
        char *key = e->string;
        e->string = NULL; /* re-added under the same key, which cJSON copies */
        cJSON_DeleteItemFromObjectCaseSensitive(to, key);
        cJSON_AddItemToObject(to, key, e);
        free(key);
    }
}

/* ---- permutations ------------------------------------------------------------------------- */

/* Union-find over channel groups; group 0 is the fixed one (the data's channels, the
 * outputs, and whatever is tied to them), which is never permuted. */
static int uf_find(int *parent, int g)
{
    while (parent[g] != g)
        g = parent[g] = parent[parent[g]];
    return g;
}

static void uf_union(int *parent, int g, int h)
{
    g = uf_find(parent, g);
    h = uf_find(parent, h);
    if (g != h) /* the smaller id is the root: the fixed group stays 0, groups keep their order */
        parent[g > h ? g : h] = g < h ? g : h;
}

int mli_perm_groups(const mli_arch *a, int *node_group, int *gsize)
{
    int parent[MLI_MAX_NODES + 1], chans[MLI_MAX_NODES + 1], ng = 1, raw[MLI_MAX_NODES];
    parent[0] = 0;
    chans[0] = 0;
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *n = &a->nodes[l];
        int g0 = n->in[0] == MLI_GRAPH_INPUT ? 0 : raw[n->in[0]];
        for (int k = 1; k < n->nin; k++) /* Add: its inputs' channels are one set of channels */
            uf_union(parent, g0, n->in[k] == MLI_GRAPH_INPUT ? 0 : raw[n->in[k]]);
        int conv = n->op == &mli_op_conv, reshape = n->op->pwl && n->op->pwl(n) == MLI_PWL_RESHAPE;
        int in_flat = n->ishape[0].ndim == 1 || conv;
        if (n->op->units) {
            if (!in_flat) /* a Linear on C×H×W acts on the last dimension: leave its input alone */
                uf_union(parent, g0, 0);
            int units = conv || n->shape.ndim == 1;
            if (units && l + 1 < a->nnodes) {
                parent[ng] = ng;
                chans[ng] = n->shape.d[0];
                raw[l] = ng++;
            } else
                raw[l] = 0;
            continue;
        }
        /* the channels pass through unchanged (batch norm, activations, Add, pools), unless the
         * node reshapes them or has parameters without a permute rule */
        int follows = !reshape && n->shape.d[0] == n->ishape[0].d[0] &&
                      (n->op->permute || !n->nt);
        if (!follows || l + 1 == a->nnodes)
            uf_union(parent, g0, 0);
        raw[l] = g0;
    }
    /* the roots other than the fixed group, numbered in order of creation */
    int id[MLI_MAX_NODES + 1], G = 0;
    for (int g = 1; g < ng; g++)
        id[g] = uf_find(parent, g) == g ? G++ : -1;
    for (int g = 1; g < ng; g++)
        if (id[g] >= 0)
            gsize[id[g]] = chans[g];
    for (int l = 0; l < a->nnodes; l++) {
        int r = uf_find(parent, raw[l]);
        node_group[l] = r ? id[r] : -1;
    }
    return G;
}

void mli_random_hidden_perm(const mli_arch *a, gsl_rng *rng, int **perm)
{
    int node_group[MLI_MAX_NODES], gsize[MLI_MAX_NODES];
    int G = mli_perm_groups(a, node_group, gsize);
    for (int h = 0; h < G; h++) {
        for (int u = 0; u < gsize[h]; u++)
            perm[h][u] = u;
        gsl_ran_shuffle(rng, perm[h], (size_t)gsize[h], sizeof(int));
    }
}

void mli_permute_hidden(const mli_arch *a, int *const *perm, const mli_real *theta, const mli_real *bufs,
                        mli_real *theta_out, mli_real *bufs_out)
{
    /* each node's output channels take their group's permutation (NULL: the fixed group);
     * every node's parameters then move with the permutations of its input and output */
    int node_group[MLI_MAX_NODES], gsize[MLI_MAX_NODES];
    mli_perm_groups(a, node_group, gsize);
    memcpy(theta_out, theta, sizeof(mli_real) * a->nparams);
    if (bufs && bufs_out)
        memcpy(bufs_out, bufs, sizeof(mli_real) * a->nbuffers);
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *n = &a->nodes[l];
        int gi = n->in[0] == MLI_GRAPH_INPUT ? -1 : node_group[n->in[0]];
        const int *pin = gi < 0 ? NULL : perm[gi], *pout = node_group[l] < 0 ? NULL : perm[node_group[l]];
        if (n->op->permute)
            n->op->permute(n, pin, pout, theta, bufs && bufs_out ? bufs : NULL, theta_out, bufs_out);
    }
}

/* ---- shared helpers ------------------------------------------------------------------------- */

void mli_controls_train_curve(const mli_controls_ctx *c, const mli_real *start, const mli_real *dir,
                              const mli_data *d, const char *label, double *out)
{
    const mli_arch *a = c->a;
    mli_real *bn = mli_arch_has_stats(a) ? mli_path_bn_stats(a, start, dir, c->alpha, c->n_alpha, &c->ds->train,
                                                  c->cfg->batchsize, c->bn_mode, c->progress)
                             : NULL;
    mli_path_ctx p = {a, start, dir, bn, c->n_alpha, c->alpha, c->chunk, c->progress, label};
    mli_path_means m;
    mli_path_eval(&p, d, 0, 0, &m, NULL);
    memcpy(out, m.loss, sizeof(double) * (size_t)c->n_alpha);
    mli_path_means_free(&m);
    free(bn);
}

static double delta_of(const mli_controls_ctx *c, const double *curve)
{
    mli_bump b[MAX_BUMPS];
    int nb = mli_bumps(c->alpha, curve, c->n_alpha, b, MAX_BUMPS);
    return mli_bumps_max(b, nb < MAX_BUMPS ? nb : MAX_BUMPS);
}

static void random_init(const mli_controls_ctx *c, unsigned long seed, mli_real *theta)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    mli_init_params(c->a, c->cfg->init_type, rng, theta, NULL);
    gsl_rng_free(rng);
}

static unsigned long seed_of(const mli_controls_ctx *c, int base, int k)
{
    return (unsigned long)c->cfg->seed + (unsigned long)base + (unsigned long)k;
}

static void mean_std(const double *x, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0; /* the sample standard deviation */
}

static cJSON *num_array(const double *x, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, mli_json_num(x[i]));
    return arr;
}

static int write_tsv(const mli_controls_ctx *c, const char *name, mli_buf *b)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", c->out_dir, name);
    int rc = mli_buf_write(b, p);
    mli_buf_free(b);
    return rc;
}

/* Columns: alpha, the true path's training loss, then for each group of K curves (curves[g] is
 * K × n_alpha) its mean and sample std, then every curve. */
static mli_buf curves_table(const mli_controls_ctx *c, int ngroup, const char *const *prefix, double *const *curves, int K)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "alpha\ttrue_train_loss");
    for (int g = 0; g < ngroup; g++)
        mli_buf_printf(&b, ngroup > 1 ? "\t%s_mean\t%s_std" : "\tmean\tstd", prefix[g], prefix[g]);
    for (int g = 0; g < ngroup; g++)
        for (int k = 0; k < K; k++)
            mli_buf_printf(&b, "\t%s_%d", prefix[g], k);
    mli_buf_printf(&b, "\n");
    double *col = mli_malloc(sizeof(double) * (size_t)K);
    for (int j = 0; j < c->n_alpha; j++) {
        mli_buf_num(&b, c->alpha[j], '\t');
        mli_buf_num(&b, c->train_loss[j], '\t');
        for (int g = 0; g < ngroup; g++) {
            double m, s;
            for (int k = 0; k < K; k++)
                col[k] = curves[g][(size_t)k * c->n_alpha + j];
            mean_std(col, K, &m, &s);
            mli_buf_num(&b, m, '\t');
            mli_buf_num(&b, s, '\t');
        }
        for (int g = 0; g < ngroup; g++)
            for (int k = 0; k < K; k++)
                mli_buf_num(&b, curves[g][(size_t)k * c->n_alpha + j], g + 1 == ngroup && k + 1 == K ? '\n' : '\t');
    }
    free(col);
    return b;
}

/* ---- unrelated initializations ---------------------------------------------------------- */

static int random_inits(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_arch *a = c->a;
    int K = c->o->random_inits, na = c->n_alpha;
    double *curves = mli_malloc(sizeof(double) * (size_t)K * na), *deltas = mli_malloc(sizeof(double) * (size_t)K);
    double *seeds = mli_malloc(sizeof(double) * (size_t)K), *dist = mli_malloc(sizeof(double) * (size_t)K);
    mli_real *th = mli_malloc(sizeof(mli_real) * a->nparams), *dir = mli_malloc(sizeof(mli_real) * a->nparams);
    for (int k = 0; k < K; k++) {
        unsigned long s = seed_of(c, MLI_SEED_RANDOM_INIT, k);
        random_init(c, s, th);
        for (size_t i = 0; i < a->nparams; i++)
            dir[i] = c->theta1[i] - th[i];
        char label[64];
        snprintf(label, sizeof label, "random init %d/%d", k + 1, K);
        mli_controls_train_curve(c, th, dir, &c->ds->train, label, curves + (size_t)k * na);
        deltas[k] = delta_of(c, curves + (size_t)k * na);
        seeds[k] = (double)s;
        dist[k] = mli_param_dist(c->theta1, th, a->nparams);
    }
    const char *prefix[] = {"init"};
    mli_buf b = curves_table(c, 1, prefix, &curves, K);
    int rc = write_tsv(c, "random_inits.tsv", &b);
    double md, sd;
    mean_std(deltas, K, &md, &sd);
    cJSON *o = cJSON_AddObjectToObject(geo, "random_inits");
    cJSON_AddNumberToObject(o, "k", K);
    cJSON_AddItemToObject(o, "deltas", num_array(deltas, K));
    cJSON_AddItemToObject(o, "mean_delta", mli_json_num(md));
    cJSON_AddItemToObject(o, "std_delta", mli_json_num(sd));
    cJSON_AddItemToObject(o, "true_delta", mli_json_num(delta_of(c, c->train_loss)));
    cJSON_AddItemToObject(o, "seeds", num_array(seeds, K));
    cJSON_AddStringToObject(o, "seed_rule", "seed + 1000 + k");
    cJSON_AddStringToObject(o, "init_type", c->cfg->init_type == MLI_INIT_DEFAULT ? "default"
                                            : c->cfg->init_type == MLI_INIT_XAVIER ? "xavier" : "kaiming");
    cJSON_AddItemToObject(o, "wdist", num_array(dist, K));
    cJSON_AddStringToObject(o, "split", "train");
    free(curves);
    free(deltas);
    free(seeds);
    free(dist);
    free(th);
    free(dir);
    return rc;
}

/* ---- permutations -------------------------------------------------------------------------- */

static int permutations(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_arch *a = c->a;
    int K = c->o->permute, na = c->n_alpha;
    size_t P = a->nparams;
    double *curves[2] = {mli_malloc(sizeof(double) * (size_t)K * na), mli_malloc(sizeof(double) * (size_t)K * na)};
    double *deltas[2] = {mli_malloc(sizeof(double) * (size_t)K), mli_malloc(sizeof(double) * (size_t)K)};
    double *seeds = mli_malloc(sizeof(double) * (size_t)K), *dist = mli_malloc(sizeof(double) * (size_t)K);
    mli_real *pt = mli_malloc(sizeof(mli_real) * P), *dir = mli_malloc(sizeof(mli_real) * P);
    int *perm[MLI_MAX_NODES], node_group[MLI_MAX_NODES], gsize[MLI_MAX_NODES];
    int G = mli_perm_groups(a, node_group, gsize);
    for (int h = 0; h < G; h++)
        perm[h] = mli_malloc(sizeof(int) * (size_t)gsize[h]);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int k = 0; k < K; k++) {
        unsigned long s = seed_of(c, MLI_SEED_PERMUTE, k);
        gsl_rng_set(rng, s);
        mli_random_hidden_perm(a, rng, perm);
        seeds[k] = (double)s;
        char label[64];
        /* θ₀ → π(θ₁) */
        mli_permute_hidden(a, perm, c->theta1, NULL, pt, NULL);
        for (size_t i = 0; i < P; i++)
            dir[i] = pt[i] - c->theta0[i];
        dist[k] = mli_param_dist(pt, c->theta0, P);
        snprintf(label, sizeof label, "permutation %d/%d, final", k + 1, K);
        mli_controls_train_curve(c, c->theta0, dir, &c->ds->train, label, curves[0] + (size_t)k * na);
        /* π(θ₀) → θ₁ */
        mli_permute_hidden(a, perm, c->theta0, NULL, pt, NULL);
        for (size_t i = 0; i < P; i++)
            dir[i] = c->theta1[i] - pt[i];
        snprintf(label, sizeof label, "permutation %d/%d, init", k + 1, K);
        mli_controls_train_curve(c, pt, dir, &c->ds->train, label, curves[1] + (size_t)k * na);
        for (int g = 0; g < 2; g++)
            deltas[g][k] = delta_of(c, curves[g] + (size_t)k * na);
    }
    gsl_rng_free(rng);
    const char *prefix[] = {"final_perm", "init_perm"};
    mli_buf b = curves_table(c, 2, prefix, curves, K);
    int rc = write_tsv(c, "permute.tsv", &b);
    cJSON *o = cJSON_AddObjectToObject(geo, "permute");
    cJSON_AddNumberToObject(o, "k", K);
    cJSON_AddItemToObject(o, "deltas_final_permuted", num_array(deltas[0], K));
    cJSON_AddItemToObject(o, "deltas_init_permuted", num_array(deltas[1], K));
    double m, sd;
    mean_std(deltas[0], K, &m, &sd);
    cJSON_AddItemToObject(o, "mean_delta_final_permuted", mli_json_num(m));
    mean_std(deltas[1], K, &m, &sd);
    cJSON_AddItemToObject(o, "mean_delta_init_permuted", mli_json_num(m));
    cJSON_AddItemToObject(o, "true_delta", mli_json_num(delta_of(c, c->train_loss)));
    cJSON_AddItemToObject(o, "wdist_final_permuted", num_array(dist, K));
    cJSON_AddItemToObject(o, "seeds", num_array(seeds, K));
    cJSON_AddStringToObject(o, "seed_rule", "seed + 2000 + k");
    cJSON_AddStringToObject(o, "split", "train");
    for (int h = 0; h < G; h++)
        free(perm[h]);
    for (int g = 0; g < 2; g++) {
        free(curves[g]);
        free(deltas[g]);
    }
    free(seeds);
    free(dist);
    free(pt);
    free(dir);
    return rc;
}

/* ---- the plane ---------------------------------------------------------------------------------- */

typedef struct {
    int n, cap;
    char (*name)[32];
    double *x, *y, *off;
} points;

static void point_add(points *p, const char *name, double x, double y, double off)
{
    if (p->n == p->cap) {
        p->cap = 2 * p->cap + 8;
        p->name = mli_realloc(p->name, sizeof *p->name * (size_t)p->cap);
        p->x = mli_realloc(p->x, sizeof(double) * (size_t)p->cap);
        p->y = mli_realloc(p->y, sizeof(double) * (size_t)p->cap);
        p->off = mli_realloc(p->off, sizeof(double) * (size_t)p->cap);
    }
    snprintf(p->name[p->n], sizeof p->name[0], "%s", name);
    p->x[p->n] = x;
    p->y[p->n] = y;
    p->off[p->n++] = off;
}

static void point_project(points *pts, const mli_plane *pl, const char *name, const mli_real *theta)
{
    double x, y, off;
    mli_plane_project(pl, theta, &x, &y, &off);
    point_add(pts, name, x, y, off);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The training snapshots out_dir/traj/epoch_K.safetensors, by epoch, projected onto the plane. */
static int trajectory(const mli_controls_ctx *c, const mli_plane *pl, points *pts)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/traj", c->out_dir);
    DIR *d = opendir(dir);
    if (!d)
        return MLI_OK;
    int *ep = NULL, n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k, len = 0;
        if (sscanf(e->d_name, "epoch_%d.safetensors%n", &k, &len) == 1 && len == (int)strlen(e->d_name)) {
            if (n == cap)
                ep = mli_realloc(ep, sizeof(int) * (size_t)(cap = 2 * cap + 16));
            ep[n++] = k;
        }
    }
    closedir(d);
    qsort(ep, (size_t)n, sizeof(int), cmp_int);
    int rc = MLI_OK;
    for (int i = 0; i < n && !rc; i++) {
        char path[4300], name[32];
        snprintf(path, sizeof path, "%s/epoch_%d.safetensors", dir, ep[i]);
        mli_arch a;
        mli_real *th = NULL, *bu = NULL;
        rc = mli_model_load(path, &a, &th, &bu);
        if (!rc && a.nparams != c->a->nparams)
            rc = mli_err(MLI_EINPUT, "%s: a snapshot of a different network (%zu parameters, the run has %zu)", path,
                         a.nparams, c->a->nparams);
        snprintf(name, sizeof name, "epoch_%d", ep[i]);
        if (!rc)
            point_project(pts, pl, name, th);
        free(th);
        free(bu);
    }
    free(ep);
    return rc;
}

static int make_plane(const mli_controls_ctx *c, mli_plane *pl, points *pts, cJSON *o)
{
    const mli_arch *a = c->a;
    size_t P = a->nparams;
    int rc = MLI_OK;
    if (c->o->plane_dirs == MLI_PLANE_INIT) {
        mli_real *th = mli_malloc(sizeof(mli_real) * P);
        unsigned long s = seed_of(c, MLI_SEED_RANDOM_INIT, 0);
        random_init(c, s, th);
        rc = mli_plane_through(pl, c->theta0, c->theta1, th, P);
        if (!rc) {
            point_add(pts, "theta0", 0, 0, 0); /* the plane's origin and unit point, exactly */
            point_add(pts, "theta1", 1, 0, 0);
            point_project(pts, pl, "theta_rand", th);
            cJSON_AddStringToObject(o, "directions", "theta0, theta1 and an unrelated initialization");
            cJSON_AddItemToObject(o, "scale", mli_json_num(pl->scale));
            cJSON_AddStringToObject(o, "units", "|theta1 - theta0| along e1 = (theta1 - theta0)/|theta1 - theta0| and e2");
            cJSON_AddNumberToObject(o, "rand_seed", (double)s);
        }
        free(th);
        return rc;
    }
    mli_real *u = mli_malloc(sizeof(mli_real) * P), *v = mli_malloc(sizeof(mli_real) * P);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed_of(c, MLI_SEED_PLANE_DIRS, 0));
    mli_plane_random_direction(a, c->theta1, rng, c->o->filter_norm, u);
    gsl_rng_set(rng, seed_of(c, MLI_SEED_PLANE_DIRS, 1));
    mli_plane_random_direction(a, c->theta1, rng, c->o->filter_norm, v);
    gsl_rng_free(rng);
    mli_plane_from_dirs(pl, c->theta1, u, v, P);
    point_add(pts, "theta1", 0, 0, 0);
    point_project(pts, pl, "theta0", c->theta0);
    cJSON_AddStringToObject(o, "directions", c->o->filter_norm ? "random, filter-normalized, centred at theta1"
                                                               : "random, normalized to |theta1|, centred at theta1");
    cJSON_AddStringToObject(o, "units", "multiples of the two directions");
    cJSON_AddStringToObject(o, "seed_rule", "seed + 3000, seed + 3001");
    free(u);
    free(v);
    return rc;
}

static int plane(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_controls_opts *opt = c->o;
    int N = opt->plane_size;
    mli_plane pl;
    points pts = {0};
    cJSON *o = cJSON_AddObjectToObject(geo, "plane");
    int rc = make_plane(c, &pl, &pts, o);
    int fixed = pts.n;
    if (!rc)
        rc = trajectory(c, &pl, &pts);
    if (rc) {
        mli_plane_free(&pl);
        return rc;
    }
    double ext[4] = {-1, 1, -1, 1};
    if (opt->plane_has_extent)
        memcpy(ext, opt->plane_extent, sizeof ext);
    else if (opt->plane_dirs == MLI_PLANE_INIT)
        mli_plane_default_extent(pts.x, pts.y, pts.n, N, ext);
    double *xs = mli_malloc(sizeof(double) * (size_t)N), *ys = mli_malloc(sizeof(double) * (size_t)N);
    mli_plane_nodes(ext[0], ext[1], N, xs);
    mli_plane_nodes(ext[2], ext[3], N, ys);
    mli_data train = c->ds->train;
    if (opt->plane_examples > 0 && opt->plane_examples < train.n)
        train.n = opt->plane_examples;
    double *loss = mli_malloc(sizeof(double) * (size_t)N * N), *acc = mli_malloc(sizeof(double) * (size_t)N * N);
    mli_plane_grid(&pl, c->a, &train, &train, c->cfg->batchsize, c->bn_mode, xs, ys, N, c->chunk, c->progress,
                   loss, acc);
    mli_buf b = {0};
    mli_buf_printf(&b, "x\ty\ttrain_loss\ttrain_acc\n");
    double lo = INFINITY, hi = -INFINITY;
    for (int iy = 0; iy < N; iy++)
        for (int ix = 0; ix < N; ix++) {
            double l = loss[(size_t)iy * N + ix];
            mli_buf_num(&b, xs[ix], '\t');
            mli_buf_num(&b, ys[iy], '\t');
            mli_buf_num(&b, l, '\t');
            mli_buf_num(&b, acc[(size_t)iy * N + ix], '\n');
            lo = fmin(lo, l);
            hi = fmax(hi, l);
        }
    rc = write_tsv(c, "plane.tsv", &b);
    mli_buf_printf(&b, "name\tx\ty\toff_plane\n");
    double max_off = 0;
    for (int i = 0; i < pts.n; i++) {
        mli_buf_printf(&b, "%s\t", pts.name[i]);
        mli_buf_num(&b, pts.x[i], '\t');
        mli_buf_num(&b, pts.y[i], '\t');
        mli_buf_num(&b, pts.off[i], '\n');
        if (i >= fixed)
            max_off = fmax(max_off, pts.off[i]);
    }
    if (!rc)
        rc = write_tsv(c, "plane_points.tsv", &b);
    mli_buf_free(&b);
    cJSON_AddNumberToObject(o, "size", N);
    cJSON_AddItemToObject(o, "extent", num_array(ext, 4));
    cJSON_AddNumberToObject(o, "n_examples", train.n);
    cJSON_AddStringToObject(o, "split", "train");
    cJSON_AddItemToObject(o, "loss_min", mli_json_num(lo));
    cJSON_AddItemToObject(o, "loss_max", mli_json_num(hi));
    cJSON *pj = cJSON_AddArrayToObject(o, "points");
    for (int i = 0; i < fixed; i++) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "name", pts.name[i]);
        cJSON_AddItemToObject(q, "x", mli_json_num(pts.x[i]));
        cJSON_AddItemToObject(q, "y", mli_json_num(pts.y[i]));
        cJSON_AddItemToObject(q, "off_plane", mli_json_num(pts.off[i]));
        cJSON_AddItemToArray(pj, q);
    }
    cJSON_AddNumberToObject(o, "trajectory_snapshots", pts.n - fixed);
    cJSON_AddItemToObject(o, "trajectory_max_off_plane", mli_json_num(pts.n > fixed ? max_off : NAN));
    cJSON_AddStringToObject(o, "bn_stats", mli_arch_has_stats(c->a) ? "re-estimated at every grid point" : "none");
    free(xs);
    free(ys);
    free(loss);
    free(acc);
    free(pts.name);
    free(pts.x);
    free(pts.y);
    free(pts.off);
    mli_plane_free(&pl);
    return rc;
}

/* ---- logits ---------------------------------------------------------------------------------------- */

static int logits(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_data *d = &c->ds->test;
    int N = c->o->logits < d->n ? c->o->logits : d->n, na = c->n_alpha, k = c->a->nout;
    size_t n = (size_t)N * na;
    double *Z = mli_malloc(sizeof(double) * n * k), *proj = mli_malloc(sizeof(double) * n * 2), ratio[2];
    mli_logits_path(c->a, c->theta0, c->delta, c->bn, c->alpha, na, d, N, Z);
    int rc = mli_pca(Z, n, k, 2, proj, ratio);
    if (!rc) {
        mli_buf b = {0};
        mli_buf_printf(&b, "example\tlabel\talpha\tpc1\tpc2\n");
        for (int e = 0; e < N; e++)
            for (int j = 0; j < na; j++) {
                size_t r = (size_t)e * na + j;
                mli_buf_printf(&b, "%d\t%d\t", e, d->y[e]);
                mli_buf_num(&b, c->alpha[j], '\t');
                mli_buf_num(&b, proj[2 * r], '\t');
                mli_buf_num(&b, proj[2 * r + 1], '\n');
            }
        rc = write_tsv(c, "logits.tsv", &b);
        cJSON *o = cJSON_AddObjectToObject(geo, "logits");
        cJSON_AddNumberToObject(o, "n_examples", N);
        cJSON_AddNumberToObject(o, "n_alpha", na);
        cJSON_AddNumberToObject(o, "n_outputs", k);
        cJSON_AddItemToObject(o, "explained_variance", num_array(ratio, 2));
        cJSON_AddItemToObject(o, "explained_variance_2d", mli_json_num(ratio[0] + ratio[1]));
        cJSON_AddStringToObject(o, "split", "test");
    }
    free(Z);
    free(proj);
    return rc;
}

/* ---- the NTK --------------------------------------------------------------------------------------- */

static int ntk(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_data *d = &c->ds->test;
    int N = c->o->ntk < d->n ? c->o->ntk : d->n;
    const mli_real *b0 = c->bn, *b1 = c->bn ? c->bn + (size_t)(c->n_alpha - 1) * c->a->nbuffers : NULL;
    if (c->progress)
        mli_progress_show(c->progress, "ntk: %d examples x %d outputs at both ends", N, c->a->nout);
    mli_ntk_result r;
    int rc = mli_ntk_compute(c->a, c->theta0, b0, c->theta1, b1, d, N, c->o->ntk_top, &r);
    if (rc)
        return rc;
    cJSON *o = cJSON_AddObjectToObject(geo, "ntk");
    cJSON_AddNumberToObject(o, "n_examples", N);
    cJSON_AddItemToObject(o, "kernel_distance", mli_json_num(r.kernel_distance));
    cJSON_AddItemToObject(o, "top_eigs_init", num_array(r.top_init, r.n_top));
    cJSON_AddItemToObject(o, "top_eigs_final", num_array(r.top_final, r.n_top));
    cJSON_AddItemToObject(o, "jacobian_rel_change", mli_json_num(r.jacobian_rel_change));
    cJSON_AddNumberToObject(o, "n_outputs", r.k);
    cJSON_AddItemToObject(o, "trace_init", mli_json_num(r.trace_init));
    cJSON_AddItemToObject(o, "trace_final", mli_json_num(r.trace_final));
    cJSON_AddItemToObject(o, "fro_init", mli_json_num(r.fro_init));
    cJSON_AddItemToObject(o, "fro_final", mli_json_num(r.fro_final));
    cJSON_AddStringToObject(o, "split", "test");
    cJSON_AddItemToObject(o, "seconds", mli_json_num(r.seconds));
    return MLI_OK;
}

int mli_controls_run(const mli_controls_ctx *c, cJSON *geo)
{
    const mli_controls_opts *o = c->o;
    int rc = mli_controls_check(o, c->a, c->ds);
    if (!rc && o->random_inits > 0)
        rc = random_inits(c, geo);
    if (!rc && o->permute > 0)
        rc = permutations(c, geo);
    if (!rc && o->plane)
        rc = plane(c, geo);
    if (!rc && o->logits > 0)
        rc = logits(c, geo);
    if (!rc && o->ntk > 0)
        rc = ntk(c, geo);
    return rc;
}
