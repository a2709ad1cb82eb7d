#include "io/onnx.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "io/atomic.h"
#include "io/err.h"
#include "onnx.pb-c.h" /* generated into build/gen by protoc-c (Makefile) */

/* raw_data is little-endian by the ONNX spec; it is copied with memcpy in host order. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx.c assumes a little-endian host"
#endif

/* ---------------------------------------------------------------- names and messages */

const char *mli_onnx_type_name(int t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
                                  "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                  "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    static _Thread_local char buf[32];
    if (t >= 0 && t < (int)(sizeof names / sizeof names[0]))
        return names[t];
    snprintf(buf, sizeof buf, "type %d", t);
    return buf;
}

static const char *attr_type_name(int t)
{
    switch (t) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "FLOAT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "INT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "STRING";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "FLOATS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "INTS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
    default: return "UNDEFINED";
    }
}

/* "[2, 3]" for messages. */
static void dims_str(char *s, size_t cap, int ndim, const int64_t *dims)
{
    size_t k = (size_t)snprintf(s, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (k < cap)
        snprintf(s + k, cap - k, "]");
}

/* How messages name a node: by name when it has one, else by position; always with op_type,
 * since that is what a reader of the message can find in a model viewer. */
static void node_desc(char *s, size_t cap, const char *name, const char *op_type, int index)
{
    if (name && name[0])
        snprintf(s, cap, "node '%s' (%s)", name, op_type && op_type[0] ? op_type : "no op_type");
    else
        snprintf(s, cap, "node #%d (%s)", index, op_type && op_type[0] ? op_type : "no op_type");
}

static int bad(const char *label, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const char *label, const char *what, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mli_err(MLI_EINPUT, "%s: %s: %s", label, what, msg);
}

static char *dup_or_empty(const char *s) { return mli_strdup(s ? s : ""); }

/* ---------------------------------------------------------------- nesting bound */

static int read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *i < n; shift += 7) {
        uint8_t b = p[(*i)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 1;
        }
    }
    return 0;
}

/* protobuf-c decodes sub-messages recursively, and GraphProto nests inside AttributeProto
 * inside NodeProto inside GraphProto without end: a file of nested graphs a few bytes per
 * level would exhaust the stack. This walk follows the same schema (the generated descriptors)
 * and only measures depth and counts length-delimited fields (MLI_ONNX_MAX_FIELDS);
 * 1 = fine, 0 = too deep, -2 = too many fields, -1 = not decodable (protobuf-c then says so).
 * Its own recursion stops at MLI_ONNX_MAX_DEPTH. */
static int scan_depth(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth,
                      size_t *fields)
{
    if (depth > MLI_ONNX_MAX_DEPTH)
        return 0;
    size_t i = 0;
    while (i < n) {
        uint64_t key, len;
        if (!read_varint(p, n, &i, &key))
            return -1;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, n, &i, &len))
                return -1;
            break;
        case 1:
            if (n - i < 8)
                return -1;
            i += 8;
            break;
        case 5:
            if (n - i < 4)
                return -1;
            i += 4;
            break;
        case 2: {
            if (!read_varint(p, n, &i, &len) || len > n - i)
                return -1;
            if (++*fields > MLI_ONNX_MAX_FIELDS)
                return -2;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = scan_depth(f->descriptor, p + i, (size_t)len, depth + 1, fields);
                if (r <= 0)
                    return r;
            }
            i += (size_t)len;
            break;
        }
        default: /* groups (3, 4) are not in onnx.proto; 6, 7 do not exist */
            return -1;
        }
    }
    return 1;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, const unsigned char *buf, size_t len,
                                const char *label, const char *kind)
{
    if (len > MLI_ONNX_MAX_FILE) {
        mli_err(MLI_EINPUT, "%s: %zu bytes, more than the %zu an ONNX %s can have", label, len,
                MLI_ONNX_MAX_FILE, kind);
        return NULL;
    }
    size_t fields = 0;
    int depth = scan_depth(d, buf, len, 0, &fields);
    if (depth == 0) {
        mli_err(MLI_EINPUT, "%s: not a valid ONNX %s: messages nested more than %d deep", label, kind,
                MLI_ONNX_MAX_DEPTH);
        return NULL;
    }
    if (depth == -2) {
        mli_err(MLI_EINPUT, "%s: more than %u names, strings and messages, the most mli decodes in an "
                "ONNX %s", label, MLI_ONNX_MAX_FIELDS, kind);
        return NULL;
    }
    ProtobufCMessage *msg = depth > 0 ? protobuf_c_message_unpack(d, NULL, len, buf) : NULL;
    if (!msg)
        mli_err(MLI_EINPUT, "%s: not a valid ONNX %s (protobuf decoding failed: truncated, wrong wire "
                "type or malformed field)", label, kind);
    return msg;
}

/* ---------------------------------------------------------------- tensors */

static size_t type_size(int t) { return t == MLI_ONNX_FLOAT ? 4 : 8; }

/* Dims: at most MLI_ONNX_MAX_DIMS, each in [0, 2^31], and a product that a 2 GiB file could
 * hold even at one byte per element. With both factors at most 2^31 no product overflows, and
 * later byte counts (at most 8 bytes per element) cannot either. A zero dim does not excuse a
 * huge one: no writer produces them. */
static int check_dims(const char *label, const char *what, size_t n, const int64_t *dims, size_t *numel)
{
    if (n > MLI_ONNX_MAX_DIMS)
        return bad(label, what, "%zu dimensions, more than the %d supported", n, MLI_ONNX_MAX_DIMS);
    for (size_t k = 0; k < n; k++)
        if (dims[k] < 0 || (uint64_t)dims[k] > MLI_ONNX_MAX_FILE)
            return bad(label, what, "dimension %zu is %" PRId64 " (expected a size in [0, %zu])", k, dims[k],
                       MLI_ONNX_MAX_FILE);
    size_t count = 1;
    for (size_t k = 0; k < n; k++) {
        count *= (size_t)dims[k];
        if (count > MLI_ONNX_MAX_FILE) {
            char s[256];
            dims_str(s, sizeof s, (int)n, dims);
            return bad(label, what, "dims %s give more elements than a %zu-byte file can hold", s,
                       MLI_ONNX_MAX_FILE);
        }
    }
    *numel = count;
    return MLI_OK;
}

