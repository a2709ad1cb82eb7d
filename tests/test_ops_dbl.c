/* Every operator's rules against central differences, on graphs of random shapes (double
 * build): the gradient (training and eval mode), Taylor mode (velocity and acceleration),
 * the R-op (Hessian-vector products), per-example Jacobian rows, the double re-evaluation and
 * the α loop with its hoisted first node. Graphs:
 *   nd:       Linear over the last dimension of an N-D input, batch norm over channels of
 *             N×C×H×W values, sigmoid, Linear
 *   residual: h = Linear1(x); y = Linear4(Add(Linear2(tanh(h)), Linear3(x), h)) — the data
 *             read by two nodes, h by two nodes (gradients accumulate)
 *   chain:    relu between Linears with an Add of a value with itself
 *   imported: the operators of ONNX imports on an N-D input — a broadcast Bias, a Reshape to a
 *             vector, a Linear without bias, batch norm with its own ε, a Reshape to 2-D, a
 *             Linear over the last dim, a Bias broadcast over positions
 * Criterion: ‖e − fd‖∞ / ‖fd‖∞ < 1e-6 (1e-5 for second differences). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/path.h"
#include "geometry/reeval.h"
#include "nn/hvp.h"
#include "nn/jacobian.h"
#include "nn/layers.h"
#include "nn/net.h"
#include "nn/op.h"
#include "nn/taylor.h"

#ifndef MLI_DOUBLE
#error "double build only"
#endif

typedef struct {
    mli_arch a;
    int B;
    mli_real *theta, *delta, *bufs, *x, *t;
    int *y;
} fx;

/* a small deterministic generator for the shapes */
static int pick(uint64_t *s, int lo, int hi)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (int)((*s >> 33) % (uint64_t)(hi - lo + 1));
}

static void fx_data(fx *f, uint64_t seed)
{
    size_t P = f->a.nparams;
    f->B = 5;
    f->theta = malloc(sizeof(mli_real) * P);
    f->delta = malloc(sizeof(mli_real) * P);
    f->bufs = malloc(sizeof(mli_real) * (f->a.nbuffers + 1));
    tu_fill_uniform(f->theta, P, -0.7, 0.7, seed);
    tu_fill_uniform(f->delta, P, -0.6, 0.6, seed + 1);
    /* running means anywhere, variances positive: alternate the two buffers of batch norm */
    tu_fill_uniform(f->bufs, f->a.nbuffers, 0.4, 1.4, seed + 2);
    f->x = malloc(sizeof(mli_real) * (size_t)f->B * f->a.input_size);
    tu_fill_uniform(f->x, (size_t)f->B * f->a.input_size, -1, 1, seed + 3);
    f->t = malloc(sizeof(mli_real) * (size_t)f->B * f->a.nout);
    tu_fill_uniform(f->t, (size_t)f->B * f->a.nout, -1, 1, seed + 4);
    f->y = calloc((size_t)f->B, sizeof(int));
}

static void fx_free(fx *f)
{
    free(f->theta);
    free(f->delta);
    free(f->bufs);
    free(f->x);
    free(f->t);
    free(f->y);
}

/* Linear(last dim → d) on an N-D input, batch norm over its channels, sigmoid, Linear */
static void build_nd(fx *f, uint64_t seed)
{
    uint64_t s = seed;
    int shape[3] = {pick(&s, 2, 3), pick(&s, 1, 3), pick(&s, 2, 4)};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int n = MLI_GRAPH_INPUT;
    n = mli_graph_add(&f->a, &mli_op_linear, &n, 1, pick(&s, 2, 4), "lin0");
    assert_true(n >= 0);
    n = mli_graph_add(&f->a, &mli_op_batchnorm, &n, 1, 0, "bn");
    n = mli_graph_add(&f->a, &mli_op_act, &n, 1, MLI_ACT_SIGMOID, "act");
    n = mli_graph_add(&f->a, &mli_op_linear, &n, 1, 2, "lin1");
    assert_true(n >= 0);
    assert_int_equal(mli_graph_end(&f->a), 0);
    fx_data(f, seed);
}

