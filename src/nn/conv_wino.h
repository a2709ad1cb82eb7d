/* Winograd minimal filtering F(2×2, 3×3) (Lavin & Gray) for the stride-1, undilated,
 * ungrouped 3×3 convolutions of op_conv.c: out[k, oh, ow] = Σ_{c, a, b} w[k, c, a, b] ·
 * in[c, oh − pt + a, ow − pl + b], zeros outside the input. The output is cut into 2×2 tiles
 * (clipped at the right and bottom borders), each read from a 4×4 input tile d:
 *   U[ξ][k][c] = (G g Gᵀ)[ξ]   V[ξ][c][t] = (Bᵀ d B)[ξ]   M[ξ] = U[ξ] V[ξ]   out = Aᵀ M A
 * for the 16 positions ξ of the 4×4 transform: 16 GEMMs (K × C times C × tiles) of 16·K·C
 * multiplies per tile, against 36·K·C for the 4 outputs of im2col's GEMM (2.25× fewer).
 * The transforms' entries are 0, ±1 and ±½: the rounding is that of the direct sums, up to a
 * factor of a few. Internal to src/nn (op_conv.c decides which convolutions use it). */
#ifndef MLI_CONV_WINO_H
#define MLI_CONV_WINO_H

#include <stddef.h>

#include "io/real.h"

typedef struct {
    int C, H, W;   /* input channels and map */
    int K, Ho, Wo; /* output channels and map */
    int pt, pl;    /* padding above and to the left (the rest is implied by Ho, Wo) */
    int th, tw;    /* tile rows and columns, ⌈Ho/2⌉ and ⌈Wo/2⌉ */
} mli_wino;

mli_wino mli_wino_make(int C, int H, int W, int K, int Ho, int Wo, int pt, int pl);

/* examples per chunk: about MLI_WINO_TILES tiles, the N of the chunk's GEMMs */
int mli_wino_chunk(const mli_wino *g);
/* reals of a chunk's input transform V, of its products M, of the input transform's scratch
 * rows, and of all three (a thread's workspace) */
size_t mli_wino_v_size(const mli_wino *g);
size_t mli_wino_m_size(const mli_wino *g);
size_t mli_wino_row_size(const mli_wino *g);
size_t mli_wino_work(const mli_wino *g);

/* U[16][K][C] (16·K·C reals) from the weights w[K][C][3][3]; flip: from w[C][K][3][3] flipped in both
 * spatial axes and transposed over (k, c) — the weight of the input adjoint at stride 1 */
void mli_wino_weights(const mli_wino *g, const mli_real *w, int flip, mli_real *U);

/* V[16][C][nc·tiles] of the nc examples X[nc][C][H][W]; row: mli_wino_row_size reals */
void mli_wino_input(const mli_wino *g, const mli_real *X, int nc, mli_real *V, mli_real *row);

/* M = 0: a thread's M before its first mli_wino_output (which leaves it zero) */
void mli_wino_zero_m(const mli_wino *g, mli_real *M);
/* Y[nc][K][Ho][Wo] (+)= alpha · the convolution whose transforms are U and V (set: Y =, else
 * Y +=); M: mli_wino_m_size reals, zero on entry and on return; row: mli_wino_row_size reals
 * of scratch */
void mli_wino_output(const mli_wino *g, mli_real *Y, const mli_real *U, const mli_real *V, int nc, mli_real alpha,
                     int set, mli_real *M, mli_real *row);

#endif
