/* Data sets: tiny fake FashionMNIST and CIFAR-10 folders written here, the search for the
 * folder, the synthetic sets, label corruption, and the real FashionMNIST when installed. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "io/atomic.h"
#include "io/err.h"

#define NTRAIN 50
#define NTEST 20
#define SYSTEM_FMNIST "/usr/share/datasets/fashion-mnist"

/* Pixel j of image i: covers 0 and 255 and everything between. */
static unsigned char pixel(int i, int j) { return (unsigned char)(j == 0 ? 255 : (i * 7 + j) % 256); }

static void write_idx(const char *dir, const char *name, int ndim, const uint32_t *dims,
                      const unsigned char *data, size_t n, int gz)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    unsigned char hdr[4 + 16] = {0, 0, 8, (unsigned char)ndim};
    for (int i = 0; i < ndim; i++)
        for (int j = 0; j < 4; j++)
            hdr[4 + 4 * i + j] = (unsigned char)(dims[i] >> (24 - 8 * j));
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, hdr, 4 + 4 * (unsigned)ndim), 4 + 4 * ndim);
        assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(hdr, 1, 4 + 4 * (size_t)ndim, f), 4 + 4 * (size_t)ndim);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fclose(f);
    }
}

typedef struct {
    int nlabels_train; /* labels in the train file (NTRAIN unless testing a mismatch) */
    int bad_label_at;  /* example whose label is 10, or -1 */
    int test_side;     /* side of the test images (28 unless testing a mismatch) */
} fake_opts;

/* A fake FashionMNIST: training files gzipped, test files not (both must be read). */
static void write_fake(const char *dir, fake_opts o)
{
    mli_mkdirs(dir);
    const char *prefix[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        int n = s ? NTEST : NTRAIN, side = s ? o.test_side : 28;
        int nl = s ? NTEST : o.nlabels_train;
        unsigned char *im = malloc((size_t)n * side * side), *lb = malloc((size_t)nl);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < side * side; j++)
                im[(size_t)i * side * side + j] = pixel(i + 1000 * s, j);
        for (int i = 0; i < nl; i++)
            lb[i] = (unsigned char)((i + s) % 10);
        if (!s && o.bad_label_at >= 0)
            lb[o.bad_label_at] = 10;
        char name[64];
        uint32_t di[3] = {(uint32_t)n, (uint32_t)side, (uint32_t)side}, dl[1] = {(uint32_t)nl};
        snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix[s]);
        write_idx(dir, name, 3, di, im, (size_t)n * side * side, !s);
        snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix[s]);
        write_idx(dir, name, 1, dl, lb, (size_t)nl, !s);
        free(im);
        free(lb);
    }
}

static const fake_opts GOOD = {NTRAIN, -1, 28};

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void check_fake(const mli_dataset *ds, int ntrain, const char *dir)
{
    assert_string_equal(ds->name, "fashionmnist");
    assert_int_equal(ds->train.n, ntrain);
    assert_int_equal(ds->test.n, NTEST);
    for (int s = 0; s < 2; s++) {
        const mli_data *d = s ? &ds->test : &ds->train;
        assert_int_equal(d->d, 784);
        assert_int_equal(d->k, 10);
        assert_null(d->t);
        for (int i = 0; i < d->n; i++) {
            assert_int_equal(d->y[i], (i + s) % 10);
            assert_true(d->x[(size_t)i * 784] == (mli_real)1.0); /* 255 → exactly 1 */
            for (int j = 0; j < 784; j++)
                assert_true(d->x[(size_t)i * 784 + j] ==
                            (mli_real)pixel(i + 1000 * s, j) / (mli_real)255);
        }
    }
    const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    assert_int_equal(ds->nfiles, 4);
    for (int i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_string_equal(ds->files[i].path, path);
        assert_int_equal(ds->files[i].bytes, file_size(path));
    }
}

static void test_fake_data_dir(void **state)
{
    const char *dir = tu_tmpdir("fmnist");
    write_fake(dir, GOOD);
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("fashionmnist", dir, 0, NULL, 1, &ds), MLI_OK);
    check_fake(&ds, NTRAIN, dir);
    mli_dataset_free(&ds);
    assert_null(ds.train.x);
    assert_int_equal(ds.nfiles, 0);
}

