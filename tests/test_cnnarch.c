/* The convolutional builders (nn/arch_cnn.c): shapes, parameter counts against the published
 * ones, the reference's tensor names, model files that rebuild the same graph, the
 * permutation control on residual graphs, and the data layer's normalisation and augmentation. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "data/dataset.h"
#include "geometry/controls.h"
#include "io/err.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/op.h"
#include "train/init.h"

static const int CIFAR[3] = {3, 32, 32}, FMNIST[3] = {1, 28, 28};

static int tensor_index(const mli_arch *a, const char *name)
{
    for (int i = 0; i < a->ntensors; i++)
        if (!strcmp(a->tensors[i].name, name))
            return i;
    return -1;
}

/* ResNet-20 of He et al. on CIFAR-10: 0.27M parameters. 269,722 in the convolutions, batch
 * norms and fc of the main path, plus the option-A shortcuts' bn0 over 16 and 32 channels
 * (γ, β: 96); no parameter in their subsampling and zero channels. */
static void test_resnet20_count(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, CIFAR, 20, 16, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_OK);
    assert_int_equal(a->nparams, 269722 + 96);
    assert_true(fabs((double)a->nparams - 0.27e6) < 0.01 * 0.27e6);
    /* running mean and variance of 19 + 2 batch norms (bn0 over the shortcuts' inputs):
     * 2 × (16·7 + 32·6 + 64·6 + 16 + 32) */
    assert_int_equal(a->nbuffers, 2 * (16 * 7 + 32 * 6 + 64 * 6 + 16 + 32));
    assert_int_equal(a->nout, 10);
    /* names and shapes of the reference's state_dict */
    int t = tensor_index(a, "conv1.weight");
    assert_true(t >= 0);
    assert_int_equal(a->tensors[t].ndim, 4);
    assert_int_equal(a->tensors[t].shape[0], 16);
    assert_int_equal(a->tensors[t].shape[1], 3);
    assert_int_equal(a->tensors[t].shape[2], 3);
    assert_true(tensor_index(a, "conv1.bias") < 0); /* conv3x3 without bias under batch norm */
    assert_true(tensor_index(a, "layer1.2.bn2.running_var") >= 0);
    t = tensor_index(a, "layer3.0.downsample.bn0.weight"); /* over stage 2's 32 channels */
    assert_true(t >= 0);
    assert_int_equal(a->tensors[t].ndim, 1);
    assert_int_equal(a->tensors[t].shape[0], 32);
    assert_true(tensor_index(a, "layer1.0.downsample.bn0.weight") < 0); /* stage 1 keeps identity shortcuts */
    int pads = 0;
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].op == &mli_op_padc) {
            pads++;
            assert_int_equal(a->nodes[i].attr[0], a->nodes[i].ishape[0].d[0]); /* C zero channels: 2C */
        }
    assert_int_equal(pads, 2);
    t = tensor_index(a, "fc.weight");
    assert_int_equal(a->tensors[t].shape[0], 10);
    assert_int_equal(a->tensors[t].shape[1], 64);
    /* stage 3's maps are 8×8 */
    const mli_node *last_add = NULL;
    for (int i = 0; i < a->nnodes; i++)
        if (a->nodes[i].op == &mli_op_add)
            last_add = &a->nodes[i];
    assert_non_null(last_add);
    assert_int_equal(last_add->shape.d[0], 64);
    assert_int_equal(last_add->shape.d[1], 8);
    assert_int_equal(last_add->shape.d[2], 8);
    /* deeper: 6n + 2 */
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, CIFAR, 56, 16, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_OK);
    assert_true(a->nparams > 850000 && a->nparams < 860000); /* He et al.: 0.85M */
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, CIFAR, 21, 16, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "depth=21"));
    free(a);
}

/* LeNet-5 of the reference (on 3×32×32: fc1 reads 16·5·5; on 1×28×28: 16·4·4) */
static void test_lenet_shapes(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_LENET, CIFAR, 0, 6, MLI_ACT_RELU, 0, MLI_LOSS_CE, 10), MLI_OK);
    size_t want = (6 * 3 * 25 + 6) + (16 * 6 * 25 + 16) + (120 * 400 + 120) + (84 * 120 + 84) + (10 * 84 + 10);
    assert_int_equal(a->nparams, want); /* 62,006 */
    assert_int_equal(a->nbuffers, 0);
    assert_int_equal(a->tensors[tensor_index(a, "fc1.weight")].shape[1], 400);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_LENET, FMNIST, 0, 6, MLI_ACT_RELU, 0, MLI_LOSS_CE, 10), MLI_OK);
    assert_int_equal(a->tensors[tensor_index(a, "fc1.weight")].shape[1], 256);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_LENET, FMNIST, 0, 6, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_EUSAGE);
    free(a);
}

