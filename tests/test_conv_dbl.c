/* Convolution and pooling (src/nn/op_conv.c, op_pool.c) in the double build: every rule
 * through check_all of test_ops_dbl.c (gradient, Taylor mode, R-op, Jacobian rows against
 * central differences, the re-evaluation, the α loop), on graphs of odd shapes:
 *   strided:   Conv 3×2, stride 2, pads (1, 0, 2, 1), tanh, GlobalAveragePool (C×1×1)
 *   dilated:   Conv 3×3 dilation 2 without bias, sigmoid, Conv 1×1 (the output is a map)
 *   grouped:   Conv groups 2, tanh, depthwise Conv stride 2, AveragePool without pad counting,
 *              the mean over H, W (C), Linear
 *   chunked:   a 30×28 map, whose examples fill several im2col chunks
 *   residual:  stem Conv, then conv → bn → relu → conv → bn, + the stem's output (a node
 *              used twice) or a 1×1 Conv of it, → relu, overlapping MaxPool 3/2, AveragePool
 *              counting the pad, GlobalAveragePool, Linear
 *   1-D:       what the ONNX import makes of 1-D Conv and pools on N×C×L: reshape to C×1×L,
 *              Conv 1×3 stride 2 dilation 2 with a left pad, reshape to K×L', tanh, reshape,
 *              MaxPool 1×2 with a right pad, reshape, Linear over L
 * and the forward pass against direct loops (tests/conv_naive.h), the permutation of channels,
 * and graphs that cannot be built. */
#define MLI_OPS_CHECKS_ONLY
#include "test_ops_dbl.c"

#include "conv_naive.h"
#include "conv_rules.h"
#include "io/err.h"
#include "io/parallel.h"

static int add_conv(mli_arch *a, int in, int K, int kh, int kw, int sh, int sw, const int *pads, int dh, int dw,
                    int g, int bias, const char *name)
{
    int at[13] = {K, kh, kw, sh, sw, pads[0], pads[1], pads[2], pads[3], dh, dw, g, bias};
    return mli_graph_add_attrs(a, &mli_op_conv, &in, 1, at, 13, NULL, 0, name);
}

static int add_pool(mli_arch *a, const mli_op *op, int in, int kh, int kw, int sh, int sw, const int *pads, int incl,
                    const char *name)
{
    int at[11] = {kh, kw, sh, sw, pads[0], pads[1], pads[2], pads[3], 1, 1, incl};
    return mli_graph_add_attrs(a, op, &in, 1, at, 11, NULL, 0, name);
}

static const int nopad[4] = {0, 0, 0, 0};

static void build_strided(fx *f)
{
    int shape[3] = {3, 7, 6}, X = MLI_GRAPH_INPUT, pads[4] = {1, 0, 2, 1};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int c = add_conv(&f->a, X, 4, 3, 2, 2, 2, pads, 1, 1, 1, 1, "conv");
    int t = mli_graph_add(&f->a, &mli_op_act, &c, 1, MLI_ACT_TANH, "act");
    int g = mli_graph_add(&f->a, &mli_op_gap, &t, 1, 0, "gap");
    assert_true(c >= 0 && t >= 0 && g >= 0);
    assert_int_equal(f->a.nodes[c].shape.d[1], 4); /* ⌊(7 + 3 − 3)/2⌋ + 1 */
    assert_int_equal(f->a.nodes[c].shape.d[2], 3); /* ⌊(6 + 1 − 2)/2⌋ + 1 */
    assert_int_equal(f->a.nodes[g].shape.ndim, 3);
    assert_int_equal(mli_graph_end(&f->a), 0);
    assert_int_equal(mli_graph_hoisted(&f->a), c);
    fx_data(f, 11);
}

