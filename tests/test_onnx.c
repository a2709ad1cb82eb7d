/* ONNX reader and writer: builder -> write -> read round trips, graph order and checks, the
 * models and tensors of ONNX's own backend tests (Debian libonnx-testdata), and malformed
 * files (truncations, wire faults, external data, cycles, bad dims) that must each be refused
 * with a message naming the file and the culprit. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/onnx.h"
#include "onnx.pb-c.h" /* to craft files the builder cannot write */

#define TESTDATA "/usr/share/libonnx-testdata/data"

/* ------------------------------------------------------------------ a sample model */

static const float W1[6] = {1, -2, 3.5f, 1e-30f, -0.25f, 7};
static const float B1[2] = {0.5f, -1};
static const int64_t SHAPE[2] = {-1, 2};

/* x[batch,3] -> Gemm(W1 [3,2] ... stored [2,3] with transB) -> Relu -> Reshape -> Clip(min only)
 * plus a Constant and nodes carrying every kind of attribute. */
static mli_onnx_model *sample(void)
{
    mli_onnx_model *m = mli_onnx_model_new("sample graph", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 3}, (const char *[]){"batch", NULL});
    mli_onnx_add_input(m, "u", MLI_ONNX_INT64, 3, (int64_t[]){4, -1, 0}, NULL); /* one unknown dim */
    mli_onnx_add_input(m, "noshape", MLI_ONNX_FLOAT, -1, NULL, NULL);
    mli_onnx_add_init_float(m, "W1", 2, (int64_t[]){2, 3}, W1);
    mli_onnx_add_init_float(m, "B1", 1, (int64_t[]){2}, B1);
    mli_onnx_add_init_float(m, "scalar", 0, NULL, (float[]){-1.25f});
    mli_onnx_add_init_float(m, "empty", 2, (int64_t[]){0, 5}, NULL);
    mli_onnx_add_init_int64(m, "shape", 1, (int64_t[]){2}, SHAPE);
    mli_onnx_node *n = mli_onnx_add_node(m, "Gemm", "fc1", 3, (const char *[]){"x", "W1", "B1"}, 1,
                                         (const char *[]){"h"});
    mli_onnx_attr_float(n, "alpha", 0.5f);
    mli_onnx_attr_int(n, "transB", 1);
    n = mli_onnx_add_node(m, "Relu", "act1", 1, (const char *[]){"h"}, 1, (const char *[]){"r"});
    n = mli_onnx_add_node(m, "Reshape", "", 2, (const char *[]){"r", "shape"}, 1, (const char *[]){"rs"});
    n = mli_onnx_add_node(m, "Constant", "c0", 0, NULL, 1, (const char *[]){"lo"});
    mli_onnx_attr_tensor(n, "value", 1, (int64_t[]){3}, (float[]){-1, 0, 2.5f});
    /* Clip's max is omitted: an empty name, as ONNX writes optional inputs. */
    n = mli_onnx_add_node(m, "Clip", "clip", 3, (const char *[]){"rs", "scalar", ""}, 1, (const char *[]){"y"});
    mli_onnx_attr_string(n, "mode", "h\xc3\xa9llo");
    mli_onnx_attr_floats(n, "scales", 3, (float[]){1, 2.5f, -3});
    mli_onnx_attr_ints(n, "perm", 4, (int64_t[]){0, 3, 1, -2});
    mli_onnx_attr_strings(n, "names", 2, (const char *[]){"a", ""});
    mli_onnx_attr_ints(n, "none", 0, NULL);
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 2, (int64_t[]){-1, 2}, (const char *[]){"batch", NULL});
    mli_onnx_add_output(m, "lo", MLI_ONNX_FLOAT, 1, (int64_t[]){3}, NULL);
    return m;
}

