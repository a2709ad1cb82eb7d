/* Convolution and pooling in the float engine (and, through `make check`, under ASan/UBSan):
 *   - the forward pass against direct loops (tests/conv_naive.h) where the examples fill
 *     several im2col chunks (maps of 30×30 and 40×40: one or two examples per chunk);
 *   - the float32 error bound of the double re-evaluation (geometry/reeval.h) holds for a
 *     residual block with max and average pools, along the path;
 *   - every engine on that graph agrees with itself: Taylor mode's value with the forward
 *     pass, its velocity with the Jacobian rows times Δ, the R-op's loss with the loss;
 *   - the initialisations (PyTorch's Conv2d default, xavier, kaiming) and state_dict names;
 *   - the forward pass against the reference outputs of ONNX's backend tests and of its
 *     PyTorch-converted models (Debian libonnx-testdata) for Conv, MaxPool, AveragePool and
 *     GlobalAveragePool, all 39 of them through the ONNX importer (nn/onnx_graph.h), which
 *     maps the attributes — pads order, groups, dilation, count_include_pad, auto_pad,
 *     ceil_mode — onto the operators'.
 * The derivatives themselves are checked against central differences in test_conv_dbl.c. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_naive.h"
#include "conv_rules.h"
#include "geometry/reeval.h"
#include "io/err.h"
#include "io/onnx.h"
#include "nn/hvp.h"
#include "nn/jacobian.h"
#include "nn/net.h"
#include "nn/onnx_graph.h"
#include "nn/op.h"
#include "nn/taylor.h"

#include <gsl/gsl_rng.h>

#ifdef MLI_DOUBLE
#error "float build only"
#endif

static int add_conv(mli_arch *a, int in, const naive_conv *q, const char *name)
{
    int at[13] = {q->K, q->kh, q->kw, q->sh, q->sw, q->p[0], q->p[1], q->p[2], q->p[3], q->dh, q->dw, q->g, q->bias};
    return mli_graph_add_attrs(a, &mli_op_conv, &in, 1, at, 13, NULL, 0, name);
}

static int add_pool(mli_arch *a, const mli_op *op, int in, int k, int s, int pad, int incl, const char *name)
{
    int at[11] = {k, k, s, s, pad, pad, pad, pad, 1, 1, incl};
    return mli_graph_add_attrs(a, op, &in, 1, at, 11, NULL, 0, name);
}

static void test_forward_chunks(void **state)
{
    const naive_conv cases[] = {
        {2, 30, 30, 3, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1}, /* P = 900: two examples per chunk */
        {4, 40, 40, 4, 3, 3, 1, 1, {0, 1, 2, 1}, 2, 1, 2, 0}, /* P = 1560: one per chunk */
        {3, 30, 30, 6, 5, 3, 2, 2, {2, 1, 2, 1}, 1, 2, 3, 1}, /* P = 225: five per chunk */
    };
    const int B = 7;
    for (int t = 0; t < 3; t++) {
        const naive_conv *q = &cases[t];
        mli_arch a;
        int shape[3] = {q->C, q->H, q->W};
        mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
        assert_true(add_conv(&a, MLI_GRAPH_INPUT, q, "c") >= 0);
        assert_int_equal(mli_graph_end(&a), 0);
        mli_real *th = malloc(sizeof(mli_real) * a.nparams), *x = malloc(sizeof(mli_real) * B * a.input_size);
        tu_fill_uniform(th, a.nparams, -1, 1, 10 + (uint64_t)t);
        tu_fill_uniform(x, (size_t)B * a.input_size, -1, 1, 20 + (uint64_t)t);
        mli_ws *ws = mli_ws_new(&a, B);
        const mli_real *Y = mli_net_forward(&a, th, NULL, ws, x, B, MLI_MODE_EVAL);
        double *ref = malloc(sizeof(double) * a.nout);
        for (int i = 0; i < B; i++) {
            naive_conv_forward(q, x + (size_t)i * a.input_size, th, q->bias ? th + a.nodes[0].off[1] : NULL, ref);
            for (int o = 0; o < a.nout; o++)
                if (!(fabs(Y[(size_t)i * a.nout + o] - ref[o]) < 1e-5 * (1 + fabs(ref[o]))))
                    fail_msg("case %d example %d output %d: %.9g against %.9g", t, i, o, Y[(size_t)i * a.nout + o],
                             ref[o]);
        }
        free(th);
        free(x);
        free(ref);
        mli_ws_free(ws);
    }
}

