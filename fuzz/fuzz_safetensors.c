/* libFuzzer target for the safetensors reader: any input must either be rejected with a
 * message or yield tensors whose every byte lies inside the parsed buffer, and whatever the
 * reader accepts, the writer must be able to write back in a form the reader accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-write the F32 and U8 tensors and the metadata, then read them back. */
static void rewrite(const mli_st_file *f)
{
    mli_st_writer *w = mli_st_writer_new();
    int n = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const mli_st_tensor *t = &f->tensors[i];
        if (t->dtype == MLI_ST_U8 && t->ndim == 1) {
            mli_st_add_u8(w, t->name, t->nbytes, t->data);
            n++;
        } else if (t->dtype == MLI_ST_F32) {
            mli_real *x = malloc((t->numel ? t->numel : 1) * sizeof *x);
            if (!x || mli_st_get_real(f, "fuzz", t->name, t->ndim, t->shape, x) != MLI_OK)
                abort();
            mli_st_add_real(w, t->name, t->ndim, t->shape, x);
            free(x);
            n++;
        }
    }
    for (int i = 0; i < f->nmeta; i++)
        mli_st_add_meta(w, f->meta_keys[i], f->meta_values[i]);
    size_t len;
    unsigned char *b = mli_st_serialize(w, &len);
    mli_st_file g;
    if (!b || b[0] % 8 || mli_st_parse(b, len, "rewrite", &g) != MLI_OK) { /* data 8-byte aligned */
        fprintf(stderr, "rewrite failed: %s\n", mli_errmsg());
        abort();
    }
    if (g.ntensors != n || g.nmeta != f->nmeta)
        abort();
    for (int i = 0; i < g.ntensors; i++)
        if (g.tensors[i].dtype == MLI_ST_U8 &&
            memcmp(g.tensors[i].data, mli_st_find(f, g.tensors[i].name)->data, g.tensors[i].nbytes))
            abort();
    mli_st_free(&g);
    free(b);
    mli_st_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mli_st_file f;
    mli_err_clear();
    if (mli_st_parse(data, size, "fuzz", &f) != MLI_OK) {
        if (!mli_errmsg()[0])
            abort(); /* every rejection must say why */
        return 0;
    }
    volatile unsigned sink = 0;
    for (int i = 0; i < f.ntensors; i++) {
        const mli_st_tensor *t = &f.tensors[i];
        if (mli_st_find(&f, t->name) != t)
            abort(); /* names are unique, so the lookup finds this very entry */
        if (t->nbytes && (t->data < f.buf || t->data + t->nbytes > f.buf + f.len))
            abort();
        for (size_t k = 0; k < t->nbytes; k++)
            sink += t->data[k];
        if (t->dtype != MLI_ST_F32 && t->dtype != MLI_ST_F64)
            continue;
        mli_real *dst = malloc((t->numel ? t->numel : 1) * sizeof *dst);
        if (!dst)
            continue;
        if (mli_st_get_real(&f, "fuzz", t->name, t->ndim, t->shape, dst) != MLI_OK)
            abort();
        for (size_t k = 0; k < t->numel; k++)
            sink += dst[k] == dst[k];
        free(dst);
    }
    for (int i = 0; i < f.nmeta; i++) {
        if (mli_st_meta(&f, f.meta_keys[i]) != f.meta_values[i])
            abort();
        sink += (unsigned)strlen(f.meta_values[i]);
    }
    (void)sink;
    rewrite(&f);
    mli_st_free(&f);
    return 0;
}
