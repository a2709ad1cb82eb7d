/* Conv: 2-D convolution (PyTorch's Conv2d, ONNX's Conv) of per-example C×H×W values into
 * K×H'×W', H' = ⌊(H + pad_top + pad_bottom − dil_h·(kh − 1) − 1)/stride_h⌋ + 1 (W' alike):
 *   y[k, oh, ow] = b[k] + Σ_{c ∈ group(k), a, b} W[k, c − c₀, a, b] · x[c, oh·s_h − p_t + a·d_h, ow·s_w − p_l + b·d_w]
 * with zeros outside the input. Attributes (attr[]), in this order:
 *   0 K (output channels)   1 kh   2 kw   3 stride_h   4 stride_w
 *   5 pad_top   6 pad_left   7 pad_bottom   8 pad_right   (ONNX's pads: begins, then ends)
 *   9 dilation_h   10 dilation_w   11 groups   12 bias (1: with a bias, 0: without)
 * A stride, dilation or groups of 0 means 1 (ONNX's defaults). groups must divide C and K:
 * output channel k reads the Cg = C/groups input channels of its group ⌊k/Kg⌋, Kg = K/groups
 * (depthwise: groups = C). Tensors: weight K × Cg × kh × kw (role weight), then bias K — the
 * state_dict names <name>.weight, <name>.bias of Conv2d.
 *
 * The 3×3 convolutions of stride 1, dilation 1, groups 1 and pads ≤ 2 (all but the strided
 * ones of a ResNet or VGG) take Winograd's F(m×m, 3×3) instead (nn/conv_wino.h), m = 4 by
 * default (mli_conv_set_winograd_tile), for the forward, hoist, the input adjoint (backward's
 * dX, the Jacobian's, and the R-op's dX block), Taylor mode and the R-op's forward: n² GEMMs
 * K × C × tiles per chunk (n = m + 2) of about 512/m m×m output tiles, n²·K·C multiplies per
 * m² outputs where im2col's GEMM has 9·K·C per output (4× fewer for m = 4, 2.25× for m = 2) —
 * at the price of three passes (input transform, the GEMMs' output, output transform) over
 * n²/m² times the chunk's values. At stride 1 the input adjoint is the same correlation of dY
 * with the weight transposed over (k, c) and flipped, pads 2 − pad: the forward code with
 * another transformed weight. The weight transforms (n²·K·C reals, W's and the direction's)
 * are made once per rule call into the shared end of the workspace; a thread's V, M and
 * scratch use its slot. The weight gradient too: per chunk, V of X and M = A dY Aᵀ per tile
 * (the adjoint of the output transform), n² GEMMs dU[ξ] += M[ξ] V[ξ]ᵀ of inner dimension the
 * chunk's tiles into the group's partial sum (after the forward's work in its slot), and at
 * the end dW = Gᵀ (Σ_groups dU) G. The R-op's adjoint of U on dY stays on im2col. The chunks, groups and threads are as below, so results still do not depend on the
 * thread count. mli_conv_set_winograd(0) or MLI_CONV_WINOGRAD=0 in the environment forces
 * im2col, MLI_CONV_WINOGRAD_TILE=2 the smaller tile (nn/op.h).
 *
 * Every other rule is im2col and GEMMs (OpenBLAS) over chunks of n_c examples: the chunk's matrix
 * of input patches col[L·groups, n_c·P], L = Cg·kh·kw, P = H'·W' (rows (c, a, b), columns the
 * output positions of example after example), then per group one GEMM for the chunk —
 * T = W col (M = Kg, N = n_c·P, K = L), dW += T colᵀ (K = n_c·P), dcol = Wᵀ T — with
 * T[K, n_c·P] the chunk's outputs or output gradients, channel-major; T is then added
 * into (or gathered from) the example-major N×K×H'×W' values, a copy of K·P reals per
 * example against 2·K·L·P flops. n_c ≈ 1024/P (1 for 32×32 maps, 16 for 8×8 ones), so that
 * the GEMMs stay large whatever the map size. Groups of chunks are shared out to the BLAS
 * threads (conv_run below); each thread's col, T and each group's partial weight gradient live in a part of the
 * engine's workspace (ctx.work, mli_op.work_size = MLI_PARALLEL_MAX · ((C·kh·kw + K)·n_c·P
 * + K·L) reals, or the Winograd chunk's n²·(C + K)·tiles + scratch + a partial dU of 36·K·C if
 * larger, for either tile, plus 2·36·K·C for the transformed weights), never allocated in a
 * rule.
 *
 * Per-example Jacobians: the block of row (c, i) is ∂z_c(x_i)/∂(W, b), a sum over the output
 * positions, so the OUTER factorisation (g ⊗ x) does not apply: rows are EXPLICIT, jac_width =
 * the node's parameter count K·L + K, and jac_backward costs one weight-gradient GEMM per row,
 * 2·K·L·P flops (the forward cost of one example), k·B rows. */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/parallel.h"
#include "nn/conv_wino.h"
#include "nn/op.h"

#include <gsl/gsl_randist.h>

typedef struct {
    int C, H, W, K, Ho, Wo, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g, bias;
    int Cg, Kg, L, P; /* channels per group in and out, dot-product length, output positions */
} conv_geom;

static int one_if_zero(int v) { return v ? v : 1; }

static conv_geom conv_get(const mli_node *n)
{
    const int *t = n->attr;
    const mli_shape *s = &n->ishape[0];
    conv_geom q = {.C = s->d[0], .H = s->d[1], .W = s->d[2], .K = t[0], .kh = t[1], .kw = t[2],
                   .sh = one_if_zero(t[3]), .sw = one_if_zero(t[4]), .pt = t[5], .pl = t[6], .pb = t[7],
                   .pr = t[8], .dh = one_if_zero(t[9]), .dw = one_if_zero(t[10]), .g = one_if_zero(t[11]),
                   .bias = t[12]};
    q.Ho = q.sh > 0 ? (q.H + q.pt + q.pb - q.dh * (q.kh - 1) - 1) / q.sh + 1 : 0;
    q.Wo = q.sw > 0 ? (q.W + q.pl + q.pr - q.dw * (q.kw - 1) - 1) / q.sw + 1 : 0;
    q.Cg = q.C / q.g;
    q.Kg = q.K / q.g;
    q.L = q.Cg * q.kh * q.kw;
    q.P = q.Ho * q.Wo;
    return q;
}

/* ---- the kernels ---- */

#define CONV_COLS 1024 /* columns of a chunk's GEMMs (n_c·P), about */

/* examples per chunk */
static int conv_chunk(const conv_geom *q)
{
    int c = (CONV_COLS + q->P - 1) / q->P;
    return c < 1 ? 1 : c;
}

/* the output columns [*o0, *o1) whose input column ow·s − p + b·d lies inside [0, n) */
static void inside(int n, int s, int p, int bd, int nout, int *o0, int *o1)
{
    int lo = p - bd, hi = n + p - bd; /* ow·s ∈ [lo, hi) */
    *o0 = lo <= 0 ? 0 : (lo + s - 1) / s;
    *o1 = hi <= 0 ? 0 : (hi + s - 1) / s;
    *o0 = *o0 > nout ? nout : *o0;
    *o1 = *o1 > nout ? nout : *o1 < *o0 ? *o0 : *o1;
}