static void test_fake_data_root(void **state)
{
    char root[1024], dir[1100], found[4096];
    snprintf(root, sizeof root, "%s", tu_tmpdir("root"));
    snprintf(dir, sizeof dir, "%s/fashion-mnist", root);
    write_fake(dir, GOOD);
    setenv("MLI_DATA_ROOT", root, 1);
    assert_int_equal(mli_dataset_locate("fashionmnist", NULL, found, sizeof found), MLI_OK);
    assert_string_equal(found, dir);
    mli_dataset ds;
    int rc = mli_dataset_load("fashionmnist", NULL, -1, NULL, 1, &ds);
    unsetenv("MLI_DATA_ROOT");
    assert_int_equal(rc, MLI_OK);
    check_fake(&ds, NTRAIN, dir);
    mli_dataset_free(&ds);
}

static void test_datasize(void **state)
{
    const char *dir = tu_tmpdir("dsize");
    write_fake(dir, GOOD);
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("fashionmnist", dir, 7, NULL, 1, &ds), MLI_OK);
    check_fake(&ds, 7, dir);
    mli_dataset_free(&ds);
    assert_int_equal(mli_dataset_load("fashionmnist", dir, NTRAIN, NULL, 1, &ds), MLI_OK);
    assert_int_equal(ds.train.n, NTRAIN);
    mli_dataset_free(&ds);
    assert_int_equal(mli_dataset_load("fashionmnist", dir, NTRAIN + 1, NULL, 1, &ds), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "datasize 51"));
    assert_non_null(strstr(mli_errmsg(), "50 training examples"));
    assert_null(ds.train.x);
}

static void expect_input_error(const char *dir, const char *what)
{
    mli_dataset ds;
    int rc = mli_dataset_load("fashionmnist", dir, 0, NULL, 1, &ds);
    if (rc != MLI_EINPUT || !strstr(mli_errmsg(), what))
        fail_msg("status %d, message \"%s\", expected MLI_EINPUT and \"%s\"", rc, mli_errmsg(),
                 what);
    assert_null(ds.train.x);
    assert_null(ds.test.x);
}

static void test_count_mismatch(void **state)
{
    const char *dir = tu_tmpdir("mismatch");
    write_fake(dir, (fake_opts){NTRAIN - 1, -1, 28});
    expect_input_error(dir, "holds 50 images but");
    assert_non_null(strstr(mli_errmsg(), "holds 49 labels"));
}

static void test_bad_label(void **state)
{
    const char *dir = tu_tmpdir("label10");
    write_fake(dir, (fake_opts){NTRAIN, 33, 28});
    expect_input_error(dir, "label 10 of example 33");
}

static void test_test_shape_mismatch(void **state)
{
    const char *dir = tu_tmpdir("shape");
    write_fake(dir, (fake_opts){NTRAIN, -1, 14});
    expect_input_error(dir, "test images have 196 pixels, training images 784");
}

static void test_missing_labels_file(void **state)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("nolabels"));
    write_fake(dir, GOOD);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    assert_int_equal(unlink(path), 0);
    expect_input_error(dir, "t10k-labels-idx1-ubyte.gz: missing");
}

static void test_images_not_3d(void **state)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("not3d"));
    write_fake(dir, GOOD);
    unsigned char px[2 * 784] = {0};
    uint32_t dims[2] = {2, 784};
    char path[1100];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    unlink(path);
    write_idx(dir, "train-images-idx3-ubyte", 2, dims, px, sizeof px, 0);
    expect_input_error(dir, "2 dimensions, expected 3");
}

