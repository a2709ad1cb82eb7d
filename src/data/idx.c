#include "data/idx.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/atomic.h"
#include "io/err.h"

/* The compressed files are far smaller than the 2 GiB data bound; this only stops a
 * wrong path (a disk image, say) from being read whole. */
#define IDX_MAX_FILE ((size_t)512 << 20)
#define IDX_MAX_HEADER (4 + 4 * 4)

static int is_gzip(const unsigned char *buf, size_t len)
{
    return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "60000×28×28" for messages. */
static void dims_str(const mli_idx *x, char *s, size_t len)
{
    size_t k = 0;
    s[0] = '\0';
    for (int i = 0; i < x->ndim && k < len; i++)
        k += (size_t)snprintf(s + k, len - k, "%s%u", i ? "×" : "", (unsigned)x->dims[i]);
}

/* Check the header and that the data is exactly as long as it says (only the header when
 * header_only: the data comes later, from a stream); fills ndim, dims, n and returns the
 * header length in *hdr. Allocates nothing. */
static int parse_header(const unsigned char *buf, size_t len, const char *label, mli_idx *out,
                        size_t *hdr, int header_only)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return mli_err(MLI_EINPUT, "%s: empty file, expected an IDX header", label);
    if (len < 4)
        return mli_err(MLI_EINPUT, "%s: truncated header: %zu bytes, an IDX file starts with 4",
                       label, len);
    if (buf[0] != 0 || buf[1] != 0)
        return mli_err(MLI_EINPUT, "%s: bad magic 0x%02x 0x%02x, an IDX file starts with 0x00 0x00",
                       label, buf[0], buf[1]);
    if (buf[2] != 0x08)
        return mli_err(MLI_EINPUT, "%s: unsupported type 0x%02x, only 0x08 (unsigned byte) is read",
                       label, buf[2]);
    int ndim = buf[3];
    if (ndim < 1 || ndim > 4)
        return mli_err(MLI_EINPUT, "%s: bad number of dimensions %d, expected 1 to 4", label, ndim);
    size_t need = 4 + 4 * (size_t)ndim;
    if (len < need)
        return mli_err(MLI_EINPUT, "%s: truncated header: %d dimensions need %zu bytes, file has %zu",
                       label, ndim, need, len);
    out->ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * i);
        out->dims[i] = d;
        if (d == 0)
            return mli_err(MLI_EINPUT, "%s: dimension %d is zero: the file holds no data", label,
                           i + 1);
        /* Checked against the bound at each step, so the product cannot overflow. */
        if (n > MLI_IDX_MAX_BYTES / d)
            return mli_err(MLI_EINPUT, "%s: too large: the dimensions ask for more than %zu bytes",
                           label, MLI_IDX_MAX_BYTES);
        n *= d;
    }
    out->n = n;
    *hdr = need;
    if (header_only)
        return MLI_OK;
    char ds[64];
    dims_str(out, ds, sizeof ds);
    if (len - need < n)
        return mli_err(MLI_EINPUT, "%s: truncated: header says %s = %zu bytes of data, file has %zu",
                       label, ds, n, len - need);
    if (len - need > n)
        return mli_err(MLI_EINPUT,
                       "%s: oversized: header says %s = %zu bytes of data, file has %zu "
                       "(%zu trailing bytes)",
                       label, ds, n, len - need, len - need - n);
    *hdr = need;
    return MLI_OK;
}

int mli_idx_parse(const unsigned char *buf, size_t len, const char *label, mli_idx *out)
{
    size_t hdr = 0;
    int rc = parse_header(buf, len, label, out, &hdr, 0);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->data = mli_malloc(out->n);
    memcpy(out->data, buf + hdr, out->n);
    return MLI_OK;
}

/* A gzip-compressed IDX file, decompressed as it is read: the header first, then exactly the
 * data it declares, into a buffer of that size. More data than the header declares is refused
 * as soon as its first byte comes out, never buffered: a small file that inflates to gigabytes
 * costs the reader no more memory than its header asks for (and a header asking for more than
 * the compressed file can hold is refused before anything is allocated). */
typedef struct {
    z_stream s;
    const unsigned char *buf;
    size_t len, in;
    const char *label;
    int end; /* every member inflated, the input consumed */
} gzin;

static void feed(z_stream *s, const unsigned char *buf, size_t len, size_t *pos);

