/* ONNX models (onnx.proto, proto2, package onnx): the file layer of the coming import and
 * export of models, independent of the engine. docs/onnx.md says what is read and refused.
 *
 * The reader trusts nothing: the file size is bounded, protobuf-c decodes the bytes (wrong
 * wire types, truncated or overlong fields are refused) after a pass that bounds the nesting
 * depth, and the decoded model is checked against what mli can use: float (FLOAT or DOUBLE,
 * converted) and INT64 tensors stored in the file itself, dims that are non-negative and whose
 * product matches the data, unique names, a graph whose every node input is defined and that
 * has no cycle. Any violation is MLI_EINPUT with a message naming the file, the culprit
 * (initializer, node name and op_type, attribute) and what was expected.
 *
 * The model is plain C: nothing of protobuf-c shows through this header. */
#ifndef MLI_ONNX_H
#define MLI_ONNX_H

#include <stddef.h>
#include <stdint.h>

/* Files above 2 GiB cannot be valid: protobuf messages are limited to 2 GiB, and larger ONNX
 * models must keep their weights as external data, which mli refuses. */
#define MLI_ONNX_MAX_FILE ((size_t)2 << 30)
#define MLI_ONNX_MAX_DIMS 8
/* Messages nested deeper than this (graphs inside attributes inside graphs ...) are refused
 * before protobuf-c, whose decoder recurses, sees them. */
#define MLI_ONNX_MAX_DEPTH 32
/* Decoding costs memory per string, byte field and message (a struct, a pointer, an allocation),
 * so a file of empty fields two bytes each would cost 100 times its size: at most this many
 * length-delimited fields are decoded. Real models have about ten per node. */
#define MLI_ONNX_MAX_FIELDS (1u << 22)
/* The IR version the builder declares: that of ONNX 1.10 to 1.12 (opsets 15 to 17). */
#define MLI_ONNX_IR_VERSION 8

/* Element types: ONNX's TensorProto.DataType numbers (the ones mli names). */
enum {
    MLI_ONNX_UNDEFINED = 0,
    MLI_ONNX_FLOAT = 1,
    MLI_ONNX_INT32 = 6,
    MLI_ONNX_INT64 = 7,
    MLI_ONNX_BOOL = 9,
    MLI_ONNX_DOUBLE = 11
};
/* "FLOAT", "INT64", ... or "type 42" (in a per-thread buffer, for messages). */
const char *mli_onnx_type_name(int elem_type);

/* A tensor with its data: FLOAT and DOUBLE in the file become float (elem_type MLI_ONNX_FLOAT,
 * file_type says which it was), INT64 stays int64 (Reshape shapes, Gather indices). */
typedef struct {
    char *name;
    int elem_type; /* MLI_ONNX_FLOAT or MLI_ONNX_INT64 */
    int file_type; /* the type in the file: FLOAT, DOUBLE or INT64 */
    int ndim;
    int64_t dims[MLI_ONNX_MAX_DIMS];
    size_t numel;  /* product of dims (1 for a scalar) */
    float *f;      /* numel floats when elem_type is FLOAT, else NULL */
    int64_t *i;    /* numel int64 when elem_type is INT64, else NULL */
} mli_onnx_tensor;

/* A graph input or output. A dimension is a number, a symbol (dim_param, e.g. "batch") or
 * unknown; elem_type is MLI_ONNX_UNDEFINED for values that are not tensors (sequences, maps). */
typedef struct {
    char *name;
    int elem_type;
    int ndim;                             /* -1: shape not given */
    int64_t dims[MLI_ONNX_MAX_DIMS];      /* -1 where symbolic or unknown */
    char *dim_params[MLI_ONNX_MAX_DIMS];  /* the symbol, or NULL */
} mli_onnx_value;

typedef enum {
    MLI_ONNX_ATTR_FLOAT,
    MLI_ONNX_ATTR_INT,
    MLI_ONNX_ATTR_STRING,
    MLI_ONNX_ATTR_FLOATS,
    MLI_ONNX_ATTR_INTS,
    MLI_ONNX_ATTR_STRINGS,
    MLI_ONNX_ATTR_TENSOR
} mli_onnx_attr_type;

typedef struct {
    char *name;
    mli_onnx_attr_type type;
    float f;
    int64_t i;
    char *s;        /* STRING: NUL-terminated copy of the bytes; slen excludes the NUL */
    size_t slen;
    size_t n;       /* FLOATS, INTS, STRINGS: element count */
    float *floats;
    int64_t *ints;
    char **strings;
    mli_onnx_tensor *t;
} mli_onnx_attr;

typedef struct {
    char *name;   /* "" if the file gives none */
    char *op_type;
    char *domain; /* "" is the default ONNX domain */
    int ninputs, noutputs;
    char **inputs;  /* "" marks an omitted optional input */
    char **outputs; /* "" marks an omitted optional output */
    int nattrs;
    mli_onnx_attr *attrs;
} mli_onnx_node;

typedef struct {
    char *domain;
    int64_t version;
} mli_onnx_opset;