/* Every candidate folder is named in the message, with how to get the data. */
static void test_not_found(void **state)
{
    char root[1024], cwd[4096], msg[1024];
    snprintf(root, sizeof root, "%s", tu_tmpdir("emptyroot"));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(root), 0); /* so that ./data/<folder> does not exist */
    setenv("MLI_DATA_ROOT", root, 1);
    struct stat st;
    int have_mnist = stat("/usr/share/datasets/mnist", &st) == 0;
    int have_fmnist = stat(SYSTEM_FMNIST, &st) == 0;
    char found[4096], fmsg[1024];
    int rc_m = mli_dataset_locate("mnist", NULL, found, sizeof found);
    snprintf(msg, sizeof msg, "%s", mli_errmsg());
    int rc_f = mli_dataset_locate("fashionmnist", NULL, found, sizeof found);
    snprintf(fmsg, sizeof fmsg, "%s", mli_errmsg());
    unsetenv("MLI_DATA_ROOT");
    assert_int_equal(chdir(cwd), 0);
    char want[1100];
    snprintf(want, sizeof want, "%s/mnist/", root);
    if (!have_mnist) {
        assert_int_equal(rc_m, MLI_EINPUT);
        assert_non_null(strstr(msg, want));
        assert_non_null(strstr(msg, "./data/mnist/"));
        assert_non_null(strstr(msg, "/usr/share/datasets/mnist/"));
        assert_non_null(strstr(msg, "download the standard files into data/mnist/"));
        assert_non_null(strstr(msg, "data/README.md"));
    }
    if (!have_fmnist) {
        snprintf(want, sizeof want, "%s/fashion-mnist/", root);
        assert_int_equal(rc_f, MLI_EINPUT);
        assert_non_null(strstr(fmsg, want));
        assert_non_null(strstr(fmsg, "./data/fashion-mnist/"));
        assert_non_null(strstr(fmsg, SYSTEM_FMNIST "/"));
        assert_non_null(strstr(fmsg, "apt-get install dataset-fashion-mnist"));
    } else {
        assert_int_equal(rc_f, MLI_OK); /* found in the system folder, the last candidate */
        assert_string_equal(found, SYSTEM_FMNIST);
    }
    /* An explicit data_dir is the only candidate, even when the data is installed. */
    snprintf(want, sizeof want, "%s/nothing-here", root);
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("fashionmnist", want, 0, NULL, 1, &ds), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), want));
    assert_non_null(strstr(mli_errmsg(), "apt-get install dataset-fashion-mnist"));
}

static void test_names(void **state)
{
    assert_string_equal(mli_dataset_folder("fashionmnist"), "fashion-mnist");
    assert_string_equal(mli_dataset_folder("mnist"), "mnist");
    assert_string_equal(mli_dataset_folder("cifar10"), "cifar-10");
    assert_null(mli_dataset_folder("gaussmix"));
    assert_null(mli_dataset_folder("FashionMNIST"));
    assert_null(mli_dataset_folder(NULL));
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("imagenet", NULL, 0, NULL, 1, &ds), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "fashionmnist, mnist, cifar10, gaussmix, teacher"));
    char dir[64];
    assert_int_equal(mli_dataset_locate("svhn", NULL, dir, sizeof dir), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "gaussmix"));
    assert_int_equal(mli_dataset_locate("teacher", NULL, dir, sizeof dir), MLI_EUSAGE);
    mli_dataset zero = {0};
    mli_dataset_free(&zero); /* safe on a zeroed struct */
}

/* ---- CIFAR-10 ---- */

#define CREC 3073
static const int cifar_counts[6] = {3, 2, 2, 2, 2, 4}; /* batches 1..5, then test */

static unsigned char cifar_byte(int file, int rec, int j) { return (unsigned char)(file * 37 + rec * 11 + j); }

static void write_cifar(const char *dir, int bad_size)
{
    mli_mkdirs(dir);
    for (int f = 0; f < 6; f++) {
        char path[1100];
        if (f < 5)
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
        else
            snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        size_t n = (size_t)cifar_counts[f] * CREC;
        unsigned char *b = malloc(n + 1);
        for (int r = 0; r < cifar_counts[f]; r++) {
            b[(size_t)r * CREC] = (unsigned char)((f + r) % 10);
            for (int j = 0; j < 3072; j++)
                b[(size_t)r * CREC + 1 + j] = cifar_byte(f, r, j);
        }
        tu_write_file(path, b, n + (bad_size && f == 1));
        free(b);
    }
}