static void check_sample(const mli_onnx_model *m)
{
    assert_int_equal(m->ir_version, MLI_ONNX_IR_VERSION);
    assert_string_equal(m->producer_name, "mli");
    assert_string_equal(m->graph_name, "sample graph");
    assert_int_equal(m->nopsets, 1);
    assert_int_equal(mli_onnx_opset_version(m, ""), 13);
    assert_int_equal(mli_onnx_opset_version(m, "ai.onnx"), 13);
    assert_int_equal(mli_onnx_opset_version(m, "com.microsoft"), -1);

    assert_int_equal(m->ninputs, 3);
    const mli_onnx_value *v = &m->inputs[0];
    assert_string_equal(v->name, "x");
    assert_int_equal(v->elem_type, MLI_ONNX_FLOAT);
    assert_int_equal(v->ndim, 2);
    assert_int_equal(v->dims[0], -1);
    assert_string_equal(v->dim_params[0], "batch");
    assert_int_equal(v->dims[1], 3);
    assert_null(v->dim_params[1]);
    v = &m->inputs[1];
    assert_int_equal(v->elem_type, MLI_ONNX_INT64);
    assert_int_equal(v->ndim, 3);
    assert_int_equal(v->dims[0], 4);
    assert_int_equal(v->dims[1], -1);
    assert_null(v->dim_params[1]);
    assert_int_equal(v->dims[2], 0);
    assert_int_equal(m->inputs[2].ndim, -1);
    assert_int_equal(m->inputs[2].elem_type, MLI_ONNX_FLOAT);
    assert_int_equal(m->noutputs, 2);
    assert_string_equal(m->outputs[0].name, "y");
    assert_string_equal(m->outputs[0].dim_params[0], "batch");
    assert_int_equal(m->outputs[1].dims[0], 3);

    assert_int_equal(m->ninits, 5);
    const mli_onnx_tensor *t = mli_onnx_find_init(m, "W1");
    assert_ptr_equal(t, &m->inits[0]);
    assert_int_equal(t->elem_type, MLI_ONNX_FLOAT);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->dims[0], 2);
    assert_int_equal(t->dims[1], 3);
    assert_int_equal(t->numel, 6);
    assert_memory_equal(t->f, W1, sizeof W1); /* bit for bit, 1e-30 included */
    assert_null(t->i);
    t = mli_onnx_find_init(m, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    assert_true(t->f[0] == -1.25f);
    t = mli_onnx_find_init(m, "empty");
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->dims[1], 5);
    t = mli_onnx_find_init(m, "shape");
    assert_int_equal(t->elem_type, MLI_ONNX_INT64);
    assert_null(t->f);
    assert_int_equal(t->i[0], -1);
    assert_int_equal(t->i[1], 2);
    assert_null(mli_onnx_find_init(m, "h"));

    assert_int_equal(m->nnodes, 5);
    const char *ops[] = {"Gemm", "Relu", "Reshape", "Constant", "Clip"};
    const char *names[] = {"fc1", "act1", "", "c0", "clip"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(m->nodes[i].op_type, ops[i]);
        assert_string_equal(m->nodes[i].name, names[i]);
        assert_string_equal(m->nodes[i].domain, "");
    }
    const mli_onnx_node *n = &m->nodes[0];
    assert_int_equal(n->ninputs, 3);
    assert_string_equal(n->inputs[2], "B1");
    assert_int_equal(n->noutputs, 1);
    assert_string_equal(n->outputs[0], "h");
    assert_int_equal(n->nattrs, 2);
    const mli_onnx_attr *a = mli_onnx_find_attr(n, "alpha");
    assert_int_equal(a->type, MLI_ONNX_ATTR_FLOAT);
    assert_true(a->f == 0.5f);
    a = mli_onnx_find_attr(n, "transB");
    assert_int_equal(a->type, MLI_ONNX_ATTR_INT);
    assert_int_equal(a->i, 1);
    assert_null(mli_onnx_find_attr(n, "beta"));

    n = &m->nodes[3];
    assert_int_equal(n->ninputs, 0);
    a = mli_onnx_find_attr(n, "value");
    assert_int_equal(a->type, MLI_ONNX_ATTR_TENSOR);
    assert_int_equal(a->t->ndim, 1);
    assert_int_equal(a->t->numel, 3);
    assert_true(a->t->f[2] == 2.5f);

    n = &m->nodes[4];
    assert_int_equal(n->ninputs, 3);
    assert_string_equal(n->inputs[2], "");
    assert_int_equal(n->nattrs, 5);
    a = &n->attrs[0];
    assert_int_equal(a->type, MLI_ONNX_ATTR_STRING);
    assert_string_equal(a->s, "h\xc3\xa9llo");
    assert_int_equal(a->slen, 6);
    a = &n->attrs[1];
    assert_int_equal(a->type, MLI_ONNX_ATTR_FLOATS);
    assert_int_equal(a->n, 3);
    assert_true(a->floats[1] == 2.5f && a->floats[2] == -3);
    a = &n->attrs[2];
    assert_int_equal(a->type, MLI_ONNX_ATTR_INTS);
    assert_int_equal(a->n, 4);
    assert_int_equal(a->ints[3], -2);
    a = &n->attrs[3];
    assert_int_equal(a->type, MLI_ONNX_ATTR_STRINGS);
    assert_int_equal(a->n, 2);
    assert_string_equal(a->strings[0], "a");
    assert_string_equal(a->strings[1], "");
    a = &n->attrs[4];
    assert_string_equal(a->name, "none");
    assert_int_equal(a->n, 0);
}

static void test_round_trip(void **state)
{
    mli_onnx_model *m = sample();
    check_sample(m); /* the builder itself */
    size_t len, len2;
    unsigned char *b = mli_onnx_serialize(m, &len);
    assert_non_null(b);
    unsigned char *b2 = mli_onnx_serialize(m, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b2, len); /* deterministic */

    char path[700];
    snprintf(path, sizeof path, "%s/model.onnx", tu_tmpdir("onnx-rt"));
    assert_int_equal(mli_onnx_write(path, m), MLI_OK);
    unsigned char *fb;
    size_t flen;
    assert_int_equal(mli_file_read(path, 1 << 20, &fb, &flen), MLI_OK);
    assert_int_equal(flen, len);
    assert_memory_equal(fb, b, len);

    mli_onnx_model *r;
    assert_int_equal(mli_onnx_read(path, &r), MLI_OK);
    check_sample(r);
    /* Written again, the model read gives the same bytes. */
    unsigned char *b3 = mli_onnx_serialize(r, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b3, len);
    mli_onnx_free(r);

    /* Builder pointers survive growth of other kinds; many nodes force reallocation. */
    mli_onnx_model *big = mli_onnx_model_new("chain", 17);
    mli_onnx_add_input(big, "v0", MLI_ONNX_FLOAT, 1, (int64_t[]){1}, NULL);
    char in[32], out[32];
    for (int i = 0; i < 300; i++) {
        snprintf(in, sizeof in, "v%d", i);
        snprintf(out, sizeof out, "v%d", i + 1);
        mli_onnx_node *n = mli_onnx_add_node(big, "Relu", NULL, 1, (const char *[]){in}, 1, (const char *[]){out});
        mli_onnx_attr_int(n, "i", i);
    }
    mli_onnx_add_output(big, out, MLI_ONNX_FLOAT, 1, (int64_t[]){1}, NULL);
    unsigned char *bb = mli_onnx_serialize(big, &len2);
    assert_int_equal(mli_onnx_parse(bb, len2, "chain", &r), MLI_OK);
    assert_int_equal(r->nnodes, 300);
    assert_int_equal(r->nodes[299].attrs[0].i, 299);
    assert_string_equal(r->nodes[299].name, "");
    mli_onnx_free(r);
    free(bb);
    mli_onnx_free(big);

    free(fb);
    free(b);
    free(b2);
    free(b3);
    mli_onnx_free(m);
}