/* Up to want bytes into out (fewer only at the end of the data); *got says how many. */
static int gz_get(gzin *g, unsigned char *out, size_t want, size_t *got)
{
    z_stream *s = &g->s;
    *got = 0;
    while (*got < want && !g->end) {
        if (s->avail_in == 0 && g->in < g->len)
            feed(s, g->buf, g->len, &g->in);
        size_t room = want - *got < UINT_MAX ? want - *got : UINT_MAX;
        s->next_out = out + *got;
        s->avail_out = (uInt)room;
        uInt avail_in = s->avail_in;
        int zr = inflate(s, Z_NO_FLUSH);
        *got += room - s->avail_out;
        if (zr == Z_STREAM_END) {
            size_t pos = g->in - s->avail_in; /* first byte not consumed */
            if (pos == g->len) {
                g->end = 1;
                break;
            }
            /* Concatenated members are valid gzip (`cat a.gz b.gz`); anything else is not. */
            if (!is_gzip(g->buf + pos, g->len - pos))
                return mli_err(MLI_EINPUT, "%s: %zu bytes of trailing garbage after the gzip stream",
                               g->label, g->len - pos);
            inflateReset(s);
            g->in = pos;
            feed(s, g->buf, g->len, &g->in);
        } else if (zr == Z_BUF_ERROR || (zr == Z_OK && s->avail_out == room && s->avail_in == avail_in)) {
            if (s->avail_in == 0 && g->in == g->len)
                return mli_err(MLI_EINPUT, "%s: truncated gzip stream: it ends after %zu bytes, "
                                           "before its end marker and checksum",
                               g->label, g->len);
        } else if (zr != Z_OK) {
            if (zr == Z_MEM_ERROR)
                return mli_err(MLI_EFAIL, "%s: out of memory in zlib", g->label);
            return mli_err(MLI_EINPUT, "%s: corrupt gzip data: %s", g->label, s->msg ? s->msg : zError(zr));
        }
    }
    return MLI_OK;
}

static int read_gzip(const unsigned char *raw, size_t rawlen, const char *path, mli_idx *out)
{
    gzin g = {.buf = raw, .len = rawlen, .label = path};
    if (inflateInit2(&g.s, 15 + 32) != Z_OK) /* 15 + 32: full window, gzip header auto-detected */
        return mli_err(MLI_EFAIL, "%s: zlib initialisation failed", path);
    unsigned char head[IDX_MAX_HEADER];
    size_t got, more;
    /* the magic and the number of dimensions, then the dimensions */
    int rc = gz_get(&g, head, 4, &got);
    if (!rc && got == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] >= 1 && head[3] <= 4) {
        rc = gz_get(&g, head + 4, 4 * (size_t)head[3], &more);
        got += more;
    }
    size_t hdr = 0;
    if (!rc)
        rc = parse_header(head, got, path, out, &hdr, 1);
    /* deflate expands at most about 1032:1: a header asking for more than the file can hold
     * is refused before the buffer is allocated */
    size_t can_hold = rawlen < SIZE_MAX / 1032 - 1024 ? 1032 * rawlen + 1024 : SIZE_MAX;
    if (!rc && out->n > can_hold) {
        char ds[64];
        dims_str(out, ds, sizeof ds);
        rc = mli_err(MLI_EINPUT, "%s: truncated: header says %s = %zu bytes of data, more than the %zu "
                                 "compressed bytes of the file can hold (at most %zu)",
                     path, ds, out->n, rawlen, can_hold);
    }
    unsigned char *data = NULL;
    if (!rc) {
        data = mli_malloc(out->n);
        rc = gz_get(&g, data, out->n, &got);
        if (!rc && got < out->n) {
            char ds[64];
            dims_str(out, ds, sizeof ds);
            rc = mli_err(MLI_EINPUT, "%s: truncated: header says %s = %zu bytes of data, file has %zu",
                         path, ds, out->n, got);
        }
    }
    if (!rc) {
        /* one byte more is enough to refuse; the end of the stream checks the CRC */
        unsigned char extra;
        rc = gz_get(&g, &extra, 1, &got);
        if (!rc && got) {
            char ds[64];
            dims_str(out, ds, sizeof ds);
            rc = mli_err(MLI_EINPUT,
                         "%s: oversized: header says %s = %zu bytes of data, the gzip data holds "
                         "more (refused at the first byte beyond them)",
                         path, ds, out->n);
        }
    }
    inflateEnd(&g.s);
    if (rc) {
        free(data);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->data = data;
    return MLI_OK;
}

int mli_idx_load(const unsigned char *buf, size_t len, const char *label, mli_idx *out)
{
    if (is_gzip(buf, len))
        return read_gzip(buf, len, label, out);
    return mli_idx_parse(buf, len, label, out);
}

