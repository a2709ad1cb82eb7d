#include "geometry/pieces.h"
#include "io/runfiles.h"
#include "geometry/pwlan.h"
#include "geometry/analyze.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "geometry/curve.h"
#include "geometry/reeval.h"
#include "geometry/hessian.h"
#include "io/err.h"
#include "io/text.h"
#include "nn/hvp.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/onnx_graph.h"
#include "nn/taylor.h"
#include "train/train.h"

#define MAX_BUMPS 1024

void mli_analyze_opts_default(mli_analyze_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bn_stats = MLI_BN_EMA;
    o->n_examples = -1;
    o->train_derivs = 1;
    o->certificates = -1;
    o->verify_steps = 1000;
    o->hessian_iters = 0;
    o->trace_samples = 20;
    o->threshold = 1e-3;
    o->write_interp = 1;
    mli_controls_opts_default(&o->controls);
}

typedef struct {
    const mli_config *cfg;
    const mli_analyze_opts *o;
    mli_dataset ds;
    mli_arch a;
    mli_real *theta0, *theta1, *delta, *bufs0, *bufs1, *bn;
    int na;
    double *alpha;
    mli_path_means train, test;
    mli_path_examples ex;
    mli_cert_example *cert;
    mli_cert_summary sum;
    int certified; /* certificates computed */
    double *adaptive; /* per example, or NULL */
    cJSON *hessian;
    cJSON *controls; /* geometry.json entries of the control experiments */
    mli_pwlan *exact; /* --exact */
    mli_progress prog;
} job;


/* the first tensor two native models do not share (name or shape), for the message */
static int first_difference(const mli_arch *a, const mli_arch *b, char *buf, size_t len)
{
    for (int i = 0; i < a->ntensors || i < b->ntensors; i++) {
        const mli_tensor *x = i < a->ntensors ? &a->tensors[i] : NULL, *y = i < b->ntensors ? &b->tensors[i] : NULL;
        if (!x || !y)
            return snprintf(buf, len, "tensor '%s' is only in the %s", (x ? x : y)->name, x ? "first" : "second");
        if (strcmp(x->name, y->name))
            return snprintf(buf, len, "tensor %d is '%s' and '%s'", i, x->name, y->name);
        if (x->ndim != y->ndim || memcmp(x->shape, y->shape, sizeof x->shape))
            return snprintf(buf, len, "tensor '%s' has shape %dx%d and %dx%d", x->name, x->shape[0],
                            x->ndim > 1 ? x->shape[1] : 1, y->shape[0], y->ndim > 1 ? y->shape[1] : 1);
    }
    if (a->act != b->act)
        return snprintf(buf, len, "act_fn is %s and %s", mli_act_name(a->act), mli_act_name(b->act));
    if (a->loss != b->loss)
        return snprintf(buf, len, "loss_fn is %s and %s", mli_loss_name(a->loss), mli_loss_name(b->loss));
    return snprintf(buf, len, "the architectures differ");
}

/* Both models native (safetensors) or both ONNX (their loss is the loss_fn key's) */
static int load_models(job *j)
{
    const char *ip = j->o->init_path, *fp = j->o->final_path;
    if (mli_onnx_path(ip) != mli_onnx_path(fp))
        return mli_err(MLI_EINPUT, "%s and %s: one is an ONNX file and the other not (give two of one kind)", ip, fp);
    if (mli_onnx_path(ip)) {
        int rc = mli_onnx_load_pair(ip, fp, j->cfg->loss_fn, &j->a, &j->theta0, &j->bufs0, &j->theta1, &j->bufs1);
        if (rc)
            return rc;
    } else {
        mli_arch a1;
        int rc = mli_model_load(ip, &j->a, &j->theta0, &j->bufs0);
        if (!rc)
            rc = mli_model_load(fp, &a1, &j->theta1, &j->bufs1);
        if (rc)
            return rc;
        if (a1.nparams != j->a.nparams || a1.nbuffers != j->a.nbuffers || a1.act != j->a.act || a1.kind != j->a.kind ||
            a1.use_bn != j->a.use_bn || a1.loss != j->a.loss || a1.input_size != j->a.input_size) {
            char why[256];
            first_difference(&j->a, &a1, why, sizeof why);
            return mli_err(MLI_EINPUT, "%s and %s describe different networks: %s", ip, fp, why);
        }
    }
    /* model files given with data keys: the data as the file's architecture trained on it */
    if (j->cfg->arch == MLI_ARCH_FCNET)
        mli_train_prepare_images(j->a.kind, j->cfg->dset_name, &j->ds);
    /* an ONNX model reads the pixels/255 and normalises them itself: that normalisation is
     * applied here, in the run's own arithmetic (mli_data_normalize), to keep the graph the
     * run's */
    if (j->a.norm_c) {
        if (j->ds.shape[0] != j->a.norm_c)
            return mli_err(MLI_EINPUT, "%s: the model normalises %d channels, the data set %s has %s%d", ip,
                           j->a.norm_c, j->cfg->dset_name, j->ds.shape[0] ? "" : "no image channels: ",
                           j->ds.shape[0]);
        mli_data_normalize(&j->ds.train, j->ds.shape, j->a.norm_mean, j->a.norm_std);
        mli_data_normalize(&j->ds.test, j->ds.shape, j->a.norm_mean, j->a.norm_std);
    }
    if (j->a.input_size != j->ds.train.d)
        return mli_err(MLI_EINPUT, "%s: the network takes %d inputs, the data set %s has %d", j->o->init_path,
                       j->a.input_size, j->cfg->dset_name, j->ds.train.d);
    if (j->a.loss != MLI_LOSS_RECON && j->a.nout != j->ds.train.k)
        return mli_err(MLI_EINPUT, "%s: the network has %d outputs, the data set %s has %d classes",
                       j->o->init_path, j->a.nout, j->cfg->dset_name, j->ds.train.k);
    j->delta = mli_malloc(sizeof(mli_real) * j->a.nparams);
    for (size_t i = 0; i < j->a.nparams; i++)
        j->delta[i] = j->theta1[i] - j->theta0[i];
    return MLI_OK;
}

