/* Winograd F(2×2, 3×3) for op_conv.c (conv_wino.h). Layout: tile t of a chunk = example j,
 * tile row i, tile column jj: t = (j·th + i)·tw + jj; V[ξ][c][t] and M[ξ][k][t] keep t
 * contiguous, so that each of the 16 GEMMs reads and writes whole rows, and the transforms
 * run along the tile columns of a row (16 streams of contiguous stores or loads). */
#include "nn/conv_wino.h"

#include <string.h>

#define MLI_WINO_TILES 512 /* tiles per chunk, about: the N of the chunk's GEMMs */

mli_wino mli_wino_make(int C, int H, int W, int K, int Ho, int Wo, int pt, int pl)
{
    mli_wino g = {.C = C, .H = H, .W = W, .K = K, .Ho = Ho, .Wo = Wo, .pt = pt, .pl = pl,
                  .th = (Ho + 1) / 2, .tw = (Wo + 1) / 2};
    return g;
}

static size_t tiles(const mli_wino *g) { return (size_t)g->th * g->tw; }

int mli_wino_chunk(const mli_wino *g)
{
    int c = (int)((MLI_WINO_TILES + tiles(g) - 1) / tiles(g));
    return c < 1 ? 1 : c;
}

size_t mli_wino_v_size(const mli_wino *g) { return 16 * (size_t)g->C * mli_wino_chunk(g) * tiles(g); }
size_t mli_wino_m_size(const mli_wino *g) { return 16 * (size_t)g->K * mli_wino_chunk(g) * tiles(g); }
/* four transformed rows of 2·tw + 2 padded columns, and a row of zeros (an input row outside) */
size_t mli_wino_row_size(const mli_wino *g) { return 4 * (2 * (size_t)g->tw + 2) + (size_t)g->W; }
size_t mli_wino_work(const mli_wino *g) { return mli_wino_v_size(g) + mli_wino_m_size(g) + mli_wino_row_size(g); }
size_t mli_wino_u_size(const mli_wino *g) { return 16 * (size_t)g->K * g->C; }

/* u = G f Gᵀ for one 3×3 filter f (row-major), G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]; in double */
static void filter_transform(const double f[9], double u[16])
{
    double t[4][3];
    for (int b = 0; b < 3; b++) {
        t[0][b] = f[b];
        t[1][b] = 0.5 * (f[b] + f[3 + b] + f[6 + b]);
        t[2][b] = 0.5 * (f[b] - f[3 + b] + f[6 + b]);
        t[3][b] = f[6 + b];
    }
    for (int a = 0; a < 4; a++) {
        u[4 * a + 0] = t[a][0];
        u[4 * a + 1] = 0.5 * (t[a][0] + t[a][1] + t[a][2]);
        u[4 * a + 2] = 0.5 * (t[a][0] - t[a][1] + t[a][2]);
        u[4 * a + 3] = t[a][2];
    }
}

void mli_wino_weights(const mli_wino *g, const mli_real *w, int flip, mli_real *U)
{
    size_t kc = (size_t)g->K * g->C;
    for (int k = 0; k < g->K; k++)
        for (int c = 0; c < g->C; c++) {
            double f[9], u[16];
            const mli_real *src = w + (flip ? (size_t)c * g->K + k : (size_t)k * g->C + c) * 9;
            for (int e = 0; e < 9; e++)
                f[e] = src[flip ? 8 - e : e];
            filter_transform(f, u);
            for (int x = 0; x < 16; x++)
                U[x * kc + (size_t)k * g->C + c] = (mli_real)u[x];
        }
}

/* One tile row of one channel: the four input rows d0..d3 (the zero row outside the input)
 * through Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] down the columns into e[4][wp] (padded
 * column x reads input column x − pl), then along each row for every tile: V[4u + v] at
 * stride vs, the tile's t at v[t]. */
