/* The operator interface: everything the engine needs to know about one kind of node, as a
 * table of functions (a vtable). Each kind is one file, src/nn/op_<kind>.c, which exports its
 * table: mli_op_linear, mli_op_act, mli_op_batchnorm, mli_op_add, mli_op_conv (op_conv.c:
 * attr[] = K, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right,
 * dilation_h, dilation_w, groups, bias), and in op_pool.c mli_op_maxpool, mli_op_avgpool
 * (attr[] = kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right,
 * dilation_h, dilation_w, count_include_pad) and mli_op_gap (attr[0] = 1: output C instead
 * of C×1×1); docs/engine.md, "Convolution and pooling". The engines — forward and
 * backward (net.c), Taylor mode (taylor.c), Hessian-vector products (hvp.c), per-example
 * Jacobians (jacobian.c), initialisation, the geometry controls, the double re-evaluation —
 * loop over the nodes of mli_arch in topological order and call these; none of them knows
 * the kinds. docs/engine.md says how to add one.
 *
 * Shapes: a value is B examples of a per-example shape (mli_shape, up to MLI_MAX_DIMS
 * dimensions), row-major, example-major: B × size reals. Stacked blocks (Taylor mode: value,
 * velocity, acceleration; R-op: value and R{value}) are B × size each, one after the other.
 *
 * Optional entries are NULL when a kind has no such rule: hoist (not linear in its
 * parameters), jac_explicit (no parameters, or a factored Jacobian), stats (no population
 * statistics), forward_lincomb (not elementwise), work_size (no workspace). */
#ifndef MLI_OP_H
#define MLI_OP_H

#include "io/real.h" /* before GSL: OpenBLAS provides cblas */
#include "nn/arch.h"

#include <gsl/gsl_rng.h>

#include "io/onnx.h"

/* Everything one call of an operator rule sees. The engine fills what the rule reads. */
typedef struct {
    const mli_arch *a;
    int B;                               /* examples (rows of each block) */
    mli_mode mode;
    const mli_real *x[MLI_NODE_MAXIN];   /* inputs (stacked blocks as the rule says) */
    int has_r[MLI_NODE_MAXIN];           /* R-op: the input carries an R block (the data does not) */
    mli_real *y;                         /* the output */
    const mli_real *theta;               /* θ (views through mli_node_view) */
    const mli_real *dir;                 /* the direction: Δ (Taylor mode), u (R-op) */
    double alpha;                        /* forward_lincomb: the point on the path */
    mli_real *bufs;                      /* buffers (batch-norm running statistics) or NULL */
    mli_real *save;                      /* the node's saved tensors (mli_op.save_size) */
    double *scratch;                     /* 2 × width_max doubles */
    /* backward */
    const mli_real *dy;                  /* gradient at the output (R-op: [R{dY}; dY]) */
    mli_real *dx[MLI_NODE_MAXIN];        /* gradients at the inputs, overwritten; NULL: not wanted */
    int want_dx[MLI_NODE_MAXIN];         /* R-op: the dX block (below R{dX}) is wanted too */
    mli_real *grad;                      /* parameter gradients (views), overwritten */
    /* per-example Jacobians: rows = k·B rows, output-major (row c·B + i meets example i) */
    int rows;
    mli_real *fac;                       /* the node's explicit Jacobian rows (jac_width each) */
    mli_real *work;                      /* the rule's workspace: mli_graph_work_size reals */
} mli_opctx;

/* How a node's parameters enter the per-example Jacobian J[r, ·] = ∂z_c(x_i)/∂θ:
 *   NONE      no parameters;
 *   OUTER     the node is y = x Wᵀ + b on its (only) input: its block of row r is (g ⊗ x, g),
 *             g = ∂z_c/∂y the gradient at its output, x its input for example i; kept as the
 *             two factors (the NTK's Gram matrix is then ⟨g_r, g_s⟩(⟨x_i, x_j⟩ + 1));
 *   EXPLICIT  the block is jac_width(n) reals per row, written by jac_backward into ctx.fac. */
typedef enum { MLI_JAC_NONE, MLI_JAC_OUTER, MLI_JAC_EXPLICIT } mli_jac_form;

/* What a node's onnx_export rule writes into (nn/onnx_export.c fills it). The node's ONNX
 * inputs are the values named in[0 .. nin), its output must be the value named out; values
 * the rule makes on the way are named "<out>/<what>". Its tensors become initializers named
 * by their mli names (mli_onnx_export_tensor). */
