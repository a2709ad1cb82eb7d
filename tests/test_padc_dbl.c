/* PadChannels (src/nn/op_padc.c) in the double build: every rule of a residual block with the
 * CIFAR ResNet's option-A shortcut (stride-2 subsampling, batch norm, zero channels) against
 * central differences and the engine's other rules (test_ops_dbl.c's checks). */
#define MLI_OPS_CHECKS_ONLY
#include "test_ops_dbl.c"

#include "io/err.h"

static int add_conv(mli_arch *a, int in, int K, int k, int s, int p, const char *name)
{
    int at[13] = {K, k, k, s, s, p, p, p, p, 1, 1, 1, 0};
    return mli_graph_add_attrs(a, &mli_op_conv, &in, 1, at, 13, NULL, 0, name);
}

/* stem (4 channels) → block: conv stride 2 → 6, bn, act, conv, bn; shortcut: pool 1×1 stride 2,
 * [bn0], 2 zero channels; add, act, GAP, Linear */
static void build_block_a(fx *f, int bn, mli_act act, uint64_t seed)
{
    int shape[3] = {2, 6, 5}, X = MLI_GRAPH_INPUT;
    mli_graph_begin(&f->a, shape, 3, MLI_LOSS_MSE);
    int stem = add_conv(&f->a, X, 4, 3, 1, 1, "stem");
    int c1 = add_conv(&f->a, stem, 6, 3, 2, 1, "conv1");
    int b1 = bn ? mli_graph_add(&f->a, &mli_op_batchnorm, &c1, 1, 0, "bn1") : c1;
    int r1 = mli_graph_add(&f->a, &mli_op_act, &b1, 1, act, "relu1");
    int c2 = add_conv(&f->a, r1, 6, 3, 1, 1, "conv2");
    int b2 = bn ? mli_graph_add(&f->a, &mli_op_batchnorm, &c2, 1, 0, "bn2") : c2;
    int pool[11] = {1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 0};
    int sp = mli_graph_add_attrs(&f->a, &mli_op_avgpool, &stem, 1, pool, 11, NULL, 0, "pool");
    int sb = bn ? mli_graph_add(&f->a, &mli_op_batchnorm, &sp, 1, 0, "bn0") : sp;
    int pad = mli_graph_add(&f->a, &mli_op_padc, &sb, 1, 2, "pad");
    int ins[2] = {b2, pad};
    int s = mli_graph_add(&f->a, &mli_op_add, ins, 2, 0, "add");
    int r2 = mli_graph_add(&f->a, &mli_op_act, &s, 1, act, "relu2");
    int g = mli_graph_add(&f->a, &mli_op_gap, &r2, 1, 1, "gap");
    int l = mli_graph_add(&f->a, &mli_op_linear, &g, 1, 3, "fc");
    assert_true(stem >= 0 && c1 >= 0 && b1 >= 0 && r1 >= 0 && c2 >= 0 && b2 >= 0 && sp >= 0 && sb >= 0 && pad >= 0 &&
                s >= 0 && r2 >= 0 && g >= 0 && l >= 0);
    assert_int_equal(f->a.nodes[pad].shape.d[0], 6);
    assert_int_equal(f->a.nodes[pad].shape.d[1], 3); /* ⌊(6 − 1)/2⌋ + 1 */
    assert_int_equal(f->a.nodes[pad].shape.d[2], 3);
    assert_int_equal(mli_graph_end(&f->a), 0);
    fx_data(f, seed);
}

static void test_block_a(void **state)
{
    const struct { int bn; mli_act act; uint64_t seed; } runs[] = {
        {1, MLI_ACT_TANH, 51}, {0, MLI_ACT_TANH, 52}, {1, MLI_ACT_RELU, 53}, {0, MLI_ACT_SIGMOID, 54}};
    for (int k = 0; k < 4; k++) {
        fx f;
        build_block_a(&f, runs[k].bn, runs[k].act, runs[k].seed);
        char what[96];
        snprintf(what, sizeof what, "option-A block (%s, bn %d)", mli_act_name(runs[k].act), runs[k].bn);
        check_grad(&f, MLI_MODE_TRAIN, what);
        check_all(&f, what);
        fx_free(&f);
    }
}

/* the zero channels are zeros, the others the input's */
static void test_padc_forward(void **state)
{
    mli_arch *a = malloc(sizeof *a);
    int shape[3] = {2, 2, 3};
    mli_graph_begin(a, shape, 3, MLI_LOSS_MSE);
    int p = mli_graph_add(a, &mli_op_padc, (int[]){MLI_GRAPH_INPUT}, 1, 3, "pad");
    assert_true(p >= 0);
    assert_int_equal(mli_graph_end(a), 0);
    assert_int_equal(a->nout, 5 * 6);
    mli_real x[24], y[60];
    for (int i = 0; i < 24; i++)
        x[i] = (mli_real)(i + 1);
    mli_opctx c = {.a = a, .B = 2, .mode = MLI_MODE_EVAL, .y = y};
    c.x[0] = x;
    mli_op_padc.forward(&a->nodes[p], &c);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 30; j++)
            assert_true(y[i * 30 + j] == (j < 12 ? x[i * 12 + j] : 0));
    assert_int_equal(mli_graph_add(a, &mli_op_padc, (int[]){MLI_GRAPH_INPUT}, 1, 0, "bad"), -1);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_padc_forward), cmocka_unit_test(test_block_a)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