/* VGG blocks: features.{i} numbered as the reference's nn.Sequential */
static void test_vgg_shapes(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_VGG, CIFAR, 3, 8, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_OK);
    /* conv 0, bn 1, relu 2, pool 3, conv 4, ... */
    assert_true(tensor_index(a, "features.0.weight") >= 0);
    assert_true(tensor_index(a, "features.1.running_mean") >= 0);
    assert_true(tensor_index(a, "features.4.weight") >= 0);
    assert_true(tensor_index(a, "features.8.bias") >= 0);
    int t = tensor_index(a, "classifier.weight");
    assert_int_equal(a->tensors[t].shape[1], 32 * 4 * 4); /* 8, 16, 32 channels; 32 → 16 → 8 → 4 */
    size_t want = (8 * 27 + 8 + 16) + (16 * 72 + 16 + 32) + (32 * 144 + 32 + 64) + (10 * 512 + 10);
    assert_int_equal(a->nparams, want);
    /* five blocks of the reference's vgg at width 64 leave 512×1×1 on CIFAR-10 */
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_VGG, CIFAR, 5, 64, MLI_ACT_RELU, 0, MLI_LOSS_CE, 10), MLI_OK);
    assert_int_equal(a->tensors[tensor_index(a, "classifier.weight")].shape[1], 512);
    /* too many blocks for 28×28 */
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_VGG, FMNIST, 5, 8, MLI_ACT_RELU, 0, MLI_LOSS_CE, 10), MLI_EUSAGE);
    free(a);
}

static void random_theta(const mli_arch *a, unsigned long seed, mli_real *theta, mli_real *bufs)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    mli_init_params(a, MLI_INIT_DEFAULT, rng, theta, bufs);
    for (size_t i = 0; i < a->nbuffers; i++) /* statistics that are not the initial ones */
        bufs[i] = (mli_real)(0.5 + gsl_rng_uniform(rng));
    for (size_t i = 0; i < a->nparams; i++) /* batch-norm γ, β not at 1, 0 */
        theta[i] += (mli_real)(0.1 * (gsl_rng_uniform(rng) - 0.5));
    gsl_rng_free(rng);
}

/* A model file rebuilds the same graph from its metadata */
static void test_model_roundtrip(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, FMNIST, 8, 4, MLI_ACT_TANH, 1, MLI_LOSS_MSE, 10), MLI_OK);
    mli_real *th = malloc(sizeof(mli_real) * a->nparams), *bf = malloc(sizeof(mli_real) * (a->nbuffers + 1));
    random_theta(a, 3, th, bf);
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_cnnarch_%d.safetensors", (int)getpid());
    assert_int_equal(mli_model_save(path, a, th, bf), MLI_OK);
    mli_real *th2, *bf2;
    assert_int_equal(mli_model_load(path, b, &th2, &bf2), MLI_OK);
    unlink(path);
    assert_int_equal(b->kind, MLI_ARCH_RESNET);
    assert_int_equal(b->depth, 8);
    assert_int_equal(b->width, 4);
    assert_int_equal(b->act, MLI_ACT_TANH);
    assert_int_equal(b->loss, MLI_LOSS_MSE);
    assert_int_equal(b->nnodes, a->nnodes);
    assert_int_equal(b->nparams, a->nparams);
    assert_memory_equal(th, th2, sizeof(mli_real) * a->nparams);
    assert_memory_equal(bf, bf2, sizeof(mli_real) * a->nbuffers);
    for (int i = 0; i < a->ntensors; i++)
        assert_string_equal(a->tensors[i].name, b->tensors[i].name);
    free(th);
    free(bf);
    free(th2);
    free(bf2);
    free(a);
    free(b);
}

static double max_abs_diff(const mli_real *x, const mli_real *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)x[i] - (double)y[i]));
    return m;
}

/* Permuting the channel groups of a ResNet (residual streams as one group) and of a LeNet
 * leaves the function unchanged, and moves the parameters. */