/* A lone TensorProto, as the backend tests store inputs and outputs. */
static void test_tensor_round_trip(void **state)
{
    mli_onnx_model *m = sample();
    size_t len;
    unsigned char *b = mli_onnx_serialize_tensor(&m->inits[0], &len);
    assert_non_null(b);
    char path[700];
    snprintf(path, sizeof path, "%s/t.pb", tu_tmpdir("onnx-tensor"));
    tu_write_file(path, b, len);
    mli_onnx_tensor t;
    assert_int_equal(mli_onnx_read_tensor(path, &t), MLI_OK);
    assert_string_equal(t.name, "W1");
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.numel, 6);
    assert_memory_equal(t.f, W1, sizeof W1);
    mli_onnx_tensor_free(&t);
    mli_onnx_tensor_free(&t); /* harmless twice */
    free(b);

    b = mli_onnx_serialize_tensor(&m->inits[4], &len);
    assert_int_equal(mli_onnx_parse_tensor(b, len, "i64", &t), MLI_OK);
    assert_int_equal(t.elem_type, MLI_ONNX_INT64);
    assert_int_equal(t.i[0], -1);
    mli_onnx_tensor_free(&t);
    free(b);

    /* DOUBLE becomes float, from double_data and from raw_data alike; float_data is read too. */
    double dv[3] = {0.1, -2.5, 1e300};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1;
    tp.dims = (int64_t[]){3};
    tp.has_data_type = 1;
    tp.data_type = MLI_ONNX_DOUBLE;
    tp.n_double_data = 3;
    tp.double_data = dv;
    for (int raw = 0; raw < 2; raw++) {
        if (raw) {
            tp.n_double_data = 0;
            tp.has_raw_data = 1;
            tp.raw_data = (ProtobufCBinaryData){sizeof dv, (uint8_t *)dv};
        }
        unsigned char buf[256];
        size_t n = protobuf_c_message_pack(&tp.base, buf);
        assert_int_equal(mli_onnx_parse_tensor(buf, n, "dbl", &t), MLI_OK);
        assert_int_equal(t.elem_type, MLI_ONNX_FLOAT);
        assert_int_equal(t.file_type, MLI_ONNX_DOUBLE);
        assert_true(t.f[0] == 0.1f && t.f[1] == -2.5f);
        assert_true(t.f[2] > 1e38f); /* out of float range: +inf, as a cast gives */
        assert_string_equal(t.name, "");
        mli_onnx_tensor_free(&t);
    }
    Onnx__TensorProto fp = ONNX__TENSOR_PROTO__INIT;
    fp.n_dims = 2;
    fp.dims = (int64_t[]){1, 2};
    fp.has_data_type = 1;
    fp.data_type = MLI_ONNX_FLOAT;
    fp.n_float_data = 2;
    fp.float_data = (float[]){3, -4};
    unsigned char buf[256];
    size_t n = protobuf_c_message_pack(&fp.base, buf);
    assert_int_equal(mli_onnx_parse_tensor(buf, n, "flt", &t), MLI_OK);
    assert_true(t.f[0] == 3 && t.f[1] == -4);
    mli_onnx_tensor_free(&t);
    mli_onnx_free(m);
}

static int is_order(const mli_onnx_model *m, const int *order)
{
    /* A permutation in which every node's node-made inputs come from earlier nodes. */
    int *pos = calloc((size_t)m->nnodes, sizeof *pos);
    for (int k = 0; k < m->nnodes; k++)
        pos[k] = -1;
    for (int k = 0; k < m->nnodes; k++) {
        if (order[k] < 0 || order[k] >= m->nnodes || pos[order[k]] >= 0)
            return free(pos), 0;
        pos[order[k]] = k;
    }
    int ok = 1;
    for (int i = 0; i < m->nnodes; i++)
        for (int k = 0; k < m->nodes[i].ninputs; k++)
            for (int j = 0; j < m->nnodes; j++)
                for (int o = 0; o < m->nodes[j].noutputs; o++)
                    if (m->nodes[i].inputs[k][0] && !strcmp(m->nodes[i].inputs[k], m->nodes[j].outputs[o]) &&
                        pos[j] > pos[i])
                        ok = 0;
    free(pos);
    return ok;
}

static void test_sort(void **state)
{
    mli_onnx_model *m = sample();
    int order[8];
    assert_int_equal(mli_onnx_sort(m, "s", order), MLI_OK);
    for (int k = 0; k < 5; k++)
        assert_int_equal(order[k], k); /* already in order: file order kept */

    /* Nodes written backwards are accepted by the reader and sorted. */
    mli_onnx_model *r = mli_onnx_model_new("rev", 13);
    mli_onnx_add_input(r, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_node(r, "Add", "d", 2, (const char *[]){"c", "a"}, 1, (const char *[]){"y"});
    mli_onnx_add_node(r, "Relu", "c", 1, (const char *[]){"b"}, 1, (const char *[]){"c"});
    mli_onnx_add_node(r, "Relu", "b", 1, (const char *[]){"a"}, 1, (const char *[]){"b"});
    mli_onnx_add_node(r, "Relu", "a", 1, (const char *[]){"x"}, 1, (const char *[]){"a"});
    mli_onnx_add_node(r, "Relu", "side", 1, (const char *[]){"x"}, 2, (const char *[]){"s", ""});
    mli_onnx_add_output(r, "y", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    size_t len;
    unsigned char *b = mli_onnx_serialize(r, &len);
    mli_onnx_model *g;
    assert_int_equal(mli_onnx_parse(b, len, "rev", &g), MLI_OK);
    assert_string_equal(g->nodes[0].name, "d"); /* file order kept in the model */
    assert_int_equal(mli_onnx_sort(g, "rev", order), MLI_OK);
    assert_true(is_order(g, order));
    int want[5] = {3, 2, 1, 0, 4};
    assert_memory_equal(order, want, sizeof want);
    /* The checker itself must be able to say no. */
    int bad_order[5] = {0, 1, 2, 3, 4};
    assert_false(is_order(g, bad_order));
    mli_onnx_free(g);
    free(b);
    mli_onnx_free(r);

    /* A chain of 100000 nodes written backwards: no recursion per node. */
    mli_onnx_model *c = mli_onnx_model_new("long", 13);
    mli_onnx_add_input(c, "v0", MLI_ONNX_FLOAT, 0, NULL, NULL);
    enum { N = 100000 };
    char in[32], out[32];
    for (int i = N - 1; i >= 0; i--) {
        snprintf(in, sizeof in, "v%d", i);
        snprintf(out, sizeof out, "v%d", i + 1);
        mli_onnx_add_node(c, "Neg", NULL, 1, (const char *[]){in}, 1, (const char *[]){out});
    }
    int *ord = malloc(N * sizeof *ord);
    assert_int_equal(mli_onnx_sort(c, "long", ord), MLI_OK);
    for (int k = 0; k < N; k++)
        assert_int_equal(ord[k], N - 1 - k);
    free(ord);
    mli_onnx_free(c);
    mli_onnx_free(m);
}

/* ------------------------------------------------------------------ ONNX's backend test data */

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Every model.onnx of one testdata directory: how many parse; every refusal must be one of the
 * documented "not supported" cases, never a decoding or graph error. */
static int parse_dir(const char *dir, int *total)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s missing: install libonnx-testdata (make deps)", dir);
    struct dirent *e;
    int ok = 0;
    char path[1200];
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
        if (e->d_name[0] == '.' || !file_exists(path))
            continue;
        (*total)++;
        mli_onnx_model *m;
        mli_err_clear();
        int rc = mli_onnx_read(path, &m);
        if (rc == MLI_OK) {
            assert_true(m->nnodes >= 1);
            assert_true(m->nopsets >= 1); /* the training ops import only ai.onnx.preview.training */
            int *order = malloc((size_t)m->nnodes * sizeof *order);
            assert_int_equal(mli_onnx_sort(m, path, order), MLI_OK);
            assert_true(is_order(m, order));
            free(order);
            mli_onnx_free(m);
            ok++;
            continue;
        }
        assert_int_equal(rc, MLI_EINPUT);
        assert_null(m);
        const char *msg = mli_errmsg();
        assert_memory_equal(msg, path, strlen(path));
        if (!strstr(msg, "is not supported (expected")) {
            print_error("unexpected refusal: %s\n", msg);
            fail();
        }
    }
    closedir(d);
    return ok;
}

