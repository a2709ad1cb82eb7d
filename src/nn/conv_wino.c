/* Winograd F(m×m, 3×3), m = 2 or 4, for op_conv.c (conv_wino.h). Layout: tile t of a chunk =
 * example j, tile row i, tile column jj: t = (j·th + i)·tw + jj; V[ξ][c][t] and M[ξ][k][t] keep
 * t contiguous, so that each of the n² GEMMs (n = m + 2) reads and writes whole rows, and every
 * transform below is one of the 1-D transforms Bᵀ (n → n), Aᵀ (n → m) or A (m → n, the weight
 * gradient's) applied elementwise to streams of all the chunk's tiles of one channel. */
#include "nn/conv_wino.h"

#include <string.h>

/* plain loops, kept from being turned into memset calls (the rows are a few reals) */
#if defined(__GNUC__) && !defined(__clang__)
#define SHORT_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define SHORT_LOOPS
#endif

/* tiles per chunk for F(2×2), about (512/m for F(m×m), the same outputs): the N of the chunk's
 * GEMMs. F(2×2)'s forward hardly changed from 64 to 1024 tiles (ResNet shapes, a loaded
 * machine); a chunk's V and M, n²·(C + K) reals per tile, stay within the L2 cache for
 * C = K = 16 and at 2–2.5 MiB for 64. */
#define MLI_WINO_TILES 256

mli_wino mli_wino_make(int m, int C, int H, int W, int K, int Ho, int Wo, int pt, int pl)
{
    mli_wino g = {.m = m, .n = m + 2, .C = C, .H = H, .W = W, .K = K, .Ho = Ho, .Wo = Wo, .pt = pt, .pl = pl,
                  .th = (Ho + m - 1) / m, .tw = (Wo + m - 1) / m};
    return g;
}

static size_t tiles(const mli_wino *g) { return (size_t)g->th * g->tw; }
static int positions(const mli_wino *g) { return g->n * g->n; }

int mli_wino_chunk(const mli_wino *g)
{
    int target = MLI_WINO_TILES * 2 / g->m; /* about the same chunk of outputs for both m */
    int c = (int)((target + tiles(g) - 1) / tiles(g));
    return c < 1 ? 1 : c;
}

/* The n² matrices of V (of M) are n + SKEW reals apart, n = C·T (K·T): n is often a multiple
 * of 4 KiB, and 16 or 36 streams that far apart would share the cache sets of L1. */
#define SKEW 48
static size_t xstride(size_t n) { return n + SKEW; }

size_t mli_wino_u_size(const mli_wino *g) { return (size_t)positions(g) * g->K * g->C; }
size_t mli_wino_v_size(const mli_wino *g) { return positions(g) * xstride((size_t)g->C * mli_wino_chunk(g) * tiles(g)); }
size_t mli_wino_m_size(const mli_wino *g) { return positions(g) * xstride((size_t)g->K * mli_wino_chunk(g) * tiles(g)); }

/* The transforms run channel by channel over the whole chunk. The input transform reads a
 * channel's zero-padded input (padded column x is input column x − pl, padded row y input row
 * y − pt) of the chunk's examples as the n² streams Q[r][γ] of T = nc·th·tw reals,
 *   Q[r][γ][t] = padded row m·i + r, column m·jj + γ, of tile t = (j, i, jj),
 * row r, column γ of every tile at once; each pass is then one 1-D transform of n streams of T
 * reals (long vectors, few calls: a 7×7 map has 4 tiles of F(4×4) per example). */
static size_t chunk_tiles(const mli_wino *g) { return (size_t)mli_wino_chunk(g) * tiles(g); }

/* the scratch of the input transform (Q, the n² streams of its down pass, a padded row) or of
 * the output transform (the n·m streams of its along pass, the m·m of its down pass) */
size_t mli_wino_row_size(const mli_wino *g)
{
    size_t in = 2 * (size_t)g->n * g->n * chunk_tiles(g) + (size_t)g->m * (g->tw + 1);
    size_t out = (size_t)(g->n + g->m) * g->m * chunk_tiles(g);
    return in > out ? in : out;
}
size_t mli_wino_work(const mli_wino *g) { return mli_wino_v_size(g) + mli_wino_m_size(g) + mli_wino_row_size(g); }

