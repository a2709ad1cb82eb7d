/* ONNX's backend node tests and the PyTorch-converted module tests of Debian's
 * libonnx-testdata, through the importer (nn/onnx_graph.h) and the float engine: input 0 is the
 * data (its first dim the batch), the other graph inputs become initializers read from their
 * input_N.pb, and mli's eval-mode forward must equal output_0.pb to 1e-5 relative
 * (‖y − ref‖∞ ≤ 1e-5 ‖ref‖∞). Every case of the op_types mli imports is listed with what is
 * expected of it: run and pass, or refused as unsupported (its message printed). A case that
 * fails, or that is refused when it should run (or runs when a refusal is expected), fails the
 * test: a supported case is never skipped silently. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/onnx.h"
#include "nn/net.h"
#include "nn/onnx_graph.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"
#define MAXC 64 /* channels of a training-mode batch norm case (3 in the package) */

/* what is expected of a case: 0 run and pass, 1 refused, TRAIN a BatchNormalization with
 * training_mode=1 run in mli's training mode and passing (to_inference) */
enum { TRAIN = 2 };

typedef struct {
    const char *dir; /* under TESTDATA */
    int expect;      /* 0, 1 or TRAIN */
} nodecase;

static const nodecase cases[] = {
    {"node/test_add", 1}, /* B [3, 4, 5] differs per example */
    {"node/test_add_bcast", 0},
    {"node/test_add_uint8", 1},
    {"node/test_averagepool_1d_default", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"node/test_averagepool_2d_ceil", 0},
    {"node/test_averagepool_2d_default", 0},
    {"node/test_averagepool_2d_pads", 0},
    {"node/test_averagepool_2d_pads_count_include_pad", 0},
    {"node/test_averagepool_2d_precomputed_pads", 0},
    {"node/test_averagepool_2d_precomputed_pads_count_include_pad", 0},
    {"node/test_averagepool_2d_precomputed_same_upper", 0},
    {"node/test_averagepool_2d_precomputed_strides", 0},
    {"node/test_averagepool_2d_same_lower", 0},
    {"node/test_averagepool_2d_same_upper", 0},
    {"node/test_averagepool_2d_strides", 0},
    {"node/test_averagepool_3d_default", 1}, /* 3-D pooling */
    {"node/test_basic_conv_with_padding", 0},
    {"node/test_basic_conv_without_padding", 0},
    {"node/test_batchnorm_epsilon", 0},
    {"node/test_batchnorm_epsilon_training_mode", TRAIN},
    {"node/test_batchnorm_example", 0},
    {"node/test_batchnorm_example_training_mode", TRAIN},
    {"node/test_conv_with_autopad_same", 0},
    {"node/test_conv_with_strides_and_asymmetric_padding", 0},
    {"node/test_conv_with_strides_no_padding", 0},
    {"node/test_conv_with_strides_padding", 0},
    {"node/test_dropout_default", 0},
    {"node/test_dropout_default_mask", 1},
    {"node/test_dropout_default_mask_ratio", 1},
    {"node/test_dropout_default_old", 1}, /* a 1-D input: no per-example dims */
    {"node/test_dropout_default_ratio", 0},
    {"node/test_dropout_random_old", 0},
    {"node/test_flatten_axis0", 1},
    {"node/test_flatten_axis1", 0},
    {"node/test_flatten_axis2", 1},
    {"node/test_flatten_axis3", 1},
    {"node/test_flatten_default_axis", 0},
    {"node/test_flatten_negative_axis1", 1},
    {"node/test_flatten_negative_axis2", 1},
    {"node/test_flatten_negative_axis3", 0},
    {"node/test_flatten_negative_axis4", 1},
    {"node/test_gemm_all_attributes", 1},
    {"node/test_gemm_alpha", 1},
    {"node/test_gemm_beta", 1},
    {"node/test_gemm_default_matrix_bias", 1},
    {"node/test_gemm_default_no_bias", 0},
    {"node/test_gemm_default_scalar_bias", 1},
    {"node/test_gemm_default_single_elem_vector_bias", 1},
    {"node/test_gemm_default_vector_bias", 0},
    {"node/test_gemm_default_zero_bias", 0},
    {"node/test_gemm_transposeA", 1},
    {"node/test_gemm_transposeB", 0},
    {"node/test_globalaveragepool", 0},
    {"node/test_globalaveragepool_precomputed", 0},
    {"node/test_identity", 0},
    {"node/test_identity_opt", 1},
    {"node/test_identity_sequence", 1},
    {"node/test_matmul_2d", 0},
    {"node/test_matmul_3d", 1},
    {"node/test_matmul_4d", 1},
    {"node/test_maxpool_1d_default", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"node/test_maxpool_2d_ceil", 0},
    {"node/test_maxpool_2d_default", 0},
    {"node/test_maxpool_2d_dilations", 0},
    {"node/test_maxpool_2d_pads", 0},
    {"node/test_maxpool_2d_precomputed_pads", 0},
    {"node/test_maxpool_2d_precomputed_same_upper", 0},
    {"node/test_maxpool_2d_precomputed_strides", 0},
    {"node/test_maxpool_2d_same_lower", 0},
    {"node/test_maxpool_2d_same_upper", 0},
    {"node/test_maxpool_2d_strides", 0},
    {"node/test_maxpool_2d_uint8", 1}, /* UINT8 data */
    {"node/test_maxpool_3d_default", 1}, /* 3-D pooling */
    {"node/test_maxpool_with_argmax_2d_precomputed_pads", 1}, /* the Indices output */
    {"node/test_maxpool_with_argmax_2d_precomputed_strides", 1}, /* storage_order=1 and the Indices output */
    {"node/test_reduce_mean_default_axes_keepdims_example", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_default_axes_keepdims_random", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_do_not_keepdims_example", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_do_not_keepdims_random", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_keepdims_example", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_keepdims_random", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_negative_axes_keepdims_example", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_reduce_mean_negative_axes_keepdims_random", 1}, /* not axes [2, 3] of N×C×H×W */
    {"node/test_relu", 0},
    {"node/test_reshape_allowzero_reordered", 1},
    {"node/test_reshape_extended_dims", 0},
    {"node/test_reshape_negative_dim", 0},
    {"node/test_reshape_negative_extended_dims", 1},
    {"node/test_reshape_one_dim", 1},
    {"node/test_reshape_reduced_dims", 0},
    {"node/test_reshape_reordered_all_dims", 1},
    {"node/test_reshape_reordered_last_dims", 0},
    {"node/test_reshape_zero_and_negative_dim", 0},
    {"node/test_reshape_zero_dim", 0},
    {"node/test_sigmoid", 0},
    {"node/test_sigmoid_example", 1}, /* 1-D input */
    {"node/test_tanh", 0},
    {"node/test_tanh_example", 1}, /* 1-D input */
    {"node/test_training_dropout", 1},
    {"node/test_training_dropout_default", 1},
    {"node/test_training_dropout_default_mask", 1},
    {"node/test_training_dropout_mask", 1},
    {"node/test_training_dropout_zero_ratio", 1},
    {"node/test_training_dropout_zero_ratio_mask", 1},
    {"pytorch-converted/test_AvgPool1d", 1}, /* 1-D pooling */
    {"pytorch-converted/test_AvgPool1d_stride", 1}, /* 1-D pooling */
    {"pytorch-converted/test_AvgPool2d", 0},
    {"pytorch-converted/test_AvgPool2d_stride", 0},
    {"pytorch-converted/test_AvgPool3d", 1}, /* 3-D pooling */
    {"pytorch-converted/test_AvgPool3d_stride", 1}, /* 3-D pooling */
    {"pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input", 1}, /* 3-D pooling */
    {"pytorch-converted/test_BatchNorm1d_3d_input_eval", 0},
    {"pytorch-converted/test_BatchNorm2d_eval", 0},
    {"pytorch-converted/test_BatchNorm2d_momentum_eval", 0},
    {"pytorch-converted/test_BatchNorm3d_eval", 0},
    {"pytorch-converted/test_BatchNorm3d_momentum_eval", 0},
    {"pytorch-converted/test_Conv1d", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_dilated", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_groups", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_pad1", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_pad1size1", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_pad2", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_pad2size1", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv1d_stride", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_Conv2d", 0},
    {"pytorch-converted/test_Conv2d_depthwise", 0},
    {"pytorch-converted/test_Conv2d_depthwise_padded", 0},
    {"pytorch-converted/test_Conv2d_depthwise_strided", 0},
    {"pytorch-converted/test_Conv2d_depthwise_with_multiplier", 0},
    {"pytorch-converted/test_Conv2d_dilated", 0},
    {"pytorch-converted/test_Conv2d_groups", 0},
    {"pytorch-converted/test_Conv2d_groups_thnn", 0},
    {"pytorch-converted/test_Conv2d_no_bias", 0},
    {"pytorch-converted/test_Conv2d_padding", 0},
    {"pytorch-converted/test_Conv2d_strided", 0},
    {"pytorch-converted/test_Conv3d", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_dilated", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_dilated_strided", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_groups", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_no_bias", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_stride", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Conv3d_stride_padding", 1}, /* 3-D convolution */
    {"pytorch-converted/test_Linear", 0},
    {"pytorch-converted/test_Linear_no_bias", 0}, /* Transpose of the weight, folded */
    {"pytorch-converted/test_MaxPool1d", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_MaxPool1d_stride", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_MaxPool1d_stride_padding_dilation", 0}, /* 1-D: the 2-D operator on C×1×L */
    {"pytorch-converted/test_MaxPool2d", 0},
    {"pytorch-converted/test_MaxPool2d_stride_padding_dilation", 0},
    {"pytorch-converted/test_MaxPool3d", 1}, /* 3-D pooling */
    {"pytorch-converted/test_MaxPool3d_stride", 1}, /* 3-D pooling */
    {"pytorch-converted/test_MaxPool3d_stride_padding", 1}, /* 3-D pooling */
    {"pytorch-converted/test_ReLU", 0},
    {"pytorch-converted/test_Sigmoid", 0},
    {"pytorch-converted/test_Tanh", 0},
};

typedef enum { PASSED, FAILED, REFUSED } outcome;

/* The importer takes inference-mode batch norms only (the analyses run eval mode); a
 * training-mode node test runs the same operator in mli's training mode instead. Its model is
 * turned into the inference form (training_mode 0, the running-statistics outputs dropped) for
 * the import, after checking that its momentum is mli's: ONNX's momentum weighs the old running
 * value, 1 − PyTorch's 0.1 (MLI_BN_MOMENTUM). */
static int to_inference(mli_onnx_model *m, double *momentum)
{
    mli_onnx_node *nd = &m->nodes[0];
    if (m->nnodes != 1 || strcmp(nd->op_type, "BatchNormalization") || nd->noutputs != 3 || m->noutputs != 3)
        return mli_err(MLI_EINPUT, "expected one BatchNormalization with outputs Y, running_mean, running_var");
    *momentum = 0.9;
    for (int k = 0; k < nd->nattrs; k++) {
        if (!strcmp(nd->attrs[k].name, "training_mode"))
            nd->attrs[k].i = 0;
        if (!strcmp(nd->attrs[k].name, "momentum"))
            *momentum = nd->attrs[k].f;
    }
    if (fabs(1 - *momentum - MLI_BN_MOMENTUM) > 1e-6)
        return mli_err(MLI_EINPUT, "momentum %g: mli's training mode has %g (PyTorch's %g)", *momentum,
                       1 - MLI_BN_MOMENTUM, MLI_BN_MOMENTUM);
    for (int k = 1; k < 3; k++) {
        free(nd->outputs[k]);
        nd->outputs[k] = strdup("");
        free(m->outputs[k].name);
        for (int d = 0; d < MLI_ONNX_MAX_DIMS; d++)
            free(m->outputs[k].dim_params[d]);
    }
    m->noutputs = 1;
    return MLI_OK;
}

/* ‖got − ref‖∞ ≤ 1e-5 ‖ref‖∞; else the message says by how much */
static int close_to(const char *what, const mli_real *got, const double *ref, size_t n, char *msg, size_t len)
{
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)got[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    if (err <= 1e-5 * scale)
        return 1;
    snprintf(msg, len, "max |mli - %s| = %.3g, max |%s| = %.3g", what, err, what, scale);
    return 0;
}

/* The running statistics after mli's training-mode forward (bufs, updated in place from
 * mean0, var0), against output_1 and output_2. ONNX's running_var takes the batch's population
 * variance vb (the normalisation's), PyTorch's and mli's the unbiased one, vb·M/(M − 1) over
 * the M values of a channel: vb is read back from ONNX's output, (out − m·var0)/(1 − m), and
 * the expected value is m·var0 + (1 − m)·vb·M/(M − 1). The means are compared as they are. */
static int check_running(const char *dir, const mli_arch *a, const mli_real *bufs, const float *mean0,
                         const float *var0, double mom, int B, char *msg, size_t len)
{
    const mli_node *n = &a->nodes[a->nnodes - 1];
    int C = n->shape.d[0], ok = 0;
    double M = (double)B * (double)(n->size / (size_t)C);
    mli_onnx_tensor rm = {0}, rv = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/test_data_set_0/output_1.pb", dir);
    int rc = mli_onnx_read_tensor(path, &rm);
    snprintf(path, sizeof path, "%s/test_data_set_0/output_2.pb", dir);
    if (!rc)
        rc = mli_onnx_read_tensor(path, &rv);
    if (rc || n->op != &mli_op_batchnorm || C > MAXC || rm.numel != (size_t)C || rv.numel != (size_t)C || !rm.f || !rv.f) {
        snprintf(msg, len, "running statistics: %s", rc ? mli_errmsg() : "not C floats of a batch norm");
        goto done;
    }
    double em[MAXC], ev[MAXC];
    for (int c = 0; c < C; c++) {
        double vb = (rv.f[c] - mom * var0[c]) / (1 - mom);
        em[c] = rm.f[c];
        ev[c] = mom * var0[c] + (1 - mom) * vb * M / (M - 1);
    }
    ok = close_to("output_1", mli_node_view(n, 2, bufs), em, (size_t)C, msg, len) &&
         close_to("output_2 (unbiased)", mli_node_view(n, 3, bufs), ev, (size_t)C, msg, len);
done:
    mli_onnx_tensor_free(&rm);
    mli_onnx_tensor_free(&rv);
    return ok;
}

/* the other graph inputs (not initializers) become initializers from input_N.pb */
static int add_inputs(mli_onnx_model *m, const char *dir)
{
    int n = 0, count = m->ninputs;
    for (int i = 0; i < count; i++) {
        if (mli_onnx_find_init(m, m->inputs[i].name))
            continue;
        if (n++ == 0)
            continue; /* input 0: the data */
        char path[512];
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, n - 1);
        mli_onnx_tensor t;
        int rc = mli_onnx_read_tensor(path, &t);
        if (rc)
            return rc;
        char *name = strdup(m->inputs[i].name);
        if (t.elem_type == MLI_ONNX_INT64)
            mli_onnx_add_init_int64(m, name, t.ndim, t.dims, t.i);
        else
            mli_onnx_add_init_float(m, name, t.ndim, t.dims, t.f);
        free(name);
        mli_onnx_tensor_free(&t);
    }
    return MLI_OK;
}