static void test_testdata_models(void **state)
{
    int total = 0;
    int ok = parse_dir(TESTDATA "/node", &total);
    print_message("libonnx-testdata node models: %d of %d parse\n", ok, total);
    /* 932 in libonnx-testdata 1.12; 24 of them use GRAPH attributes (If, Loop, Scan,
     * SequenceMap) or BOOL / INT32 constants, which mli does not read. */
    assert_true(total >= 900);
    assert_true(ok >= total - 30);
    const char *all_ok[] = {TESTDATA "/pytorch-converted", TESTDATA "/pytorch-operator", TESTDATA "/simple"};
    for (int k = 0; k < 3; k++) {
        total = 0;
        ok = parse_dir(all_ok[k], &total);
        print_message("%s: %d of %d parse\n", all_ok[k], ok, total);
        assert_true(total >= 20);
        assert_int_equal(ok, total); /* float initializers, every attribute of the CNN layers */
    }
}

static mli_onnx_model *read_test_model(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, TESTDATA "/node/%s/model.onnx", name);
    mli_onnx_model *m;
    if (mli_onnx_read(path, &m) != MLI_OK)
        fail_msg("%s", mli_errmsg());
    return m;
}

static void read_test_tensor(const char *name, const char *file, mli_onnx_tensor *t)
{
    char path[600];
    snprintf(path, sizeof path, TESTDATA "/node/%s/test_data_set_0/%s", name, file);
    if (mli_onnx_read_tensor(path, t) != MLI_OK)
        fail_msg("%s", mli_errmsg());
}

static void test_testdata_known(void **state)
{
    mli_onnx_model *m = read_test_model("test_relu");
    assert_int_equal(m->nnodes, 1);
    assert_string_equal(m->nodes[0].op_type, "Relu");
    assert_int_equal(m->nodes[0].ninputs, 1);
    assert_string_equal(m->nodes[0].inputs[0], "x");
    assert_string_equal(m->nodes[0].outputs[0], "y");
    assert_int_equal(m->ninputs, 1);
    assert_int_equal(m->inputs[0].elem_type, MLI_ONNX_FLOAT);
    assert_int_equal(m->inputs[0].ndim, 3);
    assert_int_equal(m->inputs[0].dims[0], 3);
    assert_int_equal(m->inputs[0].dims[2], 5);
    mli_onnx_free(m);
    mli_onnx_tensor x, y;
    read_test_tensor("test_relu", "input_0.pb", &x);
    read_test_tensor("test_relu", "output_0.pb", &y);
    assert_int_equal(x.numel, 60);
    assert_int_equal(y.numel, 60);
    assert_string_equal(x.name, "x");
    int neg = 0;
    for (size_t k = 0; k < 60; k++) {
        assert_true(y.f[k] == (x.f[k] > 0 ? x.f[k] : 0));
        neg += x.f[k] < 0;
    }
    assert_true(neg > 0 && neg < 60);
    mli_onnx_tensor_free(&x);
    mli_onnx_tensor_free(&y);

    m = read_test_model("test_add");
    assert_string_equal(m->nodes[0].op_type, "Add");
    assert_int_equal(m->nodes[0].ninputs, 2);
    assert_string_equal(m->nodes[0].inputs[0], "x");
    assert_string_equal(m->nodes[0].inputs[1], "y");
    mli_onnx_free(m);

    /* Gemm with the defaults: Y = A B + C, recomputed from the stored tensors. */
    const char *gemms[] = {"test_gemm_default_matrix_bias", "test_gemm_default_vector_bias",
                           "test_gemm_default_scalar_bias", "test_gemm_default_zero_bias"};
    for (int g = 0; g < 4; g++) {
        m = read_test_model(gemms[g]);
        assert_int_equal(m->nnodes, 1);
        assert_string_equal(m->nodes[0].op_type, "Gemm");
        assert_int_equal(m->nodes[0].ninputs, 3);
        assert_string_equal(m->nodes[0].inputs[0], "a");
        assert_string_equal(m->nodes[0].inputs[1], "b");
        assert_string_equal(m->nodes[0].inputs[2], "c");
        assert_int_equal(m->nodes[0].nattrs, 0);
        mli_onnx_free(m);
        mli_onnx_tensor a, b, c, out;
        read_test_tensor(gemms[g], "input_0.pb", &a);
        read_test_tensor(gemms[g], "input_1.pb", &b);
        read_test_tensor(gemms[g], "input_2.pb", &c);
        read_test_tensor(gemms[g], "output_0.pb", &out);
        assert_int_equal(a.ndim, 2);
        assert_int_equal(b.ndim, 2);
        int64_t M = a.dims[0], K = a.dims[1], N = b.dims[1];
        assert_int_equal(b.dims[0], K);
        assert_int_equal(out.dims[0], M);
        assert_int_equal(out.dims[1], N);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (double)a.f[i * K + k] * b.f[k * N + j];
                /* C broadcasts: [M,N], [N], [1] or a scalar */
                size_t ci = c.numel == (size_t)(M * N) ? (size_t)(i * N + j) : c.numel == (size_t)N ? (size_t)j : 0;
                s += c.f[ci];
                assert_true(fabs(s - out.f[i * N + j]) <= 1e-5 * (1 + fabs(s)));
            }
        mli_onnx_tensor_free(&a);
        mli_onnx_tensor_free(&b);
        mli_onnx_tensor_free(&c);
        mli_onnx_tensor_free(&out);
    }

    /* A converted PyTorch model: initializers as float, in the file. */
    mli_onnx_model *p;
    assert_int_equal(mli_onnx_read(TESTDATA "/pytorch-converted/test_Linear/model.onnx", &p), MLI_OK);
    assert_true(p->ninits >= 1);
    for (int k = 0; k < p->ninits; k++) {
        assert_int_equal(p->inits[k].elem_type, MLI_ONNX_FLOAT);
        assert_true(p->inits[k].numel > 0);
        assert_non_null(p->inits[k].f);
    }
    mli_onnx_free(p);

    /* A non-float tensor file is refused, naming the type. */
    char path[600];
    snprintf(path, sizeof path, TESTDATA "/node/test_not_2d/test_data_set_0/input_0.pb");
    assert_int_equal(mli_onnx_read_tensor(path, &x), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "data type BOOL is not supported (expected FLOAT, DOUBLE or INT64)"));
    assert_memory_equal(mli_errmsg(), path, strlen(path));
}