static mli_path_ctx ctx(job *j, const char *label)
{
    mli_path_ctx c = {&j->a, j->theta0, j->delta, j->bn, j->na, j->alpha, 0, &j->prog, label};
    /* chunk: large enough for efficient GEMMs, small enough that Taylor blocks stay in memory */
    c.chunk = j->a.width_max > 2048 ? 512 : 2048;
    return c;
}

/* ---- adaptive Gauss length: exact derivatives at any α for one example ---- */
typedef struct {
    job *j;
    const mli_real *x;
    mli_real *theta;
    mli_tws *tws;
} one_example;

static void eval_one(double alpha, double *v, double *acc, void *p)
{
    one_example *e = p;
    const mli_arch *a = &e->j->a;
    for (size_t i = 0; i < a->nparams; i++)
        e->theta[i] = e->j->theta0[i] + (mli_real)alpha * e->j->delta[i];
    const mli_real *Z = mli_net_tangent(a, e->theta, e->j->delta, NULL, e->tws, e->x, 1, NULL, NULL, alpha);
    for (int i = 0; i < a->nout; i++) {
        v[i] = Z[a->nout + i];
        acc[i] = Z[2 * a->nout + i];
    }
}

static int adaptive_lengths(job *j)
{
    if (mli_arch_has_stats(&j->a))
        return mli_err(MLI_EUSAGE, "--gauss-quad adaptive needs a network without batch norm "
                       "(its statistics are estimated on the grid only)");
    one_example e = {j, NULL, mli_malloc(sizeof(mli_real) * j->a.nparams), mli_tws_new(&j->a, 1)};
    j->adaptive = mli_malloc(sizeof(double) * (size_t)j->ex.n);
    int rc = MLI_OK;
    for (int i = 0; i < j->ex.n && !rc; i++) {
        e.x = j->ds.test.x + (size_t)i * j->ds.test.d;
        double G, S, err;
        rc = mli_curve_lengths_adaptive(eval_one, &e, j->a.nout, 1e-7, 1e-6, &G, &S, &err);
        j->adaptive[i] = G;
        mli_progress_show(&j->prog, "adaptive Gauss length: example %d/%d", i + 1, j->ex.n);
    }
    free(e.theta);
    mli_tws_free(e.tws);
    return rc;
}

/* ---- Hessian spectra ---- */
static void hess_cb(int done, int total, void *p)
{
    job *j = p;
    mli_progress_show(&j->prog, "hessian: %d/%d", done, total);
}

static cJSON *num_array(const double *x, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, mli_json_num(x[i]));
    return arr;
}

static int hessian(job *j)
{
    const mli_analyze_opts *o = j->o;
    int k = o->hessian_k, na = o->n_hessian_alphas ? o->n_hessian_alphas : 2;
    double def[2] = {0, 1};
    const double *al = o->n_hessian_alphas ? o->hessian_alphas : def;
    j->hessian = cJSON_CreateObject();
    cJSON *alphas = cJSON_AddArrayToObject(j->hessian, "alphas"), *top = cJSON_AddArrayToObject(j->hessian, "top_eigenvalues");
    cJSON *bot = cJSON_AddArrayToObject(j->hessian, "bottom_eigenvalues"), *tr = cJSON_AddArrayToObject(j->hessian, "trace");
    cJSON *tre = cJSON_AddArrayToObject(j->hessian, "trace_stderr");
    cJSON_AddStringToObject(j->hessian, "split", "train");
    cJSON_AddNumberToObject(j->hessian, "n_examples", j->ds.train.n);
    cJSON_AddNumberToObject(j->hessian, "trace_samples", o->trace_samples);
    mli_hvp_ws *w = mli_hvp_ws_new(&j->a, 1000);
    mli_real *theta = mli_malloc(sizeof(mli_real) * j->a.nparams);
    double *eig = mli_malloc(sizeof(double) * 2 * (size_t)k);
    int rc = MLI_OK;
    for (int i = 0; i < na && !rc; i++) {
        for (size_t p = 0; p < j->a.nparams; p++)
            theta[p] = j->theta0[p] + (mli_real)al[i] * j->delta[p];
        const mli_real *bufs = NULL;
        if (mli_arch_has_stats(&j->a)) { /* statistics at the nearest grid point */
            int g = (int)lround(al[i] * (j->na - 1));
            bufs = j->bn + (size_t)g * j->a.nbuffers;
        }
        rc = mli_hessian_lanczos(&j->a, theta, bufs, &j->ds.train, w, k, o->hessian_iters, 1, eig, eig + k, hess_cb, j);
        if (rc)
            break;
        double se;
        double t = mli_hessian_trace(&j->a, theta, bufs, &j->ds.train, w, o->trace_samples, 2, &se, hess_cb, j);
        cJSON_AddItemToArray(alphas, cJSON_CreateNumber(al[i]));
        cJSON_AddItemToArray(top, num_array(eig, k));
        cJSON_AddItemToArray(bot, num_array(eig + k, k));
        cJSON_AddItemToArray(tr, mli_json_num(t));
        cJSON_AddItemToArray(tre, mli_json_num(se));
    }
    free(eig);
    free(theta);
    mli_hvp_ws_free(w);
    return rc;
}