static outcome run_case(const char *dir, int train, char *msg, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    mli_onnx_model *m = NULL;
    mli_onnx_tensor x = {0}, ref = {0};
    mli_arch *a = malloc(sizeof *a);
    mli_real *theta = NULL, *bufs = NULL;
    outcome r = REFUSED;
    double mom = 0;
    float mean0[MAXC], var0[MAXC];
    int rc = mli_onnx_read(path, &m);
    if (!rc && train)
        rc = to_inference(m, &mom);
    if (!rc)
        rc = add_inputs(m, dir);
    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    if (!rc)
        rc = mli_onnx_read_tensor(path, &x);
    if (!rc)
        rc = mli_onnx_graph(m, dir, MLI_LOSS_MSE, a, &theta, &bufs);
    if (rc) {
        snprintf(msg, len, "%s", mli_errmsg());
        goto done;
    }
    r = FAILED;
    snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
    if (mli_onnx_read_tensor(path, &ref) || ref.elem_type != MLI_ONNX_FLOAT) {
        snprintf(msg, len, "output_0.pb: %s", mli_errmsg());
        goto done;
    }
    int B = (int)x.dims[0];
    if (x.elem_type != MLI_ONNX_FLOAT || x.numel != (size_t)B * a->input_size ||
        ref.numel != (size_t)B * a->nout) {
        snprintf(msg, len, "sizes: data %zu for %d x %d, output %zu for %d x %d", x.numel, B, a->input_size,
                 ref.numel, B, a->nout);
        goto done;
    }
    const mli_node *last = &a->nodes[a->nnodes - 1];
    if (train) /* the running statistics before the update */
        for (int c = 0; c < last->shape.d[0] && c < MAXC && last->op == &mli_op_batchnorm; c++) {
            mean0[c] = mli_node_view(last, 2, bufs)[c];
            var0[c] = mli_node_view(last, 3, bufs)[c];
        }
    mli_ws *w = mli_ws_new(a, B);
    const mli_real *Z = mli_net_forward(a, theta, bufs, w, x.f, B, train ? MLI_MODE_TRAIN : MLI_MODE_EVAL);
    double *refd = malloc(sizeof *refd * ref.numel);
    for (size_t i = 0; i < ref.numel; i++)
        refd[i] = ref.f[i];
    if (close_to("output_0", Z, refd, ref.numel, msg, len) &&
        (!train || check_running(dir, a, bufs, mean0, var0, mom, B, msg, len)))
        r = PASSED;
    free(refd);
    mli_ws_free(w);
done:
    mli_onnx_free(m);
    mli_onnx_tensor_free(&x);
    mli_onnx_tensor_free(&ref);
    free(theta);
    free(bufs);
    free(a);
    return r;
}

static void test_nodes(void **state)
{
    int n[3] = {0}, wrong = 0, ncase = (int)(sizeof cases / sizeof cases[0]);
    for (int k = 0; k < ncase; k++) {
        char dir[512], msg[1024] = "";
        snprintf(dir, sizeof dir, "%s/%s", TESTDATA, cases[k].dir);
        outcome r = run_case(dir, cases[k].expect == TRAIN, msg, sizeof msg);
        n[r]++;
        if (r == REFUSED)
            print_message("  skipped as unsupported: %s: %s\n", cases[k].dir, msg);
        if (r == FAILED || (r == REFUSED) != (cases[k].expect == 1)) {
            wrong++;
            print_message("  WRONG: %s: %s%s\n", cases[k].dir,
                          r == FAILED ? "failed: " : r == REFUSED ? "refused, expected to run: "
                                                                  : "ran, expected a refusal",
                          msg);
        }
    }
    print_message("onnx node tests: %d passed, %d failed, %d skipped as unsupported\n", n[PASSED], n[FAILED],
                  n[REFUSED]);
    assert_int_equal(wrong, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