/* The typed repeated fields a tensor of each type may use instead of raw_data. */
static int conv_tensor(const Onnx__TensorProto *tp, const char *label, const char *what, mli_onnx_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->name = dup_or_empty(tp->name);
    if ((tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->n_external_data)
        return bad(label, what, "external data is not supported (expected the values inside the model "
                   "file, as raw_data or a typed field)");
    if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
        return bad(label, what, "unknown data_location %d (expected DEFAULT)", (int)tp->data_location);
    if (tp->segment)
        return bad(label, what, "segmented tensors are not supported (expected the whole tensor)");
    if (!tp->has_data_type)
        return bad(label, what, "no data_type (expected FLOAT, DOUBLE or INT64)");
    int ft = tp->data_type;
    if (ft != MLI_ONNX_FLOAT && ft != MLI_ONNX_DOUBLE && ft != MLI_ONNX_INT64)
        return bad(label, what, "data type %s is not supported (expected FLOAT, DOUBLE or INT64)",
                   mli_onnx_type_name(ft));
    int rc = check_dims(label, what, tp->n_dims, tp->dims, &t->numel);
    if (rc)
        return rc;
    t->ndim = (int)tp->n_dims;
    if (tp->n_dims)
        memcpy(t->dims, tp->dims, tp->n_dims * sizeof *tp->dims);
    t->file_type = ft;
    t->elem_type = ft == MLI_ONNX_INT64 ? MLI_ONNX_INT64 : MLI_ONNX_FLOAT;

    /* Exactly one source of values: raw_data, or the typed field of this data type. */
    const char *field = ft == MLI_ONNX_FLOAT ? "float_data" : ft == MLI_ONNX_DOUBLE ? "double_data" : "int64_data";
    size_t ntyped = ft == MLI_ONNX_FLOAT ? tp->n_float_data : ft == MLI_ONNX_DOUBLE ? tp->n_double_data : tp->n_int64_data;
    size_t nother = tp->n_float_data + tp->n_double_data + tp->n_int64_data + tp->n_int32_data +
                    tp->n_uint64_data + tp->n_string_data - ntyped;
    if (nother)
        return bad(label, what, "values in a field that does not match data type %s (expected raw_data or %s)",
                   mli_onnx_type_name(ft), field);
    if (tp->has_raw_data && ntyped)
        return bad(label, what, "values both in raw_data and in %s (expected one of them)", field);
    char s[256];
    dims_str(s, sizeof s, t->ndim, t->dims);
    size_t es = type_size(ft);
    if (tp->has_raw_data) {
        if (tp->raw_data.len != t->numel * es)
            return bad(label, what, "raw_data has %zu bytes, dims %s of %s need %zu", tp->raw_data.len, s,
                       mli_onnx_type_name(ft), t->numel * es);
    } else if (ntyped != t->numel) {
        return bad(label, what, "%s has %zu values, dims %s need %zu", field, ntyped, s, t->numel);
    }

    if (t->elem_type == MLI_ONNX_INT64) {
        t->i = mli_malloc(t->numel * sizeof *t->i);
        if (t->numel)
            memcpy(t->i, tp->has_raw_data ? (const void *)tp->raw_data.data : (const void *)tp->int64_data,
                   t->numel * 8);
        return MLI_OK;
    }
    t->f = mli_malloc(t->numel * sizeof *t->f);
    if (ft == MLI_ONNX_FLOAT) {
        if (t->numel)
            memcpy(t->f, tp->has_raw_data ? (const void *)tp->raw_data.data : (const void *)tp->float_data,
                   t->numel * 4);
    } else {
        for (size_t k = 0; k < t->numel; k++) {
            double v;
            if (tp->has_raw_data)
                memcpy(&v, tp->raw_data.data + 8 * k, 8);
            else
                v = tp->double_data[k];
            t->f[k] = (float)v;
        }
    }
    return MLI_OK;
}

void mli_onnx_tensor_free(mli_onnx_tensor *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->f);
    free(t->i);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- graph parts */

static int conv_value(const Onnx__ValueInfoProto *vi, const char *label, const char *kind, int index,
                      mli_onnx_value *v)
{
    memset(v, 0, sizeof *v);
    v->ndim = -1;
    char what[300];
    if (!vi->name || !vi->name[0]) {
        snprintf(what, sizeof what, "%s #%d", kind, index);
        return bad(label, what, "no name (expected the name the nodes use)");
    }
    v->name = mli_strdup(vi->name);
    snprintf(what, sizeof what, "%s '%s'", kind, vi->name);
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return MLI_OK; /* not a tensor, or no type: recorded as UNDEFINED, for the engine to judge */
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    v->elem_type = tt->has_elem_type ? tt->elem_type : MLI_ONNX_UNDEFINED;
    if (!tt->shape)
        return MLI_OK;
    if (tt->shape->n_dim > MLI_ONNX_MAX_DIMS)
        return bad(label, what, "%zu dimensions, more than the %d supported", tt->shape->n_dim, MLI_ONNX_MAX_DIMS);
    v->ndim = (int)tt->shape->n_dim;
    for (int k = 0; k < v->ndim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
        v->dims[k] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || (uint64_t)d->dim_value > MLI_ONNX_MAX_FILE)
                return bad(label, what, "dimension %d is %" PRId64 " (expected a size in [0, %zu] or a symbol)",
                           k, d->dim_value, MLI_ONNX_MAX_FILE);
            v->dims[k] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
            v->dim_params[k] = mli_strdup(d->dim_param);
        }
    }
    return MLI_OK;
}

