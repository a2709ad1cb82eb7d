/* The exact piece structure of the output path z(α) = f(x; θ₀ + αΔ) of a piecewise-linear
 * network: a chain of Linear layers with relu or identity between them and no batch norm
 * (docs/exact.md).
 *
 * Along the path, Linear layer l (0-based, L layers) maps a polynomial input of degree l to
 * a polynomial pre-activation of degree l+1: (W₀ + αΔW) s(α) + b₀ + αΔb. A relu unit keeps
 * its state while its pre-activation keeps its sign, so between consecutive switches of any
 * unit every layer is a fixed polynomial map and z(α) is a polynomial of degree L. This
 * module finds, for one input, every switch on [0,1] and the coefficients of z on every
 * piece, by a left-to-right sweep:
 *   - the first layer's pre-activations are linear, p + αq: each unit switches at most once,
 *     at −p/q, computed once (for a batch of inputs by two GEMMs, hoisted out of the sweep);
 *   - on the current piece, a deeper unit's pre-activation is a polynomial; a Bernstein
 *     test on the candidate piece discards the units that cannot change sign there, and the
 *     first sign change of the others is isolated exactly (ppoly.h);
 *   - at the earliest switch one unit toggles: the next layer's pre-activations change by a
 *     rank-one term (its column of W₀ + αΔW times the unit's polynomial) and the layers after
 *     it are recomputed.
 * The per-input work uses no BLAS (contiguous axpy loops over transposed weights), so that
 * inputs can be swept on several threads at once.
 * All in double. A unit whose pre-activation touches 0 without changing sign does not
 * switch; two switches at the same α give one breakpoint. */
#ifndef MLI_GEOMETRY_PIECES_H
#define MLI_GEOMETRY_PIECES_H

#include <stddef.h>

#include "nn/arch.h"

#define MLI_PWL_MAXLIN (MLI_MAX_HIDDEN + 1)

/* A chain of L Linear layers; after each but the last, relu (1) or identity (0). The
 * parameters are double copies of θ₀ and Δ = θ₁ − θ₀ (weights out×in row-major). */
typedef struct {
    int nlin;
    int width[MLI_PWL_MAXLIN + 1]; /* width[0] inputs; width[l+1] outputs of Linear l */
    int relu[MLI_PWL_MAXLIN];
    double *W0[MLI_PWL_MAXLIN], *dW[MLI_PWL_MAXLIN], *b0[MLI_PWL_MAXLIN], *db[MLI_PWL_MAXLIN];
    double *WT0[MLI_PWL_MAXLIN], *dWT[MLI_PWL_MAXLIN]; /* the weights transposed, in × out (l ≥ 2) */
    /* Linear 1's weights at θ₀ and θ₁ transposed (in × out), in the parameters' own precision:
     * read at every first-layer switch, they are half the bytes of doubles, and W₀ and
     * ΔW = θ₁ − θ₀ formed from them in double are exactly W0[1] and dW[1]. */
    mli_real *V0, *V1;
    double *Wout; /* the last layer's W₀ and ΔW stacked, 2·width[L] × width[L−1] */
    /* the same transposed, a row of kpad ≥ 2·width[L] per input unit (W₀ row, ΔW row, zeros): the
     * output changes of a switch are sums of these rows over the units that are on */
    double *WoutT;
    int kpad;
    /* first-layer switches change the outputs by rank-one sums (three Linear layers, WoutT
     * small enough to stay in cache: a wide output layer is left to the GEMMs, which read it
     * once per PIECE_BLOCK pieces) */
    int rank1_first;
    int width_max;
} mli_pwl;

/* Does the network have exact pieces? MLI_OK, or MLI_EUSAGE with a message naming why not
 * (batch norm, a smooth activation). Cheap: call it before any work. */
int mli_pwl_check(const mli_arch *a);
/* The chain of an FCNet with parameters θ₀, θ₁ (a->nparams each). A network with batch norm
 * or a smooth activation has no exact pieces: MLI_EUSAGE with a message naming why. */
int mli_pwl_from_arch(const mli_arch *a, const mli_real *theta0, const mli_real *theta1,
                      mli_pwl *out);
void mli_pwl_free(mli_pwl *n);

/* The first layer for B inputs X[B × width[0]] (float data): P = X W₀ᵀ + b₀ and
 * Q = X ΔWᵀ + Δb, each B × width[1], so that input i's first pre-activations are
 * P[i] + α Q[i]. */
void mli_pwl_first_layer(const mli_pwl *n, const mli_real *X, int B, double *P, double *Q);

/* The pieces of one input's output path. */
typedef struct {
    int npieces;
    int k, deg;    /* outputs, degree L */
    double *brk;   /* npieces + 1 breakpoints, 0 … 1 */
    double *z;     /* piece j, output o: z[(j·k + o)·(deg+1) + m] multiplies α^m */
    int *layer;    /* layer[j] (j ≥ 1): the layer of the unit that switches at brk[j] */
    long nswitch;  /* switches processed (≥ npieces − 1: simultaneous ones share a piece) */
    long nexam;    /* second-layer units examined on a candidate piece (what screening leaves) */
} mli_pwl_path;

typedef struct mli_pwl_ws mli_pwl_ws;
mli_pwl_ws *mli_pwl_ws_new(const mli_pwl *n);
void mli_pwl_ws_free(mli_pwl_ws *w);
/* Margin screening of the second layer's units (on by default; docs/exact.md): a unit whose
 * pre-activation keeps its sign on [t, 1] with a margin that the rank-one updates since have not
 * used up is not examined. Off, every unit is examined on every piece: the reference the tests
 * compare the screened sweep with (both give the same pieces, bit for bit). */
void mli_pwl_ws_screen(mli_pwl_ws *w, int on);
/* Outputs by rank-one updates (on by default; docs/exact.md): a piece that follows switches of
 * the last two hidden layers' units only (three Linear layers: every switch) gets its outputs
 * from the piece before it plus each switch's rank-one change. Off, every piece's outputs are
 * formed from its input by the GEMMs: the reference the tests compare with (the same
 * breakpoints bit for bit, the coefficients to rounding). */
void mli_pwl_ws_rank1(mli_pwl_ws *w, int on);

/* The second layer's pre-activations at the start of the path, for networks of three Linear
 * layers or more: H1 (3 · B · width[2]) receives, for input i, the coefficient of α^m of unit o
 * at H1[m·B·width[2] + i·width[2] + o] — four GEMMs for the batch, so that no sweep streams
 * the second layer's weights for its start. */
void mli_pwl_second_layer(const mli_pwl *n, const double *P, const double *Q, int B, double *H1);

/* The pieces of z(α) for the input whose first-layer rows are p, q (mli_pwl_first_layer) and,
 * if h1 is not NULL, whose second layer starts at h1 (coefficient m at h1[m·h1_stride], from
 * mli_pwl_second_layer; h1_stride = B·width[2]). The result lives in the workspace until the
 * next call. */
const mli_pwl_path *mli_pwl_sweep(const mli_pwl *n, mli_pwl_ws *w, const double *p,
                                  const double *q, const double *h1, size_t h1_stride);

/* z(α) and its first two derivatives at α from the pieces (the piece on the right at a
 * breakpoint); any pointer may be NULL. */
void mli_pwl_path_eval(const mli_pwl_path *pp, double alpha, double *z, double *v, double *a);

#endif
