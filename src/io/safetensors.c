#include "io/safetensors.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/err.h"

/* Tensor bytes are copied with memcpy in host order; the format is little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [MLI_ST_F32] = {"F32", 4}, [MLI_ST_F64] = {"F64", 8}, [MLI_ST_I64] = {"I64", 8}, [MLI_ST_U8] = {"U8", 1}};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

/* Largest integer a double holds exactly: cJSON parses every number as a double. */
#define JSON_INT_MAX 9007199254740992.0

/* "[2, 3]" for messages, "[2,3]" (sep ",") for the header. */
static void shape_str(char *s, size_t cap, int ndim, const int64_t *shape, const char *sep)
{
    size_t k = (size_t)snprintf(s, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%" PRId64, i ? sep : "", shape[i]);
    if (k < cap)
        snprintf(s + k, cap - k, "]");
}

/* Length of the valid UTF-8 sequence at s (0 if invalid): no overlongs, no surrogates,
 * nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

static int utf8_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), k;
    for (size_t i = 0; i < n; i += k)
        if (!(k = utf8_len(s + i, n - i)))
            return 0;
    return 1;
}

/* JSON allows no raw control bytes anywhere (cJSON would skip them as blanks) and the
 * format requires UTF-8; a NUL would also cut the text short behind cJSON's back. */
static int check_text(const unsigned char *s, size_t n, const char *label)
{
    size_t k;
    for (size_t i = 0; i < n; i += k) {
        if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return mli_err(MLI_EINPUT, "%s: header contains a %s byte (0x%02x) at offset %zu", label,
                           s[i] ? "control" : "NUL", s[i], i);
        if (!(k = utf8_len(s + i, n - i)))
            return mli_err(MLI_EINPUT, "%s: header is not valid UTF-8 at offset %zu", label, i);
    }
    return MLI_OK;
}

/* Range-check the double before converting, so 1e300, -1 or 3.5 never reach a cast. */
static int json_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= JSON_INT_MAX) || d != floor(d))
        return 0;
    *v = (uint64_t)d;
    return 1;
}