static void build_dilated(fx *f)
{
    int shape[3] = {2, 8, 7}, X = MLI_GRAPH_INPUT, pads[4] = {2, 2, 2, 2};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int c = add_conv(&f->a, X, 3, 3, 3, 1, 1, pads, 2, 2, 1, 0, "conv");
    int s = mli_graph_add(&f->a, &mli_op_act, &c, 1, MLI_ACT_SIGMOID, "act");
    int o = add_conv(&f->a, s, 2, 1, 1, 0, 0, nopad, 0, 0, 0, 1, "proj"); /* zeros: the defaults */
    assert_true(c >= 0 && s >= 0 && o >= 0);
    assert_int_equal(f->a.nodes[c].nt, 1); /* no bias tensor */
    assert_int_equal(mli_graph_end(&f->a), 0);
    assert_int_equal(f->a.nout, 2 * 8 * 7);
    fx_data(f, 12);
}

static void build_grouped(fx *f)
{
    int shape[3] = {4, 5, 5}, X = MLI_GRAPH_INPUT, p1[4] = {1, 1, 1, 1}, p2[4] = {1, 0, 1, 1};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int c = add_conv(&f->a, X, 6, 3, 3, 1, 1, p1, 1, 1, 2, 1, "conv");
    int t = mli_graph_add(&f->a, &mli_op_act, &c, 1, MLI_ACT_TANH, "act");
    int d = add_conv(&f->a, t, 6, 3, 3, 2, 2, p1, 1, 1, 6, 1, "dw"); /* depthwise */
    int p = add_pool(&f->a, &mli_op_avgpool, d, 2, 2, 1, 1, p2, 0, "avg");
    int m = mli_graph_add(&f->a, &mli_op_gap, &p, 1, 1, "mean");
    int l = mli_graph_add(&f->a, &mli_op_linear, &m, 1, 3, "fc");
    assert_true(c >= 0 && t >= 0 && d >= 0 && p >= 0 && m >= 0 && l >= 0);
    assert_int_equal(f->a.nodes[m].shape.ndim, 1);
    assert_int_equal(mli_graph_end(&f->a), 0);
    fx_data(f, 13);
}

/* a 30×28 map: P = 840 output positions, two examples per im2col chunk (chunks 2, 2, 1) */
static void build_chunked(fx *f)
{
    int shape[3] = {1, 30, 28}, X = MLI_GRAPH_INPUT, p1[4] = {1, 1, 1, 1};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int c = add_conv(&f->a, X, 2, 3, 3, 1, 1, p1, 1, 1, 1, 1, "conv");
    int t = mli_graph_add(&f->a, &mli_op_act, &c, 1, MLI_ACT_TANH, "act");
    int d = add_conv(&f->a, t, 2, 3, 3, 2, 2, p1, 1, 1, 2, 1, "conv2");
    int m = add_pool(&f->a, &mli_op_maxpool, d, 2, 2, 2, 2, nopad, 0, "maxpool");
    int g = mli_graph_add(&f->a, &mli_op_gap, &m, 1, 1, "mean");
    assert_true(c >= 0 && t >= 0 && d >= 0 && m >= 0 && g >= 0);
    assert_int_equal(mli_graph_end(&f->a), 0);
    /* a thread's share is less than the batch's patches */
    assert_true(mli_op_conv.work_size(&f->a.nodes[c]) / MLI_PARALLEL_MAX < 5 * 9 * 840);
    fx_data(f, 15);
}