/* stem Conv, conv → bn → relu → conv → bn, + 1×1 Conv of the stem, relu, MaxPool 3/2, AveragePool
 * 2/1 counting the pad, the mean over H, W, Linear(10) */
static void build_block(mli_arch *a)
{
    int shape[3] = {3, 12, 11};
    naive_conv stem = {3, 12, 11, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1};
    naive_conv c3 = {8, 12, 11, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 0};
    naive_conv c1 = {8, 12, 11, 8, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, 2, 0};
    mli_graph_begin(a, shape, 3, MLI_LOSS_CE);
    int s = add_conv(a, MLI_GRAPH_INPUT, &stem, "stem");
    int v = add_conv(a, s, &c3, "conv1");
    v = mli_graph_add(a, &mli_op_batchnorm, &v, 1, 0, "bn1");
    v = mli_graph_add(a, &mli_op_act, &v, 1, MLI_ACT_RELU, "relu1");
    v = add_conv(a, v, &c3, "conv2");
    v = mli_graph_add(a, &mli_op_batchnorm, &v, 1, 0, "bn2");
    int sc = add_conv(a, s, &c1, "short");
    int ins[2] = {v, sc};
    v = mli_graph_add(a, &mli_op_add, ins, 2, 0, "add");
    v = mli_graph_add(a, &mli_op_act, &v, 1, MLI_ACT_RELU, "relu2");
    v = add_pool(a, &mli_op_maxpool, v, 3, 2, 1, 0, "maxpool");
    v = add_pool(a, &mli_op_avgpool, v, 2, 1, 1, 1, "avgpool");
    v = mli_graph_add(a, &mli_op_gap, &v, 1, 1, "mean");
    v = mli_graph_add(a, &mli_op_linear, &v, 1, 10, "fc");
    assert_true(v >= 0);
    assert_int_equal(mli_graph_end(a), 0);
}

/* convolutions and pools alone, so that their bounds are the ones under test: Conv 3→8,
 * tanh, Conv 8→10 stride 2 dilation 2, MaxPool 2/2, AveragePool 2/1 without pad counting, the
 * mean over H, W */
static void build_convs(mli_arch *a)
{
    int shape[3] = {3, 12, 11};
    naive_conv c1 = {3, 12, 11, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1};
    naive_conv c2 = {8, 12, 11, 10, 3, 3, 2, 2, {2, 2, 2, 2}, 2, 2, 1, 1};
    mli_graph_begin(a, shape, 3, MLI_LOSS_CE);
    int v = add_conv(a, MLI_GRAPH_INPUT, &c1, "c1");
    v = mli_graph_add(a, &mli_op_act, &v, 1, MLI_ACT_TANH, "act");
    v = add_conv(a, v, &c2, "c2");
    v = add_pool(a, &mli_op_maxpool, v, 2, 2, 0, 0, "maxpool");
    v = add_pool(a, &mli_op_avgpool, v, 2, 1, 1, 0, "avgpool");
    v = mli_graph_add(a, &mli_op_gap, &v, 1, 1, "mean");
    assert_true(v >= 0);
    assert_int_equal(mli_graph_end(a), 0);
}

typedef struct {
    mli_arch a;
    int N;
    mli_real *t0, *t1, *dl, *th, *bufs, *x;
    int *y;
} block;

