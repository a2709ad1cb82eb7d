/* Constant folding at import (nn/onnx_fold.h) on graphs written with the io/onnx.h builder: the
 * values and batch tags of each op_type, torch.onnx.export's F.pad pads computation node for
 * node, the refusals (a size that depends on the batch size, malformed constants), and the
 * import of the option-A shortcut as torch writes it (Pad 0 + AveragePool, Slice by Constant
 * nodes, Pad by computed pads, x.view(x.size(0), -1)) into mli's operators. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/onnx.h"
#include "nn/net.h"
#include "nn/onnx_fold.h"
#include "nn/onnx_graph.h"
#include "nn/op.h"

static const char *N1[] = {"N", NULL, NULL, NULL, NULL};

/* Constant INT64 nodes: a list, a scalar */
static void cst(mli_onnx_model *m, const char *name, int n, const int64_t *v)
{
    mli_onnx_node *c = mli_onnx_add_node(m, "Constant", "", 0, NULL, 1, (const char *[]){name});
    mli_onnx_attr_tensor_int64(c, "value", 1, (int64_t[]){n}, v);
}
static void scal(mli_onnx_model *m, const char *name, int64_t v)
{
    mli_onnx_node *c = mli_onnx_add_node(m, "Constant", "", 0, NULL, 1, (const char *[]){name});
    mli_onnx_attr_tensor_int64(c, "value", 0, NULL, &v);
}
static mli_onnx_node *node(mli_onnx_model *m, const char *op, const char *name, int nin, const char **in,
                           const char *out)
{
    return mli_onnx_add_node(m, op, name, nin, in, 1, (const char *[]){out});
}
#define IN(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}

/* x [N, C, 4, 4] */
static mli_onnx_model *image(int C)
{
    mli_onnx_model *m = mli_onnx_model_new("t", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, C, 4, 4}, N1);
    return m;
}

/* torch.onnx.export's pads of F.pad(v, (0, 0, 0, 0, 0, E)) (opset 11 and later), node for node:
 * the 6 pads of the call extended by zeros to 2 per axis, reversed by axis, begins then ends */
static void torch_pads(mli_onnx_model *m, const char *p, int64_t E, const char *out)
{
    char n[8][64];
    for (int k = 0; k < 8; k++)
        snprintf(n[k], sizeof n[k], "%s_%d", p, k);
    cst(m, n[0], 6, (int64_t[]){0, 0, 0, 0, 0, E});
    node(m, "Shape", "", IN(n[0]), n[1]);
    cst(m, n[2], 1, (int64_t[]){0});
    node(m, "Gather", "", IN(n[1], n[2]), n[3]);
    scal(m, n[4], 4);
    scal(m, n[5], 2);
    node(m, "Mul", "", IN(n[4], n[5]), n[6]);
    node(m, "Sub", "", IN(n[6], n[3]), n[7]);
    char c[10][64];
    for (int k = 0; k < 10; k++)
        snprintf(c[k], sizeof c[k], "%s_c%d", p, k);
    mli_onnx_attr_int(node(m, "Cast", "", IN(n[0]), c[0]), "to", MLI_ONNX_INT64);
    mli_onnx_attr_tensor_int64(node(m, "ConstantOfShape", "", IN(n[7]), c[1]), "value", 1, (int64_t[]){1},
                               (int64_t[]){0});
    mli_onnx_attr_int(node(m, "Concat", "", IN(c[0], c[1]), c[2]), "axis", 0);
    cst(m, c[3], 2, (int64_t[]){-1, 2});
    node(m, "Reshape", "", IN(c[2], c[3]), c[4]);
    cst(m, c[5], 1, (int64_t[]){-1});
    cst(m, c[6], 1, (int64_t[]){INT64_MIN + 1});
    cst(m, c[7], 1, (int64_t[]){0});
    node(m, "Slice", "", IN(c[4], c[5], c[6], c[7], c[5]), c[8]);
    mli_onnx_attr_ints(node(m, "Transpose", "", IN(c[8]), c[9]), "perm", 2, (int64_t[]){1, 0});
    char r[64];
    snprintf(r, sizeof r, "%s_r", p);
    node(m, "Reshape", "", IN(c[9], c[5]), r);
    mli_onnx_attr_int(node(m, "Cast", "", IN(r), out), "to", MLI_ONNX_INT64);
}

