/* Constant folding at import: the shape arithmetic that exporters write around Slice, Pad and
 * Reshape (torch.onnx.export's Constant nodes, and F.pad's pads computed from a Shape) is
 * evaluated once, when the model is imported, into constant tensors that the operators' import
 * functions read as they read initializers. docs/onnx.md, "Constant folding", gives the rule.
 *
 * A node is folded when its op_type is one of Constant, Shape, Gather, Unsqueeze, Squeeze,
 * Concat, Cast, Slice, Add, Sub, Mul, Div, ConstantOfShape, Range, Reshape, Identity, Transpose
 * and every input it reads is a constant: an INT64 initializer, a folded value, or (Shape only)
 * a value whose shape is known — a float initializer's, or one computed from the data, whose
 * per-example dims are static. A float initializer is a parameter (θ interpolates it): no node
 * reading one is folded but Shape.
 *
 * The batch size is the one dimension left free. Every folded element carries a tag: known,
 * the batch size itself (Shape's first entry of a data value, copied through Gather, Concat,
 * ...), or computed from it (arithmetic on the batch size). Anything whose size depends on a
 * tagged element (Gather's indices, Slice's bounds, a shape, ConstantOfShape's dims, Range's
 * bounds, axes) is refused; the importer's readers accept a tagged element only where it
 * provably does not matter (a Reshape's first entry that is the batch size itself, a Slice of
 * the whole batch). */
#ifndef MLI_ONNX_FOLD_H
#define MLI_ONNX_FOLD_H

#include "io/onnx.h"

enum { MLI_FOLD_KNOWN = 0, MLI_FOLD_BATCH = 1, MLI_FOLD_DEP = 2 };
/* Folded values hold at most this many elements: shape arithmetic is small. */
#define MLI_FOLD_MAX_NUMEL 65536

/* The shape of value `name` computed from the data (not a constant): its rank (≤
 * MLI_ONNX_MAX_DIMS) with dims[0] the batch (any number: it is tagged), or -1 when unknown. */
typedef int (*mli_onnx_shape_fn)(void *ctx, const char *name, int64_t *dims);

typedef struct {
    mli_onnx_tensor t;  /* INT64 (also for INT32 casts) or FLOAT values; t.name the value's */
    unsigned char *tag; /* per element: MLI_FOLD_KNOWN, _BATCH or _DEP */
    int set;            /* 1 once folded */
} mli_onnx_const;

typedef struct {
    const mli_onnx_model *m;
    const char *label;
    mli_onnx_shape_fn shape;
    void *ctx;
    int *voff;            /* per node: its first output's index in vals */
    mli_onnx_const *vals; /* per node output */
} mli_onnx_folder;

void mli_onnx_fold_init(mli_onnx_folder *f, const mli_onnx_model *m, const char *label, mli_onnx_shape_fn shape,
                        void *ctx);
void mli_onnx_fold_free(mli_onnx_folder *f);
/* 1 if op_type is one the folder evaluates */
int mli_onnx_fold_op(const char *op_type);
/* Fold node k (its inputs' producers folded or imported before): 1 folded, 0 not folded (another
 * op_type, or an input that is not a constant: the importer's affair), or MLI_EINPUT naming the
 * node (malformed constants, a size that depends on the batch, a result over
 * MLI_FOLD_MAX_NUMEL). */
int mli_onnx_fold_node(mli_onnx_folder *f, int k);
/* The constant called `name`: an initializer (*tag NULL) or a folded value (*tag its tags, or
 * NULL when every element is known); NULL if it is neither. tag may be NULL. */
const mli_onnx_tensor *mli_onnx_fold_const(const mli_onnx_folder *f, const char *name, const unsigned char **tag);

#endif