/* the residual graph of the header */
static void build_residual(fx *f, uint64_t seed, mli_act act)
{
    uint64_t s = seed;
    int in = pick(&s, 3, 6), m = pick(&s, 3, 6), k = pick(&s, 2, 4), X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f->a, &in, 1, MLI_LOSS_MSE);
    int h = mli_graph_add(&f->a, &mli_op_linear, &X, 1, m, "lin1");
    int a = mli_graph_add(&f->a, &mli_op_act, &h, 1, act, "act");
    int l2 = mli_graph_add(&f->a, &mli_op_linear, &a, 1, m, "lin2");
    int l3 = mli_graph_add(&f->a, &mli_op_linear, &X, 1, m, "lin3");
    int ins[3] = {l2, l3, h};
    int sum = mli_graph_add(&f->a, &mli_op_add, ins, 3, 0, "add");
    int out = mli_graph_add(&f->a, &mli_op_linear, &sum, 1, k, "lin4");
    assert_true(h >= 0 && a >= 0 && l2 >= 0 && l3 >= 0 && sum >= 0 && out >= 0);
    assert_int_equal(mli_graph_end(&f->a), 0);
    assert_int_equal(mli_graph_hoisted(&f->a), h);
    fx_data(f, seed);
}

/* Linear, relu, Add(v, v), Linear: one value read twice by the same node */
static void build_self_add(fx *f, uint64_t seed)
{
    uint64_t s = seed;
    int in = pick(&s, 2, 5), X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f->a, &in, 1, MLI_LOSS_MSE);
    int l = mli_graph_add(&f->a, &mli_op_linear, &X, 1, pick(&s, 3, 5), "lin0");
    int r = mli_graph_add(&f->a, &mli_op_act, &l, 1, MLI_ACT_TANH, "act");
    int ins[2] = {r, r};
    int d = mli_graph_add(&f->a, &mli_op_add, ins, 2, 0, "add");
    int o = mli_graph_add(&f->a, &mli_op_linear, &d, 1, 3, "lin1");
    assert_true(o >= 0);
    assert_int_equal(mli_graph_end(&f->a), 0);
    fx_data(f, seed);
}

/* Bias(C×H×W, b of [C,1,1] / [H,W] / [1,W] / scalar), Reshape to a vector, Linear without
 * bias, batch norm (ε from fattr), tanh, Reshape to 2×m/2, Linear(last dim), Bias [k] */