static void block_init(block *b, int N, void (*build)(mli_arch *))
{
    build(&b->a);
    size_t P = b->a.nparams;
    b->N = N;
    b->t0 = malloc(sizeof(mli_real) * P);
    b->t1 = malloc(sizeof(mli_real) * P);
    b->dl = malloc(sizeof(mli_real) * P);
    b->th = malloc(sizeof(mli_real) * P);
    tu_fill_uniform(b->t0, P, -0.4, 0.4, 41);
    tu_fill_uniform(b->t1, P, -0.6, 0.6, 42);
    for (size_t i = 0; i < P; i++)
        b->dl[i] = b->t1[i] - b->t0[i];
    b->bufs = malloc(sizeof(mli_real) * b->a.nbuffers);
    mli_arch_init_buffers(&b->a, b->bufs);
    for (size_t i = 0; i < b->a.nbuffers; i++)
        b->bufs[i] += (mli_real)(0.1 * (i % 5));
    b->x = malloc(sizeof(mli_real) * (size_t)N * b->a.input_size);
    tu_fill_uniform(b->x, (size_t)N * b->a.input_size, -2, 2, 43);
    b->y = malloc(sizeof(int) * (size_t)N);
    for (int i = 0; i < N; i++)
        b->y[i] = i % 10;
}

static void block_free(block *b)
{
    free(b->t0);
    free(b->t1);
    free(b->dl);
    free(b->th);
    free(b->bufs);
    free(b->x);
    free(b->y);
}

static void at_alpha(block *b, double al)
{
    for (size_t i = 0; i < b->a.nparams; i++)
        b->th[i] = b->t0[i] + (mli_real)al * b->dl[i]; /* as the engine forms θ(α) */
}

static void check_reeval_bound(void (*build)(mli_arch *), const char *what)
{
    block b;
    block_init(&b, 12, build);
    mli_data d = {b.N, b.a.input_size, 10, b.x, b.y, NULL};
    mli_reeval_ctx c = {&b.a, b.t0, b.t1, 1, b.bufs};
    double *work = malloc(sizeof(double) * 4 * b.a.width_max), *per = malloc(sizeof(double) * b.N);
    mli_ws *w = mli_ws_new(&b.a, b.N);
    double worst = 0, max_err = 0;
    for (int q = 0; q <= 10; q++) {
        double al = q / 10.0, lm, acc;
        at_alpha(&b, al);
        mli_net_evaluate(&b.a, b.th, b.bufs, w, &d, &lm, &acc, per);
        for (int e = 0; e < b.N; e++) {
            double K, l = mli_reeval_loss(&c, b.x + (size_t)e * b.a.input_size, b.y[e], NULL, al, &K, work);
            double err = fabs(per[e] - l), bound = 2 * MLI_U32 * K;
            if (!(err <= bound))
                fail_msg("%s: alpha %g example %d: float %.9g exact %.17g: error %.3g > bound %.3g", what, al, e, per[e],
                         l, err, bound);
            worst = fmax(worst, err / bound);
            max_err = fmax(max_err, err);
        }
    }
    assert_true(max_err > 0);
    assert_true(worst > 1e-6); /* not vacuous (measured: 2e-4 of the bound is used) */
    mli_ws_free(w);
    free(work);
    free(per);
    block_free(&b);
}

/* The Winograd path against im2col in float on ResNet-like shapes and odd ones. Each output is
 * a dot product of L = 9·C terms either way, rounded in another order; the Winograd transforms
 * add a few roundings of values up to 4× the input's (F(2×2)'s Bᵀ d B sums 4 terms), 2.25× the
 * weight's (G g Gᵀ) and sums of 9 products (Aᵀ M A). With values and weights in [−1, 1] both
 * errors are a few u·√L·(L/4) against outputs of about √L, a relative difference of order
 * u·L/4 ≈ 1e-5 at worst for L = 576 — measured: at most 6e-7 over these cases. F(4×4)'s
 * transforms scale by up to 10 (Bᵀ's 4, 5), 0.25 (G) and 8 (Aᵀ), their sums of up to 36 terms
 * larger than the result: measured at most 5e-6, 9× F(2×2)'s; 3e-5 for it. Both still catch
 * any wrong transform entry (differences of order 1). */