/* The rows im2col copies are W' reals (7 to 32 for the CIFAR ResNet): plain loops, kept
 * from being turned into memcpy/memset calls, whose call overhead exceeds such a copy. */
#if defined(__GNUC__) && !defined(__clang__)
#define SHORT_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define SHORT_LOOPS
#endif

/* col[(c·kh + a)·kw + b, oh·W' + ow] = x[c, ih, iw] or 0 in the padding: one example's
 * C·kh·kw × P patches, rows ld apart. The columns inside the input are found once per (a, b):
 * no test per element, a plain copy at stride 1. */
static void im2col_flat(const conv_geom *q, const mli_real *x, mli_real *col, size_t ld);

SHORT_LOOPS static void im2col(const conv_geom *q, const mli_real *x, mli_real *col, size_t ld)
{
    if (q->sh == 1 && q->sw == 1 && q->Wo == q->W) {
        im2col_flat(q, x, col, ld);
        return;
    }
    for (int c = 0; c < q->C; c++)
        for (int a = 0; a < q->kh; a++)
            for (int b = 0; b < q->kw; b++) {
                mli_real *row = col + ((size_t)(c * q->kh + a) * q->kw + b) * ld;
                int o0, o1, off = b * q->dw - q->pl;
                inside(q->W, q->sw, q->pl, b * q->dw, q->Wo, &o0, &o1);
                for (int oh = 0; oh < q->Ho; oh++) {
                    int ih = oh * q->sh - q->pt + a * q->dh;
                    mli_real *r = row + (size_t)oh * q->Wo;
                    if (ih < 0 || ih >= q->H) {
                        for (int ow = 0; ow < q->Wo; ow++)
                            r[ow] = 0;
                        continue;
                    }
                    const mli_real *xr = x + ((size_t)c * q->H + ih) * q->W + off;
                    for (int ow = 0; ow < o0; ow++)
                        r[ow] = 0;
                    if (q->sw == 1)
                        for (int ow = o0; ow < o1; ow++)
                            r[ow] = xr[ow];
                    else
                        for (int ow = o0; ow < o1; ow++)
                            r[ow] = xr[ow * q->sw];
                    for (int ow = o1; ow < q->Wo; ow++)
                        r[ow] = 0;
                }
            }
}

/* Stride 1 and W' = W (a "same" width: 3×3 pad 1, all but two convolutions of a ResNet):
 * row (c, a, b) is the input plane shifted by (a·d_h − p_t)·W + b·d_w − p_l, read flat. The
 * output rows whose input row exists are one contiguous copy; then the columns that wrapped
 * around to the neighbouring input row (ow outside [o0, o1)) are zeroed, and the output rows
 * above or below the input. */
SHORT_LOOPS static void im2col_flat(const conv_geom *q, const mli_real *x, mli_real *col, size_t ld)
{
    int W = q->W, Ho = q->Ho;
    for (int c = 0; c < q->C; c++)
        for (int a = 0; a < q->kh; a++) {
            int dr = a * q->dh - q->pt; /* ih = oh + dr */
            int h0 = dr < 0 ? -dr : 0, h1 = q->H - dr < Ho ? q->H - dr : Ho;
            h1 = h1 < h0 ? h0 : h1;
            for (int b = 0; b < q->kw; b++) {
                mli_real *r = col + ((size_t)(c * q->kh + a) * q->kw + b) * ld;
                int o0, o1, off = b * q->dw - q->pl;
                inside(W, 1, q->pl, b * q->dw, q->Wo, &o0, &o1);
                const mli_real *xp = x + (size_t)c * q->H * W;
                memset(r, 0, sizeof(mli_real) * (size_t)h0 * W);
                /* the copy clipped to the plane: what it leaves out wrapped, and is zeroed */
                ptrdiff_t s0 = (ptrdiff_t)(h0 + dr) * W + off, d0 = (ptrdiff_t)h0 * W, len = (ptrdiff_t)(h1 - h0) * W;
                if (s0 < 0) {
                    d0 -= s0;
                    len += s0;
                    s0 = 0;
                }
                if (s0 + len > (ptrdiff_t)q->H * W)
                    len = (ptrdiff_t)q->H * W - s0;
                if (len > 0)
                    memcpy(r + d0, xp + s0, sizeof(mli_real) * (size_t)len);
                memset(r + (size_t)h1 * W, 0, sizeof(mli_real) * (size_t)(Ho - h1) * W);
                for (int oh = h0; oh < h1; oh++) {
                    for (int ow = 0; ow < o0; ow++)
                        r[(size_t)oh * W + ow] = 0;
                    for (int ow = o1; ow < W; ow++)
                        r[(size_t)oh * W + ow] = 0;
                }
            }
        }
}

/* the adjoint of im2col: x = Σ of the patches in col (x overwritten, C×H×W) */
static void col2im(const conv_geom *q, const mli_real *col, size_t ld, mli_real *x)
{
    memset(x, 0, sizeof(mli_real) * (size_t)q->C * q->H * q->W);
    for (int c = 0; c < q->C; c++)
        for (int a = 0; a < q->kh; a++)
            for (int b = 0; b < q->kw; b++) {
                const mli_real *row = col + ((size_t)(c * q->kh + a) * q->kw + b) * ld;
                int o0, o1, off = b * q->dw - q->pl;
                inside(q->W, q->sw, q->pl, b * q->dw, q->Wo, &o0, &o1);
                for (int oh = 0; oh < q->Ho; oh++) {
                    int ih = oh * q->sh - q->pt + a * q->dh;
                    if (ih < 0 || ih >= q->H)
                        continue;
                    mli_real *xr = x + ((size_t)c * q->H + ih) * q->W + off;
                    const mli_real *r = row + (size_t)oh * q->Wo;
                    if (q->sw == 1)
                        for (int ow = o0; ow < o1; ow++)
                            xr[ow] += r[ow];
                    else
                        for (int ow = o0; ow < o1; ow++)
                            xr[ow * q->sw] += r[ow];
                }
            }
}

static size_t in_size(const conv_geom *q) { return (size_t)q->C * q->H * q->W; }
static size_t out_size(const conv_geom *q) { return (size_t)q->K * q->P; }
static size_t w_size(const conv_geom *q) { return (size_t)q->K * q->L; }

/* col[C·kh·kw, nc·P] = the patches of the nc examples at X */
static void chunk_cols(const conv_geom *q, const mli_real *X, int nc, mli_real *col)
{
    for (int j = 0; j < nc; j++)
        im2col(q, X + (size_t)j * in_size(q), col + (size_t)j * q->P, (size_t)nc * q->P);
}

/* X[nc, C, H, W] = col2im of each example's columns */
static void chunk_uncols(const conv_geom *q, const mli_real *col, int nc, mli_real *X)
{
    for (int j = 0; j < nc; j++)
        col2im(q, col + (size_t)j * q->P, (size_t)nc * q->P, X + (size_t)j * in_size(q));
}

/* T[K, nc·P] = the nc examples' values Y[nc, K, P], channel-major; one example is that
 * already: the pointer to it is returned then, no copy */
static const mli_real *chunk_gather(const conv_geom *q, const mli_real *Y, int nc, mli_real *T)
{
    size_t ld = (size_t)nc * q->P;
    if (nc == 1)
        return Y;
    for (int j = 0; j < nc; j++)
        for (int k = 0; k < q->K; k++)
            memcpy(T + k * ld + (size_t)j * q->P, Y + (size_t)j * out_size(q) + (size_t)k * q->P,
                   sizeof(mli_real) * (size_t)q->P);
    return T;
}