/* ---- output files ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of x[n] (sorted in place), linear interpolation between order statistics */
static double quantile(double *x, int n, double q)
{
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    double pos = q * (n - 1);
    int i = (int)pos;
    return i + 1 < n ? x[i] + (pos - i) * (x[i + 1] - x[i]) : x[n - 1];
}

/* mean over the geometry examples of field at α_j */
static double ex_mean(const job *j, const double *field, int a)
{
    double s = 0;
    for (int e = 0; e < j->ex.n; e++)
        s += field[(size_t)e * j->na + a];
    return s / j->ex.n;
}

static void write_interp(job *j, mli_buf *bp)
{
    mli_buf b = {0};
    int geo = j->ex.n > 0, der = j->train.dl != NULL;
    mli_buf_printf(&b, "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc");
    if (der)
        mli_buf_printf(&b, "\ttrain_dloss\ttrain_d2loss\ttrain_d2loss_gn\ttrain_d2loss_curv");
    if (geo)
        mli_buf_printf(&b, "\tspeed\tcurvature\tgauss_speed\tgauss_length_cum");
    mli_buf_printf(&b, "\n");
    double *gs = mli_malloc(sizeof(double) * (size_t)j->na), *cum = mli_malloc(sizeof(double) * (size_t)j->na);
    for (int a = 0; a < j->na && geo; a++)
        gs[a] = ex_mean(j, j->ex.gauss_speed, a);
    if (geo)
        mli_trapz_cum(j->alpha, gs, j->na, cum); /* the mean of the cumulative lengths, by linearity */
    for (int a = 0; a < j->na; a++) {
        const double row[] = {j->alpha[a], j->train.loss[a], j->train.acc[a], j->test.loss[a], j->test.acc[a]};
        for (int c = 0; c < 5; c++)
            mli_buf_num(&b, row[c], c == 4 && !der && !geo ? '\n' : '\t');
        if (der) {
            const double d[] = {j->train.dl[a], j->train.d2l[a], j->train.d2l_gn[a], j->train.d2l_curv[a]};
            for (int c = 0; c < 4; c++)
                mli_buf_num(&b, d[c], c == 3 && !geo ? '\n' : '\t');
        }
        if (geo) {
            mli_buf_num(&b, ex_mean(j, j->ex.speed, a), '\t');
            mli_buf_num(&b, ex_mean(j, j->ex.curvature, a), '\t');
            mli_buf_num(&b, gs[a], '\t');
            mli_buf_num(&b, cum[a], '\n');
        }
    }
    free(gs);
    free(cum);
    *bp = b;
}

static void write_quantiles(job *j, mli_buf *bp)
{
    static const char *names[] = {"speed", "curvature", "gauss_speed"};
    const double *fields[] = {j->ex.speed, j->ex.curvature, j->ex.gauss_speed};
    mli_buf b = {0};
    mli_buf_printf(&b, "alpha");
    for (int f = 0; f < 3; f++)
        mli_buf_printf(&b, "\t%s_q25\t%s_q50\t%s_q75", names[f], names[f], names[f]);
    mli_buf_printf(&b, "\n");
    double *col = mli_malloc(sizeof(double) * (size_t)j->ex.n);
    for (int a = 0; a < j->na; a++) {
        mli_buf_num(&b, j->alpha[a], '\t');
        for (int f = 0; f < 3; f++) {
            for (int e = 0; e < j->ex.n; e++)
                col[e] = fields[f][(size_t)e * j->na + a];
            mli_buf_num(&b, quantile(col, j->ex.n, 0.25), '\t');
            mli_buf_num(&b, quantile(col, j->ex.n, 0.5), '\t');
            mli_buf_num(&b, quantile(col, j->ex.n, 0.75), f == 2 ? '\n' : '\t');
        }
    }
    free(col);
    *bp = b;
}

static void write_examples(job *j, mli_buf *bp)
{
    mli_buf b = {0};
    mli_buf_printf(&b, "index\tlabel\tgauss_length\tarc_length\tmax_curvature\tmonotone\tcert_c0\tcert_c1\tcert_c2\t"
                       "first_violation_alpha\tc1_prefix\tcert_c12\tgauss_chord%s%s\n",
                   j->adaptive ? "\tgauss_length_adaptive" : "",
                   j->exact ? "\texact_monotone\texact_max_bump\texact_first_rise\tn_pieces\ttotal_turning" : "");
    for (int e = 0; e < j->ex.n; e++) {
        const mli_cert_example *c = &j->cert[e];
        mli_buf_printf(&b, "%d\t%d\t", e, j->ds.test.y[e]);
        mli_buf_num(&b, c->gauss_length, '\t');
        mli_buf_num(&b, c->arc_length, '\t');
        mli_buf_num(&b, c->max_curvature, '\t');
        if (j->certified)
            mli_buf_printf(&b, "%d\t%d\t%d\t%d\t", c->monotone, c->c0, c->c1, c->c2);
        else
            mli_buf_printf(&b, "%d\t-1\t-1\t-1\t", c->monotone);
        mli_buf_num(&b, c->first_violation_alpha, '\t');
        mli_buf_num(&b, j->certified ? c->c1_prefix : -1, '\t');
        mli_buf_printf(&b, "%d\t", j->certified ? c->c12 : -1);
        mli_buf_num(&b, c->gauss_chord, j->adaptive || j->exact ? '\t' : '\n');
        if (j->adaptive)
            mli_buf_num(&b, j->adaptive[e], j->exact ? '\t' : '\n');
        if (j->exact) {
            const mli_pwl_result *x = &j->exact->ex[e];
            mli_buf_printf(&b, "%d\t", x->monotone);
            mli_buf_num(&b, x->max_bump, '\t');
            mli_buf_num(&b, x->first_rise, '\t');
            mli_buf_printf(&b, "%d\t", x->npieces);
            mli_buf_num(&b, x->total_turning, '\n');
        }
    }
    *bp = b;
}