static void test_winograd(void **state)
{
    const wino_case cases[] = {
        {{16, 28, 28, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 0}, 5},
        {{32, 14, 14, 32, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 0}, 9},
        {{64, 7, 7, 64, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1}, 20},
        {{5, 6, 7, 4, 3, 3, 1, 1, {0, 1, 2, 1}, 1, 1, 1, 0}, 7},
        {{3, 9, 8, 6, 3, 3, 1, 1, {2, 2, 0, 0}, 1, 1, 1, 1}, 1},
    };
    conv_rules_check(cases, sizeof cases / sizeof cases[0], (const double[2]){1e-5, 3e-5});
}

static void test_reeval_bound(void **state)
{
    check_reeval_bound(build_convs, "convolutions and pools");
    check_reeval_bound(build_block, "residual block");
}

static double max_abs_diff(const mli_real *a, const mli_real *b, size_t n, double *scale)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    *scale = s;
    return d;
}

/* Taylor mode, the Jacobian rows and the R-op on one graph, in float */
static void test_engines_agree(void **state)
{
    block b;
    block_init(&b, 6, build_block);
    const double al = 0.3;
    int N = b.N, k = b.a.nout;
    size_t P = b.a.nparams, n = (size_t)N * k;
    at_alpha(&b, al);
    mli_ws *w = mli_ws_new(&b.a, N);
    mli_real *z = malloc(sizeof(mli_real) * n);
    memcpy(z, mli_net_forward(&b.a, b.th, b.bufs, w, b.x, N, MLI_MODE_EVAL), sizeof(mli_real) * n);
    /* Taylor mode at θ(α), with and without the hoisted stem's products */
    mli_tws *tw = mli_tws_new(&b.a, N);
    int h = mli_graph_hoisted(&b.a);
    assert_int_equal(h, 0);
    size_t hs = (size_t)N * b.a.nodes[h].size;
    mli_real *P0 = malloc(sizeof(mli_real) * hs), *P1 = malloc(sizeof(mli_real) * hs), *v = malloc(sizeof(mli_real) * n);
    mli_taylor_first_layer(&b.a, b.t0, b.dl, b.x, N, P0, P1);
    for (int pre = 0; pre < 2; pre++) {
        const mli_real *Z = mli_net_tangent(&b.a, b.th, b.dl, b.bufs, tw, b.x, N, pre ? P0 : NULL, pre ? P1 : NULL, al);
        double s, d = max_abs_diff(Z, z, n, &s);
        if (!(d <= 1e-4 * s))
            fail_msg("Taylor value (products %d) off by %.3g of %.3g", pre, d, s);
        memcpy(v, Z + n, sizeof(mli_real) * n);
    }
    /* the velocity is J(θ(α)) Δ: every row of the Jacobian against it */
    mli_jws *jw = mli_jws_new(&b.a, N);
    mli_net_jacobian(&b.a, b.th, b.bufs, jw, b.x, N);
    mli_real *row = malloc(sizeof(mli_real) * P), *jv = malloc(sizeof(mli_real) * n);
    for (int c = 0; c < k; c++)
        for (int i = 0; i < N; i++) {
            memset(row, 0, sizeof(mli_real) * P);
            mli_jacobian_row(&b.a, jw, b.x, N, c, i, row);
            double s = 0;
            for (size_t p = 0; p < P; p++)
                s += (double)row[p] * b.dl[p];
            jv[(size_t)i * k + c] = (mli_real)s;
        }
    double s, d = max_abs_diff(jv, v, n, &s);
    if (!(d <= 1e-3 * s))
        fail_msg("Jacobian rows times delta off the velocity by %.3g of %.3g", d, s);
    /* the R-op: its loss is the loss, its product finite */
    mli_hvp_ws *hw = mli_hvp_ws_new(&b.a, N);
    mli_real *hv = malloc(sizeof(mli_real) * P);
    mli_batch bt = {N, b.x, b.y, NULL};
    double lh = mli_net_hvp(&b.a, b.th, b.bufs, hw, &bt, b.dl, hv);
    double lg = mli_net_loss_grad(&b.a, b.th, b.bufs, w, &bt, MLI_MODE_EVAL, NULL, NULL);
    assert_true(fabs(lh - lg) <= 1e-5 * fmax(1, fabs(lg)));
    double nh = 0;
    for (size_t p = 0; p < P; p++)
        nh += (double)hv[p] * hv[p];
    assert_true(isfinite(nh) && nh > 0);
    free(z);
    free(P0);
    free(P1);
    free(v);
    free(row);
    free(jv);
    free(hv);
    mli_ws_free(w);
    mli_tws_free(tw);
    mli_jws_free(jw);
    mli_hvp_ws_free(hw);
    block_free(&b);
}