/* Y[nc, K, P] += alpha · W col: T = W col per group (M = Kg, N = nc·P, K = L), then added in
 * (one example: the GEMM adds into Y itself) */
static void chunk_fwd(const conv_geom *q, mli_real *Y, const mli_real *W, const mli_real *col, int nc, mli_real alpha,
                      mli_real *T)
{
    size_t ld = (size_t)nc * q->P;
    if (nc == 1) {
        T = Y;
        ld = (size_t)q->P;
    }
    for (int g = 0; g < q->g; g++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->Kg, (int)ld, q->L, alpha, W + (size_t)g * q->Kg * q->L,
                 q->L, col + (size_t)g * q->L * ld, (int)ld, nc == 1 ? 1 : 0, T + (size_t)g * q->Kg * ld, (int)ld);
    for (int j = 0; j < nc && nc > 1; j++)
        for (int k = 0; k < q->K; k++) {
            mli_real *y = Y + (size_t)j * out_size(q) + (size_t)k * q->P;
            const mli_real *t = T + k * ld + (size_t)j * q->P;
            for (int p = 0; p < q->P; p++)
                y[p] += t[p];
        }
}

/* dW[K, L] = T colᵀ + beta · dW, T[K, ld] (M = Kg, N = L, K = ld: the chunk's positions) */
static void gemm_wgrad(const conv_geom *q, mli_real *dW, const mli_real *T, const mli_real *col, size_t ld,
                       mli_real beta)
{
    for (int g = 0; g < q->g; g++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, q->Kg, q->L, (int)ld, 1, T + (size_t)g * q->Kg * ld, (int)ld,
                 col + (size_t)g * q->L * ld, (int)ld, beta, dW + (size_t)g * q->Kg * q->L, q->L);
}

/* col[C·kh·kw, ld] = Wᵀ T + beta · col: the patches' gradients (col2im sums them) */
static void gemm_dcol(const conv_geom *q, mli_real *col, const mli_real *W, const mli_real *T, size_t ld, mli_real beta)
{
    for (int g = 0; g < q->g; g++)
        MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, q->L, (int)ld, q->Kg, 1, W + (size_t)g * q->Kg * q->L, q->L,
                 T + (size_t)g * q->Kg * ld, (int)ld, beta, col + (size_t)g * q->L * ld, (int)ld);
}

/* y[i, k, ·] = b[k] at every position of nex examples (b NULL: 0); the GEMMs add to it */
static void seed_bias(const conv_geom *q, mli_real *Y, const mli_real *b, int nex)
{
    for (int i = 0; i < nex; i++)
        for (int k = 0; k < q->K; k++)
            for (int p = 0; p < q->P; p++)
                Y[(size_t)i * out_size(q) + (size_t)k * q->P + p] = b ? b[k] : 0;
}

/* db[k] = Σ_{i, p} dY[i, k, p] over nex examples */
static void bias_grad(const conv_geom *q, mli_real *db, const mli_real *dY, int nex)
{
    for (int k = 0; k < q->K; k++) {
        mli_real s = 0;
        for (int i = 0; i < nex; i++)
            for (int p = 0; p < q->P; p++)
                s += dY[(size_t)i * out_size(q) + (size_t)k * q->P + p];
        db[k] = s;
    }
}

/* ---- Winograd F(m×m, 3×3) (conv_wino.h) for 3×3, stride 1, no dilation, groups 1, pads ≤ 2 ---- */

/* the switch (nn/op.h): -1 until read from MLI_CONV_WINOGRAD at the first use */
static atomic_int wino_switch = -1;

void mli_conv_set_winograd(int mode) { atomic_store(&wino_switch, mode < 0 ? 0 : mode > 2 ? 2 : mode); }

int mli_conv_winograd(void)
{
    int mode = atomic_load(&wino_switch);
    if (mode < 0) {
        const char *e = getenv("MLI_CONV_WINOGRAD");
        mode = e && (!strcmp(e, "0") || !strcmp(e, "2")) ? *e - '0' : 1;
        atomic_store(&wino_switch, mode);
    }
    return mode;
}

/* the tile: -1 until read from MLI_CONV_WINOGRAD_TILE at the first use */
static atomic_int wino_tile = -1;

void mli_conv_set_winograd_tile(int m) { atomic_store(&wino_tile, m == 2 ? 2 : 4); }

int mli_conv_winograd_tile(void)
{
    int m = atomic_load(&wino_tile);
    if (m < 0) {
        const char *e = getenv("MLI_CONV_WINOGRAD_TILE");
        m = e && !strcmp(e, "2") ? 2 : 4;
        atomic_store(&wino_tile, m);
    }
    return m;
}

/* Below 16 channels on either side the transforms cost more than the GEMM flops they save (F(2×2),
 * the forward of 28×28 maps, K = 16, one thread: C = 1 takes 3× im2col's time, C = 8 1.2×,
 * C = 16 0.93×) */
#define WINO_MIN_CHANNELS 16

/* the convolutions Winograd can compute, whether it is on or not (the workspace has room) */
static int wino_shape(const conv_geom *q)
{
    return q->kh == 3 && q->kw == 3 && q->sh == 1 && q->sw == 1 && q->dh == 1 && q->dw == 1 && q->g == 1 &&
           q->pt <= 2 && q->pl <= 2 && q->pb <= 2 && q->pr <= 2;
}

static int wino_ok(const conv_geom *q)
{
    int mode = mli_conv_winograd();
    return wino_shape(q) && (mode == 2 || (mode == 1 && q->C >= WINO_MIN_CHANNELS && q->K >= WINO_MIN_CHANNELS));
}

/* the forward: C×H×W into K×H'×W' */
static mli_wino wino_fwd(const conv_geom *q, int m)
{
    return mli_wino_make(m, q->C, q->H, q->W, q->K, q->Ho, q->Wo, q->pt, q->pl);
}

/* the input adjoint at stride 1: K×H'×W' into C×H×W, the same correlation with the weight
 * transposed over (k, c) and flipped, pads 2 − pad (so H = H' + (2 − p_t) + (2 − p_b) − 2) */
static mli_wino wino_adj(const conv_geom *q, int m)
{
    return mli_wino_make(m, q->K, q->Ho, q->Wo, q->C, q->H, q->W, 2 - q->pt, 2 - q->pl);
}

/* the transformed weights' room: F(4×4)'s 36·K·C, enough for either tile */
static size_t wino_u_room(const conv_geom *q) { return 36 * (size_t)q->K * q->C; }

/* The workspace: per thread t < MLI_PARALLEL_MAX, col (C·kh·kw × n_c·P), T (K × n_c·P) and a
 * partial weight gradient dW (K × L) — or, on the Winograd path, the chunk's V, M and rows
 * from the slot's start; then, shared, the transformed weights of W and of the direction
 * (2 × 36·K·C, room for either tile). */
typedef struct {
    mli_real *col, *T, *dW;
    mli_real *dU; /* the Winograd weight gradient's partial sum of the group (its slot) */
} conv_work_views;