/* shortcut 0: identity (the stem's output read by two nodes); 1: a 1×1 Conv of it, stride 1 */
static void build_residual_block(fx *f, int shortcut, mli_act act, uint64_t seed)
{
    int shape[3] = {3, 6, 5}, X = MLI_GRAPH_INPUT, p1[4] = {1, 1, 1, 1};
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int stem = add_conv(&f->a, X, 4, 3, 3, 1, 1, p1, 1, 1, 1, 1, "stem");
    int c1 = add_conv(&f->a, stem, 4, 3, 3, 1, 1, p1, 1, 1, 1, 0, "conv1");
    int b1 = mli_graph_add(&f->a, &mli_op_batchnorm, &c1, 1, 0, "bn1");
    int r1 = mli_graph_add(&f->a, &mli_op_act, &b1, 1, act, "relu1");
    int c2 = add_conv(&f->a, r1, 4, 3, 3, 1, 1, p1, 1, 1, 1, 0, "conv2");
    int b2 = mli_graph_add(&f->a, &mli_op_batchnorm, &c2, 1, 0, "bn2");
    int sc = shortcut ? add_conv(&f->a, stem, 4, 1, 1, 1, 1, nopad, 1, 1, 1, 0, "short") : stem;
    int ins[2] = {b2, sc};
    int s = mli_graph_add(&f->a, &mli_op_add, ins, 2, 0, "add");
    int r2 = mli_graph_add(&f->a, &mli_op_act, &s, 1, act, "relu2");
    int mp = add_pool(&f->a, &mli_op_maxpool, r2, 3, 3, 2, 2, p1, 0, "maxpool");
    int ap = add_pool(&f->a, &mli_op_avgpool, mp, 2, 2, 1, 1, p1, 1, "avgpool");
    int g = mli_graph_add(&f->a, &mli_op_gap, &ap, 1, 1, "gap");
    int l = mli_graph_add(&f->a, &mli_op_linear, &g, 1, 3, "fc");
    assert_true(stem >= 0 && c1 >= 0 && b1 >= 0 && r1 >= 0 && c2 >= 0 && b2 >= 0 && sc >= 0 && s >= 0 && r2 >= 0 &&
                mp >= 0 && ap >= 0 && g >= 0 && l >= 0);
    assert_int_equal(f->a.nodes[mp].shape.d[1], 3); /* ⌊(6 + 2 − 3)/2⌋ + 1 */
    assert_int_equal(f->a.nodes[mp].shape.d[2], 3); /* ⌊(5 + 2 − 3)/2⌋ + 1 */
    assert_int_equal(mli_graph_end(&f->a), 0);
    assert_int_equal(mli_graph_hoisted(&f->a), stem);
    fx_data(f, seed);
}

static int add_reshape(mli_arch *a, int in, int d0, int d1, int d2, const char *name)
{
    int at[4] = {d2 ? 3 : 2, d0, d1, d2};
    return mli_graph_add_attrs(a, &mli_op_reshape, &in, 1, at, d2 ? 4 : 3, NULL, 0, name);
}

static void build_1d(fx *f)
{
    int shape[2] = {3, 9}, X = MLI_GRAPH_INPUT, pc[4] = {0, 1, 0, 0}, pm[4] = {0, 0, 0, 1};
    mli_graph_begin(&f->a, shape, 2, MLI_LOSS_MSE);
    int u = add_reshape(&f->a, X, 3, 1, 9, "conv/unsqueeze");
    int c = add_conv(&f->a, u, 4, 1, 3, 1, 2, pc, 1, 2, 1, 1, "conv");
    int q = add_reshape(&f->a, c, 4, 3, 0, "conv/squeeze"); /* ⌊(9 + 1 − 5)/2⌋ + 1 = 3 */
    int t = mli_graph_add(&f->a, &mli_op_act, &q, 1, MLI_ACT_TANH, "act");
    int u2 = add_reshape(&f->a, t, 4, 1, 3, "pool/unsqueeze");
    int m = add_pool(&f->a, &mli_op_maxpool, u2, 1, 2, 1, 1, pm, 0, "pool");
    int q2 = add_reshape(&f->a, m, 4, 3, 0, "pool/squeeze");
    int l = mli_graph_add(&f->a, &mli_op_linear, &q2, 1, 2, "fc");
    assert_true(u >= 0 && c >= 0 && q >= 0 && t >= 0 && u2 >= 0 && m >= 0 && q2 >= 0 && l >= 0);
    assert_int_equal(f->a.nodes[c].shape.d[2], 3);
    assert_int_equal(mli_graph_end(&f->a), 0);
    assert_int_equal(mli_graph_hoisted(&f->a), c);
    fx_data(f, 16);
}

static void test_1d(void **state)
{
    fx f;
    build_1d(&f);
    check_all(&f, "1-D conv and max pool on C×1×L");
    fx_free(&f);
}

static void test_strided(void **state)
{
    fx f;
    build_strided(&f);
    check_all(&f, "conv stride 2, asymmetric pads");
    fx_free(&f);
}

