/* safetensors reader and writer: round trips, determinism, hand-built F64 files, and a table
 * of malformed files that must each be rejected with a message naming the fault. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/safetensors.h"

/* A file from a header text and datalen bytes of a fixed pattern. Every '@' in json is
 * replaced by subst, which lets a case plant NUL, control or non-UTF-8 bytes. */
static unsigned char *mk(const char *json, unsigned char subst, size_t datalen, size_t *len)
{
    size_t n = strlen(json);
    unsigned char *b = malloc(8 + n + datalen + 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < n; i++)
        if (b[8 + i] == '@')
            b[8 + i] = subst;
    for (size_t i = 0; i < datalen; i++)
        b[8 + n + i] = (unsigned char)(i * 7 + 1);
    *len = 8 + n + datalen;
    return b;
}

static uint64_t hdr_len(const unsigned char *b)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    return n;
}

static mli_st_writer *sample_writer(const mli_real *w, const mli_real *bias, const mli_real *scalar,
                                    const unsigned char *mask)
{
    mli_st_writer *wr = mli_st_writer_new();
    mli_st_add_meta(wr, "epoch", "3");
    mli_st_add_meta(wr, "note", "h\xc3\xa9llo \"quoted\"\n");
    mli_st_add_real(wr, "layers.0.weight", 2, (int64_t[]){3, 4}, w);
    mli_st_add_real(wr, "layers.0.bias", 1, (int64_t[]){4}, bias);
    mli_st_add_real(wr, "scale", 0, NULL, scalar);
    mli_st_add_real(wr, "empty", 1, (int64_t[]){0}, NULL);
    mli_st_add_real(wr, "empty2", 3, (int64_t[]){2, 0, 5}, NULL);
    mli_st_add_u8(wr, "mask", 5, mask);
    return wr;
}