/* PyTorch's Conv2d init, U(±1/√fan_in) for weight and bias (fan_in = C/groups·kh·kw), and
 * xavier_uniform_ (fan_out = K·kh·kw), kaiming_normal_ (std √(2/fan_in)) with zero bias */
static void test_init(void **state)
{
    mli_arch a;
    naive_conv q = {8, 9, 9, 32, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 2, 1};
    int shape[3] = {8, 9, 9};
    mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
    assert_true(add_conv(&a, MLI_GRAPH_INPUT, &q, "c") >= 0);
    assert_int_equal(mli_graph_end(&a), 0);
    assert_int_equal(a.nparams, 32 * 4 * 9 + 32);
    assert_string_equal(a.tensors[0].name, "c.weight");
    assert_string_equal(a.tensors[1].name, "c.bias");
    const mli_node *n = &a.nodes[0];
    size_t nw = 32 * 4 * 9;
    double fin = 4 * 9, fout = 32 * 9;
    mli_real *th = malloc(sizeof(mli_real) * a.nparams);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const mli_init_type types[3] = {MLI_INIT_DEFAULT, MLI_INIT_XAVIER, MLI_INIT_KAIMING};
    const double bound[2] = {1 / sqrt(fin), sqrt(6 / (fin + fout))};
    for (int t = 0; t < 3; t++) {
        n->op->init(n, types[t], rng, th, NULL);
        double mx = 0, ss = 0, mb = 0;
        for (size_t i = 0; i < nw; i++) {
            mx = fmax(mx, fabs(th[i]));
            ss += (double)th[i] * th[i];
        }
        for (int k = 0; k < 32; k++)
            mb = fmax(mb, fabs(th[nw + k]));
        if (t < 2) { /* uniform: the largest draw of 1,152 is close to the bound */
            assert_true(mx <= bound[t] && mx > 0.95 * bound[t]);
            assert_true(t == 0 ? mb <= bound[0] && mb > 0.5 * bound[0] : mb == 0);
        } else {
            double sd = sqrt(ss / nw);
            assert_true(fabs(sd / sqrt(2 / fin) - 1) < 0.1 && mb == 0);
        }
    }
    gsl_rng_free(rng);
    free(th);
}

#define TESTDATA "/usr/share/libonnx-testdata/data"

/* One model of one node through the importer (nn/onnx_graph.h): the graph inputs after the data
 * (Conv's W and B in the node tests) become initializers from their input_j.pb; mli's
 * eval-mode forward must equal output_0.pb to 1e-5. The importer maps every attribute
 * (auto_pad, ceil_mode included); tests/test_onnx_nodes.c runs these cases too, among the
 * refusals. */