static void value_free(mli_onnx_value *v)
{
    free(v->name);
    for (int k = 0; k < MLI_ONNX_MAX_DIMS; k++)
        free(v->dim_params[k]);
}

static void attr_free(mli_onnx_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    for (size_t k = 0; a->strings && k < a->n; k++)
        free(a->strings[k]);
    free(a->strings);
    if (a->t) {
        mli_onnx_tensor_free(a->t);
        free(a->t);
    }
}

static char *dup_bytes(const ProtobufCBinaryData *b)
{
    char *s = mli_malloc(b->len + 1);
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* IR versions before 3 had no type field: the type is then the one value field that is set. */
static int infer_attr_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return ap->type;
    int n = 0, t = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
#define SEEN(cond, ty) if (cond) { n++; t = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__##ty; }
    SEEN(ap->has_f, FLOAT) SEEN(ap->has_i, INT) SEEN(ap->has_s, STRING) SEEN(ap->t, TENSOR)
    SEEN(ap->g, GRAPH) SEEN(ap->sparse_tensor, SPARSE_TENSOR) SEEN(ap->tp, TYPE_PROTO)
    SEEN(ap->n_floats, FLOATS) SEEN(ap->n_ints, INTS) SEEN(ap->n_strings, STRINGS)
    SEEN(ap->n_tensors, TENSORS) SEEN(ap->n_graphs, GRAPHS) SEEN(ap->n_sparse_tensors, SPARSE_TENSORS)
    SEEN(ap->n_type_protos, TYPE_PROTOS)
#undef SEEN
    return n == 1 ? t : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static int conv_attr(const Onnx__AttributeProto *ap, const char *label, const char *node, mli_onnx_attr *a)
{
    memset(a, 0, sizeof *a);
    char what[600];
    if (!ap->name || !ap->name[0])
        return bad(label, node, "an attribute has no name (expected a name and a value)");
    a->name = mli_strdup(ap->name);
    snprintf(what, sizeof what, "%s: attribute '%s'", node, ap->name);
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return bad(label, what, "refers to function attribute '%s' (expected a value: only function bodies "
                   "may refer)", ap->ref_attr_name);
    int t = infer_attr_type(ap);
    switch (t) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->type = MLI_ONNX_ATTR_FLOAT;
        a->f = ap->f;
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->type = MLI_ONNX_ATTR_INT;
        a->i = ap->i;
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = MLI_ONNX_ATTR_STRING;
        a->s = dup_bytes(&ap->s);
        a->slen = ap->s.len;
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        a->type = MLI_ONNX_ATTR_FLOATS;
        a->n = ap->n_floats;
        a->floats = mli_malloc(a->n * sizeof *a->floats);
        if (a->n)
            memcpy(a->floats, ap->floats, a->n * sizeof *a->floats);
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        a->type = MLI_ONNX_ATTR_INTS;
        a->n = ap->n_ints;
        a->ints = mli_malloc(a->n * sizeof *a->ints);
        if (a->n)
            memcpy(a->ints, ap->ints, a->n * sizeof *a->ints);
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        a->type = MLI_ONNX_ATTR_STRINGS;
        a->strings = mli_calloc(ap->n_strings, sizeof *a->strings);
        for (size_t k = 0; k < ap->n_strings; k++)
            a->strings[k] = dup_bytes(&ap->strings[k]);
        a->n = ap->n_strings;
        return MLI_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        a->type = MLI_ONNX_ATTR_TENSOR;
        if (!ap->t)
            return bad(label, what, "type TENSOR without a tensor (expected field t)");
        a->t = mli_calloc(1, sizeof *a->t);
        return conv_tensor(ap->t, label, what, a->t);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED:
        return bad(label, what, "no type and not exactly one value (expected FLOAT, INT, STRING, FLOATS, "
                   "INTS, STRINGS or TENSOR)");
    default:
        return bad(label, what, "type %s is not supported (expected FLOAT, INT, STRING, FLOATS, INTS, "
                   "STRINGS or TENSOR)", attr_type_name(t));
    }
}

static char **dup_names(size_t n, char *const *src)
{
    char **d = mli_calloc(n, sizeof *d);
    for (size_t k = 0; k < n; k++)
        d[k] = dup_or_empty(src[k]);
    return d;
}

static void node_free(mli_onnx_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->domain);
    for (int k = 0; n->inputs && k < n->ninputs; k++)
        free(n->inputs[k]);
    for (int k = 0; n->outputs && k < n->noutputs; k++)
        free(n->outputs[k]);
    free(n->inputs);
    free(n->outputs);
    for (int k = 0; n->attrs && k < n->nattrs; k++)
        attr_free(&n->attrs[k]);
    free(n->attrs);
}

static int conv_node(const Onnx__NodeProto *np, const char *label, int index, mli_onnx_node *n)
{
    memset(n, 0, sizeof *n);
    char what[300];
    node_desc(what, sizeof what, np->name, np->op_type, index);
    n->name = dup_or_empty(np->name);
    n->op_type = dup_or_empty(np->op_type);
    n->domain = dup_or_empty(np->domain);
    if (!n->op_type[0])
        return bad(label, what, "no op_type (expected the operator, e.g. Gemm)");
    if (np->n_input > INT32_MAX || np->n_output > INT32_MAX || np->n_attribute > INT32_MAX)
        return bad(label, what, "too many inputs, outputs or attributes");
    n->inputs = dup_names(np->n_input, np->input);
    n->ninputs = (int)np->n_input;
    n->outputs = dup_names(np->n_output, np->output);
    n->noutputs = (int)np->n_output;
    n->attrs = mli_calloc(np->n_attribute, sizeof *n->attrs);
    for (size_t k = 0; k < np->n_attribute; k++) {
        n->nattrs = (int)k + 1;
        int rc = conv_attr(np->attribute[k], label, what, &n->attrs[k]);
        if (rc)
            return rc;
        for (size_t j = 0; j < k; j++)
            if (!strcmp(n->attrs[j].name, n->attrs[k].name))
                return bad(label, what, "attribute '%s' appears twice (expected each at most once)",
                           n->attrs[k].name);
    }
    return MLI_OK;
}