static int bad_tensor(const char *label, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_tensor(const char *label, const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mli_err(MLI_EINPUT, "%s: tensor '%s': %s", label, name, msg);
}

typedef struct {
    uint64_t begin, end;
    const char *name;
} span;

static int parse_shape(const cJSON *sh, const char *label, mli_st_tensor *t)
{
    if (!sh)
        return bad_tensor(label, t->name, "missing shape");
    if (!cJSON_IsArray(sh))
        return bad_tensor(label, t->name, "shape is not an array");
    int nd = cJSON_GetArraySize(sh);
    if (nd > MLI_ST_MAX_DIMS)
        return bad_tensor(label, t->name, "shape has %d dimensions, more than the %d supported", nd,
                          MLI_ST_MAX_DIMS);
    int i = 0;
    for (const cJSON *d = sh->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return bad_tensor(label, t->name, "shape entry %d is not a non-negative integer (at most 2^53)",
                              i);
        t->shape[i] = (int64_t)v;
    }
    t->ndim = nd;
    char s[256];
    shape_str(s, sizeof s, nd, t->shape, ", ");
    size_t numel = 1, size = dtypes[t->dtype].size;
    for (i = 0; i < nd; i++) {
        size_t v = (size_t)t->shape[i];
        if (v && numel > SIZE_MAX / v)
            return bad_tensor(label, t->name, "shape %s overflows the element count", s);
        numel *= v;
    }
    if (numel > SIZE_MAX / size)
        return bad_tensor(label, t->name, "shape %s overflows the byte count", s);
    t->numel = numel;
    t->nbytes = numel * size;
    return MLI_OK;
}

static int parse_tensor(const cJSON *e, const char *label, size_t datalen, mli_st_tensor *t, span *sp)
{
    if (!cJSON_IsObject(e))
        return bad_tensor(label, t->name, "entry is not an object");
    const cJSON *dt = NULL, *sh = NULL, *of = NULL;
    for (const cJSON *k = e->child; k; k = k->next) {
        const cJSON **slot = !strcmp(k->string, "dtype")          ? &dt
                             : !strcmp(k->string, "shape")        ? &sh
                             : !strcmp(k->string, "data_offsets") ? &of
                                                                  : NULL;
        if (!slot)
            return bad_tensor(label, t->name, "unknown key '%s'", k->string);
        if (*slot)
            return bad_tensor(label, t->name, "duplicate key '%s'", k->string);
        *slot = k;
    }
    if (!dt)
        return bad_tensor(label, t->name, "missing dtype");
    if (!cJSON_IsString(dt))
        return bad_tensor(label, t->name, "dtype is not a string");
    int d = 0;
    while (d < NDTYPES && strcmp(dt->valuestring, dtypes[d].name))
        d++;
    if (d == NDTYPES)
        return bad_tensor(label, t->name, "unsupported dtype '%s' (expected F32, F64, I64 or U8)",
                          dt->valuestring);
    t->dtype = (mli_st_dtype)d;
    int rc = parse_shape(sh, label, t);
    if (rc)
        return rc;

    uint64_t off[2];
    if (!of)
        return bad_tensor(label, t->name, "missing data_offsets");
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
        return bad_tensor(label, t->name, "data_offsets is not an array of 2 integers");
    if (!json_uint(of->child, &off[0]) || !json_uint(of->child->next, &off[1]))
        return bad_tensor(label, t->name, "data_offsets are not non-negative integers (at most 2^53)");
    if (off[0] > off[1])
        return bad_tensor(label, t->name, "data_offsets [%" PRIu64 ", %" PRIu64 "] begin after they end",
                          off[0], off[1]);
    if (off[1] > datalen)
        return bad_tensor(label, t->name,
                          "data_offsets [%" PRIu64 ", %" PRIu64
                          "] extend beyond the data section (%zu bytes)",
                          off[0], off[1], datalen);
    if (off[1] - off[0] != t->nbytes) {
        char s[256];
        shape_str(s, sizeof s, t->ndim, t->shape, ", ");
        return bad_tensor(label, t->name,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] do not match shape %s of %s (%zu bytes)",
                          off[0], off[1], s, dtypes[t->dtype].name, t->nbytes);
    }
    *sp = (span){off[0], off[1], t->name};
    return MLI_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* cJSON keeps duplicate keys, so sort a copy of the names and compare neighbours. */
static const char *find_dup(const char **names, int n)
{
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i]))
            return names[i];
    return NULL;
}

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The tensors must tile the data section exactly, as the official library requires. */
static int check_layout(span *sp, int n, size_t datalen, const char *label)
{
    qsort(sp, (size_t)n, sizeof *sp, cmp_span);
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        if (sp[i].begin < pos)
            return mli_err(MLI_EINPUT, "%s: tensor '%s' [%" PRIu64 ", %" PRIu64 "] overlaps tensor '%s'",
                           label, sp[i].name, sp[i].begin, sp[i].end, sp[i - 1].name);
        if (sp[i].begin > pos)
            return mli_err(MLI_EINPUT,
                           "%s: gap in the data section: bytes [%" PRIu64 ", %" PRIu64 ") before tensor "
                           "'%s' belong to no tensor",
                           label, pos, sp[i].begin, sp[i].name);
        pos = sp[i].end;
    }
    if (pos != datalen)
        return mli_err(MLI_EINPUT,
                       "%s: data section has %" PRIu64 " unused trailing bytes after offset %" PRIu64, label,
                       (uint64_t)datalen - pos, pos);
    return MLI_OK;
}

static int parse_meta(const cJSON *m, const char *label, mli_st_file *f)
{
    if (!cJSON_IsObject(m))
        return mli_err(MLI_EINPUT, "%s: __metadata__ is not an object", label);
    int n = cJSON_GetArraySize(m);
    f->meta_keys = mli_calloc((size_t)n, sizeof *f->meta_keys);
    f->meta_values = mli_calloc((size_t)n, sizeof *f->meta_values);
    for (const cJSON *e = m->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return mli_err(MLI_EINPUT, "%s: __metadata__ value for key '%s' is not a string", label,
                           e->string);
        f->meta_keys[f->nmeta] = mli_strdup(e->string);
        f->meta_values[f->nmeta++] = mli_strdup(e->valuestring);
    }
    const char **keys = mli_malloc((size_t)n * sizeof *keys);
    memcpy(keys, f->meta_keys, (size_t)n * sizeof *keys);
    const char *dup = find_dup(keys, n);
    int rc = dup ? mli_err(MLI_EINPUT, "%s: duplicate __metadata__ key '%s'", label, dup) : MLI_OK;
    free(keys);
    return rc;
}

