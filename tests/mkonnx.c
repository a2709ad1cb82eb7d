/* Test models for tests/e2e_onnx.sh, written with the ONNX builder of io/onnx.h (no Python):
 *   mkonnx fcnet MODEL.safetensors OUT.onnx [flat|matmul]
 *       a native FCNet as ONNX: Gemm (transB = 1, bias C), BatchNormalization (default ε),
 *       Relu/Tanh/Sigmoid; "flat": the data declared N×1×28×28 and flattened first; "matmul": the
 *       first layer as MatMul of the weight stored in×out plus an Add of the bias; "bias": the same
 *       with the bias shaped [1, 1, N], which is not folded (a Bias node after a Linear without
 *       bias)
 *   mkonnx bad DIR
 *       malformed and unsupported models: truncated, wiretype, huge, external, cycle, conv,
 *       transa, two_inputs, shape_a/shape_b (one initializer's shape differs) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/onnx.h"
#include "nn/model.h"
#include "nn/op.h"
#include "onnx.pb-c.h"

static int fcnet(const char *in, const char *out, const char *variant)
{
    mli_arch a;
    mli_real *th, *bu;
    if (mli_model_load(in, &a, &th, &bu))
        return fprintf(stderr, "mkonnx: %s\n", mli_errmsg()), 3;
    int flat = variant && !strcmp(variant, "flat"), split = variant && !strcmp(variant, "bias");
    int matmul = split || (variant && !strcmp(variant, "matmul"));
    mli_onnx_model *m = mli_onnx_model_new("fcnet", 13);
    const char *batch[5] = {"N"};
    int64_t d4[4] = {-1, 1, 28, 28}, d2[2] = {-1, a.input_size};
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, flat ? 4 : 2, flat ? d4 : d2, batch);
    char prev[64] = "x", cur[64], nm[2][96];
    if (flat) {
        mli_onnx_add_node(m, "Flatten", "flatten", 1, (const char *[]){"x"}, 1, (const char *[]){"xf"});
        strcpy(prev, "xf");
    }
    for (int i = 0; i < a.nnodes; i++) {
        const mli_node *n = &a.nodes[i];
        snprintf(cur, sizeof cur, "%s.out", n->name);
        if (n->op == &mli_op_linear) {
            int o = n->shape.d[0], k = n->ishape[0].d[0];
            snprintf(nm[0], sizeof nm[0], "%s.weight", n->name);
            snprintf(nm[1], sizeof nm[1], "%s.bias", n->name);
            if (matmul && i == 0) { /* W stored in×out: the transpose of θ's out×in */
                float *wt = malloc(sizeof(float) * (size_t)o * k);
                for (int r = 0; r < o; r++)
                    for (int c = 0; c < k; c++)
                        wt[(size_t)c * o + r] = th[n->off[0] + (size_t)r * k + c];
                mli_onnx_add_init_float(m, nm[0], 2, (int64_t[]){k, o}, wt);
                free(wt);
                mli_onnx_add_node(m, "MatMul", "mm0", 2, (const char *[]){prev, nm[0]}, 1, (const char *[]){"mm0.out"});
                mli_onnx_add_node(m, "Add", n->name, 2, (const char *[]){"mm0.out", nm[1]}, 1, (const char *[]){cur});
            } else {
                mli_onnx_add_init_float(m, nm[0], 2, (int64_t[]){o, k}, th + n->off[0]);
                mli_onnx_node *g = mli_onnx_add_node(m, "Gemm", n->name, 3, (const char *[]){prev, nm[0], nm[1]}, 1,
                                                     (const char *[]){cur});
                mli_onnx_attr_int(g, "transB", 1);
            }
            if (split && i == 0)
                mli_onnx_add_init_float(m, nm[1], 3, (int64_t[]){1, 1, o}, th + n->off[1]);
            else
                mli_onnx_add_init_float(m, nm[1], 1, (int64_t[]){o}, th + n->off[1]);
        } else if (n->op == &mli_op_batchnorm) {
            static const char *what[4] = {"weight", "bias", "running_mean", "running_var"};
            char t[4][96];
            int C = n->shape.d[0];
            for (int k = 0; k < 4; k++) {
                snprintf(t[k], sizeof t[k], "%s.%s", n->name, what[k]);
                mli_onnx_add_init_float(m, t[k], 1, (int64_t[]){C}, (k < 2 ? th : bu) + n->off[k]);
            }
            mli_onnx_add_node(m, "BatchNormalization", n->name, 5, (const char *[]){prev, t[0], t[1], t[2], t[3]}, 1,
                              (const char *[]){cur});
        } else {
            int act = n->attr[0];
            const char *op = act == MLI_ACT_RELU ? "Relu" : act == MLI_ACT_TANH ? "Tanh" : act == MLI_ACT_SIGMOID ? "Sigmoid" : "Identity";
            mli_onnx_add_node(m, op, n->name, 1, (const char *[]){prev}, 1, (const char *[]){cur});
        }
        strcpy(prev, cur);
    }
    mli_onnx_add_output(m, prev, MLI_ONNX_FLOAT, 2, (int64_t[]){-1, a.nout}, batch);
    int rc = mli_onnx_write(out, m);
    mli_onnx_free(m);
    free(th);
    free(bu);
    return rc ? (fprintf(stderr, "mkonnx: %s\n", mli_errmsg()), 1) : 0;
}