static void test_cifar(void **state)
{
    char root[1024], dir[1100];
    snprintf(root, sizeof root, "%s", tu_tmpdir("cifar"));
    snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", root); /* as the archive unpacks */
    write_cifar(dir, 0);
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("cifar10", root, 0, NULL, 1, &ds), MLI_OK);
    assert_int_equal(ds.train.n, 11);
    assert_int_equal(ds.test.n, 4);
    assert_int_equal(ds.nfiles, 6);
    assert_non_null(strstr(ds.files[5].path, "cifar-10-batches-bin/test_batch.bin"));
    assert_int_equal(ds.files[0].bytes, 3 * CREC);
    int i = 0;
    for (int f = 0; f < 6; f++) {
        const mli_data *d = f < 5 ? &ds.train : &ds.test;
        if (f == 5)
            i = 0;
        assert_int_equal(d->d, 3072);
        assert_int_equal(d->k, 10);
        for (int r = 0; r < cifar_counts[f]; r++, i++) {
            assert_int_equal(d->y[i], (f + r) % 10);
            for (int j = 0; j < 3072; j++)
                assert_true(d->x[(size_t)i * 3072 + j] ==
                            (mli_real)cifar_byte(f, r, j) / (mli_real)255);
        }
    }
    mli_dataset_free(&ds);
    /* datasize spans batches: 3 from the first, 1 from the second. */
    assert_int_equal(mli_dataset_load("cifar10", dir, 4, NULL, 1, &ds), MLI_OK);
    assert_int_equal(ds.train.n, 4);
    assert_int_equal(ds.train.y[3], 1);
    assert_true(ds.train.x[3 * 3072 + 5] == (mli_real)cifar_byte(1, 0, 5) / (mli_real)255);
    assert_int_equal(ds.test.n, 4);
    mli_dataset_free(&ds);
    assert_int_equal(mli_dataset_load("cifar10", dir, 12, NULL, 1, &ds), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "datasize 12 is more than the 11"));
}

static void test_cifar_bad_size(void **state)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("cifarbad"));
    write_cifar(dir, 1);
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("cifar10", dir, 0, NULL, 1, &ds), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "data_batch_2.bin: 6147 bytes"));
    assert_non_null(strstr(mli_errmsg(), "3073"));
    assert_null(ds.train.x);
}

/* ---- synthetic sets ---- */

static int same_data(const mli_data *a, const mli_data *b)
{
    size_t nx = (size_t)a->n * a->d;
    return a->n == b->n && a->d == b->d && a->k == b->k &&
           memcmp(a->x, b->x, nx * sizeof *a->x) == 0 &&
           memcmp(a->y, b->y, (size_t)a->n * sizeof *a->y) == 0;
}

static void test_gaussmix(void **state)
{
    mli_synth_opts o = {.dim = 16, .classes = 4, .ntest = 300};
    mli_dataset a, b, c;
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 2000, &o, 42, &a), MLI_OK);
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 2000, &o, 42, &b), MLI_OK);
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 2000, &o, 43, &c), MLI_OK);
    assert_int_equal(a.train.n, 2000);
    assert_int_equal(a.test.n, 300);
    assert_int_equal(a.train.d, 16);
    assert_int_equal(a.train.k, 4);
    assert_null(a.train.t);
    assert_int_equal(a.nfiles, 0);
    assert_true(same_data(&a.train, &b.train));
    assert_true(same_data(&a.test, &b.test));
    assert_false(same_data(&a.train, &c.train));
    assert_false(same_data(&a.test, &c.test));
    /* Train and test are different streams, not the same draws. */
    assert_true(memcmp(a.train.x, a.test.x, 300 * 16 * sizeof(mli_real)) != 0);
    int count[4] = {0};
    int outside = 0;
    for (int i = 0; i < a.train.n; i++) {
        assert_in_range(a.train.y[i], 0, 3);
        count[a.train.y[i]]++;
        for (int j = 0; j < 16; j++)
            outside += a.train.x[i * 16 + j] < 0 || a.train.x[i * 16 + j] > 1;
    }
    for (int k = 0; k < 4; k++) /* balanced: 500 expected, binomial sd ≈ 19 */
        assert_in_range(count[k], 400, 600);
    assert_true(outside > 2000); /* not clipped to [0,1] */
    mli_dataset_free(&a);
    mli_dataset_free(&b);
    mli_dataset_free(&c);
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 0, &o, 1, &a), MLI_OK);
    assert_int_equal(a.train.n, 60000); /* default size */
    mli_dataset_free(&a);
}

