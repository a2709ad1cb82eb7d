/* safetensors files: 8-byte little-endian header length N, N bytes of JSON header
 * ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}),
 * then the raw little-endian tensor data.
 *
 * The reader trusts nothing: the header length is bounded, the JSON goes through cJSON,
 * every dtype / shape / offset is checked against the file size and the other tensors
 * (no overlap, no gap, data section fully covered), names are unique. Any violation is
 * MLI_EINPUT with a message naming the file and the fault. */
#ifndef MLI_SAFETENSORS_H
#define MLI_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "io/real.h"

#define MLI_ST_MAX_DIMS 8
#define MLI_ST_MAX_HEADER (64u << 20) /* 64 MiB of JSON is far more than any model needs */

typedef enum { MLI_ST_F32, MLI_ST_F64, MLI_ST_I64, MLI_ST_U8 } mli_st_dtype;

typedef struct {
    char *name;
    mli_st_dtype dtype;
    int ndim;
    int64_t shape[MLI_ST_MAX_DIMS];
    size_t numel;
    const unsigned char *data; /* points into the file buffer */
    size_t nbytes;
} mli_st_tensor;

typedef struct {
    int ntensors;
    mli_st_tensor *tensors;
    int nmeta;
    char **meta_keys, **meta_values;
    unsigned char *buf; /* owned copy of the file */
    size_t len;
} mli_st_file;

/* Parse a buffer (copied). label names the source in error messages. */
int mli_st_parse(const unsigned char *buf, size_t len, const char *label, mli_st_file *out);
/* Read and parse a file. */
int mli_st_read(const char *path, mli_st_file *out);
void mli_st_free(mli_st_file *f);

const mli_st_tensor *mli_st_find(const mli_st_file *f, const char *name);
/* Metadata value or NULL. */
const char *mli_st_meta(const mli_st_file *f, const char *key);
/* Copy a floating tensor (F32 or F64) into dst, converting to mli_real, after checking that
 * it exists and has exactly the given shape. label names the file in messages. */
int mli_st_get_real(const mli_st_file *f, const char *label, const char *name, int ndim,
                    const int64_t *shape, mli_real *dst);
/* Copy a U8 tensor of exactly n bytes. */
int mli_st_get_u8(const mli_st_file *f, const char *label, const char *name, size_t n,
                  unsigned char *dst);

/* Writer: collect tensors and metadata, then write atomically in insertion order. Data is
 * copied at add time, so the caller's buffers may change afterwards. */
typedef struct mli_st_writer mli_st_writer;
mli_st_writer *mli_st_writer_new(void);
void mli_st_writer_free(mli_st_writer *w);
/* Stored as F32 whatever mli_real is. */
void mli_st_add_real(mli_st_writer *w, const char *name, int ndim, const int64_t *shape,
                     const mli_real *src);
void mli_st_add_u8(mli_st_writer *w, const char *name, size_t n, const unsigned char *src);
void mli_st_add_meta(mli_st_writer *w, const char *key, const char *value);
int mli_st_write(const mli_st_writer *w, const char *path);
/* The serialized bytes (for tests and fuzz seeds); caller frees. */
unsigned char *mli_st_serialize(const mli_st_writer *w, size_t *len);

#endif