/* x (N×4) → Gemm(W 3×4, b) → Relu → y; W's name and shape as given */
static mli_onnx_model *small(const char *wname, int out)
{
    mli_onnx_model *m = mli_onnx_model_new("small", 13);
    float w[64] = {0.5f, -1, 0.25f}, b[16] = {0.1f};
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, (const char *[]){"N", NULL});
    mli_onnx_add_init_float(m, wname, 2, (int64_t[]){out, 4}, w);
    mli_onnx_add_init_float(m, "b", 1, (int64_t[]){out}, b);
    mli_onnx_node *g = mli_onnx_add_node(m, "Gemm", "fc", 3, (const char *[]){"x", wname, "b"}, 1, (const char *[]){"h"});
    mli_onnx_attr_int(g, "transB", 1);
    mli_onnx_add_node(m, "Relu", "act", 1, (const char *[]){"h"}, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, out}, (const char *[]){"N", NULL});
    return m;
}

static void put(const char *dir, const char *name, const unsigned char *b, size_t len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(b, 1, len, f) != len || fclose(f))
        fprintf(stderr, "mkonnx: cannot write %s\n", p), exit(1);
}

static void put_model(const char *dir, const char *name, mli_onnx_model *m)
{
    size_t len;
    unsigned char *b = mli_onnx_serialize(m, &len);
    put(dir, name, b, len);
    free(b);
    mli_onnx_free(m);
}

/* the small model with its first initializer changed by edit (protobuf-c structures) */
static void put_edited(const char *dir, const char *name, void (*edit)(Onnx__TensorProto *))
{
    mli_onnx_model *m = small("W", 3);
    size_t len;
    unsigned char *b = mli_onnx_serialize(m, &len);
    mli_onnx_free(m);
    Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, len, b);
    free(b);
    edit(p->graph->initializer[0]);
    len = onnx__model_proto__get_packed_size(p);
    b = malloc(len);
    onnx__model_proto__pack(p, b);
    put(dir, name, b, len);
    free(b);
    onnx__model_proto__free_unpacked(p, NULL);
}

static void make_external(Onnx__TensorProto *t)
{
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}
static void make_huge(Onnx__TensorProto *t) { t->dims[1] = (int64_t)1 << 40; }

static int bad(const char *dir)
{
    size_t len;
    mli_onnx_model *m = small("W", 3);
    unsigned char *b = mli_onnx_serialize(m, &len);
    mli_onnx_free(m);
    put(dir, "truncated.onnx", b, len / 2);
    b[0] = (unsigned char)((b[0] & ~7u) | 3u); /* the first field's wire type: start group */
    put(dir, "wiretype.onnx", b, len);
    free(b);
    put_edited(dir, "external.onnx", make_external);
    put_edited(dir, "huge.onnx", make_huge);
    /* a cycle: h = Relu(y) feeds the Gemm's output back */
    m = mli_onnx_model_new("cyc", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, NULL);
    mli_onnx_add_node(m, "Add", "loop_add", 2, (const char *[]){"x", "y"}, 1, (const char *[]){"h"});
    mli_onnx_add_node(m, "Relu", "loop_relu", 1, (const char *[]){"h"}, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, NULL);
    put_model(dir, "cycle.onnx", m);
    /* an unsupported op_type (a transposed convolution) */
    m = mli_onnx_model_new("conv", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, 1, 4, 4}, NULL);
    mli_onnx_add_init_float(m, "K", 4, (int64_t[]){1, 1, 1, 1}, (float[]){1});
    mli_onnx_add_node(m, "ConvTranspose", "conv1", 2, (const char *[]){"x", "K"}, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 4, (int64_t[]){-1, 1, 4, 4}, NULL);
    put_model(dir, "conv.onnx", m);
    /* an unsupported attribute */
    m = small("W", 3);
    mli_onnx_attr_int(&m->nodes[0], "transA", 1);
    put_model(dir, "transa.onnx", m);
    /* two data inputs */
    m = small("W", 3);
    mli_onnx_add_input(m, "x2", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 4}, NULL);
    put_model(dir, "two_inputs.onnx", m);
    /* init/final whose weight shapes differ */
    put_model(dir, "shape_a.onnx", small("W", 3));
    put_model(dir, "shape_b.onnx", small("W", 5));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "fcnet"))
        return fcnet(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
    if (argc == 3 && !strcmp(argv[1], "bad"))
        return bad(argv[2]);
    fprintf(stderr, "usage: mkonnx fcnet MODEL.safetensors OUT.onnx [flat|matmul|bias] | mkonnx bad DIR\n");
    return 2;
}
