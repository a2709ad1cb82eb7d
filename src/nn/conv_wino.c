/* Winograd F(2×2, 3×3) for op_conv.c (conv_wino.h). Layout: tile t of a chunk = example j,
 * tile row i, tile column jj: t = (j·th + i)·tw + jj; V[ξ][c][t] and M[ξ][k][t] keep t
 * contiguous, so that each of the 16 GEMMs reads and writes whole rows, and the transforms
 * run along the tile columns of a row (16 streams of contiguous stores or loads). */
#include "nn/conv_wino.h"

#include <string.h>

/* plain loops, kept from being turned into memset calls (the rows are a few reals) */
#if defined(__GNUC__) && !defined(__clang__)
#define SHORT_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define SHORT_LOOPS
#endif

/* tiles per chunk, about: the N of the chunk's GEMMs. The forward's time hardly changed from
 * 64 to 1024 tiles (ResNet shapes, a loaded machine); 256 keeps a chunk's V and M, 16·(C + K)
 * reals per tile, within the L2 cache for C = K = 16 and at 2 MiB for 64. */
#define MLI_WINO_TILES 256

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

/* The 16 matrices of V (of M) are n + SKEW reals apart, n = C·T (K·T): n is often a multiple
 * of 4 KiB, and 16 streams that far apart would share the cache sets of L1. */
#define SKEW 48
static size_t xstride(size_t n) { return n + SKEW; }

size_t mli_wino_v_size(const mli_wino *g) { return 16 * xstride((size_t)g->C * mli_wino_chunk(g) * tiles(g)); }
size_t mli_wino_m_size(const mli_wino *g) { return 16 * xstride((size_t)g->K * mli_wino_chunk(g) * tiles(g)); }
/* the padded plane of the input transform, or the four half rows of the output transform */
size_t mli_wino_row_size(const mli_wino *g)
{
    return (2 * (size_t)g->th + 2) * (2 * (size_t)g->tw + 2);
}
size_t mli_wino_work(const mli_wino *g) { return mli_wino_v_size(g) + mli_wino_m_size(g) + mli_wino_row_size(g); }

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

/* The input transform reads a channel's plane padded with zeros to (2·th + 2) × (2·tw + 2)
 * (padded column x is input column x − pl) and split by column parity: ev[r][m] = column 2m,
 * od[r][m] = column 2m + 1, m ≤ tw. A tile's four columns are then ev[m], od[m], ev[m + 1],
 * od[m + 1]: every loop below runs over contiguous reals. */
static size_t plane_ld(const mli_wino *g) { return (size_t)g->tw + 1; }
static size_t plane_rows(const mli_wino *g) { return 2 * (size_t)g->th + 2; }

SHORT_LOOPS static void plane_split(const mli_wino *g, const mli_real *x, mli_real *ev, mli_real *od)
{
    size_t ld = plane_ld(g);
    int x0 = g->pl, x1 = g->pl + g->W;
    for (int r = 0; r < (int)plane_rows(g); r++) {
        int ih = r - g->pt;
        mli_real *e = ev + r * ld, *o = od + r * ld;
        if (ih < 0 || ih >= g->H) {
            for (size_t m = 0; m < ld; m++)
                e[m] = o[m] = 0;
            continue;
        }
        const mli_real *xr = x + (size_t)ih * g->W - x0; /* xr[x]: padded column x */
        int m0 = (x0 + 1) / 2, m1 = x1 / 2; /* the pairs (2m, 2m + 1) inside; zeros around them */
        for (int m = 0; m < m0; m++)
            e[m] = o[m] = 0;
        for (int m = m1; m < (int)ld; m++)
            e[m] = o[m] = 0;
        for (int m = m0; m < m1; m++) {
            e[m] = xr[2 * m];
            o[m] = xr[2 * m + 1];
        }
        for (int c = x0; c < 2 * m0; c++)
            o[c / 2] = xr[c]; /* an odd x0 */
        for (int c = 2 * m1; c < x1; c++)
            e[c / 2] = xr[c]; /* an odd x1 */
    }
}

/* one transformed row u of the tiles of a tile row: Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0;
 * 0 1 0 −1] down (s: the rows a, b and the sign of b), then along: V[4u + v] at stride vs */
static inline void input_row(int tw, const mli_real *restrict ea, const mli_real *restrict oa,
                             const mli_real *restrict eb, const mli_real *restrict ob, mli_real sb,
                             mli_real *restrict v0, mli_real *restrict v1, mli_real *restrict v2,
                             mli_real *restrict v3)
{
    for (int j = 0; j < tw; j++) {
        mli_real e0 = ea[j] + sb * eb[j], o0 = oa[j] + sb * ob[j];
        mli_real e1 = ea[j + 1] + sb * eb[j + 1], o1 = oa[j + 1] + sb * ob[j + 1];
        v0[j] = e0 - e1;
        v1[j] = o0 + e1;
        v2[j] = e1 - o0;
        v3[j] = o0 - o1;
    }
}

