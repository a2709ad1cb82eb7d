/* IDX files (the MNIST / FashionMNIST format), optionally gzip-compressed.
 * Magic: two zero bytes, a type byte (0x08 = unsigned byte, the only type the data sets
 * use), the number of dimensions (1..4); then each dimension as a big-endian uint32; then
 * the data. The reader checks every field and that the data is exactly as long as the
 * dimensions say: a truncated, oversized or mismatched file is MLI_EINPUT naming the file. */
#ifndef MLI_IDX_H
#define MLI_IDX_H

#include <stddef.h>
#include <stdint.h>

#define MLI_IDX_MAX_BYTES ((size_t)1 << 31) /* 2 GiB decompressed: no data set here is larger */

typedef struct {
    int ndim;
    uint32_t dims[4];
    unsigned char *data; /* product(dims) bytes */
    size_t n;            /* product(dims) */
} mli_idx;

/* Parse an uncompressed IDX image in memory. label names the source in messages. */
int mli_idx_parse(const unsigned char *buf, size_t len, const char *label, mli_idx *out);
/* Read a file, gzip-compressed or not (detected from its first bytes). A gzip file is
 * inflated as it is read, into a buffer of the size its header declares: data beyond that
 * is refused at its first byte, so memory stays bounded by the header whatever the file
 * inflates to. */
int mli_idx_read(const char *path, mli_idx *out);
/* The same from memory: a gzip-compressed image (inflated as mli_idx_read does) or not. */
int mli_idx_load(const unsigned char *buf, size_t len, const char *label, mli_idx *out);
void mli_idx_free(mli_idx *x);

/* gunzip a whole buffer (or copy it when it is not gzip); at most max output bytes. */
int mli_gunzip(const unsigned char *buf, size_t len, const char *label, size_t max,
               unsigned char **out, size_t *outlen);

#endif