static void build_imported(fx *f, uint64_t seed, int lead_bias)
{
    uint64_t s = seed;
    int C = pick(&s, 1, 3), H = pick(&s, 1, 3), W = pick(&s, 2, 3), shape[3] = {C, H, W};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int kinds[4][4] = {{3, C, 1, 1}, {2, H, W}, {2, 1, W}, {0}};
    int *bk = kinds[seed % 4], n = MLI_GRAPH_INPUT;
    if (lead_bias)
        n = mli_graph_add_attrs(&f->a, &mli_op_bias, &n, 1, bk, 1 + bk[0], NULL, 0, "bias0");
    assert_true(lead_bias ? n >= 0 : n == MLI_GRAPH_INPUT);
    int flat[2] = {1, C * H * W};
    n = mli_graph_add_attrs(&f->a, &mli_op_reshape, &n, 1, flat, 2, NULL, 0, "flat");
    int m = 2 * pick(&s, 2, 3), nobias[2] = {m, 1};
    n = mli_graph_add_attrs(&f->a, &mli_op_linear, &n, 1, nobias, 2, NULL, 0, "matmul");
    double eps = 0.05 * pick(&s, 1, 4);
    n = mli_graph_add_attrs(&f->a, &mli_op_batchnorm, &n, 1, NULL, 0, &eps, 1, "bn");
    n = mli_graph_add(&f->a, &mli_op_act, &n, 1, MLI_ACT_TANH, "act");
    int two[3] = {2, 2, m / 2};
    n = mli_graph_add_attrs(&f->a, &mli_op_reshape, &n, 1, two, 3, NULL, 0, "two");
    int k = pick(&s, 2, 3);
    n = mli_graph_add(&f->a, &mli_op_linear, &n, 1, k, "lin");
    int bl[2] = {1, k};
    n = mli_graph_add_attrs(&f->a, &mli_op_bias, &n, 1, bl, 2, NULL, 0, "bias1");
    assert_true(n >= 0);
    assert_int_equal(mli_graph_end(&f->a), 0);
    /* the Linear without bias has one tensor, its weight; without the leading Bias it reads a
     * reshape of the data and is hoisted out of the α loop */
    int mm = lead_bias ? 2 : 1;
    assert_int_equal(f->a.nodes[mm].nt, 1);
    assert_int_equal(mli_graph_hoisted(&f->a), lead_bias ? -1 : mm);
    fx_data(f, seed);
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

static double rel_err(const double *e, const double *fd, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(e[i] - fd[i]));
    double den = max_abs(fd, n);
    assert_true(den > 1e-6); /* a zero derivative would pass trivially */
    return d / den;
}

static double loss_at(fx *f, const mli_real *th, mli_mode mode, mli_ws *ws, mli_real *grad)
{
    mli_batch b = {f->B, f->x, f->y, f->t};
    return mli_net_loss_grad(&f->a, th, mode == MLI_MODE_EVAL ? f->bufs : NULL, ws, &b, mode, grad, NULL);
}

/* backward: ∇θ against central differences of the loss, one parameter at a time */
static void check_grad(fx *f, mli_mode mode, const char *what)
{
    size_t P = f->a.nparams;
    mli_ws *ws = mli_ws_new(&f->a, f->B);
    mli_real *g = malloc(sizeof(mli_real) * P), *th = malloc(sizeof(mli_real) * P);
    double *e = malloc(sizeof(double) * P), *fd = malloc(sizeof(double) * P);
    loss_at(f, f->theta, mode, ws, g);
    memcpy(th, f->theta, sizeof(mli_real) * P);
    const double h = 1e-5;
    for (size_t i = 0; i < P; i++) {
        th[i] = f->theta[i] + h;
        double lp = loss_at(f, th, mode, ws, NULL);
        th[i] = f->theta[i] - h;
        double lm = loss_at(f, th, mode, ws, NULL);
        th[i] = f->theta[i];
        fd[i] = (lp - lm) / (2 * h);
        e[i] = g[i];
    }
    double r = rel_err(e, fd, P);
    if (!(r < 1e-6))
        fail_msg("%s: gradient (%s mode) off by %.3g", what, mode == MLI_MODE_TRAIN ? "train" : "eval", r);
    free(g);
    free(th);
    free(e);
    free(fd);
    mli_ws_free(ws);
}

/* z(α) at θ + αΔ into out */
static void outputs_at(fx *f, double alpha, mli_ws *ws, double *out)
{
    size_t P = f->a.nparams, n = (size_t)f->B * f->a.nout;
    mli_real *th = malloc(sizeof(mli_real) * P);
    for (size_t i = 0; i < P; i++)
        th[i] = f->theta[i] + alpha * f->delta[i];
    const mli_real *Z = mli_net_forward(&f->a, th, f->bufs, ws, f->x, f->B, MLI_MODE_EVAL);
    for (size_t i = 0; i < n; i++)
        out[i] = Z[i];
    free(th);
}

/* Taylor mode: value, velocity and acceleration against central differences along Δ, with
 * and without the hoisted node's products */