void mli_wino_input(const mli_wino *g, const mli_real *X, int nc, mli_real *V, mli_real *row)
{
    size_t T = (size_t)nc * tiles(g), vs = xstride((size_t)g->C * T), ld = plane_ld(g);
    mli_real *ev = row, *od = row + plane_rows(g) * ld;
    for (int j = 0; j < nc; j++)
        for (int c = 0; c < g->C; c++) {
            plane_split(g, X + ((size_t)j * g->C + c) * g->H * g->W, ev, od);
            for (int i = 0; i < g->th; i++) {
                mli_real *v = V + (size_t)c * T + ((size_t)j * g->th + i) * g->tw;
                const mli_real *e[4], *o[4];
                for (int r = 0; r < 4; r++) {
                    e[r] = ev + (size_t)(2 * i + r) * ld;
                    o[r] = od + (size_t)(2 * i + r) * ld;
                }
                static const int ra[4] = {0, 1, 2, 1}, rb[4] = {2, 2, 1, 3};
                for (int u = 0; u < 4; u++) {
                    mli_real *vu = v + 4 * u * vs;
                    input_row(g->tw, e[ra[u]], o[ra[u]], e[rb[u]], o[rb[u]], u == 1 ? 1 : -1, vu, vu + vs,
                              vu + 2 * vs, vu + 3 * vs);
                }
            }
        }
}

/* Aᵀ m A, Aᵀ = [1 1 1 0; 0 1 −1 −1], for the tiles of one tile row: m[4u + v] at stride ms,
 * the tile's t at m[t], into the even and odd columns of the two output rows, y[4][tw] */
static void output_row(int tw, const mli_real *m, size_t ms, mli_real *restrict y)
{
    const mli_real *restrict p[16];
    for (int x = 0; x < 16; x++)
        p[x] = m + x * ms;
    mli_real *restrict y0e = y, *restrict y0o = y + tw, *restrict y1e = y + 2 * tw, *restrict y1o = y + 3 * tw;
    for (int j = 0; j < tw; j++) {
        mli_real r00 = p[0][j] + p[4][j] + p[8][j], r01 = p[1][j] + p[5][j] + p[9][j];
        mli_real r02 = p[2][j] + p[6][j] + p[10][j], r03 = p[3][j] + p[7][j] + p[11][j];
        mli_real r10 = p[4][j] - p[8][j] - p[12][j], r11 = p[5][j] - p[9][j] - p[13][j];
        mli_real r12 = p[6][j] - p[10][j] - p[14][j], r13 = p[7][j] - p[11][j] - p[15][j];
        y0e[j] = r00 + r01 + r02;
        y0o[j] = r01 - r02 - r03;
        y1e[j] = r10 + r11 + r12;
        y1o[j] = r11 - r12 - r13;
    }
}

/* an output row of n columns from its even and odd columns: y = or += */
static void row_put(mli_real *y, const mli_real *e, const mli_real *o, int n, int set)
{
    int h = n / 2;
    if (set)
        for (int j = 0; j < h; j++) {
            y[2 * j] = e[j];
            y[2 * j + 1] = o[j];
        }
    else
        for (int j = 0; j < h; j++) {
            y[2 * j] += e[j];
            y[2 * j + 1] += o[j];
        }
    if (n & 1)
        y[n - 1] = set ? e[h] : y[n - 1] + e[h];
}

void mli_wino_zero_m(const mli_wino *g, mli_real *M) { memset(M, 0, sizeof(mli_real) * mli_wino_m_size(g)); }

/* The GEMMs add to M (beta = 1), which is cleared at the end, still in cache: OpenBLAS's
 * beta = 0 would clear each M[ξ] first in a pass of its own, as long as the GEMM at K = C = 16. */
void mli_wino_output(const mli_wino *g, mli_real *Y, const mli_real *U, const mli_real *V, int nc, mli_real alpha,
                     int set, mli_real *M, mli_real *row)
{
    size_t T = (size_t)nc * tiles(g), ms = xstride((size_t)g->K * T), kc = (size_t)g->K * g->C;
    size_t vs = xstride((size_t)g->C * T);
    for (int x = 0; x < 16; x++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->K, (int)T, g->C, alpha, U + x * kc, g->C, V + x * vs,
                 (int)T, 1, M + x * ms, (int)T);
    for (int j = 0; j < nc; j++)
        for (int k = 0; k < g->K; k++) {
            mli_real *y = Y + ((size_t)j * g->K + k) * g->Ho * g->Wo;
            for (int i = 0; i < g->th; i++) {
                output_row(g->tw, M + (size_t)k * T + ((size_t)j * g->th + i) * g->tw, ms, row);
                row_put(y + (size_t)(2 * i) * g->Wo, row, row + g->tw, g->Wo, set);
                if (2 * i + 1 < g->Ho)
                    row_put(y + (size_t)(2 * i + 1) * g->Wo, row + 2 * g->tw, row + 3 * g->tw, g->Wo, set);
            }
        }
    memset(M, 0, sizeof(mli_real) * 16 * ms); /* one contiguous pass, while M is in cache */
}