static void check_perm_invariance(mli_arch_kind kind, int bn, int min_groups)
{
    mli_arch *a = malloc(sizeof *a);
    int depth = kind == MLI_ARCH_RESNET ? 8 : 0, width = kind == MLI_ARCH_RESNET ? 4 : 3;
    assert_int_equal(mli_arch_cnn(a, kind, FMNIST, depth, width, MLI_ACT_RELU, bn, MLI_LOSS_CE, 10), MLI_OK);
    int node_group[MLI_MAX_NODES], gsize[MLI_MAX_NODES];
    int G = mli_perm_groups(a, node_group, gsize);
    assert_true(G >= min_groups);
    int *perm[MLI_MAX_NODES];
    for (int h = 0; h < G; h++)
        perm[h] = malloc(sizeof(int) * (size_t)gsize[h]);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    mli_random_hidden_perm(a, rng, perm);
    gsl_rng_free(rng);
    mli_real *th = malloc(sizeof(mli_real) * a->nparams), *bf = malloc(sizeof(mli_real) * (a->nbuffers + 1));
    mli_real *pt = malloc(sizeof(mli_real) * a->nparams), *pb = malloc(sizeof(mli_real) * (a->nbuffers + 1));
    random_theta(a, 4, th, bf);
    mli_permute_hidden(a, perm, th, bf, pt, pb);
    assert_true(max_abs_diff(th, pt, a->nparams) > 0.01);
    int n = 6;
    mli_real *x = malloc(sizeof(mli_real) * (size_t)n * a->input_size);
    for (int i = 0; i < n * a->input_size; i++)
        x[i] = (mli_real)sin(0.37 * i);
    mli_ws *w0 = mli_ws_new(a, n), *w1 = mli_ws_new(a, n);
    const mli_real *z0 = mli_net_forward(a, th, bf, w0, x, n, MLI_MODE_EVAL);
    const mli_real *z1 = mli_net_forward(a, pt, pb, w1, x, n, MLI_MODE_EVAL);
    double d = max_abs_diff(z0, z1, (size_t)n * 10);
    if (d > 2e-4)
        fail_msg("%s: outputs differ by %g after the permutation", mli_arch_kind_name(kind), d);
    mli_ws_free(w0);
    mli_ws_free(w1);
    for (int h = 0; h < G; h++)
        free(perm[h]);
    free(x);
    free(th);
    free(bf);
    free(pt);
    free(pb);
    free(a);
}

/* resnet-8: the three blocks' inner channels (the residual streams are tied to the data's
 * channels through the option-A shortcuts' zero channels) */
static void test_perm_resnet(void **state) { (void)state; check_perm_invariance(MLI_ARCH_RESNET, 1, 3); }
static void test_perm_resnet_nobn(void **state) { (void)state; check_perm_invariance(MLI_ARCH_RESNET, 0, 3); }
/* lenet: conv1's channels, fc1's and fc2's units (conv2's are flattened into fc1's inputs) */
static void test_perm_lenet(void **state) { (void)state; check_perm_invariance(MLI_ARCH_LENET, 0, 3); }

int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* The training workspace's rows for whole-set evaluation: 1000 for a small network, fewer for a
 * 28×28 ResNet-20 (its values within MLI_WS_EVAL_BYTES), never fewer than the minibatch */
static void test_eval_rows(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, FMNIST, 20, 16, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_OK);
    size_t per = 0;
    for (int i = 0; i < a->nnodes; i++)
        per += a->nodes[i].size * sizeof(mli_real);
    int rows = mli_ws_eval_rows(a, 16);
    assert_true(rows >= 16 && rows < 1000);
    assert_true((size_t)rows * per <= MLI_WS_EVAL_BYTES && (size_t)(rows + 1) * per > MLI_WS_EVAL_BYTES);
    assert_int_equal(mli_ws_eval_rows(a, 5000), 5000);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_LENET, FMNIST, 0, 6, MLI_ACT_RELU, 0, MLI_LOSS_CE, 10), MLI_OK);
    assert_int_equal(mli_ws_eval_rows(a, 16), 1000);
    free(a);
}