static void test_dilated(void **state)
{
    fx f;
    build_dilated(&f);
    check_all(&f, "conv dilation 2, no bias, 1x1");
    fx_free(&f);
}

static void test_grouped(void **state)
{
    fx f;
    build_grouped(&f);
    check_all(&f, "conv groups 2, depthwise, avgpool");
    fx_free(&f);
}

/* tanh blocks on several draws; the relu block of a ResNet on one draw whose central
 * differences (steps 1e-5 in θ, 1e-4 in α) straddle no relu or max kink — at a kink they are
 * not derivatives, and with ~10³ relu units a few draws in ten meet one */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* serially (BLAS at one thread), then on three threads; either way the chunks form three
 * groups (examples [0, 1), [1, 3), [3, 5)) whose partial weight gradients are summed */
static void test_chunked(void **state)
{
    int nt = openblas_get_num_threads();
    for (int k = 0; k < 2; k++) {
        fx f;
        openblas_set_num_threads(k ? 3 : 1);
        build_chunked(&f);
        check_all(&f, k ? "conv over several im2col chunks, three threads" : "conv over several im2col chunks");
        fx_free(&f);
    }
    openblas_set_num_threads(nt);
}

static void test_residual_block(void **state)
{
    const struct { mli_act act; uint64_t seed; } runs[] = {
        {MLI_ACT_TANH, 14}, {MLI_ACT_TANH, 20}, {MLI_ACT_TANH, 40}, {MLI_ACT_RELU, 30}};
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 2; s++) {
            fx f;
            build_residual_block(&f, s, runs[k].act, runs[k].seed + (uint64_t)s);
            char what[96];
            snprintf(what, sizeof what, "residual block (%s, seed %d), %s shortcut", mli_act_name(runs[k].act),
                     (int)runs[k].seed, s ? "1x1 conv" : "identity");
            check_grad(&f, MLI_MODE_TRAIN, what); /* batch statistics over N·H·W */
            check_all(&f, what);
            fx_free(&f);
        }
}