/* ---------------------------------------------------------------- names and order */

/* Open addressing from names to what defines them: DEF_INPUT, DEF_INIT or a node index. */
enum { DEF_INPUT = -2, DEF_INIT = -3 };
typedef struct {
    const char **keys;
    int *vals;
    size_t cap;
} name_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void map_init(name_map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 1)
        m->cap *= 2;
    m->keys = mli_calloc(m->cap, sizeof *m->keys);
    m->vals = mli_calloc(m->cap, sizeof *m->vals);
}

static void map_free(name_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* Slot of name: where it is, or the empty slot where it goes. */
static size_t map_slot(const name_map *m, const char *name)
{
    size_t i = (size_t)hash_str(name) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], name))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_get(const name_map *m, const char *name, int *val)
{
    size_t i = map_slot(m, name);
    if (!m->keys[i])
        return 0;
    *val = m->vals[i];
    return 1;
}

static void definer(char *s, size_t cap, const mli_onnx_model *m, int val)
{
    if (val == DEF_INPUT)
        snprintf(s, cap, "a graph input");
    else if (val == DEF_INIT)
        snprintf(s, cap, "an initializer");
    else
        node_desc(s, cap, m->nodes[val].name, m->nodes[val].op_type, val);
}

static int collect_names(const mli_onnx_model *m, const char *label, name_map *map)
{
    size_t total = (size_t)m->ninputs + (size_t)m->ninits;
    for (int i = 0; i < m->nnodes; i++)
        total += (size_t)m->nodes[i].noutputs;
    map_init(map, total);
    char what[300], other[300];
    for (int k = 0; k < m->ninputs; k++) {
        size_t s = map_slot(map, m->inputs[k].name);
        if (map->keys[s])
            return mli_err(MLI_EINPUT, "%s: graph input '%s' appears twice (expected unique names)", label,
                           m->inputs[k].name);
        map->keys[s] = m->inputs[k].name;
        map->vals[s] = DEF_INPUT;
    }
    for (int k = 0; k < m->ninits; k++) {
        const char *name = m->inits[k].name;
        size_t s = map_slot(map, name);
        /* Before IR version 4 every initializer was also listed as a graph input (a default
         * value for it), so that pairing is allowed; two initializers of one name are not. */
        if (map->keys[s] && map->vals[s] == DEF_INIT)
            return mli_err(MLI_EINPUT, "%s: initializer '%s' appears twice (expected unique names)", label, name);
        map->keys[s] = name;
        map->vals[s] = DEF_INIT;
    }
    for (int i = 0; i < m->nnodes; i++) {
        const mli_onnx_node *n = &m->nodes[i];
        for (int k = 0; k < n->noutputs; k++) {
            const char *name = n->outputs[k];
            if (!name[0])
                continue;
            size_t s = map_slot(map, name);
            if (map->keys[s]) {
                node_desc(what, sizeof what, n->name, n->op_type, i);
                definer(other, sizeof other, m, map->vals[s]);
                return mli_err(MLI_EINPUT, "%s: %s: output '%s' is already defined by %s (expected each name "
                               "defined once)", label, what, name, other);
            }
            map->keys[s] = name;
            map->vals[s] = i;
        }
    }
    return MLI_OK;
}

int mli_onnx_sort(const mli_onnx_model *m, const char *label, int *order)
{
    name_map map;
    int rc = collect_names(m, label, &map);
    char what[300], other[300];
    /* Every input defined; graph outputs defined. */
    for (int i = 0; !rc && i < m->nnodes; i++) {
        const mli_onnx_node *n = &m->nodes[i];
        for (int k = 0; k < n->ninputs; k++) {
            int v;
            if (!n->inputs[k][0] || map_get(&map, n->inputs[k], &v))
                continue;
            node_desc(what, sizeof what, n->name, n->op_type, i);
            rc = mli_err(MLI_EINPUT, "%s: %s: input '%s' is not a graph input, an initializer or the output "
                         "of any node", label, what, n->inputs[k]);
            break;
        }
    }
    for (int k = 0; !rc && k < m->noutputs; k++) {
        int v;
        if (!map_get(&map, m->outputs[k].name, &v))
            rc = mli_err(MLI_EINPUT, "%s: graph output '%s' is not the output of any node, a graph input or "
                         "an initializer", label, m->outputs[k].name);
    }
    if (rc) {
        map_free(&map);
        return rc;
    }

    /* Depth-first from each node in file order, producers first: the file order survives
     * wherever it is already an execution order. An explicit stack, since a long chain
     * written backwards would otherwise recurse once per node. A producer met again while
     * still on the stack closes a cycle. */
    int nn = m->nnodes, count = 0;
    unsigned char *state = mli_calloc((size_t)nn, 1); /* 0 unseen, 1 on the stack, 2 done */
    int *stack = mli_malloc((size_t)nn * sizeof *stack), *next = mli_calloc((size_t)nn, sizeof *next);
    for (int s = 0; s < nn && !rc; s++) {
        if (state[s])
            continue;
        int top = 0;
        stack[top++] = s;
        state[s] = 1;
        while (top && !rc) {
            int v = stack[top - 1];
            const mli_onnx_node *n = &m->nodes[v];
            if (next[v] < n->ninputs) {
                const char *in = n->inputs[next[v]++];
                int p;
                if (!in[0] || !map_get(&map, in, &p) || p < 0)
                    continue;
                if (state[p] == 1) {
                    node_desc(what, sizeof what, m->nodes[p].name, m->nodes[p].op_type, p);
                    node_desc(other, sizeof other, n->name, n->op_type, v);
                    rc = mli_err(MLI_EINPUT, "%s: %s is on a cycle: its output '%s' feeds %s, which it depends on "
                                 "(expected an acyclic graph)", label, what, in, other);
                } else if (!state[p]) {
                    state[p] = 1;
                    stack[top++] = p;
                }
            } else {
                top--;
                state[v] = 2;
                if (order)
                    order[count] = v;
                count++;
            }
        }
    }
    free(state);
    free(stack);
    free(next);
    map_free(&map);
    return rc;
}