/* The classes are separable by the class means, but not perfectly: a nearest-centroid
 * rule fit on the training split is well above chance and below 100% on the test split. */
static void test_gaussmix_learnable(void **state)
{
    mli_synth_opts o = {.dim = 32, .classes = 10, .ntest = 2000};
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 10000, &o, 7, &ds), MLI_OK);
    int d = o.dim, k = o.classes;
    double c[10 * 32] = {0};
    int cnt[10] = {0};
    for (int i = 0; i < ds.train.n; i++) {
        cnt[ds.train.y[i]]++;
        for (int j = 0; j < d; j++)
            c[ds.train.y[i] * d + j] += ds.train.x[i * d + j];
    }
    for (int a = 0; a < k; a++)
        for (int j = 0; j < d; j++)
            c[a * d + j] /= cnt[a];
    int ok = 0;
    for (int i = 0; i < ds.test.n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int a = 0; a < k; a++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                double e = ds.test.x[i * d + j] - c[a * d + j];
                s += e * e;
            }
            if (s < bd) {
                bd = s;
                best = a;
            }
        }
        ok += best == ds.test.y[i];
    }
    double acc = (double)ok / ds.test.n;
    print_message("gaussmix d=32 k=10 nearest-centroid test accuracy %.3f\n", acc);
    assert_true(acc > 0.6 && acc < 0.97);
    mli_dataset_free(&ds);
}

static void test_teacher(void **state)
{
    mli_synth_opts o = {.dim = 8, .classes = 3, .ntest = 100};
    mli_dataset a, b, c;
    assert_int_equal(mli_dataset_load("teacher", NULL, 1000, &o, 5, &a), MLI_OK);
    assert_int_equal(mli_dataset_load("teacher", NULL, 1000, &o, 5, &b), MLI_OK);
    assert_int_equal(mli_dataset_load("teacher", NULL, 1000, &o, 6, &c), MLI_OK);
    assert_int_equal(a.train.n, 1000);
    assert_int_equal(a.test.n, 100);
    assert_int_equal(a.train.d, 8);
    assert_int_equal(a.train.k, 3);
    assert_int_equal(a.nfiles, 0);
    assert_true(same_data(&a.train, &b.train));
    assert_true(same_data(&a.test, &b.test));
    assert_false(same_data(&a.train, &c.train));
    double sum = 0, sq = 0;
    for (int s = 0; s < 2; s++) {
        const mli_data *d = s ? &a.test : &a.train;
        assert_non_null(d->t); /* the caller fills it */
        for (int i = 0; i < d->n * d->k; i++)
            assert_true(d->t[i] == 0);
        for (int i = 0; i < d->n; i++)
            assert_int_equal(d->y[i], 0);
    }
    for (int i = 0; i < 8000; i++) {
        sum += a.train.x[i];
        sq += a.train.x[i] * a.train.x[i];
    }
    assert_true(fabs(sum / 8000) < 0.05 && fabs(sq / 8000 - 1) < 0.08); /* N(0, 1) */
    mli_dataset_free(&a);
    mli_dataset_free(&b);
    mli_dataset_free(&c);
}

static void test_synth_bad_opts(void **state)
{
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 10, NULL, 1, &ds), MLI_EUSAGE);
    mli_synth_opts o = {.dim = 0, .classes = 3, .ntest = 10};
    assert_int_equal(mli_dataset_load("teacher", NULL, 10, &o, 1, &ds), MLI_EUSAGE);
    o = (mli_synth_opts){.dim = 3, .classes = 1, .ntest = 10};
    assert_int_equal(mli_dataset_load("gaussmix", NULL, 10, &o, 1, &ds), MLI_EUSAGE);
    assert_non_null(strstr(mli_errmsg(), "classes >= 2"));
    assert_null(ds.train.x);
}

/* ---- label corruption ---- */