typedef struct {
    mli_onnx_model *m;
    const mli_arch *a;
    const char *in[MLI_NODE_MAXIN];
    const char *out;
    const mli_real *theta, *bufs;
} mli_onnx_ectx;

/* What the exact (piecewise-linear) analysis may see in a node (mli_graph_chain). */
typedef enum {
    MLI_PWL_NONE, MLI_PWL_AFFINE, MLI_PWL_RELU, MLI_PWL_IDENTITY,
    MLI_PWL_RESHAPE /* a shape change only (op_reshape.c): the chain passes through it */
} mli_pwl_role;

typedef struct mli_op {
    const char *name;
    /* ---- structure ---- */
    /* n->shape from n->ishape (and n->attr); MLI_EUSAGE naming the problem if they do not fit */
    int (*infer)(mli_node *n);
    /* declare the node's tensors with mli_graph_tensor, in state_dict order */
    void (*layout)(mli_arch *a, mli_node *n);
    /* reals of saved state per call (training-mode batch norm: x̂ and 1/std), for bmax examples */
    size_t (*save_size)(const mli_node *n, int bmax);
    /* the node's parameters and buffers at initialisation; draws from rng in state_dict order */
    void (*init)(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs);
    /* ---- first order ---- */
    /* y = f(x; θ) in ctx.mode (training mode may update ctx.bufs when not NULL) */
    void (*forward)(const mli_node *n, mli_opctx *c);
    /* from dy: dx[k] (each not NULL) and the parameter gradients at ctx.grad (if not NULL),
     * after a forward pass in the same mode with the same inputs (ctx.y its output) */
    void (*backward)(const mli_node *n, mli_opctx *c);
    /* 1: no parameters, saved state or workspace, and example i's output (and input gradient)
     * depends on example i alone, in every mode: the engine may run forward and backward on
     * ranges of examples in parallel (net.c) */
    int rowwise;
    /* ---- Taylor mode along θ(α) = θ + αΔ, eval mode: blocks [value; velocity; acceleration] */
    void (*tangent)(const mli_node *n, mli_opctx *c);
    /* For a node linear in its parameters whose input does not depend on α: the part of the
     * output that depends on the input, y = f(x; θ) − f(0; θ) (Linear: x Wᵀ), one block. Its
     * output at θ(α) is then P0 + αP1 + f(0; θ(α)) with P0, P1 this at θ₀ and at Δ. */
    void (*hoist)(const mli_node *n, mli_opctx *c);
    /* Elementwise kinds: y = f(P0 + αP1) in one pass (ctx.x[0] = P0, ctx.x[1] = P1, ctx.alpha);
     * lets the α loop fuse the hoisted node's successor. */
    void (*forward_lincomb)(const mli_node *n, mli_opctx *c);
    /* ---- R-op (Hessian-vector products, eval mode), R{θ} = u = ctx.dir ---- */
    /* [y; R{y}] from [x; R{x}] (x alone when !has_r) */
    void (*rop_forward)(const mli_node *n, mli_opctx *c);
    /* from dy = [R{dY}; dY]: R{∇θ} at ctx.grad, [R{dx}; dx] into dx[k] (dx only if want_dx) */
    void (*rop_backward)(const mli_node *n, mli_opctx *c);
    /* 1 if the R-op rules accept an input without R block (has_r = 0: the data); otherwise
     * the engine passes [x; 0] */
    int rop_const_input;
    /* 1 if rop_backward reads dY (not only R{dY}), given which inputs carry R blocks */
    int (*rop_reads_grad)(const mli_node *n, const int *has_r);
    /* GEMM flops for `examples` examples: of the gradient (hvp = 0: forward and backward, the
     * input gradient too if has_r) or of the R-op (hvp = 1: the input has an R block if has_r,
     * the dX block is wanted if want_dx); NULL: no GEMM */
    double (*flops)(const mli_node *n, double examples, int hvp, int has_r, int want_dx);
    /* ---- per-example Jacobians ---- */
    mli_jac_form (*jac_form)(const mli_node *n);
    size_t (*jac_width)(const mli_node *n);
    /* from dy (ctx.rows rows): dx[0] (if not NULL), and ctx.fac for EXPLICIT; ctx.x the
     * forward input and ctx.y the forward output for the B examples */
    void (*jac_backward)(const mli_node *n, mli_opctx *c);
    /* ---- the permutation control ---- */
    /* 1 if the output channels are new units (Linear); 0 if each output channel is an input
     * channel (batch norm, activations, Add): they follow the input's permutation */
    int units;
    /* θ_out, bufs_out (views) = the node's tensors with input channels permuted by pin and
     * output channels by pout (either NULL: identity) */
    void (*permute)(const mli_node *n, const int *pin, const int *pout, const mli_real *theta,
                    const mli_real *bufs, mli_real *theta_out, mli_real *bufs_out);
    /* ---- double re-evaluation with the float32 error bound (geometry/reeval.c) ----
     * One example: h[k]/e[k] the inputs and their error bounds, at θ(α) = θ₀ + α(θ₁ − θ₀):
     * ho = f(h), eo bounds the float engine's |ĥo − ho| to first order in u = 2⁻²⁴ (in units
     * of u). bufs: the statistics the float engine used, or NULL (initial statistics). */
    void (*reeval)(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                   double alpha, const double *const *h, const double *const *e, double *ho,
                   double *eo);
    /* ---- population statistics (batch norm, exact mode) ---- */
    /* accumulate x (B examples) into acc (stats_size doubles; zero, shift taken from the very
     * first example when first), and write the final statistics of count examples */
    size_t (*stats_size)(const mli_node *n);
    void (*stats)(const mli_node *n, const mli_real *x, int B, double *acc, int first);
    void (*stats_final)(const mli_node *n, const double *acc, double count, mli_real *bufs);
    /* ---- the exact analysis ---- */
    mli_pwl_role (*pwl)(const mli_node *n);
    /* ---- workspace ---- */
    /* reals of ctx.work one call of any rule needs, whatever the batch (convolution: one
     * example's im2col matrix); NULL: none. Every engine gives each rule mli_graph_work_size
     * reals (the largest over the nodes). */
    size_t (*work_size)(const mli_node *n);
    /* ---- ONNX export (nn/onnx_export.c) ---- */
    /* the node as ONNX nodes and initializers (opset MLI_ONNX_EXPORT_OPSET); MLI_EUSAGE naming
     * the node if it has no ONNX form */
    int (*onnx_export)(const mli_node *n, const mli_onnx_ectx *e);
} mli_op;