/* the folder's view of the data: x [7 (the batch), C, 4, 4] */
static int x_shape(void *ctx, const char *name, int64_t *d)
{
    if (strcmp(name, "x"))
        return -1;
    d[0] = 7, d[1] = *(int *)ctx, d[2] = d[3] = 4;
    return 4;
}

/* fold every node of m in file order: MLI_OK, or the first refusal */
static int fold_all(mli_onnx_model *m, mli_onnx_folder *f, int C)
{
    static int c;
    c = C;
    mli_onnx_fold_init(f, m, "t.onnx", x_shape, &c);
    for (int k = 0; k < m->nnodes; k++) {
        int rc = mli_onnx_fold_node(f, k);
        if (rc != 1)
            return rc ? rc : -1;
    }
    return MLI_OK;
}

static void expect(const mli_onnx_folder *f, const char *name, int n, const int64_t *v, const unsigned char *tags)
{
    const unsigned char *tag;
    const mli_onnx_tensor *t = mli_onnx_fold_const(f, name, &tag);
    assert_non_null(t);
    assert_int_equal(t->elem_type, MLI_ONNX_INT64);
    assert_int_equal(t->numel, n);
    for (int i = 0; i < n; i++) {
        if (t->i[i] != v[i] && !(tags && tags[i] && tags[i] != MLI_FOLD_KNOWN))
            fail_msg("%s[%d] = %lld, expected %lld", name, i, (long long)t->i[i], (long long)v[i]);
        assert_int_equal(tag ? tag[i] : 0, tags ? tags[i] : 0);
    }
}

static void test_values(void **state)
{
    mli_onnx_model *m = image(3);
    node(m, "Shape", "", IN("x"), "s");
    scal(m, "zero", 0);
    node(m, "Gather", "", IN("s", "zero"), "n");          /* the batch size, 0-d */
    cst(m, "ax0", 1, (int64_t[]){0});
    node(m, "Unsqueeze", "", IN("n", "ax0"), "nu");       /* [N] */
    cst(m, "m1", 1, (int64_t[]){-1});
    mli_onnx_attr_int(node(m, "Concat", "", IN("nu", "m1"), "flat"), "axis", 0); /* [N, -1] */
    cst(m, "i12", 2, (int64_t[]){1, -1});
    node(m, "Gather", "", IN("s", "i12"), "cw");          /* [C, W]: known */
    scal(m, "two", 2);
    node(m, "Mul", "", IN("n", "two"), "n2");             /* 2N: computed from the batch */
    torch_pads(m, "p", 4, "pads");
    scal(m, "r0", 1), scal(m, "r1", 8), scal(m, "r2", 3);
    node(m, "Range", "", IN("r0", "r1", "r2"), "rg");     /* [1, 4, 7] */
    cst(m, "num", 2, (int64_t[]){7, -7});
    node(m, "Div", "", IN("num", "two"), "q");            /* [3, -3]: truncated */
    node(m, "Squeeze", "", IN("nu", "ax0"), "nsq");       /* 0-d again */
    node(m, "Identity", "", IN("cw"), "id");
    mli_onnx_node *sh = node(m, "Shape", "", IN("x"), "s23");
    mli_onnx_attr_int(sh, "start", -2);                   /* opset 15: [H, W] */
    /* an empty list reversed (found by the fuzzer: F.pad's computation with no pads to add), and
     * a step far past the end */
    cst(m, "zl", 1, (int64_t[]){0});
    mli_onnx_attr_tensor_int64(node(m, "ConstantOfShape", "", IN("zl"), "empty"), "value", 1, (int64_t[]){1},
                               (int64_t[]){0});
    cst(m, "zero1", 1, (int64_t[]){0});
    cst(m, "big", 1, (int64_t[]){INT64_MAX});
    cst(m, "mbig", 1, (int64_t[]){INT64_MIN + 1});
    node(m, "Slice", "", IN("empty", "m1", "mbig", "zero1", "m1"), "rev");
    cst(m, "s4", 4, (int64_t[]){5, 6, 7, 8});
    node(m, "Slice", "", IN("s4", "zero1", "big", "zero1", "big"), "first");
    mli_onnx_folder f;
    assert_int_equal(fold_all(m, &f, 3), MLI_OK);
    const unsigned char B = MLI_FOLD_BATCH, D = MLI_FOLD_DEP;
    expect(&f, "s", 4, (int64_t[]){0, 3, 4, 4}, (unsigned char[]){B, 0, 0, 0});
    expect(&f, "n", 1, (int64_t[]){0}, (unsigned char[]){B});
    expect(&f, "flat", 2, (int64_t[]){0, -1}, (unsigned char[]){B, 0});
    expect(&f, "cw", 2, (int64_t[]){3, 4}, NULL);
    expect(&f, "n2", 1, (int64_t[]){0}, (unsigned char[]){D});
    expect(&f, "pads", 8, (int64_t[]){0, 0, 0, 0, 0, 4, 0, 0}, NULL);
    expect(&f, "p_c4", 8, (int64_t[]){0, 0, 0, 0, 0, 4, 0, 0}, NULL); /* 4×2 */
    expect(&f, "p_c8", 8, (int64_t[]){0, 0, 0, 4, 0, 0, 0, 0}, NULL); /* rows reversed */
    expect(&f, "rg", 3, (int64_t[]){1, 4, 7}, NULL);
    expect(&f, "q", 2, (int64_t[]){3, -3}, NULL);
    expect(&f, "nsq", 1, (int64_t[]){0}, (unsigned char[]){B});
    expect(&f, "id", 2, (int64_t[]){3, 4}, NULL);
    expect(&f, "s23", 2, (int64_t[]){4, 4}, NULL);
    expect(&f, "rev", 0, NULL, NULL);
    expect(&f, "first", 1, (int64_t[]){5}, NULL);
    assert_int_equal(mli_onnx_fold_const(&f, "n", NULL)->ndim, 0);
    assert_int_equal(mli_onnx_fold_const(&f, "p_c9", NULL)->dims[0], 2);
    assert_int_equal(mli_onnx_fold_const(&f, "p_c9", NULL)->dims[1], 4);
    assert_null(mli_onnx_fold_const(&f, "x", NULL));
    mli_onnx_fold_free(&f);
    mli_onnx_free(m);
}