/* ---------------------------------------------------------------- model */

void mli_onnx_free(mli_onnx_model *m)
{
    if (!m)
        return;
    free(m->producer_name);
    free(m->producer_version);
    for (int k = 0; m->opsets && k < m->nopsets; k++)
        free(m->opsets[k].domain);
    free(m->opsets);
    free(m->graph_name);
    for (int k = 0; k < m->ninputs; k++)
        value_free(&m->inputs[k]);
    for (int k = 0; k < m->noutputs; k++)
        value_free(&m->outputs[k]);
    for (int k = 0; k < m->nnodes; k++)
        node_free(&m->nodes[k]);
    for (int k = 0; k < m->ninits; k++)
        mli_onnx_tensor_free(&m->inits[k]);
    free(m->inputs);
    free(m->outputs);
    free(m->nodes);
    free(m->inits);
    free(m);
}

static int conv_model(const Onnx__ModelProto *mp, const char *label, mli_onnx_model *m)
{
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->producer_name = dup_or_empty(mp->producer_name);
    m->producer_version = dup_or_empty(mp->producer_version);
    if (mp->n_opset_import > INT32_MAX)
        return mli_err(MLI_EINPUT, "%s: too many opset imports", label);
    m->opsets = mli_calloc(mp->n_opset_import, sizeof *m->opsets);
    for (size_t k = 0; k < mp->n_opset_import; k++) {
        m->opsets[k].domain = dup_or_empty(mp->opset_import[k]->domain);
        m->opsets[k].version = mp->opset_import[k]->has_version ? mp->opset_import[k]->version : -1;
        m->nopsets = (int)k + 1;
    }
    const Onnx__GraphProto *g = mp->graph;
    if (!g)
        return mli_err(MLI_EINPUT, "%s: the model has no graph (expected ModelProto.graph)", label);
    m->graph_name = dup_or_empty(g->name);
    if (g->n_sparse_initializer)
        return mli_err(MLI_EINPUT, "%s: sparse initializer '%s' is not supported (expected dense initializers)",
                       label, g->sparse_initializer[0]->values && g->sparse_initializer[0]->values->name
                                  ? g->sparse_initializer[0]->values->name : "");
    if (g->n_input > INT32_MAX || g->n_output > INT32_MAX || g->n_node > INT32_MAX || g->n_initializer > INT32_MAX)
        return mli_err(MLI_EINPUT, "%s: more than 2^31 graph inputs, outputs, nodes or initializers", label);
    int rc = MLI_OK;
    m->inputs = mli_calloc(g->n_input, sizeof *m->inputs);
    for (size_t k = 0; k < g->n_input && !rc; k++, m->ninputs++)
        rc = conv_value(g->input[k], label, "graph input", (int)k, &m->inputs[k]);
    m->outputs = mli_calloc(g->n_output, sizeof *m->outputs);
    for (size_t k = 0; k < g->n_output && !rc; k++, m->noutputs++)
        rc = conv_value(g->output[k], label, "graph output", (int)k, &m->outputs[k]);
    m->inits = mli_calloc(g->n_initializer, sizeof *m->inits);
    for (size_t k = 0; k < g->n_initializer && !rc; k++, m->ninits++) {
        const Onnx__TensorProto *tp = g->initializer[k];
        char what[300];
        if (!tp->name || !tp->name[0]) {
            snprintf(what, sizeof what, "initializer #%zu", k);
            rc = bad(label, what, "no name (expected the name the nodes use)");
        } else {
            snprintf(what, sizeof what, "initializer '%s'", tp->name);
            rc = conv_tensor(tp, label, what, &m->inits[k]);
        }
    }
    m->nodes = mli_calloc(g->n_node, sizeof *m->nodes);
    for (size_t k = 0; k < g->n_node && !rc; k++, m->nnodes++)
        rc = conv_node(g->node[k], label, (int)k, &m->nodes[k]);
    m->cap_inputs = m->ninputs;
    m->cap_outputs = m->noutputs;
    m->cap_nodes = m->nnodes;
    m->cap_inits = m->ninits;
    return rc ? rc : mli_onnx_sort(m, label, NULL);
}

int mli_onnx_parse(const unsigned char *buf, size_t len, const char *label, mli_onnx_model **out)
{
    *out = NULL;
    ProtobufCMessage *msg = unpack(&onnx__model_proto__descriptor, buf, len, label, "model");
    if (!msg)
        return MLI_EINPUT;
    mli_onnx_model *m = mli_calloc(1, sizeof *m);
    int rc = conv_model((const Onnx__ModelProto *)msg, label, m);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc) {
        mli_onnx_free(m);
        return rc;
    }
    *out = m;
    return MLI_OK;
}

int mli_onnx_read(const char *path, mli_onnx_model **out)
{
    unsigned char *buf;
    size_t len;
    *out = NULL;
    int rc = mli_file_read(path, MLI_ONNX_MAX_FILE, &buf, &len);
    if (rc)
        return rc;
    rc = mli_onnx_parse(buf, len, path, out);
    free(buf);
    return rc;
}