static void check_tangent(fx *f, double alpha, const char *what)
{
    size_t P = f->a.nparams, n = (size_t)f->B * f->a.nout;
    mli_ws *ws = mli_ws_new(&f->a, f->B);
    mli_tws *tw = mli_tws_new(&f->a, f->B);
    double *zp = malloc(sizeof(double) * n), *zm = malloc(sizeof(double) * n), *z0 = malloc(sizeof(double) * n);
    double *v = malloc(sizeof(double) * n), *a = malloc(sizeof(double) * n);
    double *fv = malloc(sizeof(double) * n), *fa = malloc(sizeof(double) * n);
    const double h = 1e-4;
    outputs_at(f, alpha + h, ws, zp);
    outputs_at(f, alpha - h, ws, zm);
    outputs_at(f, alpha, ws, z0);
    for (size_t i = 0; i < n; i++) {
        fv[i] = (zp[i] - zm[i]) / (2 * h);
        fa[i] = (zp[i] - 2 * z0[i] + zm[i]) / (h * h);
    }
    mli_real *th = malloc(sizeof(mli_real) * P);
    for (size_t i = 0; i < P; i++)
        th[i] = f->theta[i] + alpha * f->delta[i];
    int hn = mli_graph_hoisted(&f->a);
    size_t hs = hn >= 0 ? (size_t)f->B * f->a.nodes[hn].size : 1;
    mli_real *P0 = malloc(sizeof(mli_real) * hs), *P1 = malloc(sizeof(mli_real) * hs);
    mli_taylor_first_layer(&f->a, f->theta, f->delta, f->x, f->B, P0, P1);
    for (int pre = 0; pre < 2; pre++) {
        const mli_real *Z = mli_net_tangent(&f->a, th, f->delta, f->bufs, tw, f->x, f->B, pre && hn >= 0 ? P0 : NULL,
                                            pre && hn >= 0 ? P1 : NULL, alpha);
        for (size_t i = 0; i < n; i++) {
            assert_float_equal(Z[i], z0[i], 1e-12);
            v[i] = Z[n + i];
            a[i] = Z[2 * n + i];
        }
        double rv = rel_err(v, fv, n), ra = rel_err(a, fa, n);
        if (!(rv < 1e-6 && ra < 1e-5))
            fail_msg("%s: Taylor mode (hoisted products %d) v %.3g a %.3g", what, pre, rv, ra);
    }
    free(zp);
    free(zm);
    free(z0);
    free(v);
    free(a);
    free(fv);
    free(fa);
    free(th);
    free(P0);
    free(P1);
    mli_ws_free(ws);
    mli_tws_free(tw);
}

/* R-op: H u against central differences of the gradient (eval mode) */
static void check_hvp(fx *f, const char *what)
{
    size_t P = f->a.nparams;
    mli_batch b = {f->B, f->x, f->y, f->t};
    mli_ws *ws = mli_ws_new(&f->a, f->B);
    mli_hvp_ws *hw = mli_hvp_ws_new(&f->a, f->B);
    mli_real *hv = malloc(sizeof(mli_real) * P), *gp = malloc(sizeof(mli_real) * P), *gm = malloc(sizeof(mli_real) * P);
    mli_real *th = malloc(sizeof(mli_real) * P);
    double *e = malloc(sizeof(double) * P), *fd = malloc(sizeof(double) * P);
    double lh = mli_net_hvp(&f->a, f->theta, f->bufs, hw, &b, f->delta, hv);
    double lg = loss_at(f, f->theta, MLI_MODE_EVAL, ws, NULL);
    assert_true(fabs(lh - lg) <= 1e-12 * fmax(1, fabs(lg)));
    const double h = 1e-5;
    for (size_t i = 0; i < P; i++)
        th[i] = f->theta[i] + h * f->delta[i];
    loss_at(f, th, MLI_MODE_EVAL, ws, gp);
    for (size_t i = 0; i < P; i++)
        th[i] = f->theta[i] - h * f->delta[i];
    loss_at(f, th, MLI_MODE_EVAL, ws, gm);
    for (size_t i = 0; i < P; i++) {
        fd[i] = (gp[i] - gm[i]) / (2 * h);
        e[i] = hv[i];
    }
    double r = rel_err(e, fd, P);
    if (!(r < 1e-6))
        fail_msg("%s: Hessian-vector product off by %.3g", what, r);
    free(hv);
    free(gp);
    free(gm);
    free(th);
    free(e);
    free(fd);
    mli_ws_free(ws);
    mli_hvp_ws_free(hw);
}

