/* The ONNX importer (nn/onnx_graph.h) on models written with the io/onnx.h builder: what each
 * op_type becomes (nodes, tensors, θ's layout, the MatMul + Add fold, a bias absent from θ),
 * the forward values against hand computation, every refusal's message, and the comparison
 * of two models. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/err.h"
#include "io/onnx.h"
#include "nn/net.h"
#include "nn/onnx_export.h"
#include "nn/onnx_graph.h"
#include "nn/op.h"

static const char *N1[] = {"N", NULL, NULL, NULL, NULL};
static const float W43[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* 4×3, in×out */
static const float B3[3] = {0.5f, -1, 2};

/* x [N, 4] */
static mli_onnx_model *base(void)
{
    mli_onnx_model *m = mli_onnx_model_new("t", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, N1);
    return m;
}

static void out(mli_onnx_model *m, const char *name, int n)
{
    mli_onnx_add_output(m, name, MLI_ONNX_FLOAT, 2, (int64_t[]){-1, n}, N1);
}

typedef struct {
    mli_arch a;
    mli_real *theta, *bufs;
} imported;

static int import(mli_onnx_model *m, imported *r)
{
    int rc = mli_onnx_graph(m, "t.onnx", MLI_LOSS_MSE, &r->a, &r->theta, &r->bufs);
    mli_onnx_free(m);
    return rc;
}

static void imported_free(imported *r)
{
    free(r->theta);
    free(r->bufs);
}

/* y = x W + b for x = (1, 0, −1, 2) (b NULL: none) */
static void check_xw(imported *r, const float *b)
{
    const mli_real x[4] = {1, 0, -1, 2};
    mli_ws *w = mli_ws_new(&r->a, 1);
    const mli_real *z = mli_net_forward(&r->a, r->theta, r->bufs, w, x, 1, MLI_MODE_EVAL);
    for (int j = 0; j < 3; j++) {
        double want = b ? b[j] : 0;
        for (int i = 0; i < 4; i++)
            want += x[i] * W43[i * 3 + j];
        assert_float_equal(z[j], want, 1e-5);
    }
    mli_ws_free(w);
}

static void test_matmul_without_bias(void **state)
{
    mli_onnx_model *m = base();
    mli_onnx_add_init_float(m, "W", 2, (int64_t[]){4, 3}, W43);
    mli_onnx_add_node(m, "MatMul", "mm", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"y"});
    out(m, "y", 3);
    imported r;
    assert_int_equal(import(m, &r), MLI_OK);
    /* the weight alone: no bias in θ (nor in gradients or the Hessian, which are θ-sized) */
    assert_int_equal(r.a.nnodes, 1);
    assert_int_equal(r.a.nodes[0].nt, 1);
    assert_int_equal(r.a.nparams, 12);
    assert_string_equal(r.a.tensors[0].name, "W");
    /* kept transposed: θ is out×in */
    assert_int_equal(r.a.tensors[0].shape[0], 3);
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 4; i++)
            assert_float_equal(r.theta[o * 4 + i], W43[i * 3 + o], 0);
    check_xw(&r, NULL);
    imported_free(&r);
}

static void test_matmul_add_folds(void **state)
{
    mli_onnx_model *m = base();
    mli_onnx_add_init_float(m, "W", 2, (int64_t[]){4, 3}, W43);
    mli_onnx_add_init_float(m, "b", 2, (int64_t[]){1, 3}, B3);
    mli_onnx_add_node(m, "MatMul", "mm", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"h"});
    mli_onnx_add_node(m, "Add", "add", 2, (const char *[]){"b", "h"}, 1, (const char *[]){"y"});
    out(m, "y", 3);
    imported r;
    assert_int_equal(import(m, &r), MLI_OK);
    assert_int_equal(r.a.nnodes, 1);
    assert_ptr_equal(r.a.nodes[0].op, &mli_op_linear);
    assert_int_equal(r.a.nparams, 15);
    assert_string_equal(r.a.tensors[1].name, "b");
    check_xw(&r, B3);
    imported_free(&r);
}

static void test_gemm_layouts(void **state)
{
    for (int transB = 0; transB <= 1; transB++) {
        float Wt[12];
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 4; i++)
                Wt[o * 4 + i] = W43[i * 3 + o];
        mli_onnx_model *m = base();
        mli_onnx_add_init_float(m, "W", 2, transB ? (int64_t[]){3, 4} : (int64_t[]){4, 3}, transB ? Wt : W43);
        mli_onnx_add_init_float(m, "C", 1, (int64_t[]){3}, B3);
        mli_onnx_node *g = mli_onnx_add_node(m, "Gemm", "", 3, (const char *[]){"x", "W", "C"}, 1,
                                             (const char *[]){"y"});
        mli_onnx_attr_int(g, "transB", transB);
        out(m, "y", 3);
        imported r;
        assert_int_equal(import(m, &r), MLI_OK);
        assert_int_equal(r.a.nparams, 15);
        check_xw(&r, B3);
        imported_free(&r);
    }
}

