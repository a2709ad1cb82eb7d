/* Winograd minimal filtering F(m×m, 3×3) (Lavin & Gray), m = 2 or 4, for the stride-1,
 * undilated, ungrouped 3×3 convolutions of op_conv.c: out[k, oh, ow] = Σ_{c, a, b} w[k, c, a, b]
 * · in[c, oh − pt + a, ow − pl + b], zeros outside the input. The output is cut into m×m tiles
 * (clipped at the right and bottom borders), each read from an n×n input tile d, n = m + 2:
 *   U[ξ][k][c] = (G g Gᵀ)[ξ]   V[ξ][c][t] = (Bᵀ d B)[ξ]   M[ξ] = U[ξ] V[ξ]   out = Aᵀ M A
 * for the n² positions ξ of the transform: n² GEMMs (K × C times C × tiles) of n²·K·C
 * multiplies per tile of m² outputs, against 9·K·C per output for im2col's GEMM: 2.25× fewer
 * for F(2×2) (16 per 4 outputs), 4× for F(4×4) (36 per 16).
 * Rounding: F(2×2)'s transforms have entries 0, ±1 and ±½, its error that of the direct sums
 * up to a factor of a few. F(4×4)'s (points 0, ±1, ±2, ∞) reach Bᵀ's 4 and 5, Aᵀ's 8 and G's
 * sixths: in float its error is some 10× the direct sums' (5e-6 of the largest output on
 * ResNet shapes, tests/test_conv.c), in double still ≈ 1e-15 relative. Internal to src/nn
 * (op_conv.c decides which convolutions use it and with which m). */
#ifndef MLI_CONV_WINO_H
#define MLI_CONV_WINO_H

#include <stddef.h>

#include "io/real.h"

typedef struct {
    int m, n;      /* output tile m×m, input tile n×n, n = m + 2 */
    int C, H, W;   /* input channels and map */
    int K, Ho, Wo; /* output channels and map */
    int pt, pl;    /* padding above and to the left (the rest is implied by Ho, Wo) */
    int th, tw;    /* tile rows and columns, ⌈Ho/m⌉ and ⌈Wo/m⌉ */
} mli_wino;

mli_wino mli_wino_make(int m, int C, int H, int W, int K, int Ho, int Wo, int pt, int pl);

/* examples per chunk: about MLI_WINO_TILES tiles, the N of the chunk's GEMMs */
int mli_wino_chunk(const mli_wino *g);
/* reals of the transformed weights U (n²·K·C); of a chunk's input transform V, of its products M, of the input transform's scratch
 * rows, and of all three (a thread's workspace) */
size_t mli_wino_u_size(const mli_wino *g);
size_t mli_wino_v_size(const mli_wino *g);
size_t mli_wino_m_size(const mli_wino *g);
size_t mli_wino_row_size(const mli_wino *g);
size_t mli_wino_work(const mli_wino *g);

/* U[n²][K][C] (mli_wino_u_size reals) from the weights w[K][C][3][3]; flip: from w[C][K][3][3] flipped in both
 * spatial axes and transposed over (k, c) — the weight of the input adjoint at stride 1 */
void mli_wino_weights(const mli_wino *g, const mli_real *w, int flip, mli_real *U);

/* V[n²][C][nc·tiles] of the nc examples X[nc][C][H][W]; row: mli_wino_row_size reals */
void mli_wino_input(const mli_wino *g, const mli_real *X, int nc, mli_real *V, mli_real *row);

/* M = 0: a thread's M before its first mli_wino_output (which leaves it zero) */
void mli_wino_zero_m(const mli_wino *g, mli_real *M);
/* Y[nc][K][Ho][Wo] (+)= alpha · the convolution whose transforms are U and V (set: Y =, else
 * Y +=); M: mli_wino_m_size reals, zero on entry and on return; row: mli_wino_row_size reals
 * of scratch */
void mli_wino_output(const mli_wino *g, mli_real *Y, const mli_real *U, const mli_real *V, int nc, mli_real alpha,
                     int set, mli_real *M, mli_real *row);

/* The weight gradient, in three steps per chunk and one at the end:
 * M[n²][K][nc·tiles] = the adjoint of the output transform, A dY Aᵀ per tile, of the nc
 * examples dY[nc][K][Ho][Wo] (zeros beyond the map); M: mli_wino_m_size reals (left nonzero),
 * row: mli_wino_row_size of scratch */
void mli_wino_grad_out(const mli_wino *g, const mli_real *dY, int nc, mli_real *M, mli_real *row);
/* dU[n²][K][C] (add: +)= M[ξ] V[ξ]ᵀ, the chunk's products over its tiles (n² GEMMs) */
void mli_wino_wgrad(const mli_wino *g, mli_real *dU, const mli_real *M, const mli_real *V, int nc, int add);
/* dW[K][C][3][3] (add: +)= Gᵀ dU G per filter, the adjoint of the weight transform, in double */
void mli_wino_weights_grad(const mli_wino *g, const mli_real *dU, mli_real *dW, int add);

#endif