/* ------------------------------------------------------------------ malformed files */

static void expect_refused(const unsigned char *b, size_t len, const char *label, const char *const *subs)
{
    mli_onnx_model *m = (mli_onnx_model *)1;
    mli_err_clear();
    int rc = mli_onnx_parse(b, len, label, &m);
    if (rc != MLI_EINPUT) {
        mli_onnx_free(rc == MLI_OK ? m : NULL);
        fail_msg("%s: accepted (status %d), expected a refusal", label, rc);
    }
    assert_null(m);
    const char *msg = mli_errmsg();
    assert_memory_equal(msg, label, strlen(label));
    for (int k = 0; subs[k]; k++)
        if (!strstr(msg, subs[k]))
            fail_msg("%s: message \"%s\" lacks \"%s\"", label, msg, subs[k]);
}

#define REFUSED(b, len, label, ...) expect_refused(b, len, label, (const char *const[]){__VA_ARGS__, NULL})

static void test_truncated(void **state)
{
    mli_onnx_model *m = sample();
    size_t len;
    unsigned char *b = mli_onnx_serialize(m, &len);
    int refused = 0, accepted = 0;
    char label[64];
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *c = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(c, b, cut);
        snprintf(label, sizeof label, "cut%zu", cut);
        mli_onnx_model *r;
        mli_err_clear();
        int rc = mli_onnx_parse(c, cut, label, &r);
        if (rc == MLI_OK) {
            /* A prefix ending between fields is a valid message; whatever it holds passed
             * every check, and so must its order. */
            int *order = malloc((size_t)(r->nnodes + 1) * sizeof *order);
            assert_int_equal(mli_onnx_sort(r, label, order), MLI_OK);
            free(order);
            mli_onnx_free(r);
            accepted++;
        } else {
            assert_int_equal(rc, MLI_EINPUT);
            assert_memory_equal(mli_errmsg(), label, strlen(label));
            refused++;
        }
        free(c);
    }
    print_message("truncations of a %zu-byte model: %d refused, %d valid prefixes\n", len, refused, accepted);
    assert_true(refused > (int)len / 2);
    /* The empty prefix is a valid, empty ModelProto: refused for having no graph. */
    REFUSED(b, 0, "empty", "the model has no graph");
    free(b);
    mli_onnx_free(m);
}

/* Pack a model whose graph the caller filled. */
static unsigned char *pack_graph(Onnx__GraphProto *g, size_t *len)
{
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    op.has_version = 1;
    op.version = 13;
    mp.has_ir_version = 1;
    mp.ir_version = 8;
    mp.n_opset_import = 1;
    mp.opset_import = ops;
    mp.graph = g;
    unsigned char *b = malloc(protobuf_c_message_get_packed_size(&mp.base));
    *len = protobuf_c_message_pack(&mp.base, b);
    return b;
}

/* One initializer "W" and a node using it. */
static unsigned char *pack_init(Onnx__TensorProto *t, size_t *len)
{
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__TensorProto *inits[1] = {t};
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    Onnx__NodeProto *nodes[1] = {&n};
    n.name = "use";
    n.op_type = "Relu";
    n.n_input = 1;
    n.input = (char *[]){"W"};
    n.n_output = 1;
    n.output = (char *[]){"y"};
    g.n_initializer = 1;
    g.initializer = inits;
    g.n_node = 1;
    g.node = nodes;
    return pack_graph(&g, len);
}

static Onnx__TensorProto float_init(float *data, size_t n)
{
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    t.name = "W";
    t.has_data_type = 1;
    t.data_type = MLI_ONNX_FLOAT;
    t.n_dims = 2;
    static int64_t dims[2] = {2, 3};
    dims[0] = 2;
    dims[1] = 3;
    t.dims = dims;
    t.has_raw_data = 1;
    t.raw_data = (ProtobufCBinaryData){n * 4, (uint8_t *)data};
    return t;
}