static void input_row(const mli_wino *g, const mli_real *const d[4], mli_real *e, mli_real *v, size_t vs)
{
    int wp = 2 * g->tw + 2, x0 = g->pl, x1 = g->pl + g->W;
    mli_real *e0 = e, *e1 = e + wp, *e2 = e + 2 * wp, *e3 = e + 3 * wp;
    for (int x = 0; x < wp; x++)
        e0[x] = e1[x] = e2[x] = e3[x] = 0;
    const mli_real *d0 = d[0] - x0, *d1 = d[1] - x0, *d2 = d[2] - x0, *d3 = d[3] - x0;
    for (int x = x0; x < x1; x++) {
        e0[x] = d0[x] - d2[x];
        e1[x] = d1[x] + d2[x];
        e2[x] = d2[x] - d1[x];
        e3[x] = d1[x] - d3[x];
    }
    for (int u = 0; u < 4; u++) {
        const mli_real *r = e + (size_t)u * wp;
        mli_real *v0 = v + (4 * u) * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs;
        for (int j = 0; j < g->tw; j++) {
            mli_real a = r[2 * j], b = r[2 * j + 1], c = r[2 * j + 2], dd = r[2 * j + 3];
            v0[j] = a - c;
            v1[j] = b + c;
            v2[j] = c - b;
            v3[j] = b - dd;
        }
    }
}

void mli_wino_input(const mli_wino *g, const mli_real *X, int nc, mli_real *V, mli_real *row)
{
    size_t T = (size_t)nc * tiles(g), vs = (size_t)g->C * T;
    mli_real *e = row, *zero = row + 4 * (2 * (size_t)g->tw + 2);
    memset(zero, 0, sizeof(mli_real) * (size_t)g->W);
    for (int j = 0; j < nc; j++)
        for (int c = 0; c < g->C; c++) {
            const mli_real *x = X + ((size_t)j * g->C + c) * g->H * g->W;
            for (int i = 0; i < g->th; i++) {
                const mli_real *d[4];
                for (int r = 0; r < 4; r++) {
                    int ih = 2 * i - g->pt + r;
                    d[r] = ih >= 0 && ih < g->H ? x + (size_t)ih * g->W : zero;
                }
                input_row(g, d, e, V + (size_t)c * T + ((size_t)j * g->th + i) * g->tw, vs);
            }
        }
}

/* Aᵀ m A, Aᵀ = [1 1 1 0; 0 1 −1 −1], for the tiles of one tile row: m[4u + v] at stride ms,
 * the tile's t at m[t]; y0, y1 the two output rows (y1 NULL: clipped), Wo columns */
static void output_row(const mli_wino *g, const mli_real *m, size_t ms, mli_real *y0, mli_real *y1, int set)
{
    for (int j = 0; j < g->tw; j++) {
        mli_real r[2][4];
        for (int v = 0; v < 4; v++) {
            mli_real a = m[v * ms + j], b = m[(4 + v) * ms + j], c = m[(8 + v) * ms + j], d = m[(12 + v) * ms + j];
            r[0][v] = a + b + c;
            r[1][v] = b - c - d;
        }
        mli_real o[2][2] = {{r[0][0] + r[0][1] + r[0][2], r[0][1] - r[0][2] - r[0][3]},
                            {r[1][0] + r[1][1] + r[1][2], r[1][1] - r[1][2] - r[1][3]}};
        int n = 2 * j + 1 < g->Wo ? 2 : 1;
        for (int s = 0; s < 2; s++) {
            mli_real *y = s ? y1 : y0;
            if (!y)
                continue;
            for (int b = 0; b < n; b++)
                y[2 * j + b] = set ? o[s][b] : y[2 * j + b] + o[s][b];
        }
    }
}

void mli_wino_output(const mli_wino *g, mli_real *Y, const mli_real *U, const mli_real *V, int nc, mli_real alpha,
                     int set, mli_real *M)
{
    size_t T = (size_t)nc * tiles(g), ms = (size_t)g->K * T, kc = (size_t)g->K * g->C, vs = (size_t)g->C * T;
    for (int x = 0; x < 16; x++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->K, (int)T, g->C, alpha, U + x * kc, g->C, V + x * vs,
                 (int)T, 0, M + x * ms, (int)T);
    for (int j = 0; j < nc; j++)
        for (int k = 0; k < g->K; k++) {
            mli_real *y = Y + ((size_t)j * g->K + k) * g->Ho * g->Wo;
            for (int i = 0; i < g->th; i++) {
                mli_real *y0 = y + (size_t)(2 * i) * g->Wo, *y1 = 2 * i + 1 < g->Ho ? y0 + g->Wo : NULL;
                output_row(g, M + (size_t)k * T + ((size_t)j * g->th + i) * g->tw, ms, y0, y1, set);
            }
        }
}