extern const mli_op mli_op_linear, mli_op_act, mli_op_batchnorm, mli_op_add;
/* for ONNX imports: the per-example reshape (Flatten, Reshape, Identity, Dropout) and the
 * parameter tensor added with broadcasting (Add with an initializer) */
extern const mli_op mli_op_reshape, mli_op_bias;

/* Shape helpers for operators */
size_t mli_shape_numel(const mli_shape *s);

/* The workspace the engines give every rule (ctx.work): the largest mli_op.work_size of the
 * graph's nodes, at least 1 real. */
size_t mli_graph_work_size(const mli_arch *a);

/* Convolution and pooling (op_conv.c, op_pool.c; attributes in their header comments) */
extern const mli_op mli_op_conv, mli_op_maxpool, mli_op_avgpool, mli_op_gap;
/* Conv's Winograd F(2×2, 3×3) path for 3×3 convolutions of stride 1, dilation 1, groups 1 and
 * pads ≤ 2 (forward, hoist, input adjoint, Taylor mode and the R-op's forward; docs/engine.md).
 * mode 1 (the default): where it pays, 16 or more channels in and out; 0: never (im2col for
 * every convolution); 2: every convolution of that shape (tests). The environment's
 * MLI_CONV_WINOGRAD=0 or 2, read at the first use, sets the mode until this is called. */
void mli_conv_set_winograd(int mode);
int mli_conv_winograd(void);
/* Winograd's output tile, m×m of F(m×m, 3×3): 4 (the default, 4× fewer multiplies than the
 * direct sums) or 2 (2.25×, the rounding of the direct sums). MLI_CONV_WINOGRAD_TILE=2 in the
 * environment, read at the first use, sets it until this is called. */
void mli_conv_set_winograd_tile(int m);
int mli_conv_winograd_tile(void);
/* For onnx_export rules (nn/onnx_export.c): tensor k of node n as a FLOAT initializer named by
 * its mli name, values from θ or the buffers; the value name "<out>/<what>" in buf. */
void mli_onnx_export_tensor(const mli_node *n, int k, const mli_onnx_ectx *e);
/* the same for a 2-D tensor stored transposed (out×in as in×out: MatMul's right operand) */
void mli_onnx_export_tensor_t(const mli_node *n, int k, const mli_onnx_ectx *e);
const char *mli_onnx_export_name(const mli_onnx_ectx *e, const char *what, char *buf, size_t len);

/* PadChannels (op_padc.c): C×H×W in, (C + attr[0])×H×W out, the new channels zero: the
 * option-A shortcut of the CIFAR ResNet */
extern const mli_op mli_op_padc;

#endif