typedef struct {
    int64_t ir_version;
    char *producer_name;
    int nopsets;
    mli_onnx_opset *opsets;
    char *graph_name;
    int ninputs, noutputs, nnodes, ninits;
    mli_onnx_value *inputs;
    mli_onnx_value *outputs;
    mli_onnx_node *nodes; /* file order, which need not be an execution order */
    mli_onnx_tensor *inits;
    /* Capacities of the builder. */
    int cap_inputs, cap_outputs, cap_nodes, cap_inits;
    char *producer_version; /* "" if the file gives none; the builder's is NULL; written if not empty */
} mli_onnx_model;

/* Read and check a model file. On success *out is a new model (mli_onnx_free); on failure
 * *out is NULL and the status is MLI_EINPUT (invalid file) or MLI_EFAIL. */
int mli_onnx_read(const char *path, mli_onnx_model **out);
/* The same for bytes in memory; label names them in messages. */
int mli_onnx_parse(const unsigned char *buf, size_t len, const char *label, mli_onnx_model **out);
/* A lone TensorProto file (the input_N.pb / output_N.pb of ONNX's backend tests). */
int mli_onnx_read_tensor(const char *path, mli_onnx_tensor *out);
int mli_onnx_parse_tensor(const unsigned char *buf, size_t len, const char *label, mli_onnx_tensor *out);
void mli_onnx_free(mli_onnx_model *m);
void mli_onnx_tensor_free(mli_onnx_tensor *t);

/* Graph checks (the reader runs them): every non-empty node input is a graph input, an
 * initializer or the output of a node, no name is defined twice, the graph has no cycle and
 * every graph output is defined. order (may be NULL) receives the node indices in an execution
 * order: file order wherever the dependencies allow it. label names the model in messages. */
int mli_onnx_sort(const mli_onnx_model *m, const char *label, int *order);

/* Lookups: NULL when absent. */
const mli_onnx_tensor *mli_onnx_find_init(const mli_onnx_model *m, const char *name);
const mli_onnx_attr *mli_onnx_find_attr(const mli_onnx_node *n, const char *name);
/* Version of the opset imported for domain ("" = default ONNX domain), or -1. */
int64_t mli_onnx_opset_version(const mli_onnx_model *m, const char *domain);

/* Builder, for the exporter and the tests. Every string and array is copied. The pointers
 * returned stay valid until the next call that adds the same kind of thing to the model. */
mli_onnx_model *mli_onnx_model_new(const char *graph_name, int64_t opset);
/* dims[k] < 0 with dim_params == NULL or dim_params[k] == NULL: unknown; dim_params[k] set:
 * symbolic. ndim -1: no shape. */
mli_onnx_value *mli_onnx_add_input(mli_onnx_model *m, const char *name, int elem_type, int ndim,
                                   const int64_t *dims, const char *const *dim_params);
mli_onnx_value *mli_onnx_add_output(mli_onnx_model *m, const char *name, int elem_type, int ndim,
                                    const int64_t *dims, const char *const *dim_params);
/* inputs / outputs may contain "" (omitted optional ones). */
mli_onnx_node *mli_onnx_add_node(mli_onnx_model *m, const char *op_type, const char *name,
                                 int ninputs, const char *const *inputs, int noutputs,
                                 const char *const *outputs);
mli_onnx_tensor *mli_onnx_add_init_float(mli_onnx_model *m, const char *name, int ndim,
                                         const int64_t *dims, const float *data);
mli_onnx_tensor *mli_onnx_add_init_int64(mli_onnx_model *m, const char *name, int ndim,
                                         const int64_t *dims, const int64_t *data);
void mli_onnx_attr_float(mli_onnx_node *n, const char *name, float v);
void mli_onnx_attr_int(mli_onnx_node *n, const char *name, int64_t v);
void mli_onnx_attr_string(mli_onnx_node *n, const char *name, const char *v);
void mli_onnx_attr_floats(mli_onnx_node *n, const char *name, size_t count, const float *v);
void mli_onnx_attr_ints(mli_onnx_node *n, const char *name, size_t count, const int64_t *v);
void mli_onnx_attr_strings(mli_onnx_node *n, const char *name, size_t count, const char *const *v);
/* A float tensor value (e.g. Constant's "value"). */
void mli_onnx_attr_tensor(mli_onnx_node *n, const char *name, int ndim, const int64_t *dims,
                          const float *data);
/* An INT64 tensor value (Constant's "value" as exporters write shapes and bounds). */
void mli_onnx_attr_tensor_int64(mli_onnx_node *n, const char *name, int ndim, const int64_t *dims,
                                const int64_t *data);

/* Writer: float tensors as FLOAT raw_data, int64 ones as INT64 raw_data (little-endian).
 * The model is written as given, without mli_onnx_sort, so that tests can write invalid
 * graphs; an exporter checks first. Written atomically. */
int mli_onnx_write(const char *path, const mli_onnx_model *m);
/* The serialized bytes (tests, fuzz seeds); caller frees. NULL only for a tensor whose dims
 * do not match its element count. */
unsigned char *mli_onnx_serialize(const mli_onnx_model *m, size_t *len);
/* A lone TensorProto, as mli_onnx_read_tensor reads. */
unsigned char *mli_onnx_serialize_tensor(const mli_onnx_tensor *t, size_t *len);

#endif