static int parse_header(const cJSON *root, size_t hlen, const char *label, mli_st_file *f)
{
    if (!cJSON_IsObject(root))
        return mli_err(MLI_EINPUT, "%s: header is not a JSON object", label);
    const unsigned char *data = f->buf + 8 + hlen;
    size_t datalen = f->len - 8 - hlen;
    const cJSON *meta = NULL;
    int n = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__"))
            n++;
        else if (meta)
            return mli_err(MLI_EINPUT, "%s: duplicate __metadata__", label);
        else
            meta = e;
    }
    int rc = meta ? parse_meta(meta, label, f) : MLI_OK;
    if (rc)
        return rc;
    f->tensors = mli_calloc((size_t)n, sizeof *f->tensors);
    span *sp = mli_calloc((size_t)n, sizeof *sp);
    const char **names = mli_calloc((size_t)n, sizeof *names);
    for (const cJSON *e = root->child; e && !rc; e = e->next) {
        if (e == meta)
            continue;
        mli_st_tensor *t = &f->tensors[f->ntensors];
        t->name = mli_strdup(e->string);
        names[f->ntensors++] = t->name;
        rc = parse_tensor(e, label, datalen, t, &sp[f->ntensors - 1]);
        t->data = data + sp[f->ntensors - 1].begin;
    }
    const char *dup = rc ? NULL : find_dup(names, n);
    if (dup)
        rc = mli_err(MLI_EINPUT, "%s: duplicate tensor name '%s'", label, dup);
    if (!rc)
        rc = check_layout(sp, n, datalen, label);
    free(names);
    free(sp);
    return rc;
}