int mli_onnx_parse_tensor(const unsigned char *buf, size_t len, const char *label, mli_onnx_tensor *out)
{
    memset(out, 0, sizeof *out);
    ProtobufCMessage *msg = unpack(&onnx__tensor_proto__descriptor, buf, len, label, "tensor");
    if (!msg)
        return MLI_EINPUT;
    const Onnx__TensorProto *tp = (const Onnx__TensorProto *)msg;
    char what[300];
    if (tp->name && tp->name[0])
        snprintf(what, sizeof what, "tensor '%s'", tp->name);
    else
        snprintf(what, sizeof what, "tensor");
    int rc = conv_tensor(tp, label, what, out);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc)
        mli_onnx_tensor_free(out);
    return rc;
}

int mli_onnx_read_tensor(const char *path, mli_onnx_tensor *out)
{
    unsigned char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = mli_file_read(path, MLI_ONNX_MAX_FILE, &buf, &len);
    if (rc)
        return rc;
    rc = mli_onnx_parse_tensor(buf, len, path, out);
    free(buf);
    return rc;
}

const mli_onnx_tensor *mli_onnx_find_init(const mli_onnx_model *m, const char *name)
{
    for (int k = 0; k < m->ninits; k++)
        if (!strcmp(m->inits[k].name, name))
            return &m->inits[k];
    return NULL;
}

const mli_onnx_attr *mli_onnx_find_attr(const mli_onnx_node *n, const char *name)
{
    for (int k = 0; k < n->nattrs; k++)
        if (!strcmp(n->attrs[k].name, name))
            return &n->attrs[k];
    return NULL;
}

int64_t mli_onnx_opset_version(const mli_onnx_model *m, const char *domain)
{
    /* "ai.onnx" is the default domain's other spelling. */
    int want_default = !domain[0] || !strcmp(domain, "ai.onnx");
    for (int k = 0; k < m->nopsets; k++) {
        const char *d = m->opsets[k].domain;
        if (want_default ? (!d[0] || !strcmp(d, "ai.onnx")) : !strcmp(d, domain))
            return m->opsets[k].version;
    }
    return -1;
}

/* ---------------------------------------------------------------- builder */

#define GROW(arr, n, cap)                                                                  \
    do {                                                                                   \
        if ((n) == (cap)) {                                                                \
            (cap) = (cap) ? 2 * (cap) : 4;                                                 \
            (arr) = mli_realloc((arr), (size_t)(cap) * sizeof *(arr));                     \
        }                                                                                  \
    } while (0)

mli_onnx_model *mli_onnx_model_new(const char *graph_name, int64_t opset)
{
    mli_onnx_model *m = mli_calloc(1, sizeof *m);
    m->ir_version = MLI_ONNX_IR_VERSION;
    m->producer_name = mli_strdup("mli");
    m->graph_name = mli_strdup(graph_name);
    m->opsets = mli_calloc(1, sizeof *m->opsets);
    m->opsets[0] = (mli_onnx_opset){mli_strdup(""), opset};
    m->nopsets = 1;
    return m;
}

static void set_value(mli_onnx_value *v, const char *name, int elem_type, int ndim, const int64_t *dims,
                      const char *const *dim_params)
{
    memset(v, 0, sizeof *v);
    v->name = mli_strdup(name);
    v->elem_type = elem_type;
    v->ndim = ndim < 0 ? -1 : ndim > MLI_ONNX_MAX_DIMS ? MLI_ONNX_MAX_DIMS : ndim;
    for (int k = 0; k < v->ndim; k++) {
        v->dims[k] = dims ? dims[k] : -1;
        if (dim_params && dim_params[k]) {
            v->dim_params[k] = mli_strdup(dim_params[k]);
            v->dims[k] = -1;
        }
    }
}

mli_onnx_value *mli_onnx_add_input(mli_onnx_model *m, const char *name, int elem_type, int ndim,
                                   const int64_t *dims, const char *const *dim_params)
{
    GROW(m->inputs, m->ninputs, m->cap_inputs);
    set_value(&m->inputs[m->ninputs], name, elem_type, ndim, dims, dim_params);
    return &m->inputs[m->ninputs++];
}

mli_onnx_value *mli_onnx_add_output(mli_onnx_model *m, const char *name, int elem_type, int ndim,
                                    const int64_t *dims, const char *const *dim_params)
{
    GROW(m->outputs, m->noutputs, m->cap_outputs);
    set_value(&m->outputs[m->noutputs], name, elem_type, ndim, dims, dim_params);
    return &m->outputs[m->noutputs++];
}

mli_onnx_node *mli_onnx_add_node(mli_onnx_model *m, const char *op_type, const char *name, int ninputs,
                                 const char *const *inputs, int noutputs, const char *const *outputs)
{
    GROW(m->nodes, m->nnodes, m->cap_nodes);
    mli_onnx_node *n = &m->nodes[m->nnodes++];
    memset(n, 0, sizeof *n);
    n->name = dup_or_empty(name);
    n->op_type = mli_strdup(op_type);
    n->domain = mli_strdup("");
    n->ninputs = ninputs;
    n->inputs = dup_names((size_t)ninputs, (char *const *)inputs);
    n->noutputs = noutputs;
    n->outputs = dup_names((size_t)noutputs, (char *const *)outputs);
    return n;
}

static void fill_tensor(mli_onnx_tensor *t, const char *name, int type, int ndim, const int64_t *dims,
                        const void *data)
{
    memset(t, 0, sizeof *t);
    t->name = dup_or_empty(name);
    t->elem_type = t->file_type = type;
    t->ndim = ndim > MLI_ONNX_MAX_DIMS ? MLI_ONNX_MAX_DIMS : ndim;
    t->numel = 1;
    for (int k = 0; k < t->ndim; k++) {
        t->dims[k] = dims[k];
        t->numel *= dims[k] > 0 ? (size_t)dims[k] : 0;
    }
    size_t bytes = t->numel * type_size(type);
    void *copy = mli_malloc(bytes);
    if (bytes)
        memcpy(copy, data, bytes);
    if (type == MLI_ONNX_FLOAT)
        t->f = copy;
    else
        t->i = copy;
}