static void test_round_trip(void **state)
{
    mli_real w[12], bias[4], scalar[1] = {(mli_real)-1.25};
    unsigned char mask[5] = {0, 1, 255, 7, 128};
    tu_fill_uniform(w, 12, -3, 3, 1);
    tu_fill_uniform(bias, 4, -1, 1, 2);
    bias[0] = (mli_real)1e-30; /* survives the float round trip unchanged */
    mli_st_writer *wr = sample_writer(w, bias, scalar, mask);

    size_t len, len2;
    unsigned char *b = mli_st_serialize(wr, &len);
    assert_non_null(b);
    /* Data is copied at add time: scribbling over the sources changes nothing. */
    mli_real saved0 = w[0];
    w[0] = 99;
    mask[0] = 42;
    unsigned char *b2 = mli_st_serialize(wr, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b2, len);
    w[0] = saved0;
    mask[0] = 0;

    /* A second writer fed the same inputs produces the same bytes. */
    mli_st_writer *wr2 = sample_writer(w, bias, scalar, mask);
    unsigned char *b3 = mli_st_serialize(wr2, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b3, len);

    uint64_t n = hdr_len(b);
    assert_int_equal((8 + n) % 8, 0);
    assert_true(8 + n <= len);
    assert_memory_equal(b + 8, "{\"__metadata__\":{\"epoch\":\"3\"", 28);
    assert_int_equal(len - 8 - n, 12 * 4 + 4 * 4 + 4 + 5); /* contiguous, nothing else */

    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "rt", &f), MLI_OK);
    assert_int_equal(f.ntensors, 6);
    const char *order[] = {"layers.0.weight", "layers.0.bias", "scale", "empty", "empty2", "mask"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(f.tensors[i].name, order[i]);
    const mli_st_tensor *t = mli_st_find(&f, "layers.0.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, MLI_ST_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 4);
    assert_int_equal(t->numel, 12);
    assert_int_equal(t->nbytes, 48);
    assert_ptr_equal(t->data, f.buf + 8 + n); /* first tensor starts the data section */
    for (int i = 0; i < 12; i++) {
        float v;
        memcpy(&v, t->data + 4 * i, 4);
        assert_true(v == (float)w[i]);
    }
    mli_real got[12];
    assert_int_equal(mli_st_get_real(&f, "rt", "layers.0.weight", 2, (int64_t[]){3, 4}, got), MLI_OK);
    for (int i = 0; i < 12; i++)
        assert_true(got[i] == (mli_real)(float)w[i]);
    assert_int_equal(mli_st_get_real(&f, "rt", "layers.0.bias", 1, (int64_t[]){4}, got), MLI_OK);
    for (int i = 0; i < 4; i++)
        assert_true(got[i] == (mli_real)(float)bias[i]);
    assert_int_equal(mli_st_get_real(&f, "rt", "scale", 0, NULL, got), MLI_OK);
    assert_true(got[0] == (mli_real)-1.25);
    t = mli_st_find(&f, "scale");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    t = mli_st_find(&f, "empty2");
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(mli_st_get_real(&f, "rt", "empty", 1, (int64_t[]){0}, got), MLI_OK);
    unsigned char m[5];
    assert_int_equal(mli_st_get_u8(&f, "rt", "mask", 5, m), MLI_OK);
    assert_memory_equal(m, mask, 5);
    assert_int_equal(mli_st_find(&f, "mask")->dtype, MLI_ST_U8);
    assert_int_equal(f.nmeta, 2);
    assert_string_equal(mli_st_meta(&f, "epoch"), "3");
    assert_string_equal(mli_st_meta(&f, "note"), "h\xc3\xa9llo \"quoted\"\n");
    assert_null(mli_st_meta(&f, "missing"));
    assert_null(mli_st_find(&f, "missing"));
    mli_st_free(&f);
    assert_int_equal(f.ntensors, 0);
    mli_st_free(&f); /* freeing twice is harmless */

    /* Through the file system: same bytes, same contents. */
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", tu_tmpdir("st-rt"));
    assert_int_equal(mli_st_write(wr, path), MLI_OK);
    unsigned char *fb;
    size_t flen;
    assert_int_equal(mli_file_read(path, 1 << 20, &fb, &flen), MLI_OK);
    assert_int_equal(flen, len);
    assert_memory_equal(fb, b, len);
    assert_int_equal(mli_st_read(path, &f), MLI_OK);
    assert_int_equal(f.ntensors, 6);
    assert_int_equal(mli_st_get_u8(&f, path, "mask", 5, m), MLI_OK);
    assert_memory_equal(m, mask, 5);
    mli_st_free(&f);

    free(fb);
    free(b);
    free(b2);
    free(b3);
    mli_st_writer_free(wr);
    mli_st_writer_free(wr2);
}

static void test_empty_writer(void **state)
{
    mli_st_writer *wr = mli_st_writer_new();
    size_t len;
    unsigned char *b = mli_st_serialize(wr, &len);
    assert_non_null(b);
    assert_int_equal(len, 16);
    assert_memory_equal(b + 8, "{}      ", 8);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "empty", &f), MLI_OK);
    assert_int_equal(f.ntensors, 0);
    assert_int_equal(f.nmeta, 0);
    mli_st_free(&f);
    free(b);
    mli_st_writer_free(wr);
}

/* The exact bytes: key order, no blanks, integers never in exponent form, space padding. */
static void test_exact_header(void **state)
{
    const mli_real x[2] = {1, -2};
    mli_st_writer *wr = mli_st_writer_new();
    mli_st_add_real(wr, "t", 1, (int64_t[]){2}, x);
    mli_st_add_real(wr, "big", 2, (int64_t[]){1000000000000000, 0}, NULL);
    mli_st_add_meta(wr, "a", "b");
    size_t len;
    unsigned char *b = mli_st_serialize(wr, &len);
    const char *want = "{\"__metadata__\":{\"a\":\"b\"},\"t\":{\"dtype\":\"F32\",\"shape\":[2],"
                       "\"data_offsets\":[0,8]},\"big\":{\"dtype\":\"F32\",\"shape\":[1000000000000000,0],"
                       "\"data_offsets\":[8,8]}}";
    size_t n = strlen(want), pad = (8 - n % 8) % 8;
    assert_int_equal(len, 8 + n + pad + 8);
    assert_int_equal(hdr_len(b), n + pad);
    assert_memory_equal(b + 8, want, n);
    for (size_t i = 0; i < pad; i++)
        assert_int_equal(b[8 + n + i], ' ');
    const float f[2] = {1, -2};
    assert_memory_equal(b + 8 + n + pad, f, 8);
    free(b);
    mli_st_writer_free(wr);
}