/* one graph per case, folded node by node: refused with the message */
static mli_onnx_model *bad_graph(int kind)
{
    mli_onnx_model *m = image(2);
    node(m, "Shape", "sh", IN("x"), "s");
    cst(m, "i0", 1, (int64_t[]){0});
    node(m, "Gather", "g", IN("s", "i0"), "n");
    switch (kind) {
    case 0: /* zeros of N entries: the size is the batch size's */
        node(m, "ConstantOfShape", "cos", IN("n"), "y");
        break;
    case 1: /* a Range up to N */
        scal(m, "a", 0), scal(m, "d", 1);
        node(m, "Squeeze", "sq", IN("n", "i0"), "ns");
        node(m, "Range", "rg", IN("a", "ns", "d"), "y");
        break;
    case 2: { /* float indices */
        mli_onnx_node *c = mli_onnx_add_node(m, "Constant", "", 0, NULL, 1, (const char *[]){"fi"});
        mli_onnx_attr_tensor(c, "value", 1, (int64_t[]){1}, (float[]){1});
        node(m, "Gather", "gf", IN("s", "fi"), "y");
        break;
    }
    case 3: /* axes of rank 2 */
        mli_onnx_attr_tensor_int64(mli_onnx_add_node(m, "Constant", "", 0, NULL, 1, (const char *[]){"a2"}), "value",
                                   2, (int64_t[]){1, 1}, (int64_t[]){0});
        node(m, "Unsqueeze", "un", IN("s", "a2"), "y");
        break;
    case 4: { /* a Constant with two values */
        mli_onnx_node *c = mli_onnx_add_node(m, "Constant", "c2", 0, NULL, 1, (const char *[]){"y"});
        mli_onnx_attr_int(c, "value_int", 1);
        mli_onnx_attr_ints(c, "value_ints", 1, (int64_t[]){1});
        break;
    }
    case 5: { /* INT64 and FLOAT concatenated */
        mli_onnx_node *c = mli_onnx_add_node(m, "Constant", "", 0, NULL, 1, (const char *[]){"fv"});
        mli_onnx_attr_tensor(c, "value", 1, (int64_t[]){1}, (float[]){1});
        mli_onnx_attr_int(node(m, "Concat", "cat", IN("s", "fv"), "y"), "axis", 0);
        break;
    }
    case 6: /* division by zero */
        scal(m, "z", 0);
        node(m, "Div", "dv", IN("i0", "z"), "y");
        break;
    case 7: /* 4 values into [3, -1] */
        cst(m, "sh3", 2, (int64_t[]){3, -1});
        node(m, "Reshape", "rs", IN("s", "sh3"), "y");
        break;
    case 8: /* an index past the end */
        cst(m, "i9", 1, (int64_t[]){4});
        node(m, "Gather", "g9", IN("s", "i9"), "y");
        break;
    }
    return m;
}