static cJSON *cert_count_json(const mli_cert_count *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "certified", c->certified);
    cJSON_AddNumberToObject(o, "monotone", c->monotone);
    cJSON_AddNumberToObject(o, "counterexamples", c->counterexamples);
    cJSON_AddNumberToObject(o, "n_examples", c->n_examples);
    return o;
}

static cJSON *certificates_json(const job *j)
{
    const mli_cert_summary *s = &j->sum;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "c0", cert_count_json(&s->c0));
    cJSON_AddNumberToObject(cJSON_GetObjectItem(o, "c0"), "missed_by_grid", s->c0.missed_by_grid);
    if (j->a.loss != MLI_LOSS_CE) {
        cJSON_AddItemToObject(o, "c1", cert_count_json(&s->c1));
        cJSON_AddItemToObject(o, "c12", cert_count_json(&s->c12));
    } else {
        cJSON_AddStringToObject(o, "c1", "not applicable (cross-entropy)");
        cJSON_AddStringToObject(o, "c12", "not applicable (cross-entropy)");
    }
    cJSON_AddItemToObject(o, "c2", cert_count_json(&s->c2));
    cJSON *d = cJSON_AddObjectToObject(o, "dataset");
    cJSON_AddBoolToObject(d, "c0", s->dataset_c0);
    cJSON_AddBoolToObject(d, "c2", s->dataset_c2);
    if (s->dataset_c12 >= 0)
        cJSON_AddBoolToObject(d, "c12", s->dataset_c12);
    cJSON_AddBoolToObject(d, "monotone", s->dataset_monotone);
    cJSON_AddItemToObject(d, "first_violation_alpha", mli_json_num(s->dataset_first_violation_alpha));
    cJSON_AddStringToObject(d, "loss", "mean loss over the analysed examples");
    cJSON_AddNumberToObject(o, "verify_steps", j->o->verify_steps);
    cJSON_AddNumberToObject(o, "rechecked_double", s->rechecked_double);
    cJSON_AddNumberToObject(o, "undecided", s->undecided);
    cJSON_AddNumberToObject(o, "judged_float", s->judged_float);
    cJSON_AddStringToObject(o, "fine_check", "rise over the running minimum beyond the float32 error bound "
                                             "2 u K (docs/monotonicity.md); rises within 4 bounds of a "
                                             "certified example re-evaluated in double");
    cJSON_AddNumberToObject(o, "alpha_steps", j->na);
    cJSON *ce = cJSON_AddArrayToObject(o, "counterexample_list");
    for (int i = 0; i < s->n_counterexamples && i < 100; i++) {
        int e = s->counterexamples[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "index", e);
        cJSON_AddItemToObject(x, "alpha", mli_json_num(j->cert[e].first_violation_alpha));
        cJSON_AddNumberToObject(x, "c1", j->cert[e].c1);
        cJSON_AddNumberToObject(x, "c2", j->cert[e].c2);
        cJSON_AddNumberToObject(x, "c12", j->cert[e].c12);
        cJSON_AddItemToObject(x, "c1_prefix", mli_json_num(j->cert[e].c1_prefix));
        cJSON_AddItemToObject(x, "loss_start", mli_json_num(j->ex.loss[(size_t)e * j->na]));
        cJSON_AddItemToObject(x, "loss_end", mli_json_num(j->ex.loss[(size_t)e * j->na + j->na - 1]));
        cJSON_AddItemToArray(ce, x);
    }
    return o;
}

static cJSON *gauss_json(job *j, mli_analysis *res)
{
    int n = j->ex.n, below = 0;
    double *g = mli_malloc(sizeof(double) * (size_t)n), sum = 0;
    for (int e = 0; e < n; e++) {
        g[e] = j->cert[e].gauss_length;
        sum += g[e];
        below += g[e] < M_PI / 2;
    }
    cJSON *o = cJSON_CreateObject();
    res->gauss_mean = sum / n;
    res->gauss_median = quantile(g, n, 0.5);
    res->gauss_frac_below_half_pi = (double)below / n;
    cJSON_AddItemToObject(o, "mean", mli_json_num(res->gauss_mean));
    cJSON_AddItemToObject(o, "median", mli_json_num(res->gauss_median));
    cJSON_AddItemToObject(o, "frac_below_half_pi", mli_json_num(res->gauss_frac_below_half_pi));
    cJSON_AddStringToObject(o, "split", "test");
    cJSON_AddNumberToObject(o, "n_examples", n);
    cJSON_AddStringToObject(o, "integration", "trapezoid on the alpha grid (as the reference)");
    if (j->adaptive) {
        double s = 0;
        for (int e = 0; e < n; e++)
            s += j->adaptive[e];
        cJSON_AddItemToObject(o, "mean_adaptive", mli_json_num(s / n));
    }
    free(g);
    return o;
}