/* Hand-built F64 file, left unpadded so that the data section is not aligned. */
static void test_f64(void **state)
{
    const double v[4] = {0.1, -2.5, 1e10, 3.0};
    const int64_t iv[2] = {-5, INT64_MAX};
    const char *json = "{\"x\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]},"
                       "\"ix\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[32,48]}}";
    size_t len;
    unsigned char *b = mk(json, 0, 48, &len);
    assert_true((8 + strlen(json)) % 8 != 0);
    memcpy(b + len - 48, v, 32);
    memcpy(b + len - 16, iv, 16);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "f64", &f), MLI_OK);
    free(b); /* the parsed file keeps its own copy */
    mli_real got[4];
    assert_int_equal(mli_st_get_real(&f, "f64", "x", 2, (int64_t[]){2, 2}, got), MLI_OK);
    for (int i = 0; i < 4; i++)
        assert_true(got[i] == (mli_real)v[i]);
    const mli_st_tensor *t = mli_st_find(&f, "ix");
    assert_int_equal(t->dtype, MLI_ST_I64);
    int64_t gi[2];
    memcpy(gi, t->data, 16);
    assert_true(gi[0] == -5 && gi[1] == INT64_MAX);
    mli_st_free(&f);
}

/* Zero-size tensors may sit at the same offset as a neighbour's start or at the very end. */
static void test_zero_size_layout(void **state)
{
    const char *json = "{\"z0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                       "\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                       "\"z1\":{\"dtype\":\"F64\",\"shape\":[4,0],\"data_offsets\":[3,3]}}";
    size_t len;
    unsigned char *b = mk(json, 0, 3, &len);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "zero", &f), MLI_OK);
    assert_int_equal(f.ntensors, 3);
    assert_int_equal(mli_st_find(&f, "z1")->numel, 0);
    mli_st_free(&f);
    free(b);
}

typedef enum {
    E_NONE,
    E_SHORT,
    E_HLEN0,
    E_HLEN_HUGE,
    E_HLEN_PAST,
    E_CUT_HEADER,
    E_CUT_DATA,
    E_ADD_DATA
} edit;

typedef struct {
    const char *json; /* NULL: the valid base header */
    unsigned char subst;
    size_t datalen;
    edit ed;
    const char *want; /* substring of the message */
} bad_case;

#define A_OK "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
#define B_OK "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]}"
#define BASE "{\"__metadata__\":{\"k\":\"v\"}," A_OK "," B_OK "}"
#define A_WITH(body) "{\"a\":{" body "}," B_OK "}"
/* Tensor 'a' with the given dtype, shape and data_offsets texts, then the valid 'b'. */
#define A3(dt, sh, of) A_WITH("\"dtype\":" dt ",\"shape\":" sh ",\"data_offsets\":" of)
#define AF32(sh, of) A3("\"F32\"", sh, of)

