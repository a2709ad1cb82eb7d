/* IDX reader and gunzip: round trips of files written here, and malformed files, each of
 * which must be rejected with MLI_EINPUT and a message naming the file and the fault. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zlib.h>

#include "data/idx.h"
#include "io/err.h"

typedef struct {
    unsigned char *p;
    size_t n;
} buf;

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* An IDX image: header for the given dims, then data_len bytes of a pattern. */
static buf make_idx(int type, int ndim, const uint32_t *dims, size_t data_len)
{
    buf b;
    b.n = 4 + 4 * (size_t)ndim + data_len;
    b.p = malloc(b.n);
    b.p[0] = 0;
    b.p[1] = 0;
    b.p[2] = (unsigned char)type;
    b.p[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int j = 0; j < 4; j++)
            b.p[4 + 4 * i + j] = (unsigned char)(dims[i] >> (24 - 8 * j));
    for (size_t i = 0; i < data_len; i++)
        b.p[4 + 4 * ndim + i] = (unsigned char)(i * 31 + 7);
    return b;
}

static buf make_bytes(const void *p, size_t n)
{
    buf b = {malloc(n ? n : 1), n};
    memcpy(b.p, p, n);
    return b;
}

/* gzip in memory (deflate with a gzip wrapper), so the tests can cut and corrupt it. */
static buf gzip_bytes(const buf *in)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    buf out;
    out.n = deflateBound(&s, in->n) + 32;
    out.p = malloc(out.n);
    s.next_in = in->p;
    s.avail_in = (uInt)in->n;
    s.next_out = out.p;
    s.avail_out = (uInt)out.n;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    out.n = s.total_out;
    deflateEnd(&s);
    return out;
}

static const char *write_tmp(const char *name, const buf *b)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir("idx"), name);
    tu_write_file(path, b->p, b->n);
    return path;
}

static void check_same(const mli_idx *x, int ndim, const uint32_t *dims, const buf *src)
{
    assert_int_equal(x->ndim, ndim);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(x->dims[i], dims[i]);
        n *= dims[i];
    }
    assert_int_equal(x->n, n);
    assert_memory_equal(x->data, src->p + 4 + 4 * ndim, n);
}

static void test_roundtrip_raw(void **state)
{
    uint32_t d1[] = {1000}, d3[] = {7, 28, 28};
    buf a = make_idx(8, 1, d1, 1000), b = make_idx(8, 3, d3, 7 * 28 * 28);
    mli_idx x;
    assert_int_equal(mli_idx_read(write_tmp("labels-idx1-ubyte", &a), &x), MLI_OK);
    check_same(&x, 1, d1, &a);
    mli_idx_free(&x);
    assert_int_equal(mli_idx_read(write_tmp("images-idx3-ubyte", &b), &x), MLI_OK);
    check_same(&x, 3, d3, &b);
    mli_idx_free(&x);
    assert_null(x.data);
    assert_int_equal(x.n, 0);
    assert_int_equal(mli_idx_parse(b.p, b.n, "mem", &x), MLI_OK);
    check_same(&x, 3, d3, &b);
    mli_idx_free(&x);
    buf_free(&a);
    buf_free(&b);
}

/* Through zlib's own file API, as the real .gz files are made. */
static void test_roundtrip_gzfile(void **state)
{
    uint32_t d3[] = {5, 4, 3, 2};
    buf b = make_idx(8, 4, d3, 5 * 4 * 3 * 2);
    char path[1024];
    snprintf(path, sizeof path, "%s/x-idx4-ubyte.gz", tu_tmpdir("idxgz"));
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, b.p, (unsigned)b.n), (int)b.n);
    assert_int_equal(gzclose(g), Z_OK);
    mli_idx x;
    assert_int_equal(mli_idx_read(path, &x), MLI_OK);
    check_same(&x, 4, d3, &b);
    mli_idx_free(&x);
    buf_free(&b);
}