/* geometry.json's `exact` object (docs/exact.md) and the summary numbers of res. */
static cJSON *exact_json(job *j, mli_analysis *res)
{
    const mli_pwlan *x = j->exact;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_examples", x->n);
    cJSON_AddNumberToObject(o, "proved_monotone", x->n_monotone);
    cJSON_AddNumberToObject(o, "violating", x->n_violating);
    cJSON_AddNumberToObject(o, "undecided", x->n_undecided);
    cJSON_AddNumberToObject(o, "missed_by_grid", x->n_missed_by_grid);
    cJSON *pc = cJSON_AddObjectToObject(o, "pieces");
    cJSON_AddItemToObject(pc, "mean", mli_json_num(x->pieces_mean));
    cJSON_AddNumberToObject(pc, "max", x->pieces_max);
    cJSON *tu = cJSON_AddObjectToObject(o, "turning");
    cJSON_AddItemToObject(tu, "mean", mli_json_num(x->turning_mean));
    cJSON_AddItemToObject(tu, "median", mli_json_num(x->turning_median));
    cJSON_AddItemToObject(tu, "frac_below_half_pi", mli_json_num(x->frac_turning_below));
    cJSON_AddItemToObject(tu, "pointwise_mean", mli_json_num(x->smooth_mean));
    cJSON_AddItemToObject(tu, "pointwise_frac_below_half_pi", mli_json_num(x->frac_smooth_below));
    cJSON *ce = cJSON_AddObjectToObject(o, "certificates");
    if (j->a.loss == MLI_LOSS_CE)
        cJSON_AddStringToObject(ce, "note", "not applicable: the conditions are for squared error");
    else {
        cJSON_AddNumberToObject(ce, "c1", x->c1);
        cJSON_AddNumberToObject(ce, "c2", x->c2);
        cJSON_AddNumberToObject(ce, "c12", x->c12);
        cJSON_AddNumberToObject(ce, "counterexamples", x->counterexamples);
        cJSON_AddNumberToObject(ce, "pointwise_c1_false", x->c1p_false);
    }
    if (x->have_curve) {
        cJSON *d = cJSON_AddObjectToObject(o, "dataset");
        cJSON_AddStringToObject(d, "curve", x->curve_exact ? "exact" : "enclosure");
        cJSON_AddNumberToObject(d, "n_train", x->n_train);
        cJSON_AddNumberToObject(d, "pieces", (double)x->curve_pieces);
        cJSON_AddItemToObject(d, "delta", mli_json_num(x->delta));
        cJSON_AddItemToObject(d, "delta_lo", mli_json_num(x->delta_lo));
        cJSON_AddItemToObject(d, "delta_hi", mli_json_num(x->delta_hi));
        cJSON_AddItemToObject(d, "delta_grid", mli_json_num(x->grid_delta));
        if (x->curve_exact)
            cJSON_AddItemToObject(d, "curve_error", mli_json_num(x->curve_err));
        cJSON_AddItemToObject(d, "delta_start", mli_json_num(x->delta_start));
        cJSON_AddItemToObject(d, "delta_end", mli_json_num(x->delta_end));
        cJSON_AddItemToObject(d, "first_rise", mli_json_num(x->first_rise));
        cJSON_AddBoolToObject(d, "monotone", x->delta_hi <= j->o->threshold);
        cJSON *bl = cJSON_AddArrayToObject(d, "bumps");
        for (int i = 0; i < x->nbumps && i < MLI_PWLAN_MAX_BUMPS; i++) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddItemToObject(b, "start", mli_json_num(x->bumps[i].start));
            cJSON_AddItemToObject(b, "end", mli_json_num(x->bumps[i].end));
            cJSON_AddItemToObject(b, "height", mli_json_num(x->bumps[i].height));
            cJSON_AddItemToObject(b, "peak", mli_json_num(x->bumps[i].peak));
            cJSON_AddItemToArray(bl, b);
        }
    }
    res->has_exact = 1;
    res->exact_monotone = x->n_monotone;
    res->exact_violating = x->n_violating;
    res->exact_undecided = x->n_undecided;
    res->exact_missed_by_grid = x->n_missed_by_grid;
    res->exact_counterexamples = x->counterexamples;
    res->exact_c1p_false = x->c1p_false;
    res->exact_curve = x->have_curve ? x->curve_exact : -1;
    res->exact_delta_lo = x->delta_lo;
    res->exact_delta_hi = x->delta_hi;
    res->exact_grid_delta = x->grid_delta;
    res->exact_turning_mean = x->turning_mean;
    res->exact_smooth_mean = x->smooth_mean;
    return o;
}