static const bad_case bad_cases[] = {
    {NULL, 0, 28, E_SHORT, "shorter than the 8-byte header length"},
    {NULL, 0, 28, E_HLEN0, "header length is 0"},
    {NULL, 0, 28, E_HLEN_HUGE, "exceeds the limit"},
    {NULL, 0, 28, E_HLEN_PAST, "bytes after the length field"},
    {NULL, 0, 28, E_CUT_HEADER, "header length 136 exceeds the 80 bytes after the length field"},
    {NULL, 0, 28, E_CUT_DATA, "tensor 'b': data_offsets [24, 28] extend beyond the data section (24 bytes)"},
    {NULL, 0, 28, E_ADD_DATA, "4 unused trailing bytes"},
    {"{\"a\":", 0, 0, E_NONE, "not valid JSON"},
    {BASE " x", 0, 28, E_NONE, "not valid JSON"},
    {"[1,2]", 0, 0, E_NONE, "not a JSON object"},
    {"\"str\"", 0, 0, E_NONE, "not a JSON object"},
    {"{\"a@\":1}", 0x00, 0, E_NONE, "NUL byte"},
    {"{\"a@\":1}", 0x01, 0, E_NONE, "control byte"},
    {"{\"a@\":1}", 0xff, 0, E_NONE, "not valid UTF-8"},
    {"{\"a@@\":1}", 0xc0, 0, E_NONE, "not valid UTF-8"}, /* overlong */
    {"{\"a\":5}", 0, 0, E_NONE, "tensor 'a': entry is not an object"},
    {"{\"a\":[]}", 0, 0, E_NONE, "tensor 'a': entry is not an object"},
    {A3("\"F16\"", "[2,3]", "[0,24]"), 0, 28, E_NONE, "unsupported dtype 'F16'"},
    {A3("\"BF16\"", "[2,3]", "[0,24]"), 0, 28, E_NONE, "unsupported dtype 'BF16'"},
    {A3("\"f32\"", "[2,3]", "[0,24]"), 0, 28, E_NONE, "unsupported dtype 'f32'"},
    {A_WITH("\"shape\":[2,3],\"data_offsets\":[0,24]"), 0, 28, E_NONE, "tensor 'a': missing dtype"},
    {A3("32", "[2,3]", "[0,24]"), 0, 28, E_NONE, "dtype is not a string"},
    {AF32("[-2,3]", "[0,24]"), 0, 28, E_NONE, "shape entry 0 is not a non-negative integer"},
    {AF32("[2,3.5]", "[0,24]"), 0, 28, E_NONE, "shape entry 1 is not a non-negative integer"},
    {AF32("[\"2\",3]", "[0,24]"), 0, 28, E_NONE, "shape entry 0 is not a non-negative integer"},
    {AF32("[1e300,3]", "[0,24]"), 0, 28, E_NONE, "shape entry 0 is not a non-negative integer"},
    {AF32("[2,null]", "[0,24]"), 0, 28, E_NONE, "shape entry 1 is not a non-negative integer"},
    {AF32("\"6\"", "[0,24]"), 0, 28, E_NONE, "shape is not an array"},
    {A_WITH("\"dtype\":\"F32\",\"data_offsets\":[0,24]"), 0, 28, E_NONE, "missing shape"},
    {AF32("[1,1,1,1,1,1,1,1,1]", "[0,24]"), 0, 28, E_NONE, "9 dimensions, more than the 8"},
    {AF32("[4294967296,4294967296,4294967296]", "[0,24]"), 0, 28, E_NONE, "overflows the element count"},
    {A3("\"F64\"", "[4611686018427387904]", "[0,24]"), 0, 28, E_NONE,
     "shape entry 0 is not a non-negative integer"},
    {A3("\"F64\"", "[4503599627370496,1024]", "[0,24]"), 0, 28, E_NONE, "overflows the byte count"},
    {A_WITH("\"dtype\":\"F32\",\"shape\":[2,3]"), 0, 28, E_NONE, "missing data_offsets"},
    {AF32("[2,3]", "[24,0]"), 0, 28, E_NONE, "data_offsets [24, 0] begin after they end"},
    {AF32("[2,3]", "[0,24,28]"), 0, 28, E_NONE, "not an array of 2 integers"},
    {AF32("[2,3]", "{\"0\":24}"), 0, 28, E_NONE, "not an array of 2 integers"},
    {AF32("[2,3]", "[-24,0]"), 0, 28, E_NONE, "not non-negative integers"},
    {AF32("[2,3]", "[0,1e300]"), 0, 28, E_NONE, "not non-negative integers"},
    {AF32("[2,3]", "[0,3.5]"), 0, 28, E_NONE, "not non-negative integers"},
    {AF32("[2,3]", "[0,20]"), 0, 28, E_NONE,
     "tensor 'a': data_offsets [0, 20] do not match shape [2, 3] of F32 (24 bytes)"},
    {AF32("[2,3]", "[0,240]"), 0, 28, E_NONE, "extend beyond the data section"},
    {AF32("[2,3]", "[0,24],\"foo\":1"), 0, 28, E_NONE, "tensor 'a': unknown key 'foo'"},
    {A3("\"F32\",\"dtype\":\"F32\"", "[2,3]", "[0,24]"), 0, 28, E_NONE, "duplicate key 'dtype'"},
    {"{" A_OK ",\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[20,24]}}", 0, 24, E_NONE,
     "tensor 'b' [20, 24] overlaps tensor 'a'"},
    {"{" A_OK ",\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[28,32]}}", 0, 32, E_NONE,
     "gap in the data section: bytes [24, 28)"},
    {"{" A_OK ",\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]}}", 0, 28, E_NONE,
     "duplicate tensor name 'a'"},
    {"{\"__metadata__\":{\"k\":1}," A_OK "," B_OK "}", 0, 28, E_NONE,
     "__metadata__ value for key 'k' is not a string"},
    {"{\"__metadata__\":[\"k\"]," A_OK "," B_OK "}", 0, 28, E_NONE, "__metadata__ is not an object"},
    {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}," A_OK "," B_OK "}", 0, 28, E_NONE,
     "duplicate __metadata__ key 'k'"},
    {"{\"__metadata__\":{}," A_OK ",\"__metadata__\":{}," B_OK "}", 0, 28, E_NONE, "duplicate __metadata__"},
};
#define NBAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