static size_t thread_work(const conv_geom *q)
{
    size_t n = ((size_t)q->C * q->kh * q->kw + (size_t)q->K) * conv_chunk(q) * q->P + w_size(q);
    for (int m = 2; wino_shape(q) && m <= 4; m += 2) { /* room for either tile */
        mli_wino f = wino_fwd(q, m), a = wino_adj(q, m);
        size_t w = mli_wino_work(&f) > mli_wino_work(&a) ? mli_wino_work(&f) : mli_wino_work(&a);
        w += wino_u_room(q); /* a group's partial weight gradient dU, after the forward's work */
        n = w > n ? w : n;
    }
    return n;
}

/* the shared transformed weights: slot 0 (W), 1 (the direction) */
static mli_real *wino_u(const conv_geom *q, mli_real *work, int slot)
{
    return work + MLI_PARALLEL_MAX * thread_work(q) + (size_t)slot * wino_u_room(q);
}

static conv_work_views work_views(const conv_geom *q, mli_real *work, int t)
{
    mli_real *w = work + (size_t)t * thread_work(q);
    size_t cols = (size_t)conv_chunk(q) * q->P;
    conv_work_views v = {w, w + (size_t)q->C * q->kh * q->kw * cols, w + ((size_t)q->C * q->kh * q->kw + q->K) * cols,
                         NULL};
    return v;
}

/* the chunks of ch examples in [e0, e1): i0 = e0, e0 + nc, … */
#define FOR_CHUNKS(ch, e0, e1, i0, nc)                                                                         \
    for (int i0 = (e0), nc = (ch) < (e1) - (e0) ? (ch) : (e1) - (e0); i0 < (e1);                               \
         i0 += nc, nc = (ch) < (e1) - i0 ? (ch) : (e1) - i0)

/* One rule's pass over the chunks of nex examples: chunk(job, i0, nc, views) for each. The
 * GEMMs of a chunk are small (M = K ≤ 64 rows for ResNets), and OpenBLAS threading them
 * spends more time waking its threads than computing; so the examples are cut into ng =
 * min(chunks, MLI_PARALLEL_MAX) contiguous groups, which the BLAS threads take one at a time
 * (a thread slowed by other load takes fewer), each thread on its own col and T with BLAS at
 * one thread. Group g's weight gradient is its own partial sum, in slot g: the groups depend
 * only on nex, so results are the same whatever the thread count and schedule. */
typedef struct conv_job conv_job;
struct conv_job {
    const conv_geom *q;
    mli_real *work;
    int nex;
    void (*chunk)(const conv_job *j, int i0, int nc, const conv_work_views *v, int first);
    /* the operands of the rules below */
    mli_real *Y, *dX, *dW;
    const mli_real *X, *W, *dY, *U, *dU, *dir;
    mli_real *Ys[3];
    int has_r;
    int set; /* the Winograd forward sets Y instead of adding to it */
    size_t bi;
    const mli_wino *wg; /* the Winograd path: its geometry, the transformed W and direction */
    const mli_real *Uw, *Ud;
    int nce;            /* examples per chunk (0: im2col's) */
    int ng;             /* groups */
    atomic_int next;    /* the next group to take */
};

/* group g's partial Winograd weight gradient: in its slot, after a thread's V, M and rows */
static mli_real *wino_du(const conv_job *j, int g)
{
    return work_views(j->q, j->work, g).col + mli_wino_work(j->wg);
}

static void group_worker(void *ctx, int t0, int t1, int t)
{
    conv_job *j = ctx;
    if (j->wg) /* the thread's products M, after its V, start at zero (mli_wino_output keeps them so) */
        mli_wino_zero_m(j->wg, work_views(j->q, j->work, t).col + mli_wino_v_size(j->wg));
    for (int g; (g = atomic_fetch_add(&j->next, 1)) < j->ng;) {
        conv_work_views v = work_views(j->q, j->work, t);
        v.dW = work_views(j->q, j->work, g).dW;
        if (j->wg)
            v.dU = wino_du(j, g);
        int e0 = (int)((long)j->nex * g / j->ng), e1 = (int)((long)j->nex * (g + 1) / j->ng);
        FOR_CHUNKS(j->nce, e0, e1, i0, nc)
            j->chunk(j, i0, nc, &v, i0 == e0);
    }
}

int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* groups of nex examples in chunks of ch */
static int conv_groups(int ch, int nex)
{
    int nch = (nex + ch - 1) / ch;
    return nch < MLI_PARALLEL_MAX ? nch : MLI_PARALLEL_MAX;
}

/* runs the job over its groups, BLAS at one thread (one group too: its GEMMs are a chunk's,
 * too small to share, and OpenBLAS's rounding may change with its thread count) */
static void conv_run(conv_job *j)
{
    int blas = openblas_get_num_threads(), nt = mli_parallel_threads();
    if (!j->nce)
        j->nce = j->wg ? mli_wino_chunk(j->wg) : conv_chunk(j->q);
    j->ng = conv_groups(j->nce, j->nex);
    atomic_init(&j->next, 0);
    nt = nt < j->ng ? nt : j->ng;
    if (blas > 1)
        openblas_set_num_threads(1);
    if (nt == 1)
        group_worker(j, 0, 1, 0);
    else
        mli_parallel_tasks(nt, nt, group_worker, j);
    if (blas > 1)
        openblas_set_num_threads(blas);
}

/* The Winograd chunks: the examples [i0, i0 + nc) of the job's geometry wg, whose input and
 * output per example are C·H·W and K·H'·W' of wg (dY and dX for the adjoint). V, M and the
 * rows are the thread's slot. */
static mli_real *wino_v(const conv_work_views *v) { return v->col; }

static void wino_in(const conv_job *j, const mli_real *X, int i0, int nc, const conv_work_views *v)
{
    const mli_wino *g = j->wg;
    mli_real *V = wino_v(v);
    mli_wino_input(g, X + (size_t)i0 * g->C * g->H * g->W, nc, V, V + mli_wino_v_size(g) + mli_wino_m_size(g));
}

static void wino_out(const conv_job *j, mli_real *Y, const mli_real *U, int i0, int nc, mli_real alpha, int set,
                     const conv_work_views *v)
{
    const mli_wino *g = j->wg;
    mli_real *V = wino_v(v);
    mli_real *M = V + mli_wino_v_size(g);
    mli_wino_output(g, Y + (size_t)i0 * g->K * g->Ho * g->Wo, U, V, nc, alpha, set, M, M + mli_wino_m_size(g));
}

static void wino_acc_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    wino_in(j, j->X, i0, nc, v);
    wino_out(j, j->Y, j->Uw, i0, nc, 1, j->set, v);
}

/* The job on the Winograd path of geometry geom (kept in *g): W's transform (flip: the input
 * adjoint's) in the shared slot 0, chunk the rule's Winograd chunk */
static void wino_job(conv_job *j, mli_wino *g, mli_wino geom, int flip,
                     void (*chunk)(const conv_job *, int, int, const conv_work_views *, int))
{
    mli_real *U = wino_u(j->q, j->work, 0);
    *g = geom;
    mli_wino_weights(g, j->W, flip, U);
    j->wg = g;
    j->Uw = U;
    j->chunk = chunk;
}

/* Y[nex] += W * X */
static void acc_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    chunk_cols(j->q, j->X + (size_t)i0 * in_size(j->q), nc, v->col);
    chunk_fwd(j->q, j->Y + (size_t)i0 * out_size(j->q), j->W, v->col, nc, 1, v->T);
}