/* The 1-D transforms are elementwise sums of products by small integers: AVX2's wider
 * vectors where the processor has them (the same roundings: no contraction into FMAs under
 * -std=c11, and each output the same expression in any vector width). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WINO_NO_CLONES /* clang: resolvers run before the sanitizer's start-up */
#endif
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(WINO_NO_CLONES)
#define WINO_KERNEL __attribute__((noinline, target_clones("avx2", "default")))
#else
#define WINO_KERNEL __attribute__((noinline))
#endif

/* ---- the 1-D transforms, elementwise over len reals: out[u][j] = Σ_r T[u][r] in[r][j] ---- */

/* F(2, 3): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] */
WINO_KERNEL static void bt2_k(size_t len, const mli_real *restrict d0, const mli_real *restrict d1,
                               const mli_real *restrict d2, const mli_real *restrict d3, mli_real *restrict o0,
                               mli_real *restrict o1, mli_real *restrict o2, mli_real *restrict o3)
{
    for (size_t j = 0; j < len; j++) {
        o0[j] = d0[j] - d2[j];
        o1[j] = d1[j] + d2[j];
        o2[j] = d2[j] - d1[j];
        o3[j] = d1[j] - d3[j];
    }
}

static void bt2(const mli_real *const in[], mli_real *const out[], size_t len)
{
    bt2_k(len, in[0], in[1], in[2], in[3], out[0], out[1], out[2], out[3]);
}

/* F(4, 3), points 0, ±1, ±2, ∞: Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0;
 * 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1] */
WINO_KERNEL static void bt4_k(size_t len, const mli_real *restrict d0, const mli_real *restrict d1,
                               const mli_real *restrict d2, const mli_real *restrict d3, const mli_real *restrict d4,
                               const mli_real *restrict d5, mli_real *restrict o0, mli_real *restrict o1,
                               mli_real *restrict o2, mli_real *restrict o3, mli_real *restrict o4,
                               mli_real *restrict o5)
{
    for (size_t j = 0; j < len; j++) {
        mli_real s = d4[j] - d2[j], t = 2 * (d3[j] - d1[j]);
        o0[j] = 4 * d0[j] - 5 * d2[j] + d4[j];
        o1[j] = d3[j] + d4[j] - 4 * (d1[j] + d2[j]);
        o2[j] = d4[j] - d3[j] + 4 * (d1[j] - d2[j]);
        o3[j] = s + t;
        o4[j] = s - t;
        o5[j] = 4 * d1[j] - 5 * d3[j] + d5[j];
    }
}

static void bt4(const mli_real *const in[], mli_real *const out[], size_t len)
{
    bt4_k(len, in[0], in[1], in[2], in[3], in[4], in[5], out[0], out[1], out[2], out[3], out[4], out[5]);
}

/* F(2, 3): Aᵀ = [1 1 1 0; 0 1 −1 −1] */
WINO_KERNEL static void at2_k(size_t len, const mli_real *restrict m0, const mli_real *restrict m1,
                               const mli_real *restrict m2, const mli_real *restrict m3, mli_real *restrict y0,
                               mli_real *restrict y1)
{
    for (size_t j = 0; j < len; j++) {
        y0[j] = m0[j] + m1[j] + m2[j];
        y1[j] = m1[j] - m2[j] - m3[j];
    }
}

static void at2(const mli_real *const in[], mli_real *const out[], size_t len)
{
    at2_k(len, in[0], in[1], in[2], in[3], out[0], out[1]);
}

/* F(4, 3): Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1] */
WINO_KERNEL static void at4_k(size_t len, const mli_real *restrict m0, const mli_real *restrict m1,
                               const mli_real *restrict m2, const mli_real *restrict m3, const mli_real *restrict m4,
                               const mli_real *restrict m5, mli_real *restrict y0, mli_real *restrict y1,
                               mli_real *restrict y2, mli_real *restrict y3)
{
    for (size_t j = 0; j < len; j++) {
        mli_real a = m1[j] + m2[j], b = m1[j] - m2[j], c = m3[j] + m4[j], d = m3[j] - m4[j];
        y0[j] = m0[j] + a + c;
        y1[j] = b + 2 * d;
        y2[j] = a + 4 * c;
        y3[j] = b + 8 * d + m5[j];
    }
}

