/* libFuzzer target for the IDX reader: the input as a (possibly gzipped) file, read as
 * mli_idx_read reads it (gzip inflated as it is read, bounded by the header), gunzipped whole
 * with a small bound and parsed, and the raw input parsed directly. Every path must end in
 * MLI_OK or MLI_EINPUT with nothing leaked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/idx.h"
#include "io/err.h"

#define FUZZ_MAX_OUT ((size_t)64 << 20)

static void parse(const unsigned char *buf, size_t len)
{
    mli_idx x;
    int rc = mli_idx_parse(buf, len, "fuzz", &x);
    if (rc != MLI_OK && rc != MLI_EINPUT)
        abort();
    if (rc == MLI_OK && (x.n == 0 || !x.data))
        abort();
    mli_idx_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out;
    size_t outlen;
    int rc = mli_gunzip(data, size, "fuzz", FUZZ_MAX_OUT, &out, &outlen);
    if (rc != MLI_OK && rc != MLI_EINPUT)
        abort();
    if (rc == MLI_OK) {
        parse(out, outlen);
        free(out);
    }
    parse(data, size);
    mli_idx x;
    rc = mli_idx_load(data, size, "fuzz", &x);
    if (rc != MLI_OK && rc != MLI_EINPUT)
        abort();
    if (rc == MLI_OK && (x.n == 0 || !x.data))
        abort();
    mli_idx_free(&x);
    return 0;
}