/* Y[nex] = W * X + b (b NULL: no bias). Without a bias the Winograd path writes Y directly,
 * with no zeroing pass before it (a serial pass over the output) and no read of Y; otherwise
 * Y is seeded with the bias (or zeros) and the products are added to it. */
static void conv_set(const conv_geom *q, mli_real *Y, const mli_real *b, const mli_real *X, const mli_real *W, int nex,
                     mli_real *work)
{
    conv_job j = {.q = q, .work = work, .nex = nex, .chunk = acc_chunk, .Y = Y, .X = X, .W = W};
    mli_wino g;
    if (wino_ok(q)) {
        wino_job(&j, &g, wino_fwd(q, mli_conv_winograd_tile()), 0, wino_acc_chunk);
        j.set = !b;
    }
    if (!j.set)
        seed_bias(q, Y, b, nex);
    conv_run(&j);
}

/* dX[nex] = the adjoint of W * (U * when U is not NULL: + Uᵀ-adjoint of dU) applied to dY:
 * dX = adj_W(dY) + adj_U(dU) */
static void adjoint_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    const conv_geom *q = j->q;
    size_t ld = (size_t)nc * q->P;
    gemm_dcol(q, v->col, j->W, chunk_gather(q, j->dY + (size_t)i0 * out_size(q), nc, v->T), ld, 0);
    if (j->U)
        gemm_dcol(q, v->col, j->U, chunk_gather(q, j->dU + (size_t)i0 * out_size(q), nc, v->T), ld, 1);
    chunk_uncols(q, v->col, nc, j->dX + (size_t)i0 * in_size(q));
}

/* dX = adj_W(dY) on the Winograd path: the forward correlation of dY with W flipped (wino_adj) */
static void wino_adjoint_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    wino_in(j, j->dY, i0, nc, v);
    wino_out(j, j->dX, j->Uw, i0, nc, 1, 1, v);
}

static void conv_adjoint(const conv_geom *q, mli_real *dX, const mli_real *dY, const mli_real *W,
                         const mli_real *dU, const mli_real *U, int nex, mli_real *work)
{
    conv_job j = {.q = q, .work = work, .nex = nex, .chunk = adjoint_chunk, .dX = dX, .dY = dY, .W = W, .dU = dU,
                  .U = U};
    mli_wino g;
    if (!U && wino_ok(q))
        wino_job(&j, &g, wino_adj(q, mli_conv_winograd_tile()), 1, wino_adjoint_chunk);
    conv_run(&j);
}

/* dW (+)= Σ_i dY_i patches(X_i)ᵀ over nex examples (accumulate: add to dW). One group writes
 * dW itself; several write their partial sums, added in group order. */
static void wgrad_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    const conv_geom *q = j->q;
    chunk_cols(q, j->X + (size_t)i0 * in_size(q), nc, v->col);
    const mli_real *T = chunk_gather(q, j->dY + (size_t)i0 * out_size(q), nc, v->T);
    mli_real *dW = j->dW ? j->dW : v->dW;
    gemm_wgrad(q, dW, T, v->col, (size_t)nc * q->P, j->dW ? (j->has_r || !first ? 1 : 0) : !first);
}

/* the same on the Winograd path: dU (n² × K × C) of the group += M Vᵀ, M the adjoint of the
 * output transform on the chunk's dY, V the input transform of its X */
static void wino_wgrad_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    const mli_wino *g = j->wg;
    mli_real *V = wino_v(v), *M = V + mli_wino_v_size(g);
    wino_in(j, j->X, i0, nc, v);
    mli_wino_grad_out(g, j->dY + (size_t)i0 * g->K * g->Ho * g->Wo, nc, M, M + mli_wino_m_size(g));
    mli_wino_wgrad(g, v->dU, M, V, nc, !first);
}

/* dW (+)= Gᵀ (Σ_groups dU) G: the groups' partial sums added in group order into group 0's */
static void wino_wgrad(const conv_geom *q, mli_real *dW, const mli_real *dY, const mli_real *X, int nex,
                       int accumulate, mli_real *work)
{
    mli_wino g = wino_fwd(q, mli_conv_winograd_tile());
    conv_job j = {.q = q, .work = work, .nex = nex, .chunk = wino_wgrad_chunk, .dY = dY, .X = X, .wg = &g};
    conv_run(&j);
    mli_real *dU = wino_du(&j, 0);
    size_t nu = mli_wino_u_size(&g);
    for (int gi = 1; gi < j.ng; gi++) {
        const mli_real *p = wino_du(&j, gi);
        for (size_t e = 0; e < nu; e++)
            dU[e] += p[e];
    }
    mli_wino_weights_grad(&g, dU, dW, accumulate);
}

static void conv_wgrad(const conv_geom *q, mli_real *dW, const mli_real *dY, const mli_real *X, int nex,
                       int accumulate, mli_real *work)
{
    if (wino_ok(q)) {
        wino_wgrad(q, dW, dY, X, nex, accumulate, work);
        return;
    }
    conv_job j = {.q = q, .work = work, .nex = nex, .chunk = wgrad_chunk, .dY = dY, .X = X, .has_r = accumulate,
                  .dW = conv_groups(conv_chunk(q), nex) < 2 ? dW : NULL};
    conv_run(&j);
    for (int g = 0; !j.dW && g < j.ng; g++) {
        const mli_real *p = work_views(q, work, g).dW;
        for (size_t e = 0; e < w_size(q); e++)
            dW[e] = (accumulate || g ? dW[e] : 0) + p[e];
    }
}

/* ---- the operator ---------------------------------------------------------------------------- */

/* the bias view of tensor base (θ, a direction, a gradient), NULL without a bias */
static mli_real *bias_view(const mli_node *n, const conv_geom *q, const mli_real *base)
{
    return q->bias && base ? mli_node_view(n, 1, base) : NULL;
}

static int conv_infer(mli_node *n)
{
    const int *t = n->attr;
    if (n->nin != 1 || n->ishape[0].ndim != 3)
        return mli_err(MLI_EUSAGE, "%s: Conv takes one input of C×H×W values", n->name);
    for (int k = 0; k < 13; k++)
        if (t[k] < 0)
            return mli_err(MLI_EUSAGE, "%s: Conv attribute %d is negative (%d)", n->name, k, t[k]);
    conv_geom q = conv_get(n);
    if (q.K < 1 || q.kh < 1 || q.kw < 1)
        return mli_err(MLI_EUSAGE, "%s: Conv needs positive output channels and kernel (%d, %d×%d)", n->name, q.K,
                       q.kh, q.kw);
    if (q.C % q.g || q.K % q.g)
        return mli_err(MLI_EUSAGE, "%s: Conv groups %d do not divide the channels (%d in, %d out)", n->name, q.g, q.C,
                       q.K);
    if (q.bias > 1)
        return mli_err(MLI_EUSAGE, "%s: Conv bias attribute %d is not 0 or 1", n->name, q.bias);
    if (q.Ho < 1 || q.Wo < 1 || q.H + q.pt + q.pb < q.dh * (q.kh - 1) + 1 || q.W + q.pl + q.pr < q.dw * (q.kw - 1) + 1)
        return mli_err(MLI_EUSAGE, "%s: Conv kernel %d×%d (dilation %d, %d) larger than the padded input %d×%d", n->name,
                       q.kh, q.kw, q.dh, q.dw, q.H + q.pt + q.pb, q.W + q.pl + q.pr);
    n->shape.ndim = 3;
    n->shape.d[0] = q.K;
    n->shape.d[1] = q.Ho;
    n->shape.d[2] = q.Wo;
    return MLI_OK;
}