static void test_refusals(void **state)
{
    static const char *want[] = {
        "node 'cos' (ConstantOfShape): input 0 (shape) depends on the batch size",
        "node 'rg' (Range): start, limit and delta must be scalars of one type, known at import",
        "node 'gf' (Gather): input 1 (indices) must be INT64",
        "node 'un' (Unsqueeze): input 1 (axes) must be an INT64 scalar or list",
        "node 'c2' (Constant): a Constant needs exactly one attribute",
        "node 'cat' (Concat): input 1 differs from input 0 in type",
        "node 'dv' (Div): integer division 0 / 0",
        "node 'rs' (Reshape): the shape does not fit the input's 4 values",
        "node 'g9' (Gather): index 4 is outside axis 0 of size 4",
    };
    for (int kind = 0; kind < (int)(sizeof want / sizeof want[0]); kind++) {
        mli_onnx_model *m = bad_graph(kind);
        mli_onnx_folder f;
        assert_int_equal(fold_all(m, &f, 2), MLI_EINPUT);
        if (!strstr(mli_errmsg(), want[kind]) || !strstr(mli_errmsg(), "t.onnx: "))
            fail_msg("case %d: '%s' lacks '%s'", kind, mli_errmsg(), want[kind]);
        mli_onnx_fold_free(&f);
        mli_onnx_free(m);
    }
    /* a float initializer is a parameter: not folded, left to the importer */
    mli_onnx_model *m = image(2);
    mli_onnx_add_init_float(m, "w", 1, (int64_t[]){1}, (float[]){1});
    node(m, "Identity", "", IN("w"), "y");
    mli_onnx_folder f;
    assert_int_equal(fold_all(m, &f, 2), -1);
    mli_onnx_fold_free(&f);
    mli_onnx_free(m);
}

/* The option-A shortcut as torch.onnx.export writes it, on x [N, 2, 4, 4]:
 *   kind 0: Pad(x, Constant 0 × 8), AveragePool 1×1 stride 2 (avg_pool2d(x, 1, 2))
 *   kind 1: two Slices by Constant nodes, axis 2 then 3, step 2 (x[:, :, ::2, ::2])
 * then Pad by torch's computed pads (2 channels appended) and Reshape by [N, -1] computed from
 * Shape (x.view(x.size(0), -1)): y [N, 16]. Kinds 2 to 4 are refused: a Reshape by [2N, -1], a
 * Pad by pads holding N, a Slice whose start is N. */
static mli_onnx_model *shortcut(int kind)
{
    mli_onnx_model *m = image(2);
    const char *v = "sub";
    if (kind == 1) {
        cst(m, "z", 1, (int64_t[]){0}), cst(m, "e", 1, (int64_t[]){INT64_MAX}), cst(m, "two", 1, (int64_t[]){2});
        cst(m, "a2", 1, (int64_t[]){2}), cst(m, "a3", 1, (int64_t[]){3});
        node(m, "Slice", "sl2", IN("x", "z", "e", "a2", "two"), "h");
        node(m, "Slice", "sl3", IN("h", "z", "e", "a3", "two"), v);
    } else {
        cst(m, "p0", 8, (int64_t[]){0, 0, 0, 0, 0, 0, 0, 0});
        mli_onnx_attr_string(node(m, "Pad", "pad0", IN("x", "p0"), "xp"), "mode", "constant");
        mli_onnx_node *ap = node(m, "AveragePool", "ap", IN("xp"), v);
        mli_onnx_attr_ints(ap, "kernel_shape", 2, (int64_t[]){1, 1});
        mli_onnx_attr_ints(ap, "strides", 2, (int64_t[]){2, 2});
    }
    node(m, "Shape", "", IN(v), "s");
    cst(m, "i0", 1, (int64_t[]){0});
    node(m, "Gather", "", IN("s", "i0"), "n");
    if (kind == 3) { /* pads [0, N, ...]: the batch size in the pads */
        cst(m, "p7", 7, (int64_t[]){0, 0, 0, 0, 2, 0, 0});
        mli_onnx_attr_int(node(m, "Concat", "", IN("n", "p7"), "pads"), "axis", 0);
    } else
        torch_pads(m, "p", 2, "pads");
    node(m, "Pad", "pad", IN(v, "pads", ""), "padded");
    const char *flat = "padded";
    if (kind == 4) {
        cst(m, "e4", 1, (int64_t[]){INT64_MAX});
        node(m, "Slice", "slN", IN("padded", "n", "e4", "i0"), "cut");
        flat = "cut";
    }
    cst(m, "m1", 1, (int64_t[]){-1});
    if (kind == 2) {
        scal(m, "k2", 2);
        node(m, "Mul", "", IN("n", "k2"), "n2");
        mli_onnx_attr_int(node(m, "Concat", "", IN("n2", "m1"), "shape"), "axis", 0);
    } else
        mli_onnx_attr_int(node(m, "Concat", "", IN("n", "m1"), "shape"), "axis", 0);
    node(m, "Reshape", "flat", IN(flat, "shape"), "y");
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 16}, N1);
    return m;
}