static unsigned char *build_case(const bad_case *c, size_t *len)
{
    unsigned char *b = mk(c->json ? c->json : BASE, c->subst, c->datalen, len);
    uint64_t n = hdr_len(b), set = n;
    switch (c->ed) {
    case E_NONE: break;
    case E_SHORT: *len = 5; break;
    case E_HLEN0: set = 0; break;
    case E_HLEN_HUGE: set = (uint64_t)1 << 40; break;
    case E_HLEN_PAST: set = *len - 8 + 1; break;
    case E_CUT_HEADER: *len = 8 + 80; break;
    case E_CUT_DATA: *len -= 4; break;
    case E_ADD_DATA:
        b = realloc(b, *len + 4);
        assert_non_null(b);
        memset(b + *len, 0, 4);
        *len += 4;
        break;
    }
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(set >> (8 * i));
    return b;
}

static void test_base_is_valid(void **state)
{
    bad_case c = {NULL, 0, 28, E_NONE, NULL};
    size_t len;
    unsigned char *b = build_case(&c, &len);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "base", &f), MLI_OK);
    assert_int_equal(f.ntensors, 2);
    assert_string_equal(mli_st_meta(&f, "k"), "v");
    mli_st_free(&f);
    free(b);
}

static void test_malformed(void **state)
{
    const char *dir = tu_tmpdir("st-bad");
    for (int i = 0; i < NBAD; i++) {
        size_t len;
        unsigned char *b = build_case(&bad_cases[i], &len);
        mli_st_file f;
        memset(&f, 0xAB, sizeof f);
        mli_err_clear();
        int rc = mli_st_parse(b, len, "case.safetensors", &f);
        if (rc != MLI_EINPUT || !strstr(mli_errmsg(), bad_cases[i].want) ||
            strncmp(mli_errmsg(), "case.safetensors: ", 18) != 0)
            fail_msg("case %d: rc %d, message '%s', want '%s'", i, rc, mli_errmsg(), bad_cases[i].want);
        assert_int_equal(f.ntensors, 0); /* out is cleared on failure */
        assert_null(f.buf);

        char path[700];
        snprintf(path, sizeof path, "%s/bad%02d.safetensors", dir, i);
        tu_write_file(path, b, len);
        rc = mli_st_read(path, &f);
        if (rc != MLI_EINPUT || !strstr(mli_errmsg(), bad_cases[i].want) || !strstr(mli_errmsg(), path))
            fail_msg("file case %d: rc %d, message '%s'", i, rc, mli_errmsg());
        free(b);
    }
}

static void test_read_missing_file(void **state)
{
    mli_st_file f;
    assert_int_equal(mli_st_read("/nonexistent/dir/x.safetensors", &f), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "x.safetensors"));
    assert_int_equal(mli_st_parse(NULL, 0, "nil", &f), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "nil: file is 0 bytes"));
}