static void conv_layout(mli_arch *a, mli_node *n)
{
    conv_geom q = conv_get(n);
    int w[4] = {q.K, q.Cg, q.kh, q.kw};
    mli_graph_tensor(a, n, "weight", 0, MLI_ROLE_WEIGHT, 4, w);
    if (q.bias)
        mli_graph_tensor(a, n, "bias", 0, MLI_ROLE_OTHER, 1, w);
}

static size_t conv_save(const mli_node *n, int bmax) { return 0; }

/* per thread: a chunk's patches and outputs, a partial weight gradient */
static size_t conv_work(const mli_node *n)
{
    conv_geom q = conv_get(n);
    return MLI_PARALLEL_MAX * thread_work(&q) + (wino_shape(&q) ? 2 * wino_u_room(&q) : 0);
}

/* default: PyTorch's Conv2d, kaiming_uniform_(a = √5) = U(±1/√fan_in) for the weight and
 * U(±1/√fan_in) for the bias, fan_in = Cg·kh·kw; xavier_uniform_ (fan_out = K·kh·kw) and
 * kaiming_normal_ (fan_in) with zero bias, as Linear */
static void conv_init(const mli_node *n, mli_init_type type, gsl_rng *rng, mli_real *theta, mli_real *bufs)
{
    if (!theta)
        return;
    conv_geom q = conv_get(n);
    mli_real *W = mli_node_view(n, 0, theta), *b = bias_view(n, &q, theta);
    double fin = q.L, fout = (double)q.K * q.kh * q.kw, bound = 1 / sqrt(fin);
    for (size_t i = 0; i < w_size(&q); i++) {
        if (type == MLI_INIT_DEFAULT)
            W[i] = (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1));
        else if (type == MLI_INIT_XAVIER)
            W[i] = (mli_real)(sqrt(6.0 / (fin + fout)) * (2 * gsl_rng_uniform(rng) - 1));
        else
            W[i] = (mli_real)gsl_ran_gaussian_ziggurat(rng, sqrt(2.0 / fin));
    }
    for (int k = 0; b && k < q.K; k++)
        b[k] = type == MLI_INIT_DEFAULT ? (mli_real)(bound * (2 * gsl_rng_uniform(rng) - 1)) : 0;
}

/* y = W * x + b */
static void conv_forward(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    conv_set(&q, c->y, bias_view(n, &q, c->theta), c->x[0], mli_node_view(n, 0, c->theta), c->B, c->work);
}

/* dW = Σ dy ⊗ patches, db = Σ dy, dx = the adjoint on dy */
static void conv_backward(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    if (c->grad) {
        conv_wgrad(&q, mli_node_view(n, 0, c->grad), c->dy, c->x[0], c->B, 0, c->work);
        if (q.bias)
            bias_grad(&q, bias_view(n, &q, c->grad), c->dy, c->B);
    }
    if (c->dx[0])
        conv_adjoint(&q, c->dx[0], c->dy, mli_node_view(n, 0, c->theta), NULL, NULL, c->B, c->work);
}

/* Taylor mode: the convolution is bilinear in (W, x), so along θ + αΔ, blocks [X0; X1; X2]:
 *   Y0 = W*X0 + b,  Y1 = W*X1 + ΔW*X0 + Δb,  Y2 = W*X2 + 2 ΔW*X1
 * per chunk: three im2cols, five GEMMs */
/* The first-order pair of both rules on one chunk: Y0 += W*X0, Y1 += D*X0 (D the direction,
 * ΔW or U), one im2col of X0 for both; returns X0. */
static const mli_real *pair_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v)
{
    const conv_geom *q = j->q;
    const mli_real *x = j->X + (size_t)i0 * in_size(q);
    size_t o = (size_t)i0 * out_size(q);
    chunk_cols(q, x, nc, v->col);
    chunk_fwd(q, j->Ys[0] + o, j->W, v->col, nc, 1, v->T);
    chunk_fwd(q, j->Ys[1] + o, j->dir, v->col, nc, 1, v->T);
    return x;
}

/* the same three on the Winograd path: one input transform per block, W's and D's products */
static void wino_pair(const conv_job *j, int i0, int nc, const conv_work_views *v)
{
    wino_in(j, j->X, i0, nc, v);
    wino_out(j, j->Ys[0], j->Uw, i0, nc, 1, 0, v);
    wino_out(j, j->Ys[1], j->Ud, i0, nc, 1, 0, v);
}

static void wino_tangent_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    wino_pair(j, i0, nc, v);
    wino_in(j, j->X + j->bi, i0, nc, v);
    wino_out(j, j->Ys[1], j->Uw, i0, nc, 1, 0, v);
    wino_out(j, j->Ys[2], j->Ud, i0, nc, 2, 0, v);
    wino_in(j, j->X + 2 * j->bi, i0, nc, v);
    wino_out(j, j->Ys[2], j->Uw, i0, nc, 1, 0, v);
}

static void wino_rop_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    wino_pair(j, i0, nc, v);
    if (j->has_r) {
        wino_in(j, j->X + j->bi, i0, nc, v);
        wino_out(j, j->Ys[1], j->Uw, i0, nc, 1, 0, v);
    }
}

/* the job on the Winograd path when the convolution qualifies: W's and D's transforms in the
 * shared slots, g the forward geometry */
static void wino_pair_job(conv_job *j, mli_wino *g, void (*chunk)(const conv_job *, int, int, const conv_work_views *, int))
{
    if (!wino_ok(j->q))
        return;
    mli_real *Ud = wino_u(j->q, j->work, 1);
    wino_job(j, g, wino_fwd(j->q, mli_conv_winograd_tile()), 0, chunk);
    mli_wino_weights(g, j->dir, 0, Ud);
    j->Ud = Ud;
}

static void tangent_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    const conv_geom *q = j->q;
    const mli_real *x = pair_chunk(j, i0, nc, v);
    size_t o = (size_t)i0 * out_size(q);
    chunk_cols(q, x + j->bi, nc, v->col);
    chunk_fwd(q, j->Ys[1] + o, j->W, v->col, nc, 1, v->T);
    chunk_fwd(q, j->Ys[2] + o, j->dir, v->col, nc, 2, v->T);
    chunk_cols(q, x + 2 * j->bi, nc, v->col);
    chunk_fwd(q, j->Ys[2] + o, j->W, v->col, nc, 1, v->T);
}

static void conv_tangent(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    size_t bo = (size_t)c->B * out_size(&q);
    conv_job j = {.q = &q, .work = c->work, .nex = c->B, .chunk = tangent_chunk, .X = c->x[0],
                  .W = mli_node_view(n, 0, c->theta), .dir = mli_node_view(n, 0, c->dir),
                  .Ys = {c->y, c->y + bo, c->y + 2 * bo}, .bi = (size_t)c->B * in_size(&q)};
    seed_bias(&q, j.Ys[0], bias_view(n, &q, c->theta), c->B);
    seed_bias(&q, j.Ys[1], bias_view(n, &q, c->dir), c->B);
    seed_bias(&q, j.Ys[2], NULL, c->B);
    mli_wino g;
    wino_pair_job(&j, &g, wino_tangent_chunk);
    conv_run(&j);
}

