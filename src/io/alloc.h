/* Allocations whose size a user chose (hsizes, datasize, batchsize, alpha_steps, examples…):
 * on failure the message names what was being allocated and the keys that asked for it,
 * "cannot allocate N bytes for WHAT (key=value)", and the caller returns MLI_EFAIL, instead
 * of mli_malloc's anonymous exit. */
#ifndef MLI_ALLOC_H
#define MLI_ALLOC_H

#include <stddef.h>

/* count·size bytes (an overflowing product fails too), or NULL with the message recorded
 * (status MLI_EFAIL). what is a printf format naming the purpose and the keys. */
void *mli_alloc_for(size_t count, size_t size, const char *what, ...) __attribute__((format(printf, 3, 4)));

#endif