static cJSON *geometry_json(job *j, mli_analysis *res)
{
    cJSON *o = cJSON_CreateObject();
    mli_bump bumps[MAX_BUMPS];
    int nb = mli_bumps(j->alpha, j->train.loss, j->na, bumps, MAX_BUMPS);
    res->delta = mli_bumps_max(bumps, nb < MAX_BUMPS ? nb : MAX_BUMPS);
    res->end_rise = mli_end_rise(j->train.loss, j->na);
    res->monotone = res->delta <= j->o->threshold;
    res->wdist = mli_param_dist(j->theta1, j->theta0, j->a.nparams);
    res->norm_wdist = res->wdist / mli_param_dist(j->theta0, NULL, j->a.nparams);
    res->final_test_acc = j->test.acc[j->na - 1];
    res->final_train_loss = j->train.loss[j->na - 1];
    cJSON_AddItemToObject(o, "alphas", num_array(j->alpha, j->na));
    cJSON_AddItemToObject(o, "delta", mli_json_num(res->delta));
    cJSON_AddItemToObject(o, "end_rise", mli_json_num(res->end_rise));
    cJSON_AddBoolToObject(o, "monotone", res->monotone);
    cJSON_AddNumberToObject(o, "nonmonotone_threshold", j->o->threshold);
    cJSON *bl = cJSON_AddArrayToObject(o, "bumps");
    for (int i = 0; i < nb && i < MAX_BUMPS; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "start", j->alpha[bumps[i].start]);
        cJSON_AddNumberToObject(b, "end", j->alpha[bumps[i].end]);
        cJSON_AddItemToObject(b, "height", mli_json_num(bumps[i].height));
        cJSON_AddNumberToObject(b, "width", bumps[i].width);
        cJSON_AddItemToArray(bl, b);
    }
    mli_bump tb[MAX_BUMPS];
    int ntb = mli_bumps(j->alpha, j->test.loss, j->na, tb, MAX_BUMPS);
    cJSON_AddItemToObject(o, "test_delta", mli_json_num(mli_bumps_max(tb, ntb < MAX_BUMPS ? ntb : MAX_BUMPS)));
    cJSON_AddItemToObject(o, "test_end_rise", mli_json_num(mli_end_rise(j->test.loss, j->na)));
    cJSON_AddItemToObject(o, "wdist", mli_json_num(res->wdist));
    cJSON_AddItemToObject(o, "norm_wdist", mli_json_num(res->norm_wdist));
    cJSON_AddItemToObject(o, "final_train_loss", mli_json_num(j->train.loss[j->na - 1]));
    cJSON_AddItemToObject(o, "final_test_loss", mli_json_num(j->test.loss[j->na - 1]));
    cJSON_AddItemToObject(o, "final_train_acc", mli_json_num(j->train.acc[j->na - 1]));
    cJSON_AddItemToObject(o, "final_test_acc", mli_json_num(j->test.acc[j->na - 1]));
    cJSON_AddItemToObject(o, "init_train_loss", mli_json_num(j->train.loss[0]));
    cJSON_AddStringToObject(o, "bn_stats",
                            mli_arch_has_stats(&j->a) ? (j->o->bn_stats == MLI_BN_EMA ? "ema" : "exact") : "none");
    if (mli_arch_has_stats(&j->a)) {
        res->bn_reset_weight = mli_path_bn_reset_weight(j->ds.train.n, j->cfg->batchsize, j->o->bn_stats);
        cJSON_AddItemToObject(o, "bn_reset_weight", mli_json_num(res->bn_reset_weight));
        if (res->bn_reset_weight > MLI_BN_RESET_WARN)
            cJSON_AddStringToObject(o, "bn_warning", "the ema batch-norm statistics still carry more than 1% of "
                                                     "their reset values (mean 0, variance 1): far from converged; "
                                                     "compare with --bn-stats exact");
    } else
        res->bn_reset_weight = -1;
    if (j->ex.n > 0)
        cJSON_AddItemToObject(o, "gauss_length", gauss_json(j, res));
    if (j->certified)
        cJSON_AddItemToObject(o, "certificates", certificates_json(j));
    if (j->hessian) {
        cJSON_AddItemToObject(o, "hessian", j->hessian);
        j->hessian = NULL;
    }
    if (j->exact)
        cJSON_AddItemToObject(o, "exact", exact_json(j, res));
    mli_controls_merge(o, j->controls); /* control experiments */
    return o;
}

/* ---- the outputs, replaced as one set ---- */

/* The tables an analysis may write, in the order they are put in place; geometry.json, which
 * lists them with their digests, comes last: it is the commit point of the set. */
#define NTABLES MLI_N_ANALYSIS_TABLES
#define table_names mli_analysis_tables

/* The --exact tables for the report: the first examples' exact loss on a fine grid, their
 * breakpoints with the loss there, and the data set's curve. */
static void write_exact(const mli_pwlan *x, mli_buf *lb, mli_buf *bb, mli_buf *db)
{
    mli_buf_printf(lb, "alpha");
    for (int e = 0; e < x->nshow; e++)
        mli_buf_printf(lb, "\tloss_%d", e);
    mli_buf_printf(lb, "\n");
    for (int g = 0; g < MLI_PWLAN_SAMPLES && x->nshow > 0; g++) {
        mli_buf_num(lb, (double)g / (MLI_PWLAN_SAMPLES - 1), '\t');
        for (int e = 0; e < x->nshow; e++)
            mli_buf_num(lb, x->show_loss[e][g], e + 1 < x->nshow ? '\t' : '\n');
    }
    mli_buf_printf(bb, "example\talpha\tloss\n");
    for (int e = 0; e < x->nshow; e++)
        for (int q = 0; q < x->show_nbrk[e]; q++) {
            mli_buf_printf(bb, "%d\t", e);
            mli_buf_num(bb, x->show_brk[e][q], '\t');
            mli_buf_num(bb, x->show_brk_loss[e][q], '\n');
        }
    if (!x->have_curve)
        return;
    mli_buf_printf(db, "alpha\ttrain_loss\n");
    for (int g = 0; g < x->n_curve; g++) {
        mli_buf_num(db, x->curve_alpha[g], '\t');
        mli_buf_num(db, x->curve_loss[g], '\n');
    }
}

/* Test hook (tests/e2e_analyze.sh): MLI_FAULT_ANALYZE=staged fails the analysis after its
 * tables are staged, before any of them replaces the previous analysis's. */