mli_onnx_tensor *mli_onnx_add_init_float(mli_onnx_model *m, const char *name, int ndim, const int64_t *dims,
                                         const float *data)
{
    GROW(m->inits, m->ninits, m->cap_inits);
    fill_tensor(&m->inits[m->ninits], name, MLI_ONNX_FLOAT, ndim, dims, data);
    return &m->inits[m->ninits++];
}

mli_onnx_tensor *mli_onnx_add_init_int64(mli_onnx_model *m, const char *name, int ndim, const int64_t *dims,
                                         const int64_t *data)
{
    GROW(m->inits, m->ninits, m->cap_inits);
    fill_tensor(&m->inits[m->ninits], name, MLI_ONNX_INT64, ndim, dims, data);
    return &m->inits[m->ninits++];
}

static mli_onnx_attr *new_attr(mli_onnx_node *n, const char *name, mli_onnx_attr_type type)
{
    n->attrs = mli_realloc(n->attrs, (size_t)(n->nattrs + 1) * sizeof *n->attrs);
    mli_onnx_attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = mli_strdup(name);
    a->type = type;
    return a;
}

void mli_onnx_attr_float(mli_onnx_node *n, const char *name, float v) { new_attr(n, name, MLI_ONNX_ATTR_FLOAT)->f = v; }

void mli_onnx_attr_int(mli_onnx_node *n, const char *name, int64_t v) { new_attr(n, name, MLI_ONNX_ATTR_INT)->i = v; }

void mli_onnx_attr_string(mli_onnx_node *n, const char *name, const char *v)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_STRING);
    a->s = mli_strdup(v);
    a->slen = strlen(v);
}

void mli_onnx_attr_floats(mli_onnx_node *n, const char *name, size_t count, const float *v)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_FLOATS);
    a->n = count;
    a->floats = mli_malloc(count * sizeof *v);
    if (count)
        memcpy(a->floats, v, count * sizeof *v);
}

void mli_onnx_attr_ints(mli_onnx_node *n, const char *name, size_t count, const int64_t *v)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_INTS);
    a->n = count;
    a->ints = mli_malloc(count * sizeof *v);
    if (count)
        memcpy(a->ints, v, count * sizeof *v);
}

void mli_onnx_attr_strings(mli_onnx_node *n, const char *name, size_t count, const char *const *v)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_STRINGS);
    a->n = count;
    a->strings = dup_names(count, (char *const *)v);
}

void mli_onnx_attr_tensor(mli_onnx_node *n, const char *name, int ndim, const int64_t *dims, const float *data)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_TENSOR);
    a->t = mli_calloc(1, sizeof *a->t);
    fill_tensor(a->t, "", MLI_ONNX_FLOAT, ndim, dims, data);
}

void mli_onnx_attr_tensor_int64(mli_onnx_node *n, const char *name, int ndim, const int64_t *dims,
                                const int64_t *data)
{
    mli_onnx_attr *a = new_attr(n, name, MLI_ONNX_ATTR_TENSOR);
    a->t = mli_calloc(1, sizeof *a->t);
    fill_tensor(a->t, "", MLI_ONNX_INT64, ndim, dims, data);
}

/* ---------------------------------------------------------------- writer */

/* The protobuf-c structures of one serialization point into the model (strings, data) and
 * into blocks recorded here, freed together afterwards. */
typedef struct {
    void **p;
    size_t n, cap;
} arena;

static void *az(arena *a, size_t count, size_t size)
{
    void *p = mli_calloc(count, size);
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->p = mli_realloc(a->p, a->cap * sizeof *a->p);
    }
    a->p[a->n++] = p;
    return p;
}

static void arena_free(arena *a)
{
    for (size_t k = 0; k < a->n; k++)
        free(a->p[k]);
    free(a->p);
}

static Onnx__TensorProto *pb_tensor(arena *a, const mli_onnx_tensor *t)
{
    Onnx__TensorProto *tp = az(a, 1, sizeof *tp);
    onnx__tensor_proto__init(tp);
    tp->name = t->name;
    tp->n_dims = (size_t)t->ndim;
    tp->dims = (int64_t *)t->dims;
    tp->has_data_type = 1;
    tp->data_type = t->elem_type;
    tp->has_raw_data = 1;
    tp->raw_data.len = t->numel * type_size(t->elem_type);
    tp->raw_data.data = t->elem_type == MLI_ONNX_INT64 ? (uint8_t *)t->i : (uint8_t *)t->f;
    return tp;
}