int mli_idx_read(const char *path, mli_idx *out)
{
    memset(out, 0, sizeof *out);
    unsigned char *raw;
    size_t rawlen;
    int rc = mli_file_read(path, IDX_MAX_FILE, &raw, &rawlen);
    if (rc)
        return rc;
    if (is_gzip(raw, rawlen)) {
        rc = read_gzip(raw, rawlen, path, out);
        free(raw);
        return rc;
    }
    size_t hdr = 0;
    rc = parse_header(raw, rawlen, path, out, &hdr, 0);
    if (rc) {
        free(raw);
        memset(out, 0, sizeof *out);
        return rc;
    }
    /* Hand the buffer over rather than copy it: the training images are 47 MB. */
    memmove(raw, raw + hdr, out->n);
    out->data = raw;
    return MLI_OK;
}

void mli_idx_free(mli_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* Feed zlib the input from pos on; avail_in is 32 bits wide, the buffer need not be. */
static void feed(z_stream *s, const unsigned char *buf, size_t len, size_t *pos)
{
    size_t chunk = len - *pos < UINT_MAX ? len - *pos : UINT_MAX;
    s->next_in = (unsigned char *)buf + *pos; /* zlib's API is not const */
    s->avail_in = (uInt)chunk;
    *pos += chunk;
}

/* Inflate every member; the output grows up to max + 1 bytes so that exceeding max is seen. */
static int inflate_all(z_stream *s, const unsigned char *buf, size_t len, const char *label,
                       size_t max, unsigned char **out, size_t *outlen)
{
    size_t cap = max < SIZE_MAX ? max + 1 : max;
    /* First guess: the trailer's size mod 2^32, believed only up to deflate's best ratio
     * (about 1032:1) so that a forged trailer cannot make us allocate gigabytes. */
    size_t guess = len < SIZE_MAX / 1032 ? 1032 * len : SIZE_MAX;
    if (len >= 18) {
        const unsigned char *t = buf + len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        if (isize < guess)
            guess = isize;
    }
    size_t size = guess < cap && cap - guess > 64 ? guess + 64 : cap;
    unsigned char *o = mli_malloc(size);
    size_t in = 0, got = 0;
    for (;;) {
        if (got == size) {
            size = size < cap / 2 ? size * 2 : cap;
            o = mli_realloc(o, size);
        }
        if (s->avail_in == 0 && in < len)
            feed(s, buf, len, &in);
        size_t room = size - got < UINT_MAX ? size - got : UINT_MAX;
        s->next_out = o + got;
        s->avail_out = (uInt)room;
        int zr = inflate(s, Z_NO_FLUSH);
        got += room - s->avail_out;
        if (got > max) {
            free(o);
            return mli_err(MLI_EINPUT, "%s: gzip data decompresses to more than %zu bytes", label,
                           max);
        }
        if (zr == Z_STREAM_END) {
            size_t pos = in - s->avail_in; /* first byte not consumed */
            if (pos == len)
                break;
            /* Concatenated members are valid gzip (`cat a.gz b.gz`); anything else is not. */
            if (!is_gzip(buf + pos, len - pos)) {
                free(o);
                return mli_err(MLI_EINPUT, "%s: %zu bytes of trailing garbage after the gzip stream",
                               label, len - pos);
            }
            inflateReset(s);
            in = pos;
            feed(s, buf, len, &in);
        } else if (zr == Z_BUF_ERROR && s->avail_in == 0 && in == len) {
            free(o);
            return mli_err(MLI_EINPUT, "%s: truncated gzip stream: it ends after %zu bytes, "
                                       "before its end marker and checksum",
                           label, len);
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            free(o);
            if (zr == Z_MEM_ERROR)
                return mli_err(MLI_EFAIL, "%s: out of memory in zlib", label);
            return mli_err(MLI_EINPUT, "%s: corrupt gzip data: %s", label,
                           s->msg ? s->msg : zError(zr));
        }
    }
    if (size - got > 4096) /* the guess was generous: give the rest back */
        o = mli_realloc(o, got);
    *out = o;
    *outlen = got;
    return MLI_OK;
}

int mli_gunzip(const unsigned char *buf, size_t len, const char *label, size_t max,
               unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!is_gzip(buf, len)) {
        if (len > max)
            return mli_err(MLI_EINPUT, "%s: %zu bytes, more than the %zu allowed", label, len, max);
        unsigned char *o = mli_malloc(len);
        if (len)
            memcpy(o, buf, len);
        *out = o;
        *outlen = len;
        return MLI_OK;
    }
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 15 + 32) != Z_OK) /* 15 + 32: full window, gzip header auto-detected */
        return mli_err(MLI_EFAIL, "%s: zlib initialisation failed", label);
    int rc = inflate_all(&s, buf, len, label, max, out, outlen);
    inflateEnd(&s);
    return rc;
}