/* Transpose of a weight, folded: MatMul(x, Transpose(Wᵀ)) and Gemm(x, Transpose(W), transB = 1) */
static void test_transposed_weight(void **state)
{
    float Wt[12];
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 4; i++)
            Wt[o * 4 + i] = W43[i * 3 + o];
    for (int gemm = 0; gemm <= 1; gemm++) {
        mli_onnx_model *m = base();
        mli_onnx_add_init_float(m, "W", 2, gemm ? (int64_t[]){4, 3} : (int64_t[]){3, 4}, gemm ? W43 : Wt);
        mli_onnx_node *t = mli_onnx_add_node(m, "Transpose", "t", 1, (const char *[]){"W"}, 1, (const char *[]){"Wt"});
        mli_onnx_attr_ints(t, "perm", 2, (int64_t[]){1, 0});
        mli_onnx_node *g = mli_onnx_add_node(m, gemm ? "Gemm" : "MatMul", "mm", 2, (const char *[]){"x", "Wt"}, 1,
                                             (const char *[]){"y"});
        if (gemm)
            mli_onnx_attr_int(g, "transB", 1);
        out(m, "y", 3);
        imported r;
        assert_int_equal(import(m, &r), MLI_OK);
        assert_int_equal(r.a.nnodes, 1);
        assert_int_equal(r.a.nparams, 12);
        assert_string_equal(r.a.tensors[0].name, "W");
        check_xw(&r, NULL);
        imported_free(&r);
    }
}

/* Add of a [1, 4] initializer: a Bias broadcast over the examples; BatchNormalization's ε */
static void test_bias_and_batchnorm(void **state)
{
    mli_onnx_model *m = base();
    const float one4[4] = {1, 1, 1, 1}, zero4[4] = {0};
    const float c4[4] = {0.5f, -1, 2, 0};
    mli_onnx_add_init_float(m, "c", 2, (int64_t[]){1, 4}, c4);
    mli_onnx_add_node(m, "Add", "shift", 2, (const char *[]){"x", "c"}, 1, (const char *[]){"h"});
    const char *bn[4] = {"g", "be", "mu", "var"};
    for (int k = 0; k < 4; k++)
        mli_onnx_add_init_float(m, bn[k], 1, (int64_t[]){4}, k == 0 || k == 3 ? one4 : zero4);
    mli_onnx_node *n = mli_onnx_add_node(m, "BatchNormalization", "bn", 5, (const char *[]){"h", "g", "be", "mu", "var"},
                                         1, (const char *[]){"y"});
    mli_onnx_attr_float(n, "epsilon", 0.25f);
    out(m, "y", 4);
    imported r;
    assert_int_equal(import(m, &r), MLI_OK);
    assert_ptr_equal(r.a.nodes[0].op, &mli_op_bias);
    assert_ptr_equal(r.a.nodes[1].op, &mli_op_batchnorm);
    assert_float_equal(r.a.nodes[1].fattr[0], 0.25, 0);
    assert_int_equal(r.a.nparams, 4 + 8);
    assert_int_equal(r.a.nbuffers, 8);
    const mli_real x[4] = {1, 2, 3, 4};
    mli_ws *w = mli_ws_new(&r.a, 1);
    const mli_real *z = mli_net_forward(&r.a, r.theta, r.bufs, w, x, 1, MLI_MODE_EVAL);
    for (int i = 0; i < 4; i++) /* (x + c)/√(1 + ε), c = (0.5, −1, 2, 0) */
        assert_float_equal(z[i], (x[i] + c4[i]) / sqrt(1.25), 1e-6);
    mli_ws_free(w);
    imported_free(&r);
}

/* the model of build, refused with every piece of text given */
#define REFUSED(m, ...)                                                                                       \
    do {                                                                                                      \
        imported r_;                                                                                          \
        assert_int_equal(import(m, &r_), MLI_EINPUT);                                                         \
        const char *want_[] = {__VA_ARGS__};                                                                  \
        for (size_t k_ = 0; k_ < sizeof want_ / sizeof want_[0]; k_++)                                        \
            if (!strstr(mli_errmsg(), want_[k_]))                                                             \
                fail_msg("'%s' lacks '%s'", mli_errmsg(), want_[k_]);                                         \
    } while (0)