static int fault_injected(void)
{
    const char *f = getenv("MLI_FAULT_ANALYZE");
    return f && !strcmp(f, "staged");
}

/* Stage every table under a temporary name, remove the old geometry.json (so that no
 * geometry.json ever describes a half-replaced set), rename the tables into place, remove the
 * tables this analysis does not write (stale siblings), then write geometry.json with the
 * row count and digest of each table (mli report checks them). */
static int write_outputs(job *j, mli_analysis *res)
{
    mli_buf t[NTABLES] = {{0}};
    if (j->o->write_interp) {
        write_interp(j, &t[MLI_T_INTERP]);
        if (j->ex.n > 0) {
            write_quantiles(j, &t[MLI_T_QUANTILES]);
            write_examples(j, &t[MLI_T_EXAMPLES]);
        }
        if (j->exact)
            write_exact(j->exact, &t[MLI_T_EXACT_LOSS], &t[MLI_T_EXACT_BREAKS], &t[MLI_T_EXACT_DATASET]);
    }
    cJSON *o = geometry_json(j, res);
    char id[64];
    snprintf(id, sizeof id, "%lx-%lx", (unsigned long)time(NULL), (unsigned long)getpid());
    cJSON_AddStringToObject(o, "analysis_id", id);
    /* without tables (write_interp 0) the directory's tables are left alone and not listed */
    cJSON *outs = j->o->write_interp ? cJSON_AddObjectToObject(o, "outputs") : NULL;
    char staged[NTABLES][4200], final[4200];
    int rc = MLI_OK, nstaged = 0;
    for (int i = 0; i < NTABLES && !rc; i++) {
        if (!t[i].s)
            continue;
        snprintf(staged[i], sizeof staged[i], "%s/.%s.staged", j->o->out_dir, table_names[i]);
        rc = mli_buf_write(&t[i], staged[i]);
        nstaged = i + 1;
        long rows = 0;
        for (size_t k = 0; k < t[i].len; k++)
            rows += t[i].s[k] == '\n';
        cJSON *e = cJSON_AddObjectToObject(outs, table_names[i]); /* outs: t[i] exists */
        cJSON_AddNumberToObject(e, "rows", (double)(rows - 1)); /* after the header */
        char hex[20];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)mli_fnv1a64(t[i].s, t[i].len));
        cJSON_AddStringToObject(e, "fnv1a64", hex);
    }
    if (!rc && fault_injected())
        rc = mli_err(MLI_EFAIL, "analysis of %s: injected failure (MLI_FAULT_ANALYZE=staged)", j->o->out_dir);
    char gp[4200];
    snprintf(gp, sizeof gp, "%s/geometry.json", j->o->out_dir);
    if (!rc && unlink(gp) != 0 && errno != ENOENT)
        rc = mli_err(MLI_EFAIL, "%s: cannot remove the previous analysis's file: %s", gp, strerror(errno));
    for (int i = 0; i < NTABLES && !rc && outs; i++) {
        snprintf(final, sizeof final, "%s/%s", j->o->out_dir, table_names[i]);
        if (t[i].s) {
            if (rename(staged[i], final) != 0)
                rc = mli_err(MLI_EFAIL, "%s: rename failed: %s", final, strerror(errno));
        } else if (unlink(final) != 0 && errno != ENOENT)
            rc = mli_err(MLI_EFAIL, "%s: cannot remove the previous analysis's file: %s", final, strerror(errno));
    }
    for (int i = 0; i < nstaged; i++) /* after a failure: no staged file is left behind */
        if (t[i].s)
            unlink(staged[i]);
    if (!rc)
        rc = mli_json_write(gp, o);
    cJSON_Delete(o);
    for (int i = 0; i < NTABLES; i++)
        mli_buf_free(&t[i]);
    return rc;
}

/* ---- the whole analysis ---- */

/* ---- control experiments (geometry/controls.h) ---- */
static int controls(job *j)
{
    mli_controls_ctx c = {j->cfg, &j->o->controls, &j->a, &j->ds, j->theta0, j->theta1, j->delta, j->bn,
                          j->o->bn_stats, j->na, j->alpha, j->train.loss, j->o->out_dir, &j->prog,
                          ctx(j, "").chunk};
    j->controls = cJSON_CreateObject();
    return mli_controls_run(&c, j->controls);
}

/* ---- double re-evaluation of the verification's undecided rises (certify.h) ---- */
typedef struct {
    job *j;
    mli_reeval_ctx c;
    double *work;
} exact_job;

static double exact_loss(void *p, int e, double alpha, double *cond)
{
    exact_job *x = p;
    const mli_data *d = &x->j->ds.test;
    const mli_real *xe = d->x + (size_t)e * d->d;
    const mli_real *t = x->j->a.loss == MLI_LOSS_RECON ? xe : d->t ? d->t + (size_t)e * d->k : NULL;
    return mli_reeval_loss(&x->c, xe, d->y ? d->y[e] : 0, t, alpha, cond, x->work);
}