static void test_malformed_tensors(void **state)
{
    float d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t len;
    unsigned char *b;
    Onnx__TensorProto t = float_init(d, 6);
    b = pack_init(&t, &len);
    mli_onnx_model *m;
    assert_int_equal(mli_onnx_parse(b, len, "base", &m), MLI_OK); /* the base case is valid */
    assert_int_equal(m->inits[0].numel, 6);
    mli_onnx_free(m);
    free(b);

    t = float_init(d, 5);
    b = pack_init(&t, &len);
    REFUSED(b, len, "short", "initializer 'W'", "raw_data has 20 bytes, dims [2, 3] of FLOAT need 24");
    free(b);

    t = float_init(d, 6);
    t.has_raw_data = 0;
    t.n_float_data = 7;
    t.float_data = d;
    b = pack_init(&t, &len);
    REFUSED(b, len, "floatdata", "initializer 'W'", "float_data has 7 values, dims [2, 3] need 6");
    free(b);

    t = float_init(d, 6);
    t.n_float_data = 6;
    t.float_data = d;
    b = pack_init(&t, &len);
    REFUSED(b, len, "both", "initializer 'W'", "both in raw_data and in float_data");
    free(b);

    t = float_init(d, 6);
    t.has_raw_data = 0;
    b = pack_init(&t, &len);
    REFUSED(b, len, "nodata", "initializer 'W'", "float_data has 0 values, dims [2, 3] need 6");
    free(b);

    t = float_init(d, 6);
    t.has_raw_data = 0;
    t.n_int64_data = 6;
    t.int64_data = (int64_t[]){1, 2, 3, 4, 5, 6};
    b = pack_init(&t, &len);
    REFUSED(b, len, "wrongfield", "initializer 'W'", "does not match data type FLOAT", "expected raw_data or float_data");
    free(b);

    t = float_init(d, 6);
    t.has_data_location = 1;
    t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    loc.key = "location";
    loc.value = "weights.bin";
    Onnx__StringStringEntryProto *locs[1] = {&loc};
    t.n_external_data = 1;
    t.external_data = locs;
    t.has_raw_data = 0;
    b = pack_init(&t, &len);
    REFUSED(b, len, "external", "initializer 'W'", "external data is not supported");
    free(b);
    t.has_data_location = 0; /* the external_data entries alone say it too */
    b = pack_init(&t, &len);
    REFUSED(b, len, "external2", "initializer 'W'", "external data is not supported");
    free(b);

    t = float_init(d, 6);
    t.data_type = MLI_ONNX_INT32;
    b = pack_init(&t, &len);
    REFUSED(b, len, "int32", "initializer 'W'", "data type INT32 is not supported (expected FLOAT, DOUBLE or INT64)");
    free(b);

    t = float_init(d, 6);
    t.has_data_type = 0;
    b = pack_init(&t, &len);
    REFUSED(b, len, "notype", "initializer 'W'", "no data_type (expected FLOAT, DOUBLE or INT64)");
    free(b);

    t = float_init(d, 6);
    t.dims[1] = -3;
    b = pack_init(&t, &len);
    REFUSED(b, len, "negdim", "initializer 'W'", "dimension 1 is -3 (expected a size in [0, 2147483648])");
    free(b);

    /* 2^31 x 2^31 x 4: the product overflows 64 bits before the data is even looked at. */
    t = float_init(d, 6);
    t.n_dims = 3;
    t.dims = (int64_t[]){(int64_t)1 << 31, (int64_t)1 << 31, 4};
    b = pack_init(&t, &len);
    REFUSED(b, len, "overflow", "initializer 'W'", "dims [2147483648, 2147483648, 4] give more elements");
    free(b);
    /* A zero dim does not excuse a huge one. */
    t.dims = (int64_t[]){0, INT64_MAX, 4};
    t.has_raw_data = 0;
    b = pack_init(&t, &len);
    REFUSED(b, len, "huge", "initializer 'W'", "dimension 1 is 9223372036854775807 (expected a size in [0, 2147483648])");
    free(b);
    /* Zero elements and no data at all is a valid empty tensor. */
    t.dims = (int64_t[]){0, 2147483648, 4};
    b = pack_init(&t, &len);
    mli_onnx_model *z;
    assert_int_equal(mli_onnx_parse(b, len, "zero", &z), MLI_OK);
    assert_int_equal(z->inits[0].numel, 0);
    mli_onnx_free(z);
    free(b);

    t = float_init(d, 6);
    t.n_dims = 9;
    t.dims = (int64_t[]){1, 1, 1, 1, 1, 1, 1, 2, 3};
    b = pack_init(&t, &len);
    REFUSED(b, len, "ndims", "initializer 'W'", "9 dimensions, more than the 8 supported");
    free(b);

    t = float_init(d, 6);
    Onnx__TensorProto__Segment seg = ONNX__TENSOR_PROTO__SEGMENT__INIT;
    t.segment = &seg;
    b = pack_init(&t, &len);
    REFUSED(b, len, "segment", "initializer 'W'", "segmented tensors are not supported");
    free(b);

    t = float_init(d, 6);
    t.name = "";
    b = pack_init(&t, &len);
    REFUSED(b, len, "noname", "initializer #0", "no name");
    free(b);

    /* INT64 with the wrong count of raw bytes. */
    t = float_init(d, 6);
    t.data_type = MLI_ONNX_INT64;
    b = pack_init(&t, &len);
    REFUSED(b, len, "i64", "initializer 'W'", "raw_data has 24 bytes, dims [2, 3] of INT64 need 48");
    free(b);

    /* Lone tensors go through the same checks. */
    t = float_init(d, 5);
    unsigned char tb[256];
    size_t tl = protobuf_c_message_pack(&t.base, tb);
    mli_onnx_tensor out;
    assert_int_equal(mli_onnx_parse_tensor(tb, tl, "lone", &out), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "lone: tensor 'W': raw_data has 20 bytes"));
    assert_int_equal(mli_onnx_parse_tensor((const unsigned char *)"\x08", 1, "lone2", &out), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "lone2: not a valid ONNX tensor"));
}