/* Jacobian rows J[(c, i), ·] against central differences of z_c(x_i) */
static void check_jacobian(fx *f, const char *what)
{
    size_t P = f->a.nparams;
    int k = f->a.nout, B = f->B;
    mli_jws *jw = mli_jws_new(&f->a, B);
    mli_ws *ws = mli_ws_new(&f->a, B);
    mli_net_jacobian(&f->a, f->theta, f->bufs, jw, f->x, B);
    mli_real *row = malloc(sizeof(mli_real) * P), *th = malloc(sizeof(mli_real) * P);
    double *e = malloc(sizeof(double) * P), *fd = malloc(sizeof(double) * P);
    memcpy(th, f->theta, sizeof(mli_real) * P);
    const double h = 1e-5;
    int pairs[3][2] = {{0, 0}, {k - 1, B - 1}, {k / 2, 2}};
    for (int q = 0; q < 3; q++) {
        int c = pairs[q][0], i = pairs[q][1];
        memset(row, 0, sizeof(mli_real) * P);
        mli_jacobian_row(&f->a, jw, f->x, B, c, i, row);
        for (size_t p = 0; p < P; p++) {
            th[p] = f->theta[p] + h;
            double zp = mli_net_forward(&f->a, th, f->bufs, ws, f->x, B, MLI_MODE_EVAL)[(size_t)i * k + c];
            th[p] = f->theta[p] - h;
            double zm = mli_net_forward(&f->a, th, f->bufs, ws, f->x, B, MLI_MODE_EVAL)[(size_t)i * k + c];
            th[p] = f->theta[p];
            fd[p] = (zp - zm) / (2 * h);
            e[p] = row[p];
        }
        double r = rel_err(e, fd, P);
        if (!(r < 1e-6))
            fail_msg("%s: Jacobian row (%d, %d) off by %.3g", what, c, i, r);
    }
    free(row);
    free(th);
    free(e);
    free(fd);
    mli_jws_free(jw);
    mli_ws_free(ws);
}

/* the double re-evaluation: the same loss as the engine at θ(α), with a finite bound */
static void check_reeval(fx *f, const char *what)
{
    size_t P = f->a.nparams;
    mli_real *t1 = malloc(sizeof(mli_real) * P), *th = malloc(sizeof(mli_real) * P);
    for (size_t i = 0; i < P; i++)
        t1[i] = f->theta[i] + f->delta[i];
    mli_reeval_ctx c = {&f->a, f->theta, t1, 1, f->bufs};
    double *work = malloc(sizeof(double) * 4 * f->a.width_max);
    mli_ws *ws = mli_ws_new(&f->a, 1);
    const double alpha = 0.37;
    for (size_t i = 0; i < P; i++)
        th[i] = f->theta[i] + alpha * (t1[i] - f->theta[i]);
    for (int e = 0; e < f->B; e++) {
        const mli_real *x = f->x + (size_t)e * f->a.input_size, *t = f->t + (size_t)e * f->a.nout;
        double K = -1, l = mli_reeval_loss(&c, x, 0, t, alpha, &K, work);
        const mli_real *Z = mli_net_forward(&f->a, th, f->bufs, ws, x, 1, MLI_MODE_EVAL);
        double ref = mli_loss_eval(MLI_LOSS_MSE, Z, 1, f->a.nout, NULL, t, NULL, NULL, NULL);
        if (!(fabs(l - ref) <= 1e-12 * fmax(1, fabs(ref)) && K > 0 && isfinite(K)))
            fail_msg("%s: re-evaluation %.17g against %.17g (K %g)", what, l, ref, K);
    }
    free(t1);
    free(th);
    free(work);
    mli_ws_free(ws);
}