static void test_corrupt_labels(void **state)
{
    enum { N = 1000, K = 7 };
    int y1[N], y2[N], y3[N];
    mli_data d = {.n = N, .d = 1, .k = K, .y = y1};
    /* A sentinel outside [0, K) shows every chosen example, even one given its old label. */
    for (int i = 0; i < N; i++)
        y1[i] = y2[i] = y3[i] = -1;
    mli_data_corrupt_labels(&d, 0.3, 11);
    d.y = y2;
    mli_data_corrupt_labels(&d, 0.3, 11);
    d.y = y3;
    mli_data_corrupt_labels(&d, 0.3, 12);
    int changed = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        changed += y1[i] != -1;
        differ += y1[i] != y3[i];
        if (y1[i] != -1)
            assert_in_range(y1[i], 0, K - 1);
    }
    assert_int_equal(changed, 300);
    assert_memory_equal(y1, y2, sizeof y1);
    assert_true(differ > 100);
    /* p = 0 (and NaN) change nothing; p > 1 is clamped to all. */
    int y0[N];
    for (int i = 0; i < N; i++)
        y0[i] = i % K;
    memcpy(y1, y0, sizeof y0);
    d.y = y1;
    mli_data_corrupt_labels(&d, 0.0, 3);
    mli_data_corrupt_labels(&d, NAN, 3);
    mli_data_corrupt_labels(&d, -0.5, 3);
    assert_memory_equal(y1, y0, sizeof y0);
    for (int i = 0; i < N; i++)
        y1[i] = -1;
    mli_data_corrupt_labels(&d, 1.5, 3);
    for (int i = 0; i < N; i++)
        assert_in_range(y1[i], 0, K - 1);
    /* round(p·n): 0.5 × 5 = 2.5 rounds to 3. */
    int y5[5] = {-1, -1, -1, -1, -1};
    mli_data d5 = {.n = 5, .d = 1, .k = K, .y = y5};
    mli_data_corrupt_labels(&d5, 0.5, 3);
    changed = 0;
    for (int i = 0; i < 5; i++)
        changed += y5[i] != -1;
    assert_int_equal(changed, 3);
}

/* ---- the real data set, when installed ---- */

static void test_real_fashionmnist(void **state)
{
    struct stat st;
    if (stat(SYSTEM_FMNIST, &st) != 0) {
        print_message("%s not installed: skipped\n", SYSTEM_FMNIST);
        skip();
    }
    mli_dataset ds;
    assert_int_equal(mli_dataset_load("fashionmnist", SYSTEM_FMNIST, 0, NULL, 1, &ds), MLI_OK);
    assert_int_equal(ds.train.n, 60000);
    assert_int_equal(ds.test.n, 10000);
    assert_int_equal(ds.train.d, 784);
    assert_int_equal(ds.test.d, 784);
    assert_int_equal(ds.train.k, 10);
    assert_int_equal(ds.nfiles, 4);
    int count[10] = {0}, tcount[10] = {0};
    for (int i = 0; i < ds.train.n; i++)
        count[ds.train.y[i]]++;
    for (int i = 0; i < ds.test.n; i++)
        tcount[ds.test.y[i]]++;
    for (int k = 0; k < 10; k++) {
        assert_int_equal(count[k], 6000);
        assert_int_equal(tcount[k], 1000);
    }
    mli_real lo = 1, hi = 0;
    double sum = 0;
    for (size_t i = 0; i < (size_t)ds.train.n * 784; i++) {
        lo = ds.train.x[i] < lo ? ds.train.x[i] : lo;
        hi = ds.train.x[i] > hi ? ds.train.x[i] : hi;
        sum += ds.train.x[i];
    }
    assert_true(lo == 0 && hi == 1);
    /* The mean pixel of FashionMNIST's training set is 0.2860 (the usual normalisation). */
    assert_true(fabs(sum / (60000.0 * 784) - 0.2860) < 0.001);
    mli_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_data_dir),     cmocka_unit_test(test_fake_data_root),
        cmocka_unit_test(test_datasize),          cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_bad_label),         cmocka_unit_test(test_test_shape_mismatch),
        cmocka_unit_test(test_missing_labels_file), cmocka_unit_test(test_images_not_3d),
        cmocka_unit_test(test_not_found),         cmocka_unit_test(test_names),
        cmocka_unit_test(test_cifar),             cmocka_unit_test(test_cifar_bad_size),
        cmocka_unit_test(test_gaussmix),          cmocka_unit_test(test_gaussmix_learnable),
        cmocka_unit_test(test_teacher),           cmocka_unit_test(test_synth_bad_opts),
        cmocka_unit_test(test_corrupt_labels),    cmocka_unit_test(test_real_fashionmnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