/* Takes ownership of buf: it becomes out->buf, or is freed on failure. */
static int parse_owned(unsigned char *buf, size_t len, const char *label, mli_st_file *out)
{
    mli_st_file f = {.buf = buf, .len = len};
    memset(out, 0, sizeof *out);
    if (!label)
        label = "safetensors";
    if (len < 8) {
        free(buf);
        return mli_err(MLI_EINPUT, "%s: file is %zu bytes, shorter than the 8-byte header length", label,
                       len);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[i];
    int rc = MLI_OK;
    if (n == 0)
        rc = mli_err(MLI_EINPUT, "%s: header length is 0", label);
    else if (n > MLI_ST_MAX_HEADER)
        rc = mli_err(MLI_EINPUT, "%s: header length %" PRIu64 " exceeds the limit of %u bytes", label, n,
                     MLI_ST_MAX_HEADER);
    else if (n > len - 8)
        rc = mli_err(MLI_EINPUT, "%s: header length %" PRIu64 " exceeds the %zu bytes after the length field",
                     label, n, len - 8);
    else
        rc = check_text(buf + 8, (size_t)n, label);
    if (!rc) {
        char *text = mli_malloc((size_t)n + 1);
        memcpy(text, buf + 8, (size_t)n);
        text[n] = '\0';
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
        if (!root)
            rc = mli_err(MLI_EINPUT, "%s: header is not valid JSON (error at byte %td)", label,
                         end ? end - text : (ptrdiff_t)0);
        else
            rc = parse_header(root, (size_t)n, label, &f);
        cJSON_Delete(root);
        free(text);
    }
    if (rc) {
        mli_st_free(&f);
        return rc;
    }
    *out = f;
    return MLI_OK;
}

int mli_st_parse(const unsigned char *buf, size_t len, const char *label, mli_st_file *out)
{
    unsigned char *copy = mli_malloc(len + 1);
    if (len)
        memcpy(copy, buf, len);
    return parse_owned(copy, len, label, out);
}

int mli_st_read(const char *path, mli_st_file *out)
{
    unsigned char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = mli_file_read(path, SIZE_MAX / 2, &buf, &len);
    return rc ? rc : parse_owned(buf, len, path, out);
}

void mli_st_free(mli_st_file *f)
{
    for (int i = 0; i < f->ntensors; i++)
        free(f->tensors[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

const mli_st_tensor *mli_st_find(const mli_st_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *mli_st_meta(const mli_st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

/* The tensor if it exists and has one of the two dtypes, else NULL with the error set. */
static const mli_st_tensor *lookup(const mli_st_file *f, const char *label, const char *name, mli_st_dtype d1,
                                   mli_st_dtype d2, const char *want)
{
    const mli_st_tensor *t = mli_st_find(f, name);
    if (!t)
        mli_err(MLI_EINPUT, "%s: no tensor '%s'", label, name);
    else if (t->dtype != d1 && t->dtype != d2)
        mli_err(MLI_EINPUT, "%s: tensor '%s' is %s, expected %s", label, name, dtypes[t->dtype].name, want);
    else
        return t;
    return NULL;
}

int mli_st_get_real(const mli_st_file *f, const char *label, const char *name, int ndim, const int64_t *shape,
                    mli_real *dst)
{
    const mli_st_tensor *t = lookup(f, label, name, MLI_ST_F32, MLI_ST_F64, "F32 or F64");
    if (!t)
        return MLI_EINPUT;
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char found[256], want[256];
        shape_str(found, sizeof found, t->ndim, t->shape, ", ");
        shape_str(want, sizeof want, ndim, shape, ", ");
        return mli_err(MLI_EINPUT, "%s: tensor '%s' has shape %s, expected %s", label, name, found, want);
    }
    for (size_t i = 0; i < t->numel; i++) {
        if (t->dtype == MLI_ST_F32) {
            float v;
            memcpy(&v, t->data + 4 * i, 4);
            dst[i] = (mli_real)v;
        } else {
            double v;
            memcpy(&v, t->data + 8 * i, 8);
            dst[i] = (mli_real)v;
        }
    }
    return MLI_OK;
}

int mli_st_get_u8(const mli_st_file *f, const char *label, const char *name, size_t n, unsigned char *dst)
{
    const mli_st_tensor *t = lookup(f, label, name, MLI_ST_U8, MLI_ST_U8, "U8");
    if (!t)
        return MLI_EINPUT;
    if (t->nbytes != n)
        return mli_err(MLI_EINPUT, "%s: tensor '%s' has %zu bytes, expected %zu", label, name, t->nbytes, n);
    if (n)
        memcpy(dst, t->data, n);
    return MLI_OK;
}

/* ---- writer ---- */

typedef struct {
    char *name;
    mli_st_dtype dtype;
    int ndim;
    int64_t shape[MLI_ST_MAX_DIMS];
    unsigned char *data;
    size_t nbytes;
} wtensor;

struct mli_st_writer {
    wtensor *t;
    int nt, nmeta;
    char **keys, **values;
    char err[512]; /* first misuse, reported by write/serialize since add returns nothing */
};

static void werr(mli_st_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void werr(mli_st_writer *w, const char *fmt, ...)
{
    if (w->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

mli_st_writer *mli_st_writer_new(void) { return mli_calloc(1, sizeof(mli_st_writer)); }

void mli_st_writer_free(mli_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->nt; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (int i = 0; i < w->nmeta; i++) {
        free(w->keys[i]);
        free(w->values[i]);
    }
    free(w->t);
    free(w->keys);
    free(w->values);
    free(w);
}

/* Checks the name and shape and appends an entry without data; NULL on misuse. */
static wtensor *wadd(mli_st_writer *w, const char *name, mli_st_dtype dtype, int ndim, const int64_t *shape)
{
    if (!name || !utf8_ok(name) || !strcmp(name, "__metadata__"))
        return werr(w, "safetensors writer: invalid tensor name '%s'", name ? name : "(null)"), NULL;
    for (int i = 0; i < w->nt; i++)
        if (!strcmp(w->t[i].name, name))
            return werr(w, "safetensors writer: duplicate tensor name '%s'", name), NULL;
    if (ndim < 0 || ndim > MLI_ST_MAX_DIMS)
        return werr(w, "safetensors writer: tensor '%s' has %d dimensions", name, ndim), NULL;
    size_t numel = 1, size = dtypes[dtype].size;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > (uint64_t)JSON_INT_MAX ||
            (shape[i] && numel > SIZE_MAX / size / (uint64_t)shape[i]))
            return werr(w, "safetensors writer: tensor '%s' has an invalid shape", name), NULL;
        numel *= (size_t)shape[i];
    }
    w->t = mli_realloc(w->t, (size_t)(w->nt + 1) * sizeof *w->t);
    wtensor *t = &w->t[w->nt++];
    *t = (wtensor){.name = mli_strdup(name), .dtype = dtype, .ndim = ndim, .nbytes = numel * size};
    if (ndim)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = mli_malloc(t->nbytes);
    return t;
}

void mli_st_add_real(mli_st_writer *w, const char *name, int ndim, const int64_t *shape, const mli_real *src)
{
    wtensor *t = wadd(w, name, MLI_ST_F32, ndim, shape);
    for (size_t i = 0; t && i < t->nbytes / 4; i++) {
        float v = (float)src[i];
        memcpy(t->data + 4 * i, &v, 4);
    }
}

void mli_st_add_u8(mli_st_writer *w, const char *name, size_t n, const unsigned char *src)
{
    int64_t shape[1] = {n > INT64_MAX ? -1 : (int64_t)n};
    wtensor *t = wadd(w, name, MLI_ST_U8, 1, shape);
    if (t && n)
        memcpy(t->data, src, n);
}

void mli_st_add_meta(mli_st_writer *w, const char *key, const char *value)
{
    if (!key || !value || !utf8_ok(key) || !utf8_ok(value)) {
        werr(w, "safetensors writer: invalid metadata entry '%s'", key ? key : "(null)");
        return;
    }
    for (int i = 0; i < w->nmeta; i++) {
        if (!strcmp(w->keys[i], key)) {
            werr(w, "safetensors writer: duplicate metadata key '%s'", key);
            return;
        }
    }
    w->keys = mli_realloc(w->keys, (size_t)(w->nmeta + 1) * sizeof *w->keys);
    w->values = mli_realloc(w->values, (size_t)(w->nmeta + 1) * sizeof *w->values);
    w->keys[w->nmeta] = mli_strdup(key);
    w->values[w->nmeta++] = mli_strdup(value);
}

/* Integers go in as raw text: cJSON would print large ones as 1e+15, which strict
 * readers (the official one included) reject for sizes. */
static char *header_json(const mli_st_writer *w)
{
    cJSON *root = cJSON_CreateObject(), *meta = NULL;
    if (w->nmeta)
        cJSON_AddItemToObject(root, "__metadata__", meta = cJSON_CreateObject());
    for (int i = 0; i < w->nmeta; i++)
        cJSON_AddStringToObject(meta, w->keys[i], w->values[i]);
    uint64_t off = 0;
    for (int i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        char shape[256], offs[64];
        shape_str(shape, sizeof shape, t->ndim, t->shape, ",");
        snprintf(offs, sizeof offs, "[%" PRIu64 ",%" PRIu64 "]", off, off + t->nbytes);
        off += t->nbytes;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "dtype", dtypes[t->dtype].name);
        cJSON_AddRawToObject(e, "shape", shape);
        cJSON_AddRawToObject(e, "data_offsets", offs);
        cJSON_AddItemToObject(root, t->name, e);
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

unsigned char *mli_st_serialize(const mli_st_writer *w, size_t *len)
{
    *len = 0;
    if (w->err[0])
        return mli_err(MLI_EFAIL, "%s", w->err), NULL;
    char *json = header_json(w);
    if (!json)
        return mli_err(MLI_EFAIL, "safetensors writer: out of memory building the header"), NULL;
    /* Pad with spaces so the data section starts 8-byte aligned, as the official writer does. */
    size_t n = strlen(json), hlen = n + (8 - n % 8) % 8, total = 8 + hlen;
    for (int i = 0; i < w->nt; i++)
        total += w->t[i].nbytes;
    unsigned char *b = mli_malloc(total), *p = b + 8 + hlen;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, json, n);
    memset(b + 8 + n, ' ', hlen - n);
    for (int i = 0; i < w->nt; i++) {
        if (w->t[i].nbytes)
            memcpy(p, w->t[i].data, w->t[i].nbytes);
        p += w->t[i].nbytes;
    }
    cJSON_free(json);
    *len = total;
    return b;
}

int mli_st_write(const mli_st_writer *w, const char *path)
{
    size_t len;
    unsigned char *b = mli_st_serialize(w, &len);
    if (!b)
        return MLI_EFAIL;
    int rc = mli_atomic_write(path, b, len);
    free(b);
    return rc;
}