/* y = W * x (the bias is the response to a zero input: x NULL gives b at every position of
 * one example) */
static void conv_hoist(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    if (!c->x[0]) {
        seed_bias(&q, c->y, bias_view(n, &q, c->theta), 1);
        return;
    }
    conv_set(&q, c->y, NULL, c->x[0], mli_node_view(n, 0, c->theta), c->B, c->work);
}

/* [Y; R{Y}] from [X; R{X}] (X alone when !has_r): Y = W*X + b, R{Y} = W*R{X} + U*X + u_b */
static void rop_chunk(const conv_job *j, int i0, int nc, const conv_work_views *v, int first)
{
    const conv_geom *q = j->q;
    const mli_real *x = pair_chunk(j, i0, nc, v);
    if (j->has_r) {
        chunk_cols(q, x + j->bi, nc, v->col);
        chunk_fwd(q, j->Ys[1] + (size_t)i0 * out_size(q), j->W, v->col, nc, 1, v->T);
    }
}

static void conv_rop_forward(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    size_t bo = (size_t)c->B * out_size(&q);
    conv_job j = {.q = &q, .work = c->work, .nex = c->B, .chunk = rop_chunk, .X = c->x[0],
                  .W = mli_node_view(n, 0, c->theta), .dir = mli_node_view(n, 0, c->dir),
                  .Ys = {c->y, c->y + bo}, .has_r = c->has_r[0], .bi = (size_t)c->B * in_size(&q)};
    seed_bias(&q, j.Ys[0], bias_view(n, &q, c->theta), c->B);
    seed_bias(&q, j.Ys[1], bias_view(n, &q, c->dir), c->B);
    mli_wino g;
    wino_pair_job(&j, &g, wino_rop_chunk);
    conv_run(&j);
}

/* From G = [R{dY}; dY]: R{dW} = Σ R{dY} ⊗ patches(X) + dY ⊗ patches(R{X}), R{db} = Σ R{dY};
 * R{dX} = adjoint_W(R{dY}) + adjoint_U(dY), and dX = adjoint_W(dY) if wanted */
static void conv_rop_backward(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    const mli_real *W = mli_node_view(n, 0, c->theta), *U = mli_node_view(n, 0, c->dir);
    size_t bi = (size_t)c->B * in_size(&q), bo = (size_t)c->B * out_size(&q);
    const mli_real *RdY = c->dy, *dY = c->dy + bo;
    mli_real *RdW = mli_node_view(n, 0, c->grad);
    conv_wgrad(&q, RdW, RdY, c->x[0], c->B, 0, c->work);
    if (c->has_r[0])
        conv_wgrad(&q, RdW, dY, c->x[0] + bi, c->B, 1, c->work);
    if (q.bias)
        bias_grad(&q, bias_view(n, &q, c->grad), RdY, c->B);
    if (!c->dx[0])
        return;
    conv_adjoint(&q, c->dx[0], RdY, W, dY, U, c->B, c->work);
    if (c->want_dx[0])
        conv_adjoint(&q, c->dx[0] + bi, dY, W, NULL, NULL, c->B, c->work);
}

/* R{dW} reads dY when R{X} ≠ 0, R{dX} whenever dX is wanted (then the input has an R block) */
static int conv_rop_reads_grad(const mli_node *n, const int *has_r) { return has_r[0]; }

/* F = 2·P·K·L per example, the forward GEMMs; the multiples of Linear's (hvp.h) */
static double conv_flops(const mli_node *n, double examples, int hvp, int has_r, int want_dx)
{
    conv_geom q = conv_get(n);
    double F = 2 * examples * q.P * (double)q.K * q.L;
    if (hvp)
        return has_r ? 7 * F + (want_dx ? F : 0) : 3 * F;
    return has_r ? 3 * F : 2 * F;
}

static mli_jac_form conv_jac_form(const mli_node *n) { return MLI_JAC_EXPLICIT; }
static size_t conv_jac_width(const mli_node *n)
{
    conv_geom q = conv_get(n);
    return w_size(&q) + (q.bias ? (size_t)q.K : 0);
}

/* rows r = c·B + i: dx (all rows) by the adjoint, then each row's (dW, db) block from the
 * patches of example i, built once for its k rows: one GEMM of K = P per row */
static void conv_jac_backward(const mli_node *n, mli_opctx *c)
{
    conv_geom q = conv_get(n);
    if (c->dx[0])
        conv_adjoint(&q, c->dx[0], c->dy, mli_node_view(n, 0, c->theta), NULL, NULL, c->rows, c->work);
    size_t wd = conv_jac_width(n);
    int k = c->rows / c->B;
    for (int i = 0; i < c->B; i++) {
        im2col(&q, c->x[0] + (size_t)i * in_size(&q), c->work, (size_t)q.P);
        for (int o = 0; o < k; o++) {
            size_t r = (size_t)o * c->B + i;
            const mli_real *dy = c->dy + r * out_size(&q);
            mli_real *row = c->fac + r * wd;
            gemm_wgrad(&q, row, dy, c->work, (size_t)q.P, 0);
            if (q.bias)
                bias_grad(&q, row + w_size(&q), dy, 1);
        }
    }
}

/* Output channels are units (pout, with the bias); input channels are permuted by pin.
 * groups = 1: any permutations. groups > 1: output u reads input channel g(u)·Cg + v, so the
 * permutations must move whole groups alike — pin must map group g(u)'s channels onto group
 * g(pout[u])'s, keeping their order within; a weight that would read across groups is set
 * to NaN, so that a misuse shows instead of computing another network. (The permutation
 * control permutes the hidden units of FCNets only today.) */
static void conv_permute(const mli_node *n, const int *pin, const int *pout, const mli_real *theta,
                         const mli_real *bufs, mli_real *theta_out, mli_real *bufs_out)
{
    conv_geom q = conv_get(n);
    int kk = q.kh * q.kw;
    const mli_real *W = mli_node_view(n, 0, theta), *b = bias_view(n, &q, theta);
    mli_real *qW = mli_node_view(n, 0, theta_out), *qb = bias_view(n, &q, theta_out);
    for (int u = 0; u < q.K; u++) {
        int su = pout ? pout[u] : u, gu = u / q.Kg, gs = su / q.Kg;
        for (int v = 0; v < q.Cg; v++) {
            int j = gu * q.Cg + v, src = (pin ? pin[j] : j) - gs * q.Cg;
            for (int t = 0; t < kk; t++)
                qW[((size_t)u * q.Cg + v) * kk + t] =
                    src >= 0 && src < q.Cg ? W[((size_t)su * q.Cg + src) * kk + t] : (mli_real)NAN;
        }
        if (b)
            qb[u] = b[su];
    }
}

/* The float engine's y = b + Σ w·x over the L = Cg·kh·kw terms of the patch (padding: exact
 * zeros), w = w₀ + αΔw rounded: as Linear's dot product of length L, (L + 4)·Σ|w||h| to first
 * order in u, plus the propagated input error Σ|w| e. One example, in double. */