static void test_roundtrip_gzip_mem(void **state)
{
    uint32_t d1[] = {60000};
    buf a = make_idx(8, 1, d1, 60000);
    buf z = gzip_bytes(&a);
    assert_true(z.n < a.n / 10); /* the pattern compresses: this is really gzip */
    mli_idx x;
    assert_int_equal(mli_idx_read(write_tmp("l-idx1-ubyte.gz", &z), &x), MLI_OK);
    check_same(&x, 1, d1, &a);
    mli_idx_free(&x);
    unsigned char *out;
    size_t outlen;
    assert_int_equal(mli_gunzip(z.p, z.n, "mem", 1 << 20, &out, &outlen), MLI_OK);
    assert_int_equal(outlen, a.n);
    assert_memory_equal(out, a.p, a.n);
    free(out);
    /* One byte under the decompressed size is refused, exactly the size is not. */
    assert_int_equal(mli_gunzip(z.p, z.n, "mem", a.n - 1, &out, &outlen), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "more than"));
    assert_null(out);
    assert_int_equal(mli_gunzip(z.p, z.n, "mem", a.n, &out, &outlen), MLI_OK);
    free(out);
    buf_free(&z);
    buf_free(&a);
}

/* `cat a.gz b.gz` is a valid gzip file holding a then b. */
static void test_gzip_concatenated(void **state)
{
    uint32_t d1[] = {300};
    buf a = make_idx(8, 1, d1, 300);
    buf head = make_bytes(a.p, 100), tail = make_bytes(a.p + 100, a.n - 100);
    buf z1 = gzip_bytes(&head), z2 = gzip_bytes(&tail);
    buf cat = {malloc(z1.n + z2.n), z1.n + z2.n};
    memcpy(cat.p, z1.p, z1.n);
    memcpy(cat.p + z1.n, z2.p, z2.n);
    mli_idx x;
    assert_int_equal(mli_idx_read(write_tmp("cat.gz", &cat), &x), MLI_OK);
    check_same(&x, 1, d1, &a);
    mli_idx_free(&x);
    buf *all[] = {&a, &head, &tail, &z1, &z2, &cat};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
}

static void test_gunzip_plain_copy(void **state)
{
    const unsigned char raw[] = "not compressed";
    unsigned char *out;
    size_t n;
    assert_int_equal(mli_gunzip(raw, sizeof raw, "mem", 100, &out, &n), MLI_OK);
    assert_int_equal(n, sizeof raw);
    assert_memory_equal(out, raw, n);
    free(out);
    assert_int_equal(mli_gunzip(raw, sizeof raw, "mem", 3, &out, &n), MLI_EINPUT);
    assert_int_equal(mli_gunzip(raw, 0, "mem", 3, &out, &n), MLI_OK);
    assert_int_equal(n, 0);
    free(out);
}

static void test_missing_file(void **state)
{
    mli_idx x;
    assert_int_equal(mli_idx_read("/nonexistent/dir/train-images-idx3-ubyte.gz", &x), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "/nonexistent/dir/train-images-idx3-ubyte.gz"));
    assert_null(x.data);
}

/* A gzip file whose IDX header declares few bytes but whose data inflates to `total` bytes
 * of zeros after them, compressed chunk by chunk so that the test itself never holds more
 * than a megabyte of it (64 MB of zeros compress to about 64 KB). */
static buf gzip_bomb(const uint32_t *dims, int ndim, size_t total)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    buf head = make_idx(8, ndim, dims, 0);
    size_t chunk = 1 << 20, cap = 1 << 20;
    unsigned char *zeros = calloc(chunk, 1);
    buf out = {malloc(cap), 0};
    for (size_t done = 0, step = 0; step == 0 || done < total; step++) {
        size_t n = step == 0 ? head.n : total - done < chunk ? total - done : chunk;
        s.next_in = step == 0 ? head.p : zeros;
        s.avail_in = (uInt)n;
        done += step == 0 ? 0 : n;
        int flush = step > 0 && done >= total ? Z_FINISH : Z_NO_FLUSH;
        int zr;
        do {
            if (out.n + 65536 > cap)
                out.p = realloc(out.p, cap *= 2);
            s.next_out = out.p + out.n;
            s.avail_out = (uInt)(cap - out.n);
            zr = deflate(&s, flush);
            out.n = cap - s.avail_out;
        } while (s.avail_in > 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    }
    deflateEnd(&s);
    free(zeros);
    buf_free(&head);
    return out;
}