/* the α loop (hoisted first node, fused successor) against the plain engine per α */
static void check_path(fx *f, const char *what)
{
    const int na = 4;
    double alpha[4] = {0, 0.3, 0.8, 1.2};
    mli_data d = {f->B, f->a.input_size, f->a.nout, f->x, f->y, f->t};
    mli_real *bufs = malloc(sizeof(mli_real) * (f->a.nbuffers * na + 1));
    for (int j = 0; j < na; j++)
        memcpy(bufs + (size_t)j * f->a.nbuffers, f->bufs, sizeof(mli_real) * f->a.nbuffers);
    mli_path_ctx c = {&f->a, f->theta, f->delta, bufs, na, alpha, 2, NULL, "test"};
    mli_path_means m;
    mli_path_eval(&c, &d, 1, 0, &m, NULL);
    mli_ws *ws = mli_ws_new(&f->a, f->B);
    size_t P = f->a.nparams;
    mli_real *th = malloc(sizeof(mli_real) * P);
    for (int j = 0; j < na; j++) {
        for (size_t i = 0; i < P; i++)
            th[i] = f->theta[i] + alpha[j] * f->delta[i];
        double l = loss_at(f, th, MLI_MODE_EVAL, ws, NULL);
        if (!(fabs(m.loss[j] - l) <= 1e-12 * fmax(1, fabs(l))))
            fail_msg("%s: path loss at alpha %g: %.17g against %.17g", what, alpha[j], m.loss[j], l);
        double hp = 1e-4, lp, lm;
        for (size_t i = 0; i < P; i++)
            th[i] = f->theta[i] + (alpha[j] + hp) * f->delta[i];
        lp = loss_at(f, th, MLI_MODE_EVAL, ws, NULL);
        for (size_t i = 0; i < P; i++)
            th[i] = f->theta[i] + (alpha[j] - hp) * f->delta[i];
        lm = loss_at(f, th, MLI_MODE_EVAL, ws, NULL);
        double fd = (lp - lm) / (2 * hp), fd2 = (lp - 2 * l + lm) / (hp * hp);
        if (!(fabs(m.dl[j] - fd) < 1e-6 * fmax(1, fabs(fd)) && fabs(m.d2l[j] - fd2) < 1e-5 * fmax(1, fabs(fd2))))
            fail_msg("%s: path derivatives at alpha %g: %.10g/%.10g %.10g/%.10g", what, alpha[j], m.dl[j], fd, m.d2l[j],
                     fd2);
    }
    mli_path_means_free(&m);
    free(th);
    free(bufs);
    mli_ws_free(ws);
}

static void check_all(fx *f, const char *what)
{
    check_grad(f, MLI_MODE_EVAL, what);
    check_tangent(f, 0.4, what);
    check_hvp(f, what);
    check_jacobian(f, what);
    check_reeval(f, what);
    check_path(f, what);
}

static void test_nd_shapes(void **state)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fx f;
        build_nd(&f, seed * 101);
        char what[64];
        snprintf(what, sizeof what, "nd seed %d (input %dx%dx%d)", (int)seed, f.a.in_shape.d[0], f.a.in_shape.d[1],
                 f.a.in_shape.d[2]);
        check_grad(&f, MLI_MODE_TRAIN, what); /* batch statistics over N·H·W per channel */
        check_all(&f, what);
        fx_free(&f);
    }
}