static int compute(job *j)
{
    const mli_analyze_opts *o = j->o;
    int rc0 = mli_controls_check(&o->controls, &j->a, &j->ds); /* usage errors before any work */
    if (!rc0 && o->exact)
        rc0 = mli_pwl_check(&j->a);
    if (rc0)
        return rc0;
    j->na = o->alpha_steps > 0 ? o->alpha_steps : j->cfg->alpha_steps;
    j->alpha = mli_malloc(sizeof(double) * (size_t)j->na);
    mli_linspace01(j->alpha, j->na);
    if (mli_arch_has_stats(&j->a))
        j->bn = mli_path_bn_stats(&j->a, j->theta0, j->delta, j->alpha, j->na, &j->ds.train, j->cfg->batchsize,
                                  o->bn_stats, &j->prog);
    int n_geo = o->n_examples < 0 || o->n_examples > j->ds.test.n ? j->ds.test.n : o->n_examples;
    mli_path_ctx c = ctx(j, "train");
    mli_path_eval(&c, &j->ds.train, o->train_derivs, 0, &j->train, NULL);
    c.label = "test";
    mli_path_eval(&c, &j->ds.test, 0, n_geo, &j->test, &j->ex);
    int want_cert = o->certificates > 0 || (o->certificates < 0 && j->a.loss != MLI_LOSS_CE);
    int nf = j->ex.n > 0 && want_cert ? o->verify_steps : 0;
    double *fine = NULL, *af = NULL;
    if (nf >= 2) {
        af = mli_malloc(sizeof(double) * (size_t)nf);
        mli_linspace01(af, nf);
        fine = mli_malloc(sizeof(double) * (size_t)nf * j->ex.n);
    }
    /* In exact mode with squared error the verification grid comes from the exact pieces (a
     * polynomial evaluation per α, cheaper than the engine's GEMMs per α: docs/exact.md). */
    int fine_exact = o->exact && nf >= 2 && j->a.loss != MLI_LOSS_CE;
    int rc = MLI_OK;
    if (o->exact) {
        mli_pwlan_opts po = {j->na, 1, 256, o->progress, fine_exact ? nf : 0, af, fine_exact ? fine : NULL};
        j->exact = mli_calloc(1, sizeof(mli_pwlan));
        rc = mli_pwlan_run(&j->a, j->theta0, j->theta1, &j->ds.test, n_geo, &j->ds.train, &po, j->exact);
    }
    if (!rc && j->ex.n > 0) {
        if (nf >= 2 && !fine_exact) {
            mli_path_ctx cf = c;
            cf.alpha = af;
            cf.n_alpha = nf;
            cf.bufs = NULL;
            cf.label = "verification";
            if (mli_arch_has_stats(&j->a)) { /* statistics from the nearest point of the analysis grid */
                mli_real *bf = mli_malloc(sizeof(mli_real) * (size_t)nf * (j->a.nbuffers + 1));
                for (int q = 0; q < nf; q++)
                    memcpy(bf + (size_t)q * j->a.nbuffers, j->bn + (size_t)lround(af[q] * (j->na - 1)) * j->a.nbuffers,
                           sizeof(mli_real) * j->a.nbuffers);
                cf.bufs = bf;
            }
            mli_path_losses(&cf, &j->ds.test, j->ex.n, fine);
            free((void *)cf.bufs);
        }
        j->cert = mli_calloc((size_t)j->ex.n, sizeof(mli_cert_example));
        exact_job xj = {j, {&j->a, j->theta0, j->theta1, j->na, j->bn}, NULL};
        xj.work = mli_malloc(sizeof(double) * 4 * (size_t)j->a.width_max);
        mli_cert_exact ex = {exact_loss, &xj, (double)j->a.nparams};
        mli_certify(j->a.loss, j->alpha, &j->ex, af, nf >= 2 ? nf : 0, fine, &ex, j->cert, &j->sum);
        free(xj.work);
        j->certified = want_cert;
    }
    free(fine);
    free(af);
    if (!rc && o->adaptive && j->ex.n > 0)
        rc = adaptive_lengths(j);
    if (!rc && o->hessian_k > 0)
        rc = hessian(j);
    if (!rc && mli_controls_any(&o->controls))
        rc = controls(j);
    return rc;
}

static void job_free(job *j)
{
    mli_dataset_free(&j->ds);
    free(j->theta0);
    free(j->theta1);
    free(j->delta);
    free(j->bufs0);
    free(j->bufs1);
    free(j->bn);
    free(j->alpha);
    mli_path_means_free(&j->train);
    mli_path_means_free(&j->test);
    mli_path_examples_free(&j->ex);
    free(j->cert);
    free(j->adaptive);
    cJSON_Delete(j->hessian);
    cJSON_Delete(j->controls);
    if (j->exact)
        mli_pwlan_free(j->exact);
    free(j->exact);
}

int mli_analyze_run(const mli_config *cfg, const mli_analyze_opts *o, mli_analysis *res)
{
    job j = {.cfg = cfg, .o = o, .prog = mli_progress_make(o->progress)};
    mli_analysis local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    /* ONNX models take the data set's inputs as they are (their normalisation, if any, is in
     * the file): the data of any architecture key is loaded raw */
    mli_config raw = *cfg;
    if (mli_onnx_path(o->init_path))
        raw.arch = MLI_ARCH_FCNET;
    int rc = mli_train_load_data(&raw, o->data_dir, &j.ds);
    if (!rc)
        rc = load_models(&j);
    if (!rc)
        rc = compute(&j);
    mli_progress_end(&j.prog);
    if (!rc)
        rc = write_outputs(&j, res);
    res->n_examples = j.ex.n;
    res->has_certificates = j.certified;
    res->loss = j.a.loss;
    res->cert = j.sum;
    j.sum.counterexamples = NULL; /* handed over to res */
    job_free(&j);
    return rc;
}

void mli_analysis_free(mli_analysis *r)
{
    free(r->cert.counterexamples);
    r->cert.counterexamples = NULL;
}