static long maxrss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* Issue 9: a small gzip file that inflates far beyond what its header declares is refused
 * as soon as the excess appears, without buffering it: the reader's peak memory stays near
 * what the header asks for. (First test of the program, so that the high-water mark of
 * resident memory measures this read alone.) */
static void test_gzip_bomb_bounded(void **state)
{
    (void)state;
    uint32_t d[] = {1000};
    buf z = gzip_bomb(d, 1, (size_t)64 << 20);
    assert_true(z.n < (1 << 20)); /* really a bomb: 64 MB from well under 1 MB */
    const char *path = write_tmp("bomb-idx1-ubyte.gz", &z);
    buf_free(&z);
    long before = maxrss_kb();
    mli_idx x;
    int rc = mli_idx_read(path, &x);
    long grew = maxrss_kb() - before;
    if (rc != MLI_EINPUT || !strstr(mli_errmsg(), "oversized") || !strstr(mli_errmsg(), "bomb-idx1-ubyte.gz"))
        fail_msg("status %d, message \"%s\", expected MLI_EINPUT and oversized", rc, mli_errmsg());
    assert_null(x.data);
    if (grew > 16 * 1024)
        fail_msg("reading a 1000-byte IDX file inflating to 64 MB raised the peak memory by %ld KB", grew);
    /* a header asking for more than a small file can hold: refused before allocating it */
    uint32_t big[] = {65536, 32767}; /* just under 2 GiB */
    z = gzip_bomb(big, 2, 100);
    path = write_tmp("claims-idx2-ubyte.gz", &z);
    buf_free(&z);
    before = maxrss_kb();
    rc = mli_idx_read(path, &x);
    grew = maxrss_kb() - before;
    if (rc != MLI_EINPUT || !strstr(mli_errmsg(), "truncated: header says 65536×32767"))
        fail_msg("status %d, message \"%s\"", rc, mli_errmsg());
    if (grew > 16 * 1024)
        fail_msg("a header declaring 2 GiB in a tiny file raised the peak memory by %ld KB", grew);
}

static void test_empty_free(void **state)
{
    mli_idx x = {0};
    mli_idx_free(&x); /* safe on a zeroed struct */
    mli_idx_free(&x);
    assert_null(x.data);
}

/* ---- malformed files: one builder per case ---- */

typedef struct {
    const char *name;
    buf (*make)(void);
    const char *expect; /* in the message */
} bad_case;

static buf raw_valid(void)
{
    uint32_t d[] = {3, 4, 5};
    return make_idx(8, 3, d, 60);
}
static buf gz_valid(void)
{
    buf r = raw_valid(), z = gzip_bytes(&r);
    buf_free(&r);
    return z;
}