static Onnx__ValueInfoProto *pb_value(arena *a, const mli_onnx_value *v)
{
    Onnx__ValueInfoProto *vi = az(a, 1, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = v->name;
    if (v->elem_type == MLI_ONNX_UNDEFINED && v->ndim < 0)
        return vi;
    Onnx__TypeProto *tp = az(a, 1, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = az(a, 1, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = v->elem_type;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    if (v->ndim < 0)
        return vi;
    Onnx__TensorShapeProto *sh = az(a, 1, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)v->ndim;
    sh->dim = az(a, (size_t)v->ndim, sizeof *sh->dim);
    for (int k = 0; k < v->ndim; k++) {
        Onnx__TensorShapeProto__Dimension *d = az(a, 1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->dim_params[k]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = v->dim_params[k];
        } else if (v->dims[k] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v->dims[k];
        }
        sh->dim[k] = d;
    }
    tt->shape = sh;
    return vi;
}

static Onnx__AttributeProto *pb_attr(arena *a, const mli_onnx_attr *at)
{
    Onnx__AttributeProto *ap = az(a, 1, sizeof *ap);
    onnx__attribute_proto__init(ap);
    ap->name = at->name;
    ap->has_type = 1;
    switch (at->type) {
    case MLI_ONNX_ATTR_FLOAT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        ap->has_f = 1;
        ap->f = at->f;
        break;
    case MLI_ONNX_ATTR_INT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        ap->has_i = 1;
        ap->i = at->i;
        break;
    case MLI_ONNX_ATTR_STRING:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        ap->has_s = 1;
        ap->s.len = at->slen;
        ap->s.data = (uint8_t *)at->s;
        break;
    case MLI_ONNX_ATTR_FLOATS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        ap->n_floats = at->n;
        ap->floats = at->floats;
        break;
    case MLI_ONNX_ATTR_INTS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        ap->n_ints = at->n;
        ap->ints = at->ints;
        break;
    case MLI_ONNX_ATTR_STRINGS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
        ap->n_strings = at->n;
        ap->strings = az(a, at->n, sizeof *ap->strings);
        for (size_t k = 0; k < at->n; k++)
            ap->strings[k] = (ProtobufCBinaryData){strlen(at->strings[k]), (uint8_t *)at->strings[k]};
        break;
    case MLI_ONNX_ATTR_TENSOR:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        ap->t = pb_tensor(a, at->t);
        break;
    }
    return ap;
}

static int tensor_consistent(const mli_onnx_tensor *t)
{
    size_t numel = 1;
    if (t->ndim < 0 || t->ndim > MLI_ONNX_MAX_DIMS)
        return 0;
    for (int k = 0; k < t->ndim; k++) {
        if (t->dims[k] < 0)
            return 0;
        numel *= (size_t)t->dims[k];
    }
    return numel == t->numel && (t->elem_type == MLI_ONNX_FLOAT ? t->f != NULL || !numel
                                 : t->elem_type == MLI_ONNX_INT64 ? t->i != NULL || !numel : 0);
}

static unsigned char *pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = mli_malloc(n);
    *len = protobuf_c_message_pack(msg, buf);
    return buf;
}

unsigned char *mli_onnx_serialize(const mli_onnx_model *m, size_t *len)
{
    for (int k = 0; k < m->ninits; k++)
        if (!tensor_consistent(&m->inits[k]))
            return NULL;
    for (int i = 0; i < m->nnodes; i++)
        for (int k = 0; k < m->nodes[i].nattrs; k++)
            if (m->nodes[i].attrs[k].type == MLI_ONNX_ATTR_TENSOR && !tensor_consistent(m->nodes[i].attrs[k].t))
                return NULL;
    arena a = {0};
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    mp.has_ir_version = 1;
    mp.ir_version = m->ir_version;
    mp.producer_name = m->producer_name;
    /* none, or "" as read from a file without one: not written */
    mp.producer_version = m->producer_version && *m->producer_version ? m->producer_version : NULL;
    mp.n_opset_import = (size_t)m->nopsets;
    mp.opset_import = az(&a, (size_t)m->nopsets, sizeof *mp.opset_import);
    for (int k = 0; k < m->nopsets; k++) {
        Onnx__OperatorSetIdProto *o = az(&a, 1, sizeof *o);
        onnx__operator_set_id_proto__init(o);
        o->domain = m->opsets[k].domain;
        o->has_version = m->opsets[k].version >= 0;
        o->version = m->opsets[k].version;
        mp.opset_import[k] = o;
    }
    g.name = m->graph_name;
    g.n_input = (size_t)m->ninputs;
    g.input = az(&a, g.n_input, sizeof *g.input);
    for (int k = 0; k < m->ninputs; k++)
        g.input[k] = pb_value(&a, &m->inputs[k]);
    g.n_output = (size_t)m->noutputs;
    g.output = az(&a, g.n_output, sizeof *g.output);
    for (int k = 0; k < m->noutputs; k++)
        g.output[k] = pb_value(&a, &m->outputs[k]);
    g.n_initializer = (size_t)m->ninits;
    g.initializer = az(&a, g.n_initializer, sizeof *g.initializer);
    for (int k = 0; k < m->ninits; k++)
        g.initializer[k] = pb_tensor(&a, &m->inits[k]);
    g.n_node = (size_t)m->nnodes;
    g.node = az(&a, g.n_node, sizeof *g.node);
    for (int i = 0; i < m->nnodes; i++) {
        const mli_onnx_node *n = &m->nodes[i];
        Onnx__NodeProto *np = az(&a, 1, sizeof *np);
        onnx__node_proto__init(np);
        np->name = n->name;
        np->op_type = n->op_type;
        np->domain = n->domain[0] ? n->domain : NULL; /* the default domain is written as absent */
        np->n_input = (size_t)n->ninputs;
        np->input = n->inputs;
        np->n_output = (size_t)n->noutputs;
        np->output = n->outputs;
        np->n_attribute = (size_t)n->nattrs;
        np->attribute = az(&a, np->n_attribute, sizeof *np->attribute);
        for (int k = 0; k < n->nattrs; k++)
            np->attribute[k] = pb_attr(&a, &n->attrs[k]);
        g.node[i] = np;
    }
    mp.graph = &g;
    unsigned char *buf = pack(&mp.base, len);
    arena_free(&a);
    return buf;
}

unsigned char *mli_onnx_serialize_tensor(const mli_onnx_tensor *t, size_t *len)
{
    if (!tensor_consistent(t))
        return NULL;
    arena a = {0};
    Onnx__TensorProto *tp = pb_tensor(&a, t);
    unsigned char *buf = pack(&tp->base, len);
    arena_free(&a);
    return buf;
}

int mli_onnx_write(const char *path, const mli_onnx_model *m)
{
    size_t len;
    unsigned char *buf = mli_onnx_serialize(m, &len);
    if (!buf)
        return mli_err(MLI_EUSAGE, "%s: not written: a tensor's dims do not match its element count", path);
    int rc = mli_atomic_write(path, buf, len);
    free(buf);
    return rc;
}