/* Graph-level faults, written with the builder (which writes what it is given). */
static void test_malformed_graphs(void **state)
{
    size_t len;
    unsigned char *b;
    mli_onnx_model *m;

    /* a -> b -> c -> a */
    m = mli_onnx_model_new("cyc", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_node(m, "Add", "A", 2, (const char *[]){"x", "c"}, 1, (const char *[]){"a"});
    mli_onnx_add_node(m, "Relu", "B", 1, (const char *[]){"a"}, 1, (const char *[]){"b"});
    mli_onnx_add_node(m, "Relu", "C", 1, (const char *[]){"b"}, 1, (const char *[]){"c"});
    mli_onnx_add_output(m, "c", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "cycle", "is on a cycle", "(expected an acyclic graph)", "node '");
    free(b);
    mli_onnx_free(m);

    /* A node feeding itself. */
    m = mli_onnx_model_new("self", 13);
    mli_onnx_add_node(m, "Relu", "me", 1, (const char *[]){"y"}, 1, (const char *[]){"y"});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "selfloop", "node 'me' (Relu) is on a cycle");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("undef", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_node(m, "Add", "plus", 2, (const char *[]){"x", "ghost"}, 1, (const char *[]){"y"});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "undefined", "node 'plus' (Add): input 'ghost' is not a graph input, an initializer or the output of any node");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("dupout", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_node(m, "Relu", "r1", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    mli_onnx_add_node(m, "Neg", NULL, 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "dupout", "node #1 (Neg): output 'y' is already defined by node 'r1' (Relu)");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("shadow", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_node(m, "Relu", "r1", 1, (const char *[]){"x"}, 1, (const char *[]){"x"});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "shadow", "node 'r1' (Relu): output 'x' is already defined by a graph input");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("dupinit", 13);
    mli_onnx_add_init_float(m, "W", 1, (int64_t[]){1}, (float[]){1});
    mli_onnx_add_init_float(m, "W", 1, (int64_t[]){1}, (float[]){2});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "dupinit", "initializer 'W' appears twice");
    free(b);
    mli_onnx_free(m);

    /* Listing an initializer as a graph input too (IR < 4 style) is fine. */
    m = mli_onnx_model_new("irv3", 13);
    mli_onnx_add_input(m, "W", MLI_ONNX_FLOAT, 1, (int64_t[]){1}, NULL);
    mli_onnx_add_init_float(m, "W", 1, (int64_t[]){1}, (float[]){1});
    mli_onnx_add_node(m, "Relu", NULL, 1, (const char *[]){"W"}, 1, (const char *[]){"y"});
    mli_onnx_add_output(m, "y", MLI_ONNX_FLOAT, 1, (int64_t[]){1}, NULL);
    b = mli_onnx_serialize(m, &len);
    mli_onnx_model *r;
    assert_int_equal(mli_onnx_parse(b, len, "irv3", &r), MLI_OK);
    mli_onnx_free(r);
    free(b);
    mli_onnx_add_input(m, "W", MLI_ONNX_FLOAT, 1, (int64_t[]){1}, NULL);
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "dupinput", "graph input 'W' appears twice");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("noout", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    mli_onnx_add_output(m, "z", MLI_ONNX_FLOAT, 1, (int64_t[]){2}, NULL);
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "noout", "graph output 'z' is not the output of any node");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("noop", 13);
    mli_onnx_add_node(m, "", "nameless", 0, NULL, 1, (const char *[]){"y"});
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "noop", "node 'nameless' (no op_type): no op_type");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("dupattr", 13);
    mli_onnx_node *n = mli_onnx_add_node(m, "Gemm", "g", 0, NULL, 1, (const char *[]){"y"});
    mli_onnx_attr_int(n, "transA", 1);
    mli_onnx_attr_float(n, "transA", 1);
    b = mli_onnx_serialize(m, &len);
    REFUSED(b, len, "dupattr", "node 'g' (Gemm)", "attribute 'transA' appears twice");
    free(b);
    mli_onnx_free(m);

    m = mli_onnx_model_new("negdim", 13);
    mli_onnx_add_input(m, "x", MLI_ONNX_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    b = mli_onnx_serialize(m, &len);
    /* The writer never writes a negative dim: patch one in through protobuf-c. */
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, b);
    assert_non_null(mp);
    mp->graph->input[0]->type->tensor_type->shape->dim[1]->value_case =
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    mp->graph->input[0]->type->tensor_type->shape->dim[1]->dim_value = -7;
    unsigned char b2[512];
    size_t len2 = onnx__model_proto__pack(mp, b2);
    onnx__model_proto__free_unpacked(mp, NULL);
    REFUSED(b2, len2, "negvalue", "graph input 'x': dimension 1 is -7 (expected a size in [0, 2147483648] or a symbol)");
    free(b);
    mli_onnx_free(m);
}