static mli_onnx_model *relu_of(const char *op_type, const char *name)
{
    mli_onnx_model *m = base();
    mli_onnx_add_node(m, op_type, name, 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    return m;
}

static void test_refusals(void **state)
{
    REFUSED(relu_of("Softmax", "sm"), "t.onnx: node 'sm' (Softmax): op_type Softmax is not supported (supported: Gemm");
    REFUSED(relu_of("Softmax", ""), "node #0 (Softmax)");

    mli_onnx_model *m = relu_of("Relu", "r");
    out(m, "x", 4);
    REFUSED(m, "the graph has 2 outputs: mli supports one");

    m = relu_of("Tanh", "t");
    mli_onnx_add_node(m, "Relu", "mute", 1, (const char *[]){"x"}, 0, NULL);
    REFUSED(m, "node 'mute' (Relu): no output");

    m = relu_of("Relu", "r");
    mli_onnx_add_node(m, "Tanh", "dead", 1, (const char *[]){"x"}, 1, (const char *[]){"z"});
    REFUSED(m, "not computed last");

    m = base();
    mli_onnx_add_init_float(m, "W", 2, (int64_t[]){4, 3}, W43);
    mli_onnx_add_node(m, "MatMul", "a", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"h"});
    mli_onnx_add_node(m, "Relu", "r", 1, (const char *[]){"h"}, 1, (const char *[]){"hr"});
    mli_onnx_add_init_float(m, "W2", 2, (int64_t[]){3, 4}, W43);
    mli_onnx_add_node(m, "MatMul", "b", 2, (const char *[]){"hr", "W2"}, 1, (const char *[]){"h2"});
    mli_onnx_add_node(m, "MatMul", "c", 2, (const char *[]){"h2", "W"}, 1, (const char *[]){"y"});
    out(m, "y", 3);
    REFUSED(m, "node 'c' (MatMul): initializer 'W' is read by two nodes");

    m = base();
    mli_onnx_add_init_float(m, "a", 1, (int64_t[]){4}, W43);
    mli_onnx_add_init_float(m, "b", 1, (int64_t[]){4}, W43);
    mli_onnx_add_node(m, "Add", "k", 2, (const char *[]){"a", "b"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    REFUSED(m, "node 'k' (Add): both inputs are initializers");

    m = base();
    mli_onnx_add_init_float(m, "c", 2, (int64_t[]){2, 4}, W43);
    mli_onnx_add_node(m, "Add", "k", 2, (const char *[]){"x", "c"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    REFUSED(m, "node 'k' (Add): initializer 'c' has 2 dims, dim 0 of size 2 meets the batch");

    m = relu_of("Transpose", "tr");
    REFUSED(m, "node 'tr' (Transpose): Transpose is supported only of a 2-D float initializer");

    m = relu_of("Flatten", "f");
    mli_onnx_attr_int(&m->nodes[0], "axis", 0);
    REFUSED(m, "node 'f' (Flatten): axis=0 is not supported");

    /* a shape folded from Shape(x): its first entry, the batch size itself, keeps the batch; the
     * batch size times 1 is computed from it and refused */
    for (int k = 0; k <= 1; k++) {
        m = base();
        mli_onnx_add_node(m, "Shape", "s", 1, (const char *[]){"x"}, 1, (const char *[]){"shp"});
        mli_onnx_add_init_int64(m, "one", 1, (int64_t[]){2}, (int64_t[]){1, 1});
        if (k)
            mli_onnx_add_node(m, "Mul", "mul", 2, (const char *[]){"shp", "one"}, 1, (const char *[]){"shp1"});
        mli_onnx_add_node(m, "Reshape", "rs", 2, (const char *[]){"x", k ? "shp1" : "shp"}, 1, (const char *[]){"y"});
        out(m, "y", 4);
        if (k) {
            REFUSED(m, "node 'rs' (Reshape): shape entry 0 depends on the batch size");
        } else {
            imported r;
            assert_int_equal(import(m, &r), MLI_OK);
            assert_int_equal(r.a.nnodes, 1);
            assert_ptr_equal(r.a.nodes[0].op, &mli_op_reshape);
            imported_free(&r);
        }
    }

    m = base();
    mli_onnx_add_init_int64(m, "shp", 1, (int64_t[]){2}, (int64_t[]){2, 2});
    mli_onnx_add_node(m, "Reshape", "rs", 2, (const char *[]){"x", "shp"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    REFUSED(m, "node 'rs' (Reshape): shape [2, 2] changes the batch dimension");

    m = base();
    mli_onnx_add_node(m, "Dropout", "d", 1, (const char *[]){"x"}, 2, (const char *[]){"y", "mask"});
    mli_onnx_add_node(m, "Relu", "r", 1, (const char *[]){"mask"}, 1, (const char *[]){"z"});
    out(m, "y", 4);
    REFUSED(m, "node 'd' (Dropout): output 1 'mask' is used");

    m = base();
    const float one4[4] = {1, 1, 1, 1};
    const char *bn[4] = {"g", "be", "mu", "var"};
    for (int k = 0; k < 4; k++)
        mli_onnx_add_init_float(m, bn[k], 1, (int64_t[]){4}, one4);
    mli_onnx_node *n = mli_onnx_add_node(m, "BatchNormalization", "bn", 5, (const char *[]){"x", "g", "be", "mu", "var"},
                                         1, (const char *[]){"y"});
    mli_onnx_attr_int(n, "training_mode", 1);
    out(m, "y", 4);
    REFUSED(m, "node 'bn' (BatchNormalization): training_mode=1 is not supported");

    m = base();
    mli_onnx_add_input(m, "x2", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, N1);
    mli_onnx_add_node(m, "Add", "s", 2, (const char *[]){"x", "x2"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    REFUSED(m, "graph inputs 'x' and 'x2': mli supports one data input");

    m = mli_onnx_model_new("t", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, -1}, (const char *[]){"N", "F"});
    mli_onnx_add_node(m, "Relu", "r", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    out(m, "y", 4);
    REFUSED(m, "graph input 'x': dim 1 is symbolic or unknown");

    m = base();
    mli_onnx_add_node(m, "Identity", "i", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    out(m, "x", 4);
    REFUSED(m, "graph output 'x' is the data itself");
}

/* init and final: the first difference is named */
/* x [N, 2, 4, 4] → op → y */
static mli_onnx_model *image_of(int64_t opset)
{
    mli_onnx_model *m = mli_onnx_model_new("t", opset);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, 2, 4, 4}, N1);
    return m;
}

static mli_onnx_node *spatial(mli_onnx_model *m, const char *op_type, const char *name, int nin, const char **in)
{
    mli_onnx_node *n = mli_onnx_add_node(m, op_type, name, nin, in, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 2}, N1);
    return n;
}

/* x [N, 2, 5] → Conv (w [3, 2, 2], pads [1, 0], strides [2]) → MaxPool (kernel [2], pads
 * [0, 1]) → y: each 1-D node is the 2-D operator on C×1×L between two reshapes, its lists the
 * W entries; the values are the direct 1-D sums and maxima, and the export imports back to the
 * same outputs. A 2-D pads list is refused. */
static void test_conv_1d(void)
{
    static const float w[3 * 2 * 2] = {1, -2, 0.5f, 3, -1, 1, 2, 0, 0, 0.25f, -3, 1};
    for (int bad = 0; bad <= 1; bad++) {
        mli_onnx_model *m = mli_onnx_model_new("t", 15);
        mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 3, (int64_t[]){-1, 2, 5}, N1);
        mli_onnx_add_init_float(m, "w", 3, (int64_t[]){3, 2, 2}, w);
        mli_onnx_node *c = mli_onnx_add_node(m, "Conv", "c", 2, (const char *[]){"x", "w"}, 1, (const char *[]){"h"});
        mli_onnx_attr_ints(c, "pads", bad ? 4 : 2, (int64_t[]){1, 0, 0, 0});
        mli_onnx_attr_ints(c, "strides", 1, (int64_t[]){2});
        mli_onnx_node *p = spatial(m, "MaxPool", "p", 1, (const char *[]){"h"});
        mli_onnx_attr_ints(p, "kernel_shape", 1, (int64_t[]){2});
        mli_onnx_attr_ints(p, "pads", 2, (int64_t[]){0, 1});
        if (bad) {
            REFUSED(m, "node 'c' (Conv): attribute pads must be 2 integers (a 1-D Conv");
            continue;
        }
        imported r;
        assert_int_equal(import(m, &r), 0);
        assert_int_equal(r.a.nnodes, 6);
        const mli_node *g = r.a.nodes;
        assert_ptr_equal(g[1].op, &mli_op_conv);
        assert_string_equal(g[0].name, "c/unsqueeze");
        assert_true(g[0].shape.ndim == 3 && g[0].shape.d[1] == 1 && g[0].shape.d[2] == 5);
        /* K, kh, kw, strides, pads (top, left, bottom, right) */
        const int *at = g[1].attr;
        assert_true(at[0] == 3 && at[1] == 1 && at[2] == 2 && at[3] == 1 && at[4] == 2 && at[5] == 0 && at[6] == 1 &&
                    at[7] == 0 && at[8] == 0);
        assert_true(g[2].shape.ndim == 2 && g[2].shape.d[0] == 3 && g[2].shape.d[1] == 3);
        assert_ptr_equal(g[4].op, &mli_op_maxpool);
        assert_true(g[4].attr[0] == 1 && g[4].attr[1] == 2 && g[4].attr[5] == 0 && g[4].attr[7] == 1);
        assert_true(g[5].shape.ndim == 2 && g[5].shape.d[0] == 3 && g[5].shape.d[1] == 3);
        assert_string_equal(r.a.tensors[g[1].tensor[0]].name, "w");
        mli_real x[10];
        for (int i = 0; i < 10; i++)
            x[i] = (mli_real)((i * 7) % 5 - 2);
        double h[3][3], want;
        for (int k = 0; k < 3; k++)
            for (int o = 0; o < 3; o++) {
                h[k][o] = 0;
                for (int ci = 0; ci < 2; ci++)
                    for (int j = 0; j < 2; j++) {
                        int l = 2 * o - 1 + j;
                        h[k][o] += l >= 0 && l < 5 ? w[(k * 2 + ci) * 2 + j] * x[ci * 5 + l] : 0;
                    }
            }
        mli_ws *ws = mli_ws_new(&r.a, 1);
        const mli_real *z = mli_net_forward(&r.a, r.theta, r.bufs, ws, x, 1, MLI_MODE_EVAL);
        for (int k = 0; k < 3; k++)
            for (int o = 0; o < 3; o++) {
                want = o < 2 ? fmax(h[k][o], h[k][o + 1]) : h[k][o];
                assert_float_equal(z[k * 3 + o], want, 1e-6);
            }
        /* exported as Reshape, 2-D Conv, Reshape, ...: imported back, the same outputs */
        mli_onnx_model *e;
        imported r2;
        assert_int_equal(mli_onnx_export(&r.a, r.theta, r.bufs, "1d", &e), 0);
        assert_int_equal(import(e, &r2), 0);
        assert_int_equal(r2.a.nnodes, 6);
        mli_ws *ws2 = mli_ws_new(&r2.a, 1);
        const mli_real *z2 = mli_net_forward(&r2.a, r2.theta, r2.bufs, ws2, x, 1, MLI_MODE_EVAL);
        for (int k = 0; k < 9; k++)
            assert_true(z2[k] == z[k]);
        mli_ws_free(ws2);
        imported_free(&r2);
        mli_ws_free(ws);
        imported_free(&r);
    }
}

/* ReduceMean over [2, 3]: axes as an attribute (negative too) or, from opset 18, an INT64
 * initializer; keepdims 1 gives C×1×1, 0 gives C; the values are the means of the maps.
 * Conv and pools: the attributes as the operators' (SAME_UPPER pads, ceil_mode as grown end
 * padding); the refusals name the node and what is supported. */
static void test_conv_pool(void **state)
{
    for (int form = 0; form < 3; form++) {
        mli_onnx_model *m = image_of(form == 2 ? 18 : 15);
        mli_onnx_node *n;
        if (form == 2) {
            mli_onnx_add_init_int64(m, "axes", 1, (int64_t[]){2}, (int64_t[]){3, 2});
            n = spatial(m, "ReduceMean", "mean", 2, (const char *[]){"x", "axes"});
        } else {
            n = spatial(m, "ReduceMean", "mean", 1, (const char *[]){"x"});
            mli_onnx_attr_ints(n, "axes", 2, form ? (int64_t[]){-2, -1} : (int64_t[]){2, 3});
        }
        mli_onnx_attr_int(n, "keepdims", form == 1);
        imported r;
        assert_int_equal(import(m, &r), 0);
        const mli_node *g = &r.a.nodes[0];
        assert_ptr_equal(g->op, &mli_op_gap);
        assert_int_equal(g->shape.ndim, form == 1 ? 3 : 1);
        mli_real x[32];
        for (int i = 0; i < 32; i++)
            x[i] = (mli_real)i;
        mli_ws *w = mli_ws_new(&r.a, 1);
        const mli_real *z = mli_net_forward(&r.a, r.theta, r.bufs, w, x, 1, MLI_MODE_EVAL);
        assert_float_equal(z[0], 7.5, 1e-6);
        assert_float_equal(z[1], 23.5, 1e-6);
        mli_ws_free(w);
        imported_free(&r);
    }

    /* MaxPool 3×3 stride 2, SAME_UPPER on 4×4: output 2×2, pads (0, 0, 1, 1); ceil_mode on 3×3
     * stride 2 without pads: the same windows */
    for (int ceil = 0; ceil <= 1; ceil++) {
        mli_onnx_model *m = image_of(15);
        mli_onnx_node *n = spatial(m, "MaxPool", "mp", 1, (const char *[]){"x"});
        mli_onnx_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
        mli_onnx_attr_ints(n, "strides", 2, (int64_t[]){2, 2});
        if (ceil)
            mli_onnx_attr_int(n, "ceil_mode", 1);
        else
            mli_onnx_attr_string(n, "auto_pad", "SAME_UPPER");
        imported r;
        assert_int_equal(import(m, &r), 0);
        const int *at = r.a.nodes[0].attr;
        assert_true(at[4] == 0 && at[5] == 0 && at[6] == 1 && at[7] == 1);
        assert_true(r.a.nodes[0].shape.d[1] == 2 && r.a.nodes[0].shape.d[2] == 2);
        imported_free(&r);
    }

    test_conv_1d();
    mli_onnx_model *m = image_of(15);
    mli_onnx_attr_ints(spatial(m, "ReduceMean", "m1", 1, (const char *[]){"x"}), "axes", 2, (int64_t[]){1, 2});
    REFUSED(m, "node 'm1' (ReduceMean): mli supports only ReduceMean over axes [2, 3]");

    m = image_of(15);
    spatial(m, "ReduceMean", "all", 1, (const char *[]){"x"});
    REFUSED(m, "node 'all' (ReduceMean): mli supports only ReduceMean over axes [2, 3]");

    m = image_of(15);
    mli_onnx_node *n = spatial(m, "AveragePool", "ap", 1, (const char *[]){"x"});
    mli_onnx_attr_ints(n, "kernel_shape", 3, (int64_t[]){2, 2, 2});
    REFUSED(m, "node 'ap' (AveragePool): attribute kernel_shape must be 2 integers");

    m = image_of(15);
    n = spatial(m, "AveragePool", "ap", 1, (const char *[]){"x"});
    mli_onnx_attr_ints(n, "kernel_shape", 2, (int64_t[]){2, 2});
    mli_onnx_attr_int(n, "ceil_mode", 1);
    mli_onnx_attr_int(n, "count_include_pad", 1);
    REFUSED(m, "node 'ap' (AveragePool): ceil_mode=1 with count_include_pad=1 is not supported");

    m = image_of(15);
    n = spatial(m, "MaxPool", "wide", 1, (const char *[]){"x"});
    mli_onnx_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
    mli_onnx_attr_ints(n, "dilations", 2, (int64_t[]){1, 1 << 23});
    REFUSED(m, "node 'wide' (MaxPool): kernel 3 with dilation 8388608 spans far more than the input (4)");

    m = image_of(15);
    n = spatial(m, "MaxPool", "mp", 1, (const char *[]){"x"});
    mli_onnx_attr_ints(n, "kernel_shape", 2, (int64_t[]){2, 2});
    mli_onnx_attr_string(n, "auto_pad", "SOMETIMES");
    REFUSED(m, "node 'mp' (MaxPool): auto_pad 'SOMETIMES' is not supported");

    m = image_of(15);
    static const float w[2 * 2 * 3] = {0};
    mli_onnx_add_init_float(m, "w", 3, (int64_t[]){2, 2, 3}, w);
    spatial(m, "Conv", "c1", 2, (const char *[]){"x", "w"});
    REFUSED(m, "node 'c1' (Conv): mli supports only 1-D and 2-D Conv");

    m = image_of(15);
    static const float w4[2 * 1 * 3 * 3] = {0};
    mli_onnx_add_init_float(m, "w", 4, (int64_t[]){2, 1, 3, 3}, w4);
    n = spatial(m, "Conv", "c2", 2, (const char *[]){"x", "w"});
    REFUSED(m, "node 'c2' (Conv): group 1 and weight shape [2, 1, 3, 3] do not fit 2 input channels");

    m = image_of(15);
    mli_onnx_add_init_float(m, "w", 4, (int64_t[]){2, 1, 3, 3}, w4);
    n = spatial(m, "Conv", "c3", 2, (const char *[]){"x", "w"});
    mli_onnx_attr_int(n, "group", 2);
    mli_onnx_attr_ints(n, "kernel_shape", 2, (int64_t[]){2, 2});
    REFUSED(m, "node 'c3' (Conv): kernel_shape [2, 2] differs from the weight's 3×3");
}

/* x [N, 2, 4, 4] → Sub(x, mean) → Div(·, std) [→ Pad] → GlobalAveragePool → y: the data's
 * normalisation (mli_arch.norm_c, no node: the analyses apply it to the data) and the channel
 * padding of the option-A shortcut (PadChannels); the refusals of anything else. kind: 0 the
 * accepted graph ([1, C, 1, 1] constants), 1 the same with [C, 1, 1] constants and the Pad,
 * 2 Sub of a value that is not the data, 3 Sub read by a Relu, 4 a constant of [C], 5 a std
 * of 0, 6 Pad of the height, 7 Pad in reflect mode, 8 the data read by the Sub and a Relu */
static mli_onnx_model *norm_graph(int kind)
{
    mli_onnx_model *m = image_of(15);
    static const float mean[2] = {0.25f, -0.5f}, std[2] = {0.5f, 2}, zero[2] = {0.5f, 0};
    int64_t d4[4] = {1, 2, 1, 1}, d3[3] = {2, 1, 1}, d1[1] = {2};
    int nd = kind == 1 ? 3 : kind == 4 ? 1 : 4;
    const int64_t *dims = nd == 3 ? d3 : nd == 1 ? d1 : d4;
    mli_onnx_add_init_float(m, "mean", nd, dims, mean);
    mli_onnx_add_init_float(m, "std", nd, dims, kind == 5 ? zero : std);
    const char *src = "x";
    if (kind == 2 || kind == 8) {
        mli_onnx_add_node(m, "Relu", "r0", 1, (const char *[]){"x"}, 1, (const char *[]){"r"});
        src = kind == 2 ? "r" : "x";
    }
    mli_onnx_add_node(m, "Sub", "sub", 2, (const char *[]){src, "mean"}, 1, (const char *[]){"c"});
    mli_onnx_add_node(m, kind == 3 ? "Relu" : "Div", "div", kind == 3 ? 1 : 2, (const char *[]){"c", "std"}, 1,
                      (const char *[]){"n"});
    const char *last = "n";
    if (kind == 1 || kind >= 6) {
        int64_t pads[8] = {0, 0, 0, 0, 0, 3, 0, 0};
        if (kind == 6)
            pads[6] = 1;
        mli_onnx_add_init_int64(m, "pads", 1, (int64_t[]){8}, pads);
        mli_onnx_node *p = mli_onnx_add_node(m, "Pad", "pad", 2, (const char *[]){"n", "pads"}, 1,
                                             (const char *[]){"p"});
        mli_onnx_attr_string(p, "mode", kind == 7 ? "reflect" : "constant");
        last = "p";
    }
    const char *gin[2] = {last, "r"};
    if (kind == 8) { /* the raw data read elsewhere too */
        mli_onnx_add_node(m, "GlobalAveragePool", "g1", 1, (const char *[]){"r"}, 1, (const char *[]){"g1"});
        mli_onnx_add_node(m, "GlobalAveragePool", "g0", 1, gin, 1, (const char *[]){"g0"});
        mli_onnx_add_node(m, "Add", "add", 2, (const char *[]){"g0", "g1"}, 1, (const char *[]){"y"});
    } else
        mli_onnx_add_node(m, "GlobalAveragePool", "gap", 1, gin, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, kind == 1 || kind >= 6 ? 5 : 2, 1, 1}, N1);
    return m;
}

static void test_norm_pad(void **state)
{
    for (int kind = 0; kind <= 1; kind++) {
        imported r;
        assert_int_equal(import(norm_graph(kind), &r), 0);
        assert_int_equal(r.a.norm_c, 2); /* no node: GlobalAveragePool [, Pad] read the data */
        assert_true(r.a.norm_mean[0] == 0.25 && r.a.norm_mean[1] == -0.5);
        assert_true(r.a.norm_std[0] == 0.5 && r.a.norm_std[1] == 2);
        assert_int_equal(r.a.nnodes, 1 + kind);
        assert_int_equal(r.a.nodes[0].in[0], MLI_GRAPH_INPUT);
        assert_int_equal(r.a.nparams, 0);
        if (kind) {
            assert_ptr_equal(r.a.nodes[0].op, &mli_op_padc);
            assert_int_equal(r.a.nodes[0].attr[0], 3);
            assert_int_equal(r.a.nodes[0].shape.d[0], 5);
        }
        imported_free(&r);
    }
    REFUSED(norm_graph(2), "node 'sub' (Sub): mli supports Sub only as the data's normalisation");
    REFUSED(norm_graph(3), "node 'sub' (Sub): mli supports Sub only as the data's normalisation");
    REFUSED(norm_graph(4), "node 'sub' (Sub): the mean (Sub) and the std (Div) must be float initializers [1, 2, 1, 1]");
    REFUSED(norm_graph(5), "node 'sub' (Sub): channel 1: mean -0.5, std 0 (finite, std not 0)");
    REFUSED(norm_graph(6), "node 'pad' (Pad): mli supports only zero channels appended");
    REFUSED(norm_graph(7), "node 'pad' (Pad): mode 'reflect' is not supported (only constant)");
    REFUSED(norm_graph(8), "node 'sub' (Sub): mli supports Sub only as the data's normalisation");
}

/* x [N, 2, 4, 4] → Slice → y: x[:, :, ::2, ::3] (axes [2, 3] or [-1, -2], or all four axes
 * with N and C whole) is the 1×1 average pool of strides 2, 3; a start that is not 0, or a
 * step on the channels, is refused. */
static mli_onnx_model *slice_graph(int kind)
{
    mli_onnx_model *m = image_of(15);
    const int64_t big = INT64_MAX;
    int n = kind == 1 ? 4 : 2;
    int64_t st[4] = {0, 0, 0, 0}, en[4] = {big, big, big, big}, ax[4] = {2, 3}, sp[4] = {2, 3, 1, 1};
    if (kind == 1) { /* all four axes, no axes input */
        sp[0] = sp[1] = 1, sp[2] = 2, sp[3] = 3;
    } else if (kind == 2) {
        ax[0] = -1, ax[1] = -2, sp[0] = 3, sp[1] = 2;
    } else if (kind == 3)
        st[1] = 1;
    else if (kind == 4)
        ax[1] = 1;
    mli_onnx_add_init_int64(m, "st", 1, (int64_t[]){n}, st);
    mli_onnx_add_init_int64(m, "en", 1, (int64_t[]){n}, en);
    mli_onnx_add_init_int64(m, "ax", 1, (int64_t[]){n}, ax);
    mli_onnx_add_init_int64(m, "sp", 1, (int64_t[]){n}, sp);
    const char *in[5] = {"x", "st", "en", kind == 1 ? "" : "ax", "sp"};
    mli_onnx_add_node(m, "Slice", "sl", 5, in, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, 2, 2, 2}, N1);
    return m;
}

static void test_slice(void **state)
{
    for (int kind = 0; kind <= 2; kind++) {
        imported r;
        assert_int_equal(import(slice_graph(kind), &r), 0);
        const mli_node *g = &r.a.nodes[0];
        assert_ptr_equal(g->op, &mli_op_avgpool);
        assert_true(g->attr[0] == 1 && g->attr[1] == 1 && g->attr[2] == 2 && g->attr[3] == 3);
        assert_true(g->shape.d[0] == 2 && g->shape.d[1] == 2 && g->shape.d[2] == 2);
        mli_real x[32];
        for (int i = 0; i < 32; i++)
            x[i] = (mli_real)i;
        mli_ws *w = mli_ws_new(&r.a, 1);
        const mli_real *z = mli_net_forward(&r.a, r.theta, r.bufs, w, x, 1, MLI_MODE_EVAL);
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 2; h++)
                for (int v = 0; v < 2; v++)
                    assert_true(z[c * 4 + h * 2 + v] == x[c * 16 + 2 * h * 4 + 3 * v]);
        mli_ws_free(w);
        imported_free(&r);
    }
    REFUSED(slice_graph(3), "node 'sl' (Slice): mli supports only Slice of the H and W axes");
    REFUSED(slice_graph(4), "node 'sl' (Slice): mli supports only Slice of the H and W axes");
}

static void test_pair(void **state)
{
    char dir[] = "/tmp/mli_onnx_pairXXXXXX", a[64], b[64];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.onnx", dir);
    snprintf(b, sizeof b, "%s/b.onnx", dir);
    for (int v = 0; v < 2; v++) {
        mli_onnx_model *m = base();
        mli_onnx_add_init_float(m, "W", 2, (int64_t[]){3, 4}, W43);
        mli_onnx_node *g = mli_onnx_add_node(m, "Gemm", "fc", 2, (const char *[]){"x", "W"}, 1, (const char *[]){"y"});
        mli_onnx_attr_int(g, "transB", 1);
        if (v)
            mli_onnx_attr_float(g, "alpha", 2);
        out(m, "y", 3);
        assert_int_equal(mli_onnx_write(v ? b : a, m), MLI_OK);
        mli_onnx_free(m);
    }
    mli_arch *ar = malloc(sizeof *ar);
    mli_real *t0, *b0, *t1, *b1;
    assert_int_equal(mli_onnx_load_pair(a, a, MLI_LOSS_CE, ar, &t0, &b0, &t1, &b1), MLI_OK);
    assert_int_equal(ar->nparams, 12);
    free(t0), free(b0), free(t1), free(b1);
    assert_int_equal(mli_onnx_load_pair(a, b, MLI_LOSS_CE, ar, &t0, &b0, &t1, &b1), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "describe different networks: node 'fc' (Gemm) has 2/2 inputs, 1/1 outputs, 1/2 attributes"));
    free(ar);
    remove(a);
    remove(b);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_without_bias), cmocka_unit_test(test_matmul_add_folds),
        cmocka_unit_test(test_gemm_layouts),        cmocka_unit_test(test_bias_and_batchnorm),
        cmocka_unit_test(test_transposed_weight),   cmocka_unit_test(test_refusals),            cmocka_unit_test(test_pair),
        cmocka_unit_test(test_conv_pool),           cmocka_unit_test(test_norm_pad),
        cmocka_unit_test(test_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