static void check_onnx_case(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    mli_onnx_model *m;
    if (mli_onnx_read(path, &m))
        fail_msg("%s", mli_errmsg());
    assert_int_equal(m->nnodes, 1);
    mli_onnx_tensor x, y;
    int count = m->ninputs;
    for (int j = 1; j < count; j++) { /* input 0: the data, read below */
        if (mli_onnx_find_init(m, m->inputs[j].name))
            continue;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, j);
        if (mli_onnx_read_tensor(path, &x))
            fail_msg("%s", mli_errmsg());
        char *name = strdup(m->inputs[j].name);
        mli_onnx_add_init_float(m, name, x.ndim, x.dims, x.f);
        free(name);
        mli_onnx_tensor_free(&x);
    }
    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    if (mli_onnx_read_tensor(path, &x))
        fail_msg("%s", mli_errmsg());
    mli_arch *a = malloc(sizeof *a);
    mli_real *theta, *bufs;
    if (mli_onnx_graph(m, dir, MLI_LOSS_MSE, a, &theta, &bufs))
        fail_msg("%s", mli_errmsg());
    int N = (int)x.dims[0];
    snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
    if (mli_onnx_read_tensor(path, &y))
        fail_msg("%s", mli_errmsg());
    assert_int_equal(y.numel, (size_t)N * a->nout);
    mli_ws *ws = mli_ws_new(a, N);
    const mli_real *Z = mli_net_forward(a, theta, bufs, ws, x.f, N, MLI_MODE_EVAL);
    for (size_t k = 0; k < y.numel; k++)
        if (!(fabs(Z[k] - y.f[k]) <= 1e-5 * (1 + fabs(y.f[k]))))
            fail_msg("%s: output %zu: %.9g against ONNX's %.9g", dir, k, Z[k], y.f[k]);
    mli_ws_free(ws);
    free(theta);
    free(bufs);
    free(a);
    mli_onnx_tensor_free(&x);
    mli_onnx_tensor_free(&y);
    mli_onnx_free(m);
}

static void test_onnx_reference_outputs(void **state)
{
    const char *node[] = {
        "basic_conv_with_padding", "basic_conv_without_padding", "conv_with_strides_padding",
        "conv_with_strides_no_padding", "conv_with_strides_and_asymmetric_padding", "conv_with_autopad_same",
        "maxpool_2d_default", "maxpool_2d_pads", "maxpool_2d_strides", "maxpool_2d_dilations",
        "maxpool_2d_precomputed_pads", "maxpool_2d_precomputed_strides", "maxpool_2d_ceil", "maxpool_2d_same_upper",
        "averagepool_2d_default", "averagepool_2d_pads", "averagepool_2d_pads_count_include_pad",
        "averagepool_2d_precomputed_pads", "averagepool_2d_precomputed_pads_count_include_pad",
        "averagepool_2d_precomputed_strides", "averagepool_2d_strides", "averagepool_2d_same_lower",
        "globalaveragepool", "globalaveragepool_precomputed",
    };
    const char *torch[] = {
        "Conv2d", "Conv2d_depthwise", "Conv2d_depthwise_padded", "Conv2d_depthwise_strided",
        "Conv2d_depthwise_with_multiplier", "Conv2d_dilated", "Conv2d_groups", "Conv2d_groups_thnn",
        "Conv2d_no_bias", "Conv2d_padding", "Conv2d_strided", "AvgPool2d", "AvgPool2d_stride", "MaxPool2d",
        "MaxPool2d_stride_padding_dilation",
    };
    char dir[600];
    for (size_t k = 0; k < sizeof node / sizeof node[0]; k++) {
        snprintf(dir, sizeof dir, TESTDATA "/node/test_%s", node[k]);
        check_onnx_case(dir);
    }
    for (size_t k = 0; k < sizeof torch / sizeof torch[0]; k++) {
        snprintf(dir, sizeof dir, TESTDATA "/pytorch-converted/test_%s", torch[k]);
        check_onnx_case(dir);
    }
}

int main(void)
{
    mli_conv_set_winograd(2); /* the Winograd path for every 3×3 stride-1 convolution, of any channels */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_chunks),
        cmocka_unit_test(test_winograd),
        cmocka_unit_test(test_reeval_bound),
        cmocka_unit_test(test_engines_agree),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_onnx_reference_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