static void at4(const mli_real *const in[], mli_real *const out[], size_t len)
{
    at4_k(len, in[0], in[1], in[2], in[3], in[4], in[5], out[0], out[1], out[2], out[3]);
}

/* the adjoints A (m → n) of the output transforms, for the weight gradient:
 * F(2, 3): m = (y0, y0 + y1, y0 − y1, −y1) */
WINO_KERNEL static void a2_k(size_t len, const mli_real *restrict y0, const mli_real *restrict y1,
                             mli_real *restrict m0, mli_real *restrict m1, mli_real *restrict m2, mli_real *restrict m3)
{
    for (size_t j = 0; j < len; j++) {
        m0[j] = y0[j];
        m1[j] = y0[j] + y1[j];
        m2[j] = y0[j] - y1[j];
        m3[j] = -y1[j];
    }
}

static void a2(const mli_real *const in[], mli_real *const out[], size_t len)
{
    a2_k(len, in[0], in[1], out[0], out[1], out[2], out[3]);
}

/* F(4, 3): m = (y0, e + o, e − o, e' + o', e' − o', y3), e = y0 + y2, o = y1 + y3,
 * e' = y0 + 4·y2, o' = 2·y1 + 8·y3 */
WINO_KERNEL static void a4_k(size_t len, const mli_real *restrict y0, const mli_real *restrict y1,
                             const mli_real *restrict y2, const mli_real *restrict y3, mli_real *restrict m0,
                             mli_real *restrict m1, mli_real *restrict m2, mli_real *restrict m3,
                             mli_real *restrict m4, mli_real *restrict m5)
{
    for (size_t j = 0; j < len; j++) {
        mli_real e = y0[j] + y2[j], o = y1[j] + y3[j], e2 = y0[j] + 4 * y2[j], o2 = 2 * y1[j] + 8 * y3[j];
        m0[j] = y0[j];
        m1[j] = e + o;
        m2[j] = e - o;
        m3[j] = e2 + o2;
        m4[j] = e2 - o2;
        m5[j] = y3[j];
    }
}

static void a4(const mli_real *const in[], mli_real *const out[], size_t len)
{
    a4_k(len, in[0], in[1], in[2], in[3], out[0], out[1], out[2], out[3], out[4], out[5]);
}

typedef void (*wino_1d)(const mli_real *const in[], mli_real *const out[], size_t len);
static wino_1d bt(const mli_wino *g) { return g->m == 4 ? bt4 : bt2; }
static wino_1d at(const mli_wino *g) { return g->m == 4 ? at4 : at2; }
static wino_1d a_adj(const mli_wino *g) { return g->m == 4 ? a4 : a2; }

/* G (n × 3) of F(2, 3) and of F(4, 3) */
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},          {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

typedef const double wino_g[3];
static wino_g *g_matrix(int n) { return n == 6 ? G4 : G2; }

/* u = G f Gᵀ (n × n) for one 3×3 filter f (row-major), in double */
static void filter_transform(int n, const double f[9], double *u)
{
    wino_g *G = g_matrix(n);
    double t[6][3];
    for (int a = 0; a < n; a++)
        for (int b = 0; b < 3; b++)
            t[a][b] = G[a][0] * f[b] + G[a][1] * f[3 + b] + G[a][2] * f[6 + b];
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            u[n * a + b] = t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2];
}

void mli_wino_weights(const mli_wino *g, const mli_real *w, int flip, mli_real *U)
{
    size_t kc = (size_t)g->K * g->C;
    for (int k = 0; k < g->K; k++)
        for (int c = 0; c < g->C; c++) {
            double f[9], u[36];
            const mli_real *src = w + (flip ? (size_t)c * g->K + k : (size_t)k * g->C + c) * 9;
            for (int e = 0; e < 9; e++)
                f[e] = src[flip ? 8 - e : e];
            filter_transform(g->n, f, u);
            for (int x = 0; x < positions(g); x++)
                U[x * kc + (size_t)k * g->C + c] = (mli_real)u[x];
        }
}