static void conv_reeval(const mli_node *n, const mli_real *t0, const mli_real *t1, const mli_real *bufs,
                        double alpha, const double *const *hin, const double *const *ein, double *ho, double *eo)
{
    conv_geom q = conv_get(n);
    double aa = fabs(alpha);
    const mli_real *W0 = mli_node_view(n, 0, t0), *W1 = mli_node_view(n, 0, t1);
    const mli_real *B0 = bias_view(n, &q, t0), *B1 = bias_view(n, &q, t1);
    const double *h = hin[0], *e = ein[0];
    for (int k = 0; k < q.K; k++)
        for (int oh = 0; oh < q.Ho; oh++)
            for (int ow = 0; ow < q.Wo; ow++) {
                double b0 = B0 ? B0[k] : 0, db = B1 ? (double)B1[k] - b0 : 0;
                double s = b0 + alpha * db, sa = fabs(b0) + aa * fabs(db), se = 0;
                for (int v = 0; v < q.Cg; v++)
                    for (int a = 0; a < q.kh; a++)
                        for (int bb = 0; bb < q.kw; bb++) {
                            int ih = oh * q.sh - q.pt + a * q.dh, iw = ow * q.sw - q.pl + bb * q.dw;
                            if (ih < 0 || ih >= q.H || iw < 0 || iw >= q.W)
                                continue;
                            size_t wi = (((size_t)k * q.Cg + v) * q.kh + a) * q.kw + bb;
                            size_t xi = ((size_t)((k / q.Kg) * q.Cg + v) * q.H + ih) * q.W + iw;
                            double w0 = W0[wi], dw = (double)W1[wi] - w0, wa = fabs(w0) + aa * fabs(dw);
                            s += (w0 + alpha * dw) * h[xi];
                            sa += wa * fabs(h[xi]);
                            se += wa * e[xi];
                        }
                size_t o = ((size_t)k * q.Ho + oh) * q.Wo + ow;
                ho[o] = s;
                eo[o] = se + (q.L + 4) * sa;
            }
}

/* the exact analysis handles chains of dense Linear only */
static mli_pwl_role conv_pwl(const mli_node *n) { return MLI_PWL_NONE; }

/* ONNX: one Conv node, every attribute written out (kernel_shape, strides, pads as begins then
 * ends, dilations, group), the weight K×Cg×kh×kw and the bias as initializers */
static int conv_onnx(const mli_node *n, const mli_onnx_ectx *e)
{
    conv_geom q = conv_get(n);
    const char *in[3] = {e->in[0], e->a->tensors[n->tensor[0]].name, q.bias ? e->a->tensors[n->tensor[1]].name : ""};
    for (int k = 0; k < 1 + q.bias; k++)
        mli_onnx_export_tensor(n, k, e);
    mli_onnx_node *g = mli_onnx_add_node(e->m, "Conv", n->name, 2 + q.bias, in, 1, &e->out);
    int64_t ks[2] = {q.kh, q.kw}, st[2] = {q.sh, q.sw}, pads[4] = {q.pt, q.pl, q.pb, q.pr}, dil[2] = {q.dh, q.dw};
    mli_onnx_attr_ints(g, "kernel_shape", 2, ks);
    mli_onnx_attr_ints(g, "strides", 2, st);
    mli_onnx_attr_ints(g, "pads", 4, pads);
    mli_onnx_attr_ints(g, "dilations", 2, dil);
    mli_onnx_attr_int(g, "group", q.g);
    return MLI_OK;
}

const mli_op mli_op_conv = {
    /* structure */
    .name = "Conv", .infer = conv_infer, .layout = conv_layout, .save_size = conv_save, .init = conv_init,
    /* first order */
    .forward = conv_forward, .backward = conv_backward,
    /* Taylor mode */
    .tangent = conv_tangent, .hoist = conv_hoist,
    /* R-op */
    .rop_forward = conv_rop_forward, .rop_backward = conv_rop_backward, .rop_const_input = 1,
    .rop_reads_grad = conv_rop_reads_grad, .flops = conv_flops,
    /* Jacobians */
    .jac_form = conv_jac_form, .jac_width = conv_jac_width, .jac_backward = conv_jac_backward,
    /* the controls, the re-evaluation, the exact analysis, the workspace */
    .units = 1, .permute = conv_permute, .reeval = conv_reeval, .pwl = conv_pwl, .work_size = conv_work,
    /* export */
    .onnx_export = conv_onnx,
};

/* ---- ONNX import (nn/onnx_graph.c) ----------------------------------------------------------
 * Conv of a C×H×W value: X a value, W a float initializer K×(C/group)×kh×kw, B (optional) one of
 * [K]; kernel_shape (when given) must match W; strides, pads, dilations, group and auto_pad as
 * mli_onnx_spatial reads them. A 1-D Conv (X of C×L, W of K×(C/group)×k) is this operator on
 * C×1×L with a 1×k kernel, between two reshapes (mli_onnx_emit_spatial): the same sums. 3-D
 * convolutions (a W of 5 dims, a value of 4 per-example dims) are refused. */
#include "nn/onnx_graph.h"

int mli_onnx_import_conv(mli_onnx_import *im, const mli_onnx_node *nd)
{
    int x;
    if (mli_onnx_value_in(im, nd, 0, &x))
        return MLI_EINPUT;
    const mli_shape *s = mli_onnx_shape(im, x);
    const mli_onnx_tensor *w = mli_onnx_init_in(im, nd, 1), *b = mli_onnx_init_in(im, nd, 2);
    if (s->ndim < 2 || s->ndim > 3 || !w || w->ndim != s->ndim + 1)
        return mli_onnx_refuse(im, nd, "mli supports only 1-D and 2-D Conv: an N×C×L or N×C×H×W value and a weight "
                               "initializer of 3 or 4 dims (here %d per-example dims and %s%d)", s->ndim,
                               !w ? "a weight that is not an initializer" : "a weight of ", w ? w->ndim : 0);
    if (nd->ninputs > 2 && nd->inputs[2][0] && (!b || b->ndim != 1 || b->dims[0] != w->dims[0]))
        return mli_onnx_refuse(im, nd, "input 2 (B) must be a float initializer of shape [%lld]",
                               (long long)w->dims[0]);
    int one_d = s->ndim == 2, C = s->d[0];
    int k[2] = {one_d ? 1 : (int)w->dims[2], (int)w->dims[w->ndim - 1]}, st[2], d[2], p[4];
    if (mli_onnx_spatial(im, nd, s, k, st, d, p))
        return MLI_EINPUT;
    int64_t g = mli_onnx_attr_i(nd, "group", 1);
    if (g < 1 || g > C || w->dims[1] * g != C || w->dims[0] > 1 << 24) {
        char dims[96];
        snprintf(dims, sizeof dims, "%lld, %lld, %lld", (long long)w->dims[0], (long long)w->dims[1],
                 (long long)w->dims[2]);
        if (!one_d)
            snprintf(dims + strlen(dims), sizeof dims - strlen(dims), ", %lld", (long long)w->dims[3]);
        return mli_onnx_refuse(im, nd, "group %lld and weight shape [%s] do not fit %d input channels", (long long)g,
                               dims, C);
    }
    int attr[13] = {(int)w->dims[0], k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3], d[0], d[1], (int)g, b != NULL};
    int id = mli_onnx_emit_spatial(im, nd, &mli_op_conv, x, attr, 13);
    if (id < 0 || mli_onnx_param(im, nd, id, 0, w, 0) || (b && mli_onnx_param(im, nd, id, 1, b, 0)))
        return MLI_EINPUT;
    return MLI_OK;
}