static void test_residual(void **state)
{
    const mli_act acts[] = {MLI_ACT_TANH, MLI_ACT_SIGMOID, MLI_ACT_RELU};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fx f;
        build_residual(&f, seed * 37, acts[seed - 1]);
        char what[64];
        snprintf(what, sizeof what, "residual seed %d (%s)", (int)seed, mli_act_name(acts[seed - 1]));
        check_all(&f, what);
        fx_free(&f);
    }
}

static void test_value_used_twice_by_one_node(void **state)
{
    for (uint64_t seed = 1; seed <= 2; seed++) {
        fx f;
        build_self_add(&f, seed * 53);
        check_all(&f, "Add(v, v)");
        fx_free(&f);
    }
}

static void test_imported_ops(void **state)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fx f;
        build_imported(&f, seed * 71, seed <= 4);
        char what[96];
        snprintf(what, sizeof what, "imported seed %d%s (input %dx%dx%d)", (int)seed, seed <= 4 ? "" : " hoisted",
                 f.a.in_shape.d[0], f.a.in_shape.d[1], f.a.in_shape.d[2]);
        check_grad(&f, MLI_MODE_TRAIN, what);
        check_all(&f, what);
        fx_free(&f);
    }
}

/* FCNet built through the graph: the same tensors, names and offsets as the reference */
static void test_fcnet_layout(void **state)
{
    mli_arch a;
    int h[3] = {6, 5, 4};
    assert_int_equal(mli_arch_init(&a, 7, h, 3, MLI_ACT_RELU, 1, MLI_LOSS_CE), 0);
    assert_int_equal(a.nnodes, 7); /* Linear, (BatchNorm, act, Linear) × 2 */
    const char *names[] = {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                           "layers.1.running_mean", "layers.1.running_var", "layers.3.weight", "layers.3.bias"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(a.tensors[i].name, names[i]);
    assert_int_equal(a.tensors[2].off, 6 * 7 + 6);
    assert_int_equal(a.tensors[4].off, 0);
    assert_int_equal(a.nparams, 6 * 7 + 6 + 2 * 6 + 5 * 6 + 5 + 2 * 5 + 4 * 5 + 4);
    assert_int_equal(mli_graph_hoisted(&a), 0);
    mli_chain ch;
    assert_int_not_equal(mli_graph_chain(&a, &ch), 0); /* batch norm is not piecewise linear */
    assert_int_equal(mli_arch_init(&a, 7, h, 3, MLI_ACT_RELU, 0, MLI_LOSS_CE), 0);
    assert_int_equal(mli_graph_chain(&a, &ch), 0);
    assert_int_equal(ch.nlin, 3);
    assert_true(ch.relu[0] && ch.relu[1]);
}

/* graphs that cannot be built say why */
static void test_graph_errors(void **state)
{
    mli_arch a;
    int in = 4, X = MLI_GRAPH_INPUT, later = 3;
    mli_graph_begin(&a, &in, 1, MLI_LOSS_MSE);
    int l = mli_graph_add(&a, &mli_op_linear, &X, 1, 3, "lin");
    assert_true(l >= 0);
    assert_int_equal(mli_graph_add(&a, &mli_op_act, &later, 1, MLI_ACT_RELU, "act"), -1); /* not topological */
    int ins[2] = {l, X};
    assert_int_equal(mli_graph_add(&a, &mli_op_add, ins, 2, 0, "add"), -1); /* shapes 3 and 4 */
    assert_int_equal(mli_graph_add(&a, &mli_op_linear, &l, 1, 0, "lin0"), -1); /* no outputs */
    int l2 = mli_graph_add(&a, &mli_op_linear, &X, 1, 2, "lin2");
    assert_true(l2 >= 0);
    assert_int_not_equal(mli_graph_end(&a), 0); /* lin's output is not used */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nd_shapes),
        cmocka_unit_test(test_residual),
        cmocka_unit_test(test_value_used_twice_by_one_node),
        cmocka_unit_test(test_fcnet_layout),
        cmocka_unit_test(test_imported_ops),
        cmocka_unit_test(test_graph_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