/* One training-mode forward and backward (running statistics updated) and one eval-mode
 * forward of a batch-norm ResNet-8 on 48 examples: the batch-norm passes and the rowwise
 * nodes (activations, sums, pools, zero channels) then run split over the threads (net.c,
 * op_batchnorm.c). Outputs, gradients and statistics are the same bits on 1, 2 and 3 threads. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    mli_arch *a = malloc(sizeof *a);
    assert_int_equal(mli_arch_cnn(a, MLI_ARCH_RESNET, FMNIST, 8, 4, MLI_ACT_RELU, 1, MLI_LOSS_CE, 10), MLI_OK);
    enum { N = 48 };
    size_t np = a->nparams, nb = a->nbuffers + 1, nz = (size_t)N * 10;
    mli_real *th = malloc(sizeof(mli_real) * np), *bf = malloc(sizeof(mli_real) * nb);
    mli_real *x = malloc(sizeof(mli_real) * (size_t)N * a->input_size), *dz = malloc(sizeof(mli_real) * nz);
    mli_real *ref = malloc(sizeof(mli_real) * (np + nb + 2 * nz)), *got = malloc(sizeof(mli_real) * (np + nb + 2 * nz));
    random_theta(a, 5, th, bf);
    for (size_t i = 0; i < (size_t)N * a->input_size; i++)
        x[i] = (mli_real)sin(0.37 * (double)i + 0.001 * (double)(i * i % 977));
    for (size_t i = 0; i < nz; i++)
        dz[i] = (mli_real)cos(0.5 * (double)i);
    mli_ws *w = mli_ws_new(a, N);
    int nt = openblas_get_num_threads();
    for (int k = 1; k <= 3; k++) {
        openblas_set_num_threads(k);
        mli_real *out = k == 1 ? ref : got, *b = out + np;
        memcpy(b, bf, sizeof(mli_real) * nb);
        memcpy(out + np + nb, mli_net_forward(a, th, b, w, x, N, MLI_MODE_TRAIN), sizeof(mli_real) * nz);
        mli_net_backward(a, th, b, w, x, N, MLI_MODE_TRAIN, dz, out);
        memcpy(out + np + nb + nz, mli_net_forward(a, th, b, w, x, N, MLI_MODE_EVAL), sizeof(mli_real) * nz);
        if (k > 1 && memcmp(ref, got, sizeof(mli_real) * (np + nb + 2 * nz)))
            fail_msg("%d threads: %g off the serial gradient, %g off its statistics, %g off its outputs", k,
                     max_abs_diff(ref, got, np), max_abs_diff(ref + np, got + np, nb),
                     max_abs_diff(ref + np + nb, got + np + nb, 2 * nz));
    }
    openblas_set_num_threads(nt);
    assert_true(max_abs_diff(ref + np, bf, nb) > 1e-3); /* the statistics moved */
    mli_ws_free(w);
    free(th);
    free(bf);
    free(x);
    free(dz);
    free(ref);
    free(got);
    free(a);
}

/* Normalisation by channel, and augmentation: deterministic in (seed, stream), a permutation
 * of pixels or zeros (crop and flip), different for another stream. */
static void test_augment(void **state)
{
    (void)state;
    int shape[3] = {2, 5, 6}, d = 60, B = 4;
    mli_real x[240], y[240], z[240], work[60];
    for (int i = 0; i < B * d; i++)
        x[i] = (mli_real)(1 + i);
    memcpy(y, x, sizeof x);
    memcpy(z, x, sizeof x);
    mli_data_augment(y, B, shape, 2, 7, 11, work);
    mli_data_augment(z, B, shape, 2, 7, 11, work);
    assert_memory_equal(y, z, sizeof y);
    for (int i = 0; i < B * d; i++) { /* each value is its own image's pixel of its own channel, or 0 */
        int img = i / d, c = (i % d) / 30;
        double v = y[i];
        assert_true(v == 0 || (v >= 1 + img * d + c * 30 && v <= img * d + (c + 1) * 30));
    }
    memcpy(z, x, sizeof x);
    mli_data_augment(z, B, shape, 2, 7, 12, work);
    assert_true(max_abs_diff(y, z, 240) > 0);
    mli_data data = {.n = B, .d = d, .x = x};
    const double mean[2] = {1, 2}, sd[2] = {2, 4};
    mli_data_normalize(&data, shape, mean, sd);
    assert_true(fabs(x[0] - 0.0) < 1e-6);
    assert_true(fabs(x[30] - (31.0 - 2) / 4) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet20_count), cmocka_unit_test(test_lenet_shapes),
        cmocka_unit_test(test_vgg_shapes),     cmocka_unit_test(test_model_roundtrip),
        cmocka_unit_test(test_perm_resnet),    cmocka_unit_test(test_perm_resnet_nobn),
        cmocka_unit_test(test_perm_lenet),     cmocka_unit_test(test_augment),
        cmocka_unit_test(test_threads_same_bits), cmocka_unit_test(test_eval_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