static void test_get_errors(void **state)
{
    const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"u\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]},"
                       "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[28,36]}}";
    size_t len;
    unsigned char *b = mk(json, 0, 36, &len);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "m.st", &f), MLI_OK);
    mli_real dst[6];
    unsigned char u[4];
    assert_int_equal(mli_st_get_real(&f, "m.st", "nope", 1, (int64_t[]){6}, dst), MLI_EINPUT);
    assert_string_equal(mli_errmsg(), "m.st: no tensor 'nope'");
    assert_int_equal(mli_st_get_real(&f, "m.st", "a", 2, (int64_t[]){3, 2}, dst), MLI_EINPUT);
    assert_string_equal(mli_errmsg(), "m.st: tensor 'a' has shape [2, 3], expected [3, 2]");
    assert_int_equal(mli_st_get_real(&f, "m.st", "a", 1, (int64_t[]){6}, dst), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "has shape [2, 3], expected [6]"));
    assert_int_equal(mli_st_get_real(&f, "m.st", "a", 3, (int64_t[]){2, 3, 1}, dst), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "expected [2, 3, 1]"));
    assert_int_equal(mli_st_get_real(&f, "m.st", "u", 1, (int64_t[]){4}, dst), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "tensor 'u' is U8, expected F32 or F64"));
    assert_int_equal(mli_st_get_real(&f, "m.st", "i", 1, (int64_t[]){1}, dst), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "tensor 'i' is I64"));
    assert_int_equal(mli_st_get_real(&f, "m.st", "a", 2, (int64_t[]){2, 3}, dst), MLI_OK);

    assert_int_equal(mli_st_get_u8(&f, "m.st", "a", 24, u), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "tensor 'a' is F32, expected U8"));
    assert_int_equal(mli_st_get_u8(&f, "m.st", "u", 3, u), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "has 4 bytes, expected 3"));
    assert_int_equal(mli_st_get_u8(&f, "m.st", "zz", 4, u), MLI_EINPUT);
    assert_non_null(strstr(mli_errmsg(), "no tensor 'zz'"));
    assert_int_equal(mli_st_get_u8(&f, "m.st", "u", 4, u), MLI_OK);
    assert_int_equal(u[0], 24 * 7 + 1);
    mli_st_free(&f);
    free(b);
}

/* The parsed file owns a copy: changing the caller's buffer afterwards changes nothing. */
static void test_parse_copies(void **state)
{
    const char *json = "{\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    size_t len;
    unsigned char *b = mk(json, 0, 2, &len);
    mli_st_file f;
    assert_int_equal(mli_st_parse(b, len, "c", &f), MLI_OK);
    memset(b, 0, len);
    assert_string_equal(f.tensors[0].name, "u");
    assert_int_equal(f.tensors[0].data[1], 8);
    mli_st_free(&f);
    free(b);
}

static void test_writer_misuse(void **state)
{
    const mli_real x[2] = {1, 2};
    const char *want[] = {"duplicate tensor name 'x'",   "invalid tensor name '__metadata__'",
                          "tensor 'y' has 9 dimensions", "tensor 'z' has an invalid shape",
                          "duplicate metadata key 'k'",  "invalid tensor name '\xff'"};
    for (int i = 0; i < 6; i++) {
        mli_st_writer *w = mli_st_writer_new();
        mli_st_add_real(w, "x", 1, (int64_t[]){2}, x);
        mli_st_add_meta(w, "k", "v");
        switch (i) {
        case 0: mli_st_add_u8(w, "x", 1, (const unsigned char *)"a"); break;
        case 1: mli_st_add_real(w, "__metadata__", 1, (int64_t[]){2}, x); break;
        case 2: mli_st_add_real(w, "y", 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x); break;
        case 3: mli_st_add_real(w, "z", 2, (int64_t[]){2, -1}, x); break;
        case 4: mli_st_add_meta(w, "k", "w"); break;
        case 5: mli_st_add_real(w, "\xff", 1, (int64_t[]){2}, x); break;
        }
        size_t len = 1;
        assert_null(mli_st_serialize(w, &len));
        assert_int_equal(len, 0);
        if (!strstr(mli_errmsg(), want[i]))
            fail_msg("case %d: message '%s', want '%s'", i, mli_errmsg(), want[i]);
        char path[600];
        snprintf(path, sizeof path, "%s/w.safetensors", tu_tmpdir("st-misuse"));
        assert_int_equal(mli_st_write(w, path), MLI_EFAIL);
        FILE *fp = fopen(path, "rb");
        assert_null(fp); /* nothing written */
        mli_st_writer_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_writer),
        cmocka_unit_test(test_exact_header),
        cmocka_unit_test(test_f64),
        cmocka_unit_test(test_zero_size_layout),
        cmocka_unit_test(test_base_is_valid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_read_missing_file),
        cmocka_unit_test(test_get_errors),
        cmocka_unit_test(test_parse_copies),
        cmocka_unit_test(test_writer_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