static void test_shortcut_import(void **state)
{
    for (int kind = 0; kind <= 1; kind++) {
        mli_onnx_model *m = shortcut(kind);
        mli_arch a;
        mli_real *theta, *bufs;
        assert_int_equal(mli_onnx_graph(m, "t.onnx", MLI_LOSS_MSE, &a, &theta, &bufs), MLI_OK);
        mli_onnx_free(m);
        /* pool: reshape (Pad 0), avgpool, padc, reshape; slice: avgpool, avgpool, padc, reshape */
        assert_int_equal(a.nnodes, 4);
        assert_ptr_equal(a.nodes[0].op, kind ? &mli_op_avgpool : &mli_op_reshape);
        assert_ptr_equal(a.nodes[1].op, &mli_op_avgpool);
        assert_ptr_equal(a.nodes[2].op, &mli_op_padc);
        assert_int_equal(a.nodes[2].attr[0], 2);
        assert_ptr_equal(a.nodes[3].op, &mli_op_reshape);
        assert_int_equal(a.nout, 16);
        mli_real x[2 * 32];
        for (int i = 0; i < 64; i++)
            x[i] = (mli_real)(i * 3 % 17) - 8;
        mli_ws *w = mli_ws_new(&a, 2);
        const mli_real *z = mli_net_forward(&a, theta, bufs, w, x, 2, MLI_MODE_EVAL);
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 4; c++)
                for (int h = 0; h < 2; h++)
                    for (int v = 0; v < 2; v++)
                        assert_true(z[b * 16 + c * 4 + h * 2 + v] ==
                                    (c < 2 ? x[b * 32 + c * 16 + 2 * h * 4 + 2 * v] : 0));
        mli_ws_free(w);
        free(theta);
        free(bufs);
    }
    static const char *want[] = {"node 'flat' (Reshape): shape entry 0 depends on the batch size",
                                 "node 'pad' (Pad): pads depend on the batch size",
                                 "node 'slN' (Slice): input 1 depends on the batch size"};
    for (int kind = 2; kind <= 4; kind++) {
        mli_onnx_model *m = shortcut(kind);
        mli_arch a;
        mli_real *theta, *bufs;
        assert_int_equal(mli_onnx_graph(m, "t.onnx", MLI_LOSS_MSE, &a, &theta, &bufs), MLI_EINPUT);
        if (!strstr(mli_errmsg(), want[kind - 2]))
            fail_msg("'%s' lacks '%s'", mli_errmsg(), want[kind - 2]);
        mli_onnx_free(m);
    }
    /* Gather of the data itself: mli has no operator for it */
    mli_onnx_model *m = image(2);
    cst(m, "i0", 1, (int64_t[]){0});
    node(m, "Gather", "gx", IN("x", "i0"), "y");
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 4, (int64_t[]){1, 2, 4, 4}, NULL);
    mli_arch a;
    mli_real *theta, *bufs;
    assert_int_equal(mli_onnx_graph(m, "t.onnx", MLI_LOSS_MSE, &a, &theta, &bufs), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "node 'gx' (Gather): Gather is evaluated at import only on constants"));
    mli_onnx_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_shortcut_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