/* Faults only hand-made bytes or protobuf-c can make. */
static void test_malformed_wire(void **state)
{
    /* ModelProto.graph (field 7) as a varint instead of a message. */
    REFUSED((const unsigned char *)"\x38\x01", 2, "wiretype", "not a valid ONNX model");
    /* ModelProto.ir_version (field 1, varint) as a length-delimited field. */
    REFUSED((const unsigned char *)"\x0a\x01\x00", 3, "wiretype2", "not a valid ONNX model");
    /* graph declared 2^32 - 1 bytes long in a 9-byte file. */
    REFUSED((const unsigned char *)"\x3a\xff\xff\xff\xff\x0f\x0a\x00\x00", 9, "hugelen", "not a valid ONNX model");
    /* A 10-byte varint that overflows 64 bits. */
    REFUSED((const unsigned char *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "varint",
            "not a valid ONNX model");
    /* End group without start (wire type 4), and an unknown wire type 7. */
    REFUSED((const unsigned char *)"\x0c", 1, "group", "not a valid ONNX model");
    REFUSED((const unsigned char *)"\x0f", 1, "wt7", "not a valid ONNX model");
    /* Unknown fields are skipped (forward compatibility); with no graph the model is refused. */
    REFUSED((const unsigned char *)"\xf8\x07\x01", 3, "unknown", "the model has no graph");

    /* Graphs in attributes in nodes in graphs, nested deeper than the bound. */
    enum { LEVELS = 60 };
    unsigned char *buf = calloc(1, 16 * LEVELS + 16), *tmp = calloc(1, 16 * LEVELS + 16);
    size_t n = 0;
    /* innermost: an empty GraphProto; each level wraps graph -> NodeProto.attribute(5) ->
     * AttributeProto.g(6) -> GraphProto.node(1). */
    static const unsigned char tags[3] = {0x32 /* attr.g */, 0x2a /* node.attribute */, 0x0a /* graph.node */};
    for (int lvl = 0; lvl < LEVELS; lvl++)
        for (int k = 0; k < 3; k++) {
            tmp[0] = tags[k];
            assert_true(n < 128);
            tmp[1] = (unsigned char)n;
            memcpy(tmp + 2, buf, n);
            n += 2;
            memcpy(buf, tmp, n);
            if (n >= 126) { /* keep the one-byte lengths: stop nesting, still deeper than 32 */
                lvl = LEVELS;
                break;
            }
        }
    /* Wrap in ModelProto.graph (7). */
    tmp[0] = 0x3a;
    tmp[1] = (unsigned char)n;
    memcpy(tmp + 2, buf, n);
    REFUSED(tmp, n + 2, "deep", "nested more than 32 deep");
    free(buf);
    free(tmp);

    /* One field more than the bound, each an empty producer_name (two bytes): refused before
     * protobuf-c allocates anything per field. */
    size_t nf = MLI_ONNX_MAX_FIELDS + 1;
    unsigned char *many = malloc(2 * nf);
    for (size_t k = 0; k < nf; k++) {
        many[2 * k] = 0x12;
        many[2 * k + 1] = 0;
    }
    REFUSED(many, 2 * nf, "many", "more than 4194304 names, strings and messages");
    /* At the bound it decodes (and has no graph). */
    REFUSED(many, 2 * (nf - 1), "atbound", "the model has no graph");
    free(many);

    /* Sparse initializers, GRAPH attributes, function references. */
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__SparseTensorProto sp = ONNX__SPARSE_TENSOR_PROTO__INIT;
    Onnx__TensorProto vals = ONNX__TENSOR_PROTO__INIT;
    vals.name = "S";
    sp.values = &vals;
    Onnx__SparseTensorProto *sps[1] = {&sp};
    g.n_sparse_initializer = 1;
    g.sparse_initializer = sps;
    size_t len;
    unsigned char *b = pack_graph(&g, &len);
    REFUSED(b, len, "sparse", "sparse initializer 'S' is not supported");
    free(b);

    Onnx__GraphProto g2 = ONNX__GRAPH_PROTO__INIT;
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
    Onnx__NodeProto *nodes[1] = {&node};
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *ats[1] = {&at};
    Onnx__GraphProto sub = ONNX__GRAPH_PROTO__INIT;
    node.name = "branch";
    node.op_type = "If";
    node.n_attribute = 1;
    node.attribute = ats;
    at.name = "then_branch";
    at.has_type = 1;
    at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    at.g = &sub;
    g2.n_node = 1;
    g2.node = nodes;
    b = pack_graph(&g2, &len);
    REFUSED(b, len, "graphattr", "node 'branch' (If): attribute 'then_branch': type GRAPH is not supported");
    free(b);

    /* No type (IR < 3): inferred from the one value present... */
    at.has_type = 0;
    at.g = NULL;
    at.has_i = 1;
    at.i = 5;
    b = pack_graph(&g2, &len);
    mli_onnx_model *m;
    assert_int_equal(mli_onnx_parse(b, len, "inferred", &m), MLI_OK);
    assert_int_equal(m->nodes[0].attrs[0].type, MLI_ONNX_ATTR_INT);
    assert_int_equal(m->nodes[0].attrs[0].i, 5);
    mli_onnx_free(m);
    free(b);
    /* ...and refused when there are two. */
    at.has_f = 1;
    b = pack_graph(&g2, &len);
    REFUSED(b, len, "ambiguous", "attribute 'then_branch': no type and not exactly one value");
    free(b);
    at.has_f = 0;
    at.ref_attr_name = "outer";
    b = pack_graph(&g2, &len);
    REFUSED(b, len, "ref", "refers to function attribute 'outer'");
    free(b);
    at.ref_attr_name = NULL;
    at.has_type = 1;
    at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    b = pack_graph(&g2, &len);
    REFUSED(b, len, "notensor", "attribute 'then_branch': type TENSOR without a tensor");
    free(b);
    at.name = "";
    b = pack_graph(&g2, &len);
    REFUSED(b, len, "noattrname", "node 'branch' (If): an attribute has no name");
    free(b);

    /* A value info without a name. */
    Onnx__GraphProto g3 = ONNX__GRAPH_PROTO__INIT;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *vis[1] = {&vi};
    g3.n_output = 1;
    g3.output = vis;
    b = pack_graph(&g3, &len);
    REFUSED(b, len, "novi", "graph output #0: no name");
    free(b);
}

static void test_files(void **state)
{
    const char *dir = tu_tmpdir("onnx-files");
    char path[700];
    mli_onnx_model *m;
    snprintf(path, sizeof path, "%s/missing.onnx", dir);
    assert_int_equal(mli_onnx_read(path, &m), MLI_EINPUT);
    assert_null(m);
    assert_non_null(strstr(mli_errmsg(), "missing.onnx: cannot open"));
    assert_int_equal(mli_onnx_read(dir, &m), MLI_EINPUT); /* a directory */
    assert_non_null(strstr(mli_errmsg(), "not a regular file"));

    /* Over 2 GiB: refused from the size alone (a sparse file costs no disk). */
    snprintf(path, sizeof path, "%s/huge.onnx", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)MLI_ONNX_MAX_FILE + 1), 0);
    fclose(f);
    assert_int_equal(mli_onnx_read(path, &m), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "huge.onnx: file is 2147483649 bytes, more than the 2147483648 allowed"));
    mli_onnx_tensor t;
    assert_int_equal(mli_onnx_read_tensor(path, &t), MLI_EINPUT);
    unlink(path);

    /* Atomic writes: an existing file is replaced whole, no temporary is left behind, and a
     * write into a missing directory fails without creating anything. */
    mli_onnx_model *s = sample();
    snprintf(path, sizeof path, "%s/out.onnx", dir);
    tu_write_file(path, "old", 3);
    assert_int_equal(mli_onnx_write(path, s), MLI_OK);
    assert_int_equal(mli_onnx_read(path, &m), MLI_OK);
    mli_onnx_free(m);
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
    snprintf(path, sizeof path, "%s/nodir/out.onnx", dir);
    assert_int_equal(mli_onnx_write(path, s), MLI_EFAIL);
    assert_non_null(strstr(mli_errmsg(), "nodir/out.onnx"));

    /* A tensor whose dims disagree with its count is not written. */
    s->inits[0].dims[0] = 3;
    snprintf(path, sizeof path, "%s/bad.onnx", dir);
    assert_int_equal(mli_onnx_write(path, s), MLI_EUSAGE);
    assert_false(file_exists(path));
    size_t len;
    assert_null(mli_onnx_serialize(s, &len));
    mli_onnx_free(s);
    mli_onnx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tensor_round_trip),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_testdata_models),
        cmocka_unit_test(test_testdata_known),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_malformed_tensors),
        cmocka_unit_test(test_malformed_graphs),
        cmocka_unit_test(test_malformed_wire),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