/* the engine's forward against the direct loops, for single Conv graphs of several shapes */
static void test_conv_forward_naive(void **state)
{
    const naive_conv cases[] = {
        {3, 7, 6, 4, 3, 2, 2, 2, {1, 0, 2, 1}, 1, 1, 1, 1},
        {2, 8, 7, 3, 3, 3, 1, 1, {2, 2, 2, 2}, 2, 2, 1, 0},
        {4, 5, 5, 6, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 2, 1},
        {6, 5, 4, 6, 3, 3, 2, 1, {1, 0, 0, 1}, 1, 2, 6, 1},
        {5, 4, 4, 7, 1, 1, 2, 2, {0, 0, 0, 0}, 1, 1, 1, 0},
        {4, 9, 9, 8, 4, 3, 3, 2, {0, 2, 1, 0}, 2, 1, 4, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const naive_conv *q = &cases[t];
        mli_arch a;
        int shape[3] = {q->C, q->H, q->W};
        mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
        int c = add_conv(&a, MLI_GRAPH_INPUT, q->K, q->kh, q->kw, q->sh, q->sw, q->p, q->dh, q->dw, q->g, q->bias, "c");
        assert_true(c >= 0);
        assert_int_equal(mli_graph_end(&a), 0);
        int B = 3;
        mli_real *th = malloc(sizeof(mli_real) * a.nparams), *x = malloc(sizeof(mli_real) * B * a.input_size);
        tu_fill_uniform(th, a.nparams, -1, 1, 100 + t);
        tu_fill_uniform(x, (size_t)B * a.input_size, -1, 1, 200 + t);
        mli_ws *ws = mli_ws_new(&a, B);
        const mli_real *Y = mli_net_forward(&a, th, NULL, ws, x, B, MLI_MODE_EVAL);
        double *ref = malloc(sizeof(double) * a.nout);
        for (int i = 0; i < B; i++) {
            naive_conv_forward(q, x + (size_t)i * a.input_size, th, q->bias ? th + a.nodes[0].off[1] : NULL, ref);
            for (int o = 0; o < a.nout; o++)
                if (!(fabs(Y[(size_t)i * a.nout + o] - ref[o]) < 1e-12))
                    fail_msg("conv case %d, example %d, output %d: %.17g against %.17g", (int)t, i, o,
                             Y[(size_t)i * a.nout + o], ref[o]);
        }
        free(th);
        free(x);
        free(ref);
        mli_ws_free(ws);
    }
}

/* The Winograd path (3×3, stride 1) against im2col, every rule that takes it, on odd shapes:
 * C ≠ K, odd and even maps (clipped tiles), pads 0, 1, 2 and asymmetric ones, one example, a
 * batch that is not a multiple of the chunk (30×29: 225 tiles, chunks of 2 examples; 3×3: 4
 * tiles, chunks of 64), with and without bias. Both compute the same sums in another order:
 * 1e-12 of the largest value. The finite-difference tests above run on the Winograd path too:
 * main() forces it (mode 2) for every 3×3 stride-1 convolution, whatever its channels. */
static void test_winograd(void **state)
{
    const wino_case cases[] = {
        {{3, 7, 6, 5, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1}, 5},
        {{4, 5, 9, 2, 3, 3, 1, 1, {0, 0, 0, 0}, 1, 1, 1, 0}, 3},
        {{2, 8, 8, 3, 3, 3, 1, 1, {2, 2, 2, 2}, 1, 1, 1, 1}, 1},
        {{5, 6, 7, 4, 3, 3, 1, 1, {0, 1, 2, 1}, 1, 1, 1, 0}, 7},
        {{3, 30, 29, 4, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1}, 5},
        {{16, 3, 3, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 0}, 70},
        {{1, 4, 5, 1, 3, 3, 1, 1, {2, 0, 1, 2}, 1, 1, 1, 1}, 2},
    };
    conv_rules_check(cases, sizeof cases / sizeof cases[0], (const double[2]){1e-12, 1e-12});
    /* the default mode takes it from 16 channels in and out only: C = 3 stays on im2col (the
     * same bits), C = K = 16 does not */
    const wino_case auto_cases[] = {{{3, 7, 6, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 1}, 3},
                                    {{16, 5, 6, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, 0}, 3}};
    for (int t = 0; t < 2; t++) {
        conv_rules r;
        assert_int_equal(conv_rules_make(&r, &auto_cases[t], 900), 0);
        size_t n = conv_rules_size(&r);
        mli_real *a = malloc(sizeof(mli_real) * n), *b = malloc(sizeof(mli_real) * n);
        mli_conv_set_winograd(0);
        conv_rules_run(&r, a);
        mli_conv_set_winograd(1);
        conv_rules_run(&r, b);
        mli_conv_set_winograd(2);
        int same;
        assert_true(conv_rules_diff(b, a, n, &same) < 1e-12);
        assert_int_equal(same, t == 0);
        free(a);
        free(b);
        conv_rules_free(&r);
    }
}

/* pools against the direct loops: max with overlapping windows, averages both ways */
static void test_pool_forward_naive(void **state)
{
    int C = 3, H = 7, W = 6, pads[4] = {1, 0, 1, 1};
    struct { const mli_op *op; int kh, kw, sh, sw, incl; } cases[] = {
        {&mli_op_maxpool, 3, 3, 2, 2, 0}, {&mli_op_maxpool, 2, 3, 1, 2, 0},
        {&mli_op_avgpool, 3, 2, 2, 1, 0}, {&mli_op_avgpool, 3, 2, 2, 1, 1},
    };
    for (int t = 0; t < 4; t++) {
        mli_arch a;
        int shape[3] = {C, H, W};
        mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
        if (add_pool(&a, cases[t].op, MLI_GRAPH_INPUT, cases[t].kh, cases[t].kw, cases[t].sh, cases[t].sw, pads,
                     cases[t].incl, "p") < 0)
            fail_msg("pool case %d: %s", t, mli_errmsg());
        assert_int_equal(mli_graph_end(&a), 0);
        mli_real *x = malloc(sizeof(mli_real) * a.input_size);
        tu_fill_uniform(x, a.input_size, -1, 1, 300 + (uint64_t)t);
        x[0] = x[1]; /* a tie */
        mli_ws *ws = mli_ws_new(&a, 1);
        const mli_real *Y = mli_net_forward(&a, NULL, NULL, ws, x, 1, MLI_MODE_EVAL);
        double *ref = malloc(sizeof(double) * a.nout);
        naive_pool(cases[t].op == &mli_op_maxpool, cases[t].incl, C, H, W, cases[t].kh, cases[t].kw, cases[t].sh,
                   cases[t].sw, pads, 1, 1, x, ref);
        for (int o = 0; o < a.nout; o++)
            if (!(fabs(Y[o] - ref[o]) < 1e-14))
                fail_msg("%s case %d, output %d: %.17g against %.17g", cases[t].op->name, t, o, Y[o], ref[o]);
        free(x);
        free(ref);
        mli_ws_free(ws);
    }
}

/* MaxPool's ties: the value is the maximum, and the gradient goes to the first maximum only
 * (row-major in the window), as PyTorch's */
static void test_maxpool_tie(void **state)
{
    mli_arch a;
    int shape[3] = {1, 2, 2};
    mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
    assert_true(add_pool(&a, &mli_op_maxpool, MLI_GRAPH_INPUT, 2, 2, 1, 1, nopad, 0, "p") >= 0);
    assert_int_equal(mli_graph_end(&a), 0);
    mli_real x[4] = {0.5, 2, 1, 2}, dy[1] = {1}, dx[4];
    mli_ws *ws = mli_ws_new(&a, 1);
    assert_float_equal(mli_net_forward(&a, NULL, NULL, ws, x, 1, MLI_MODE_EVAL)[0], 2, 0);
    /* the data's gradient is not wanted by the engine: the rule itself */
    mli_opctx c = {.a = &a, .B = 1, .dy = dy, .work = ws->work};
    c.x[0] = x;
    c.dx[0] = dx;
    a.nodes[0].op->backward(&a.nodes[0], &c);
    const mli_real want[4] = {0, 1, 0, 0};
    for (int k = 0; k < 4; k++)
        assert_float_equal(dx[k], want[k], 0);
    mli_ws_free(ws);
}

/* permuting conv1's output channels (with bn's and the next Conv's inputs) keeps the function;
 * with groups 2 downstream the permutation moves whole groups, and conv2's outputs follow */
static void test_conv_permute(void **state)
{
    mli_arch a;
    int shape[3] = {3, 5, 5}, X = MLI_GRAPH_INPUT, p1[4] = {1, 1, 1, 1};
    mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
    int c1 = add_conv(&a, X, 4, 3, 3, 1, 1, p1, 1, 1, 1, 1, "c1");
    int bn = mli_graph_add(&a, &mli_op_batchnorm, &c1, 1, 0, "bn");
    int r = mli_graph_add(&a, &mli_op_act, &bn, 1, MLI_ACT_TANH, "act");
    int c2 = add_conv(&a, r, 4, 3, 3, 2, 2, p1, 1, 1, 2, 1, "c2");
    int g = mli_graph_add(&a, &mli_op_gap, &c2, 1, 1, "gap");
    int l = mli_graph_add(&a, &mli_op_linear, &g, 1, 2, "fc");
    assert_true(l >= 0 && r >= 0);
    assert_int_equal(mli_graph_end(&a), 0);
    mli_real *th = malloc(sizeof(mli_real) * a.nparams), *qt = malloc(sizeof(mli_real) * a.nparams);
    mli_real *bu = malloc(sizeof(mli_real) * a.nbuffers), *qb = malloc(sizeof(mli_real) * a.nbuffers);
    mli_real *x = malloc(sizeof(mli_real) * 2 * a.input_size);
    tu_fill_uniform(th, a.nparams, -1, 1, 7);
    tu_fill_uniform(bu, a.nbuffers, 0.5, 1.5, 8);
    tu_fill_uniform(x, 2 * (size_t)a.input_size, -1, 1, 9);
    const int pa[4] = {3, 2, 1, 0}, pb[4] = {2, 3, 0, 1};
    const int *pin[6] = {NULL, pa, pa, pa, pb, pb}, *pout[6] = {pa, pa, pa, pb, pb, NULL};
    for (int i = 0; i < a.nnodes; i++)
        if (a.nodes[i].op->permute)
            a.nodes[i].op->permute(&a.nodes[i], pin[i], pout[i], th, bu, qt, qb);
    for (size_t i = 0; i < a.nparams; i++)
        assert_false(isnan(qt[i]));
    mli_ws *w0 = mli_ws_new(&a, 2), *w1 = mli_ws_new(&a, 2);
    const mli_real *z0 = mli_net_forward(&a, th, bu, w0, x, 2, MLI_MODE_EVAL);
    const mli_real *z1 = mli_net_forward(&a, qt, qb, w1, x, 2, MLI_MODE_EVAL);
    for (int o = 0; o < 2 * a.nout; o++)
        assert_float_equal(z0[o], z1[o], 1e-12);
    /* a permutation that would make c2 read across its groups is refused with NaN weights */
    const int bad[4] = {0, 2, 1, 3};
    a.nodes[c2].op->permute(&a.nodes[c2], bad, NULL, th, NULL, qt, NULL);
    assert_true(isnan(mli_node_view(&a.nodes[c2], 0, qt)[0 + 9 * 1])); /* u 0, v 1 reads channel 2 */
    free(th);
    free(qt);
    free(bu);
    free(qb);
    free(x);
    mli_ws_free(w0);
    mli_ws_free(w1);
}

/* graphs that cannot be built say why */
static void test_conv_errors(void **state)
{
    mli_arch a;
    int shape[3] = {4, 5, 5}, X = MLI_GRAPH_INPUT, vec = 6;
    mli_graph_begin(&a, shape, 3, MLI_LOSS_MSE);
    assert_int_equal(add_conv(&a, X, 6, 3, 3, 1, 1, nopad, 1, 1, 3, 1, "g3"), -1); /* 3 does not divide 4 */
    assert_int_equal(add_conv(&a, X, 6, 7, 3, 1, 1, nopad, 1, 1, 1, 1, "big"), -1); /* kernel > input */
    assert_int_equal(add_conv(&a, X, 6, 3, 3, 1, 1, nopad, 3, 1, 1, 1, "dil"), -1); /* 7 > 5 */
    assert_int_equal(add_conv(&a, X, 0, 3, 3, 1, 1, nopad, 1, 1, 1, 1, "k0"), -1);
    assert_int_equal(add_conv(&a, X, 6, 3, 3, 1, 1, nopad, 1, 1, 1, 2, "bias2"), -1);
    int big[4] = {3, 0, 0, 0};
    assert_int_equal(add_pool(&a, &mli_op_maxpool, X, 2, 2, 2, 2, big, 0, "pad"), -1); /* a window in the pad */
    assert_int_equal(mli_graph_add(&a, &mli_op_gap, &X, 1, 2, "gap2"), -1);
    mli_graph_begin(&a, &vec, 1, MLI_LOSS_MSE);
    assert_int_equal(add_conv(&a, X, 6, 1, 1, 1, 1, nopad, 1, 1, 1, 1, "vec"), -1); /* not C×H×W */
    assert_int_equal(add_pool(&a, &mli_op_avgpool, X, 1, 1, 1, 1, nopad, 0, "vec"), -1);
}

int main(void)
{
    mli_conv_set_winograd(2); /* the Winograd path for every 3×3 stride-1 convolution, of any channels */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_forward_naive), cmocka_unit_test(test_pool_forward_naive),
        cmocka_unit_test(test_maxpool_tie),        cmocka_unit_test(test_conv_permute),
        cmocka_unit_test(test_conv_errors),        cmocka_unit_test(test_strided),
        cmocka_unit_test(test_dilated),            cmocka_unit_test(test_grouped),
        cmocka_unit_test(test_chunked),           cmocka_unit_test(test_residual_block),
        cmocka_unit_test(test_1d),                cmocka_unit_test(test_winograd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