#if defined(__GNUC__) && (__GNUC__ >= 12 || defined(__clang__)) && !defined(MLI_DOUBLE)
/* four floats as one vector (SSE): the 4×4 transposes of F(4×4)'s row split below */
typedef float wino_v4 __attribute__((vector_size(16)));
static inline wino_v4 v4_load(const float *p)
{
    wino_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v4_store(float *p, wino_v4 v) { memcpy(p, &v, sizeof v); }

/* the 4 phases of tiles j … j + 3 (16 consecutive reals of t) into q[γ·T + j …], γ < 4 */
static inline void split4x4(float *restrict q, size_t T, const float *restrict t)
{
    wino_v4 a = v4_load(t), b = v4_load(t + 4), c = v4_load(t + 8), d = v4_load(t + 12);
    wino_v4 t0 = __builtin_shufflevector(a, b, 0, 4, 1, 5), t1 = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    wino_v4 t2 = __builtin_shufflevector(c, d, 0, 4, 1, 5), t3 = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    v4_store(q, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
    v4_store(q + T, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
    v4_store(q + 2 * T, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
    v4_store(q + 3 * T, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
}

#define WINO_SPLIT4 1
#endif

/* the n streams of one padded row t (m·tw + 2 reals): q[γ·T + jj] = t[m·jj + γ] */
static inline void row_split_m(mli_real *restrict q, size_t T, const mli_real *restrict t, int tw, int m)
{
    int j = 0;
#ifdef WINO_SPLIT4
    if (m == 4) {
        for (; j + 4 <= tw; j += 4)
            split4x4(q + j, T, t + 4 * j);
        for (int i = 0; i < j; i++) {
            q[4 * T + i] = t[4 * i + 4];
            q[5 * T + i] = t[4 * i + 5];
        }
    }
#endif
    for (; j < tw; j++)
        for (int c = 0; c < m + 2; c++)
            q[c * T + j] = t[m * j + c];
}

/* Padded row y of one example's plane x (H × W) into the streams Q (T apart, from the
 * example's first tile): it is row r = y − m·i of tile row i for i = ⌊y/m⌋ and, when
 * y mod m < 2, also row m + y mod m of tile row i − 1. t: the scratch padded row, m·(tw + 1)
 * reals whose columns outside [pl, pl + W) are zero. */
SHORT_LOOPS static void plane_q(const mli_wino *g, const mli_real *x, mli_real *Q, size_t T, mli_real *t)
{
    int m = g->m, n = g->n, tw = g->tw;
    for (int y = 0; y < m * g->th + 2; y++) {
        int ih = y - g->pt, inside = ih >= 0 && ih < g->H;
        if (inside)
            memcpy(t + g->pl, x + (size_t)ih * g->W, sizeof(mli_real) * g->W);
        for (int i = y / m, r = y % m; i >= 0 && r < n; i--, r += m) {
            if (i >= g->th)
                continue;
            mli_real *q = Q + (size_t)r * n * T + (size_t)i * tw;
            if (!inside) {
                for (int c = 0; c < n; c++)
                    for (int j = 0; j < tw; j++)
                        q[c * T + j] = 0;
            } else if (m == 4)
                row_split_m(q, T, t, tw, 4);
            else
                row_split_m(q, T, t, tw, 2);
        }
    }
}

void mli_wino_input(const mli_wino *g, const mli_real *X, int nc, mli_real *V, mli_real *row)
{
    int n = g->n, m = g->m;
    size_t T = (size_t)nc * tiles(g), vs = xstride((size_t)g->C * T), nn = (size_t)n * n;
    mli_real *Q = row, *D = row + nn * T, *t = D + nn * T; /* Q[r][γ], D[u][γ]: T reals each */
    memset(t, 0, sizeof(mli_real) * m * (g->tw + 1));
    wino_1d B = bt(g);
    const mli_real *in[6];
    mli_real *out[6];
    for (int c = 0; c < g->C; c++) {
        for (int j = 0; j < nc; j++)
            plane_q(g, X + ((size_t)j * g->C + c) * g->H * g->W, Q + (size_t)j * tiles(g), T, t);
        for (int col = 0; col < n; col++) { /* down: the rows r of the tiles' column col */
            for (int r = 0; r < n; r++) {
                in[r] = Q + (size_t)(r * n + col) * T;
                out[r] = D + (size_t)(r * n + col) * T;
            }
            B(in, out, T);
        }
        for (int u = 0; u < n; u++) { /* along: row u's n columns, into V[n·u + w] */
            for (int w = 0; w < n; w++) {
                in[w] = D + (size_t)(u * n + w) * T;
                out[w] = V + (size_t)(n * u + w) * vs + (size_t)c * T;
            }
            B(in, out, T);
        }
    }
}

/* y[m·jj + c] (=, or += when !set) o[c·L + jj] for the columns m·jj + c < n */
static inline void row_put_m(mli_real *restrict y, const mli_real *restrict o, size_t L, int n, int set, int m)
{
    int full = n / m;
    if (set)
        for (int j = 0; j < full; j++)
            for (int c = 0; c < m; c++)
                y[m * j + c] = o[c * L + j];
    else
        for (int j = 0; j < full; j++)
            for (int c = 0; c < m; c++)
                y[m * j + c] += o[c * L + j];
    for (int c = 0; m * full + c < n; c++)
        y[m * full + c] = set ? o[c * L + full] : y[m * full + c] + o[c * L + full];
}

static void row_put(mli_real *y, const mli_real *o, size_t L, int n, int set, int m)
{
    if (m == 4)
        row_put_m(y, o, L, n, set, 4);
    else
        row_put_m(y, o, L, n, set, 2);
}

void mli_wino_zero_m(const mli_wino *g, mli_real *M) { memset(M, 0, sizeof(mli_real) * mli_wino_m_size(g)); }

/* The GEMMs add to M (beta = 1), which is cleared at the end, still in cache: OpenBLAS's
 * beta = 0 would clear each M[ξ] first in a pass of its own, as long as the GEMM at K = C = 16. */
void mli_wino_output(const mli_wino *g, mli_real *Y, const mli_real *U, const mli_real *V, int nc, mli_real alpha,
                     int set, mli_real *M, mli_real *row)
{
    int m = g->m, n = g->n, tw = g->tw;
    size_t T = (size_t)nc * tiles(g), ms = xstride((size_t)g->K * T), kc = (size_t)g->K * g->C;
    size_t vs = xstride((size_t)g->C * T);
    for (int x = 0; x < positions(g); x++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->K, (int)T, g->C, alpha, U + x * kc, g->C, V + x * vs,
                 (int)T, 1, M + x * ms, (int)T);
    mli_real *S = row, *O = row + (size_t)n * m * T; /* S[u][c], O[r][c]: T reals each */
    wino_1d A = at(g);
    const mli_real *in[6];
    mli_real *out[6];
    for (int k = 0; k < g->K; k++) {
        const mli_real *mk = M + (size_t)k * T;
        for (int u = 0; u < n; u++) { /* along: row u of the tiles into its m columns */
            for (int w = 0; w < n; w++)
                in[w] = mk + (size_t)(n * u + w) * ms;
            for (int c = 0; c < m; c++)
                out[c] = S + (size_t)(u * m + c) * T;
            A(in, out, T);
        }
        for (int c = 0; c < m; c++) { /* down: column c of the m output rows */
            for (int u = 0; u < n; u++)
                in[u] = S + (size_t)(u * m + c) * T;
            for (int r = 0; r < m; r++)
                out[r] = O + (size_t)(r * m + c) * T;
            A(in, out, T);
        }
        for (int j = 0; j < nc; j++) {
            mli_real *y = Y + ((size_t)j * g->K + k) * g->Ho * g->Wo;
            for (int i = 0; i < g->th; i++)
                for (int r = 0; r < m && m * i + r < g->Ho; r++)
                    row_put(y + (size_t)(m * i + r) * g->Wo, O + (size_t)r * m * T + ((size_t)j * g->th + i) * tw, T,
                            g->Wo, set, m);
        }
    }
    memset(M, 0, sizeof(mli_real) * positions(g) * ms); /* one contiguous pass, while M is in cache */
}

/* o[c·L + jj] = y[m·jj + c] for the columns m·jj + c < n of an output row y, zero beyond (all
 * zero when y is NULL: a row below the map) */
static inline void row_get_m(mli_real *restrict o, const mli_real *restrict y, size_t L, int tw, int n, int m)
{
    int full = y ? n / m : 0;
    for (int j = 0; j < full; j++)
        for (int c = 0; c < m; c++)
            o[c * L + j] = y[m * j + c];
    for (int j = full; j < tw; j++)
        for (int c = 0; c < m; c++)
            o[c * L + j] = y && m * j + c < n ? y[m * j + c] : 0;
}

static void row_get(mli_real *o, const mli_real *y, size_t L, int tw, int n, int m)
{
    if (m == 4)
        row_get_m(o, y, L, tw, n, 4);
    else
        row_get_m(o, y, L, tw, n, 2);
}

void mli_wino_grad_out(const mli_wino *g, const mli_real *dY, int nc, mli_real *M, mli_real *row)
{
    int m = g->m, n = g->n, tw = g->tw;
    size_t T = (size_t)nc * tiles(g), ms = xstride((size_t)g->K * T);
    mli_real *O = row, *S = row + (size_t)m * m * T; /* O[r][c], S[u][c]: T reals each */
    wino_1d A = a_adj(g);
    const mli_real *in[6];
    mli_real *out[6];
    for (int k = 0; k < g->K; k++) {
        for (int j = 0; j < nc; j++) {
            const mli_real *y = dY + ((size_t)j * g->K + k) * g->Ho * g->Wo;
            for (int i = 0; i < g->th; i++)
                for (int r = 0; r < m; r++)
                    row_get(O + (size_t)r * m * T + ((size_t)j * g->th + i) * tw,
                            m * i + r < g->Ho ? y + (size_t)(m * i + r) * g->Wo : NULL, T, tw, g->Wo, m);
        }
        for (int c = 0; c < m; c++) { /* down: column c of the tiles' m rows into n */
            for (int r = 0; r < m; r++)
                in[r] = O + (size_t)(r * m + c) * T;
            for (int u = 0; u < n; u++)
                out[u] = S + (size_t)(u * m + c) * T;
            A(in, out, T);
        }
        for (int u = 0; u < n; u++) { /* along: row u's m columns into M[n·u + w] */
            for (int c = 0; c < m; c++)
                in[c] = S + (size_t)(u * m + c) * T;
            for (int w = 0; w < n; w++)
                out[w] = M + (size_t)(n * u + w) * ms + (size_t)k * T;
            A(in, out, T);
        }
    }
}

void mli_wino_wgrad(const mli_wino *g, mli_real *dU, const mli_real *M, const mli_real *V, int nc, int add)
{
    size_t T = (size_t)nc * tiles(g), ms = xstride((size_t)g->K * T), vs = xstride((size_t)g->C * T);
    size_t kc = (size_t)g->K * g->C;
    for (int x = 0; x < positions(g); x++)
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, g->K, g->C, (int)T, 1, M + x * ms, (int)T, V + x * vs,
                 (int)T, add ? 1 : 0, dU + x * kc, g->C);
}

/* dW (+)= Gᵀ dU G per filter, the adjoint of u = G f Gᵀ, in double */
void mli_wino_weights_grad(const mli_wino *g, const mli_real *dU, mli_real *dW, int add)
{
    wino_g *G = g_matrix(g->n);
    int n = g->n;
    size_t kc = (size_t)g->K * g->C;
    for (size_t e = 0; e < kc; e++) {
        double t[6][3], df[9];
        for (int x = 0; x < n; x++)
            for (int b = 0; b < 3; b++) {
                double acc = 0;
                for (int y = 0; y < n; y++)
                    acc += (double)dU[(size_t)(x * n + y) * kc + e] * G[y][b];
                t[x][b] = acc;
            }
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                double acc = 0;
                for (int x = 0; x < n; x++)
                    acc += G[x][a] * t[x][b];
                df[3 * a + b] = acc;
            }
        mli_real *w = dW + e * 9;
        for (int q = 0; q < 9; q++)
            w[q] = (mli_real)((add ? (double)w[q] : 0) + df[q]);
    }
}