static buf b_empty(void) { return make_bytes("", 0); }
static buf b_one_byte(void) { return make_bytes("\0", 1); }
static buf b_three_bytes(void) { return make_bytes("\0\0\x08", 3); }
static buf b_magic1(void)
{
    buf b = raw_valid();
    b.p[0] = 1;
    return b;
}
static buf b_magic2(void)
{
    buf b = raw_valid();
    b.p[1] = 0x80;
    return b;
}
static buf b_type_int(void)
{
    buf b = raw_valid();
    b.p[2] = 0x0B;
    return b;
}
static buf b_type_float(void)
{
    buf b = raw_valid();
    b.p[2] = 0x0D;
    return b;
}
static buf b_ndim0(void) { return make_bytes("\0\0\x08\0", 4); }
static buf b_ndim5(void)
{
    uint32_t d[] = {1, 1, 1, 1, 1};
    buf b = make_idx(8, 5, d, 1);
    return b;
}
static buf b_dims_cut(void)
{
    uint32_t d[] = {3, 4, 5};
    buf b = make_idx(8, 3, d, 0);
    b.n = 4 + 4 * 2 + 2; /* two and a half dimensions */
    return b;
}
static buf b_dim_zero_first(void)
{
    uint32_t d[] = {0, 28, 28};
    return make_idx(8, 3, d, 0);
}
static buf b_dim_zero_last(void)
{
    uint32_t d[] = {10, 28, 0};
    return make_idx(8, 3, d, 0);
}
static buf b_overflow(void)
{
    uint32_t d[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    return make_idx(8, 4, d, 16);
}
static buf b_too_large(void)
{
    uint32_t d[] = {65536, 32769}; /* just over 2 GiB, no 64-bit overflow */
    return make_idx(8, 2, d, 16);
}
static buf b_short(void)
{
    uint32_t d[] = {3, 4, 5};
    return make_idx(8, 3, d, 59);
}
static buf b_long(void)
{
    uint32_t d[] = {3, 4, 5};
    return make_idx(8, 3, d, 61);
}
static buf b_header_only(void)
{
    uint32_t d[] = {60000, 28, 28};
    return make_idx(8, 3, d, 0);
}
static buf b_gz_cut(void)
{
    buf z = gz_valid();
    z.n /= 2;
    return z;
}
static buf b_gz_cut_trailer(void)
{
    buf z = gz_valid();
    z.n -= 3; /* the deflate data is whole, the length check is not */
    return z;
}
static buf b_gz_header_only(void)
{
    buf z = gz_valid();
    z.n = 10;
    return z;
}
static buf b_gz_magic_only(void) { return make_bytes("\x1f\x8b", 2); }
static buf b_gz_crc(void)
{
    buf z = gz_valid();
    z.p[z.n - 8] ^= 0x55;
    return z;
}
static buf b_gz_isize(void)
{
    buf z = gz_valid();
    z.p[z.n - 4] ^= 0x01;
    return z;
}
static buf b_gz_body(void)
{
    buf z = gz_valid();
    for (size_t i = 12; i < z.n - 8; i += 3)
        z.p[i] ^= 0xA5;
    return z;
}
static buf b_gz_method(void)
{
    buf z = gz_valid();
    z.p[2] = 7; /* compression method: only 8 (deflate) exists */
    return z;
}
static buf b_gz_trailing(void)
{
    buf z = gz_valid();
    z.p = realloc(z.p, z.n + 5);
    memcpy(z.p + z.n, "JUNK!", 5);
    z.n += 5;
    return z;
}
static buf b_gz_of_short(void)
{
    buf r = b_short(), z = gzip_bytes(&r);
    buf_free(&r);
    return z;
}
static buf b_gz_of_empty(void)
{
    buf r = b_empty(), z = gzip_bytes(&r);
    buf_free(&r);
    return z;
}
static buf b_gz_of_bad_type(void)
{
    buf r = b_type_int(), z = gzip_bytes(&r);
    buf_free(&r);
    return z;
}

static const bad_case bad_cases[] = {
    {"empty", b_empty, "empty file"},
    {"one-byte", b_one_byte, "truncated header"},
    {"three-bytes", b_three_bytes, "truncated header"},
    {"magic-first", b_magic1, "bad magic 0x01 0x00"},
    {"magic-second", b_magic2, "bad magic 0x00 0x80"},
    {"type-int", b_type_int, "unsupported type 0x0b"},
    {"type-float", b_type_float, "unsupported type 0x0d"},
    {"ndim-0", b_ndim0, "bad number of dimensions 0"},
    {"ndim-5", b_ndim5, "bad number of dimensions 5"},
    {"dims-cut", b_dims_cut, "truncated header: 3 dimensions need 16 bytes, file has 14"},
    {"dim-zero-first", b_dim_zero_first, "dimension 1 is zero"},
    {"dim-zero-last", b_dim_zero_last, "dimension 3 is zero"},
    {"dims-overflow", b_overflow, "too large"},
    {"dims-over-2GiB", b_too_large, "too large"},
    {"data-short", b_short, "truncated: header says 3×4×5 = 60 bytes of data, file has 59"},
    {"data-long", b_long, "oversized: header says 3×4×5 = 60 bytes of data, file has 61"},
    {"header-only", b_header_only, "truncated: header says 60000×28×28 = 47040000 bytes"},
    {"gz-cut-middle", b_gz_cut, "truncated gzip"},
    {"gz-cut-trailer", b_gz_cut_trailer, "truncated gzip"},
    {"gz-header-only", b_gz_header_only, "truncated gzip"},
    {"gz-magic-only", b_gz_magic_only, "truncated gzip"},
    {"gz-bad-crc", b_gz_crc, "corrupt gzip data: incorrect data check"},
    {"gz-bad-isize", b_gz_isize, "corrupt gzip data: incorrect length check"},
    {"gz-bad-body", b_gz_body, "corrupt gzip data"},
    {"gz-bad-method", b_gz_method, "corrupt gzip data: unknown compression method"},
    {"gz-trailing", b_gz_trailing, "5 bytes of trailing garbage"},
    {"gz-of-short", b_gz_of_short, "truncated: header says"},
    {"gz-of-empty", b_gz_of_empty, "empty file"},
    {"gz-of-bad-type", b_gz_of_bad_type, "unsupported type"},
};

/* One cmocka test per case, named after it. */
static void test_malformed(void **state)
{
    const bad_case *c = *state;
    buf b = c->make();
    char name[64];
    snprintf(name, sizeof name, "%s-idx-ubyte", c->name);
    mli_idx x;
    memset(&x, 0xAB, sizeof x);
    int rc = mli_idx_read(write_tmp(name, &b), &x);
    const char *msg = mli_errmsg();
    if (rc != MLI_EINPUT || !strstr(msg, c->expect) || !strstr(msg, name))
        fail_msg("status %d, message \"%s\", expected MLI_EINPUT and \"%s\"", rc, msg, c->expect);
    assert_null(x.data); /* nothing to free on failure */
    /* The reader from memory agrees, gzip or not. */
    rc = mli_idx_load(b.p, b.n, "mem", &x);
    if (rc != MLI_EINPUT || !strstr(mli_errmsg(), c->expect) || x.data)
        fail_msg("load: status %d, message \"%s\"", rc, mli_errmsg());
    /* The in-memory parser agrees on the uncompressed cases. */
    if (b.n < 2 || b.p[0] != 0x1f) {
        rc = mli_idx_parse(b.p, b.n, "mem", &x);
        if (rc != MLI_EINPUT || !strstr(mli_errmsg(), c->expect))
            fail_msg("parse: status %d, message \"%s\"", rc, mli_errmsg());
    }
    buf_free(&b);
}

int main(void)
{
    enum { NBAD = sizeof bad_cases / sizeof bad_cases[0] };
    _Static_assert(NBAD >= 20, "at least 20 malformed files");
    struct CMUnitTest tests[8 + NBAD] = {
        cmocka_unit_test(test_gzip_bomb_bounded), /* first: it measures the peak memory */
        cmocka_unit_test(test_roundtrip_raw),     cmocka_unit_test(test_roundtrip_gzfile),
        cmocka_unit_test(test_roundtrip_gzip_mem), cmocka_unit_test(test_gzip_concatenated),
        cmocka_unit_test(test_gunzip_plain_copy), cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_free),
    };
    char names[NBAD][64];
    for (int i = 0; i < NBAD; i++) {
        snprintf(names[i], sizeof names[i], "malformed %s", bad_cases[i].name);
        tests[8 + i] = (struct CMUnitTest){names[i], test_malformed, NULL, NULL,
                                           (void *)&bad_cases[i]};
    }
    /* What cmocka_run_group_tests expands to, with a count known here rather than by sizeof. */
    return _cmocka_run_group_tests("test_idx", tests, 8 + NBAD, NULL, NULL);
}
