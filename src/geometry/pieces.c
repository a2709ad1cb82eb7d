/* The exact pieces of a piecewise-linear network's output path: see pieces.h. */
#include "geometry/pieces.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/ppoly.h"
#include "io/err.h"

int mli_pwl_check(const mli_arch *a)
{
    if (a->kind != MLI_ARCH_FCNET) /* convolutions are affine, but the analysis walks dense chains */
        return mli_err(MLI_EUSAGE, "exact analysis handles dense chains (Linear and relu/identity) only: "
                                   "arch=%s has convolutions", mli_arch_kind_name(a->kind));
    if (!a->nh) { /* a general graph (imported from ONNX): no batch norm, and a chain */
        mli_chain ch;
        if (mli_arch_has_stats(a))
            return mli_err(MLI_EUSAGE, "exact analysis needs a network without batch norm: its statistics make "
                                       "the path non-polynomial");
        if (mli_graph_chain(a, &ch))
            return mli_err(MLI_EUSAGE, "exact analysis: %s", mli_errmsg());
        return MLI_OK;
    }
    if (a->use_bn)
        return mli_err(MLI_EUSAGE, "exact analysis needs a network without batch norm: its "
                                   "statistics make the path non-polynomial (use_batchnorm=1)");
    if (a->act != MLI_ACT_RELU && a->act != MLI_ACT_IDENTITY)
        return mli_err(MLI_EUSAGE, "exact analysis needs piecewise-linear activations (relu, "
                                   "identity): act_fn=%s is smooth, its path has no exact pieces",
                       mli_act_name(a->act));
    return MLI_OK;
}

/* The largest last layer (W₀ and ΔW, doubles) whose rank-one sums stay in cache: 784-1024-1024-10
 * has 196 KiB; an output layer as wide as the input (recon) is left to the GEMMs. */
#define RANK1_CACHE (1u << 20)

int mli_pwl_from_arch(const mli_arch *a, const mli_real *theta0, const mli_real *theta1,
                      mli_pwl *out)
{
    memset(out, 0, sizeof *out);
    int rc = mli_pwl_check(a);
    if (rc)
        return rc;
    mli_chain ch;
    if (mli_graph_chain(a, &ch))
        return mli_err(MLI_EUSAGE, "exact analysis: %s", mli_errmsg());
    if (ch.nlin > MLI_PWL_MAXLIN)
        return mli_err(MLI_EUSAGE, "exact analysis: more than %d Linear layers", MLI_PWL_MAXLIN);
    out->width[0] = a->input_size;
    out->width_max = a->input_size;
    for (int L = 0; L < ch.nlin; L++) {
        int in = ch.in[L], nout = ch.out[L];
        size_t nw = (size_t)nout * in, nb = nout;
        const mli_real *W0 = theta0 + ch.w[L], *W1 = theta1 + ch.w[L], *B0 = theta0 + ch.b[L], *B1 = theta1 + ch.b[L];
        out->W0[L] = mli_malloc(sizeof(double) * nw);
        out->dW[L] = mli_malloc(sizeof(double) * nw);
        out->b0[L] = mli_malloc(sizeof(double) * nb);
        out->db[L] = mli_malloc(sizeof(double) * nb);
        for (size_t i = 0; i < nw; i++) {
            out->W0[L][i] = W0[i];
            out->dW[L][i] = (double)W1[i] - W0[i];
        }
        if (L == 1) { /* read at the first layer's switches */
            out->V0 = mli_malloc(sizeof(mli_real) * nw);
            out->V1 = mli_malloc(sizeof(mli_real) * nw);
            for (int o = 0; o < nout; o++)
                for (int j = 0; j < in; j++) {
                    out->V0[(size_t)j * nout + o] = W0[(size_t)o * in + j];
                    out->V1[(size_t)j * nout + o] = W1[(size_t)o * in + j];
                }
        } else if (L >= 2) { /* read at the switches of the layer before */
            out->WT0[L] = mli_malloc(sizeof(double) * nw);
            out->dWT[L] = mli_malloc(sizeof(double) * nw);
            for (int o = 0; o < nout; o++)
                for (int j = 0; j < in; j++) {
                    out->WT0[L][(size_t)j * nout + o] = out->W0[L][(size_t)o * in + j];
                    out->dWT[L][(size_t)j * nout + o] = out->dW[L][(size_t)o * in + j];
                }
        }
        for (size_t i = 0; i < nb; i++) {
            out->b0[L][i] = B0[i];
            out->db[L][i] = (double)B1[i] - B0[i];
        }
        out->relu[L] = ch.relu[L];
        out->width[L + 1] = nout;
        if (nout > out->width_max)
            out->width_max = nout;
        out->nlin = L + 1;
    }
    int L = out->nlin;
    if (L > 0) {
        out->relu[L - 1] = 0; /* the outputs (logits or reconstruction) */
        size_t nw = (size_t)out->width[L] * out->width[L - 1];
        out->Wout = mli_malloc(sizeof(double) * 2 * nw);
        memcpy(out->Wout, out->W0[L - 1], sizeof(double) * nw);
        memcpy(out->Wout + nw, out->dW[L - 1], sizeof(double) * nw);
        int k = out->width[L], in = out->width[L - 1];
        out->kpad = (2 * k + 11) / 12 * 12; /* whole blocks of out_rows (OUT_BLOCK) */
        out->WoutT = mli_calloc((size_t)in * out->kpad, sizeof(double));
        for (int j = 0; j < in; j++)
            for (int o = 0; o < k; o++) {
                out->WoutT[(size_t)j * out->kpad + o] = out->W0[L - 1][(size_t)o * in + j];
                out->WoutT[(size_t)j * out->kpad + k + o] = out->dW[L - 1][(size_t)o * in + j];
            }
        out->rank1_first = L == 3 && (size_t)in * out->kpad * sizeof(double) <= RANK1_CACHE;
    }
    return MLI_OK;
}

void mli_pwl_free(mli_pwl *n)
{
    for (int l = 0; l < n->nlin; l++) {
        free(n->W0[l]);
        free(n->dW[l]);
        free(n->b0[l]);
        free(n->db[l]);
        free(n->WT0[l]);
        free(n->dWT[l]);
    }
    free(n->Wout);
    free(n->WoutT);
    free(n->V0);
    free(n->V1);
    memset(n, 0, sizeof *n);
}

void mli_pwl_first_layer(const mli_pwl *n, const mli_real *X, int B, double *P, double *Q)
{
    int in = n->width[0], out = n->width[1];
    double *x = mli_malloc(sizeof(double) * (size_t)B * in);
    for (size_t i = 0; i < (size_t)B * in; i++)
        x[i] = X[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0, x, in, n->W0[0], in,
                0.0, P, out);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0, x, in, n->dW[0], in,
                0.0, Q, out);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < out; o++) {
            P[(size_t)i * out + o] += n->b0[0][o];
            Q[(size_t)i * out + o] += n->db[0][o];
        }
    free(x);
}

/* The state a first-layer unit p + αq leaves α = 0 with: the rule of set_states. */
static int state0(double p, double q)
{
    double tol = 64 * DBL_EPSILON * (fabs(p) + fabs(q));
    return fabs(p) > tol ? p > 0 : q > 0;
}

void mli_pwl_second_layer(const mli_pwl *n, const double *P, const double *Q, int B, double *H1)
{
    int w1 = n->width[1], w2 = n->width[2];
    size_t bw = (size_t)B * w1, stride = (size_t)B * w2;
    double *Pm = mli_malloc(sizeof(double) * bw), *Qm = mli_malloc(sizeof(double) * bw);
    for (size_t x = 0; x < bw; x++) { /* the first layer's outputs, relu'd as at α = 0+ */
        int on = !n->relu[0] || state0(P[x], Q[x]);
        Pm[x] = on ? P[x] : 0;
        Qm[x] = on ? Q[x] : 0;
    }
    /* H1 = (W₀ + αΔW)(p' + αq') + b₀ + αΔb: α⁰ P'W₀ᵀ, α¹ Q'W₀ᵀ + P'ΔWᵀ, α² Q'ΔWᵀ */
    CBLAS_TRANSPOSE T = CblasTrans;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, T, B, w2, w1, 1.0, Pm, w1, n->W0[1], w1, 0.0, H1, w2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, T, B, w2, w1, 1.0, Qm, w1, n->W0[1], w1, 0.0, H1 + stride, w2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, T, B, w2, w1, 1.0, Pm, w1, n->dW[1], w1, 1.0, H1 + stride, w2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, T, B, w2, w1, 1.0, Qm, w1, n->dW[1], w1, 0.0, H1 + 2 * stride, w2);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < w2; o++) {
            H1[(size_t)i * w2 + o] += n->b0[1][o];
            H1[stride + (size_t)i * w2 + o] += n->db[1][o];
        }
    free(Pm);
    free(Qm);
}

typedef struct {
    double t;
    int unit;
} event0;

#define PIECE_BLOCK 32 /* pieces whose outputs are formed together (flush_pieces) */

/* Polynomial vectors are stored coefficient-major: H[l][m · width + i] is the α^m coefficient
 * of unit i, so that every update below is a contiguous axpy over the units. */
struct mli_pwl_ws {
    double *H[MLI_PWL_MAXLIN];         /* pre-activations of Linear l: (l+2) × width[l+1] */
    double *S[MLI_PWL_MAXLIN];         /* input of Linear l ≥ 1: (l+1) × width[l] */
    unsigned char *on[MLI_PWL_MAXLIN]; /* relu states of the units of H[l] */
    event0 *ev;                        /* the first layer's switches, sorted */
    int64_t *act;                      /* second layer: units examined on every piece (0: skipped) */
    int *alist, nalist;                /* and those units, ascending */
    int screen;                        /* skip the units cleared for the stretch (0: examine all) */
    double *Sblk, *Z0;                 /* pending pieces: the outputs' inputs, their products */
    int npend, nfull;                  /* pending pieces, and those formed by the GEMMs */
    int pend_col[PIECE_BLOCK];         /* the GEMM column of a pending piece, or −1: rank-one */
    double *pend_dz;                   /* a rank-one piece's change from the piece before */
    int rank1;                         /* outputs by rank-one changes where they can (0: GEMMs) */
    double *dz;                        /* the outputs' change since the last piece, k × (L+1) */
    int dz_ok;                         /* every switch since the last piece gave its change */
    int *onlist, non;                  /* three Linear layers: the second layer's units that are on */
    double *racc;                      /* out_rows' sums, 2 · kpad */
    int since_push;                    /* switches since the last piece */
    int cap;                           /* pieces the output arrays can hold */
    mli_pwl_path path;
};

mli_pwl_ws *mli_pwl_ws_new(const mli_pwl *n)
{
    mli_pwl_ws *w = mli_calloc(1, sizeof *w);
    int L = n->nlin;
    for (int l = 0; l < L; l++) {
        w->H[l] = mli_malloc(sizeof(double) * n->width[l + 1] * (l + 2));
        w->S[l] = mli_malloc(sizeof(double) * n->width[l] * (l + 1));
        w->on[l] = mli_calloc(n->width[l + 1], 1);
    }
    w->ev = mli_malloc(sizeof(event0) * (n->width[1] + 1));
    int w2 = L >= 3 ? n->width[2] : 0;
    w->act = mli_calloc(w2 + 1, sizeof(int64_t));
    w->alist = mli_malloc(sizeof(int) * (w2 + 1));
    w->screen = 1;
    w->Sblk = mli_malloc(sizeof(double) * PIECE_BLOCK * L * n->width[L > 1 ? L - 1 : 0]);
    w->Z0 = mli_malloc(sizeof(double) * 2 * PIECE_BLOCK * L * n->width[L]);
    size_t kd = (size_t)n->width[L] * (L + 1);
    w->pend_dz = mli_malloc(sizeof(double) * PIECE_BLOCK * kd);
    w->dz = mli_calloc(kd, sizeof(double));
    w->rank1 = 1;
    w->onlist = mli_malloc(sizeof(int) * (w2 + 1));
    w->racc = mli_malloc(sizeof(double) * 2 * (n->kpad + 1));
    w->cap = 64;
    w->path.k = n->width[L];
    w->path.deg = L;
    w->path.brk = mli_malloc(sizeof(double) * (w->cap + 1));
    w->path.layer = mli_malloc(sizeof(int) * (w->cap + 1));
    w->path.z = mli_malloc(sizeof(double) * w->cap * w->path.k * (L + 1));
    return w;
}

void mli_pwl_ws_screen(mli_pwl_ws *w, int on)
{
    w->screen = on != 0;
}

void mli_pwl_ws_rank1(mli_pwl_ws *w, int on)
{
    w->rank1 = on != 0;
}

void mli_pwl_ws_free(mli_pwl_ws *w)
{
    if (!w)
        return;
    for (int l = 0; l < MLI_PWL_MAXLIN; l++) {
        free(w->H[l]);
        free(w->S[l]);
        free(w->on[l]);
    }
    free(w->ev);
    free(w->act);
    free(w->alist);
    free(w->Sblk);
    free(w->Z0);
    free(w->pend_dz);
    free(w->dz);
    free(w->onlist);
    free(w->racc);
    free(w->path.brk);
    free(w->path.layer);
    free(w->path.z);
    free(w);
}

/* Rounding scale of a unit's polynomial on [0,1] (coefficients c[m·stride]): Σ|c_m| bounds
 * |p|, and the sweep's additions leave errors of a few ulps of it. */
static double round_tol(const double *c, int deg, int stride)
{
    double s = 0;
    for (int m = 0; m <= deg; m++)
        s += fabs(c[m * stride]);
    return 64 * DBL_EPSILON * s;
}

/* The sign of p just right of t: of p(t), or, where |p(t)| is within the rounding `tol` of
 * 0, of the first non-zero derivative (the direction p leaves 0 in). */
static int sign_right(const double *c, int deg, double t, double tol)
{
    double s[MLI_POLY_MAXDEG + 1];
    if (deg < 0)
        return 0;
    mli_poly_taylor(c, deg, t, s);
    if (fabs(s[0]) > tol)
        return s[0] > 0 ? 1 : -1;
    for (int m = 1; m <= deg; m++)
        if (s[m] != 0)
            return s[m] > 0 ? 1 : -1;
    return 0;
}

/* Unit i's coefficients gathered from the coefficient-major array H (width w, degree d). */
static void unit_poly(const double *H, int w, int d, int i, double *c)
{
    for (int m = 0; m <= d; m++)
        c[m] = H[(size_t)m * w + i];
}

static void set_states(const mli_pwl *n, mli_pwl_ws *w, int l, double t)
{
    if (!n->relu[l])
        return;
    int d = l + 1, wid = n->width[l + 1];
    for (int i = 0; i < wid; i++) {
        double c[MLI_POLY_MAXDEG + 1];
        unit_poly(w->H[l], wid, d, i, c);
        w->on[l][i] = sign_right(c, d, t, round_tol(c, d, 1)) > 0;
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains: the compiler vectorizes them */
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < n; j++)
        s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

/* The two inner loops of a switch, vectorized where the CPU has AVX2: a relu'd copy, and the
 * pair of axpys of a rank-one update (rows m and m+1 of a coefficient-major array). */
__attribute__((target_clones("avx2", "default")))
static void masked_copy(double *restrict dst, const double *restrict src, const unsigned char *restrict on, int n)
{
    for (int j = 0; j < n; j++)
        dst[j] = on[j] ? src[j] : 0.0;
}

__attribute__((target_clones("avx2", "default")))
static void axpy2(double *restrict h0, double *restrict h1, const double *restrict a, const double *restrict b,
                  double x, int n)
{
    for (int o = 0; o < n; o++) {
        h0[o] += x * a[o];
        h1[o] += x * b[o];
    }
}

/* S[l] = act(H[l−1]) under the current states (l ≥ 1). */
static void layer_input(const mli_pwl *n, mli_pwl_ws *w, int l)
{
    int in = n->width[l], d = l; /* S[l] has degree d */
    const double *Hp = w->H[l - 1];
    double *S = w->S[l];
    for (int m = 0; m <= d; m++)
        if (n->relu[l - 1])
            masked_copy(S + (size_t)m * in, Hp + (size_t)m * in, w->on[l - 1], in);
        else
            memcpy(S + (size_t)m * in, Hp + (size_t)m * in, sizeof(double) * in);
}

/* H[l] = (W₀ + αΔW) S[l] + b₀ + αΔb for a hidden layer l ≥ 1: per output unit and
 * coefficient, two dot products with contiguous weight rows. (The outputs, l = L−1, are formed
 * for many pieces at once by flush_pieces.) */
static void layer_pre(const mli_pwl *n, mli_pwl_ws *w, int l)
{
    int out = n->width[l + 1], in = n->width[l], d = l;
    const double *S = w->S[l];
    double *H = w->H[l];
    for (int o = 0; o < out; o++) {
        const double *a = n->W0[l] + (size_t)o * in, *b = n->dW[l] + (size_t)o * in;
        for (int m = 0; m <= d + 1; m++) {
            double v = m <= d ? dot(a, S + (size_t)m * in, in) : 0;
            if (m >= 1)
                v += dot(b, S + (size_t)(m - 1) * in, in);
            H[(size_t)m * out + o] = v + (m == 0 ? n->b0[l][o] : m == 1 ? n->db[l][o] : 0);
        }
    }
}

/* Recompute the hidden layers from l0 on from the states of the layers before them (the
 * outputs' input is formed when a piece is pushed, the outputs in flush_pieces). */
static void forward_from(const mli_pwl *n, mli_pwl_ws *w, int l0, double t)
{
    for (int l = l0 < 1 ? 1 : l0; l < n->nlin - 1; l++) {
        layer_input(n, w, l);
        layer_pre(n, w, l);
        set_states(n, w, l, t);
    }
}

static int cmp_event(const void *a, const void *b)
{
    double x = ((const event0 *)a)->t, y = ((const event0 *)b)->t;
    return (x > y) - (x < y);
}

/* The outputs of the pending pieces. A piece after switches with rank-one output changes only
 * (out_change) is the piece before plus their sum; every other piece's outputs
 * z = (W₀ + αΔW) s + b₀ + αΔb are formed from its input s, for all of them at once — one GEMM
 * of 2k × in by in × (pieces · L) instead of a matrix-vector product per piece. */
static void flush_pieces(const mli_pwl *n, mli_pwl_ws *w)
{
    mli_pwl_path *pp = &w->path;
    int L = n->nlin, k = pp->k, in = n->width[L - 1], N = w->nfull * L;
    if (!w->npend)
        return;
    if (N) /* [W₀; ΔW] stacked: one GEMM of 2k rows, Z1 right after Z0 */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2 * k, N, in, 1.0, n->Wout, in, w->Sblk, in,
                    0.0, w->Z0, N);
    const double *Z1 = w->Z0 + (size_t)k * N;
    for (int b = 0; b < w->npend; b++) {
        size_t piece = (size_t)(pp->npieces - w->npend + b);
        double *z = pp->z + piece * k * (L + 1);
        int col = w->pend_col[b];
        if (col < 0) { /* the last piece's outputs plus the rank-one changes of the switches since */
            const double *zp = z - (size_t)k * (L + 1), *dz = w->pend_dz + (size_t)b * k * (L + 1);
            for (int c = 0; c < k * (L + 1); c++)
                z[c] = zp[c] + dz[c];
            continue;
        }
        for (int o = 0; o < k; o++) {
            const double *z0 = w->Z0 + (size_t)o * N + col * L, *z1 = Z1 + (size_t)o * N + col * L;
            double *c = z + (size_t)o * (L + 1);
            for (int m = 0; m <= L; m++)
                c[m] = (m < L ? z0[m] : 0) + (m >= 1 ? z1[m - 1] : 0);
            c[0] += n->b0[L - 1][o];
            c[1] += n->db[L - 1][o];
        }
    }
    w->npend = w->nfull = 0;
}

static void push_piece(const mli_pwl *n, mli_pwl_ws *w, double end, int layer)
{
    mli_pwl_path *pp = &w->path;
    int L = n->nlin, k = pp->k;
    if (pp->npieces == w->cap) {
        w->cap *= 2;
        pp->brk = mli_realloc(pp->brk, sizeof(double) * (w->cap + 1));
        pp->layer = mli_realloc(pp->layer, sizeof(int) * (w->cap + 1));
        pp->z = mli_realloc(pp->z, sizeof(double) * w->cap * k * (L + 1));
    }
    if (L == 1) { /* a single Linear layer: z is its pre-activation */
        double *z = pp->z + (size_t)pp->npieces * k * 2;
        for (int o = 0; o < k; o++)
            unit_poly(w->H[0], k, 1, o, z + (size_t)o * 2);
    } else if (pp->npieces > 0 && w->rank1 && w->dz_ok) { /* the outputs from the last piece's */
        int b = w->npend++;
        w->pend_col[b] = -1;
        memcpy(w->pend_dz + (size_t)b * k * (L + 1), w->dz, sizeof(double) * k * (L + 1));
    } else { /* the outputs' input act(H[L−2]) now, straight into the block; the outputs later */
        int in = n->width[L - 1], b = w->npend++;
        w->pend_col[b] = w->nfull;
        double *S = w->Sblk + (size_t)w->nfull++ * L * in;
        const double *H = w->H[L - 2];
        for (int m = 0; m < L; m++)
            if (n->relu[L - 2])
                masked_copy(S + (size_t)m * in, H + (size_t)m * in, w->on[L - 2], in);
            else
                memcpy(S + (size_t)m * in, H + (size_t)m * in, sizeof(double) * in);
    }
    w->since_push = 0;
    memset(w->dz, 0, sizeof(double) * k * (L + 1));
    w->dz_ok = 1;
    pp->npieces++;
    pp->brk[pp->npieces] = end;
    pp->layer[pp->npieces] = layer;
    if (w->npend == PIECE_BLOCK)
        flush_pieces(n, w);
}

/* ---- Screening of the second Linear layer by stretches (docs/exact.md, "Screening") -----
 *
 * The second layer's pre-activations are quadratics that change only where a first-layer unit
 * switches (by a rank-one term). Between two consecutive first-layer switches t_k < t_{k+1}
 * (a stretch) they are fixed, and every candidate piece [t, cand] the sweep examines there
 * lies inside [t_k, t_{k+1}]. So each unit is tested once per stretch, in the same pass as the
 * rank-one update that opens it: if a lower bound of |h| on [t_k, t_{k+1}] (quad_act) exceeds
 * twice the rounding allowance of the exact test (64 ε Σ|c|; the slack also covers the
 * rounding of the stretch's length), h keeps one sign there, evaluates in double to that sign
 * everywhere (|error| ≤ a few ε Σ|c|) and never comes within the allowance of 0, so the
 * per-piece test would find no switch in it: it is not examined until the next first-layer
 * switch. Only the others (a few per cent) are examined on every piece, as before. Skipping is
 * thus exact: tests/test_pieces_dbl.c compares the screened sweep with the unscreened one, bit
 * for bit, on networks with many near-tangent roots. */

/* Must a second-layer unit be examined on [t, t + h]? 0 when its quadratic c0 + c1 α + c2 α²
 * keeps one sign there with the margin above: with s0, s1 its value and slope at t,
 * |c(α)| ≥ |s0| − |s1|(α − t) − |c2|(α − t)² on the stretch. (As in the per-piece test, the sign
 * is not compared with the state: a unit whose state disagreed with a sign it keeps would
 * switch in neither sweep.) Branch-free, to be vectorized. */
static inline int64_t quad_act(double c0, double c1, double c2, double t, double h)
{
    double s0 = c0 + t * (c1 + t * c2), s1 = c1 + 2 * t * c2;
    double tol = 128 * DBL_EPSILON * (fabs(c0) + fabs(c1) + fabs(c2));
    return fabs(s0) - h * (fabs(s1) + h * fabs(c2)) <= tol;
}

/* Every unit of the second layer on the stretch [t, end] (at the start of the path). */
__attribute__((target_clones("avx2", "default")))
static void screen_quadratics(const double *restrict H, double t, double end, int64_t *restrict act, int n)
{
    for (int o = 0; o < n; o++)
        act[o] = quad_act(H[o], H[n + o], H[2 * n + o], t, end - t);
}

/* The rank-one update that opens the stretch [t, end] when a first-layer unit switches at t:
 * rows 0–2 of H (coefficient-major) gain x0·a, x0·b + x1·a, x1·b (a, b the unit's rows of W₀
 * and ΔW from V0, V1; the additions of two axpys, in the same order), and every unit is
 * screened on the stretch. One pass, vectorized where the CPU has AVX2. */
__attribute__((target_clones("avx2", "default")))
static void update_quadratics(double *restrict h0, double *restrict h1, double *restrict h2,
                              const mli_real *restrict v0, const mli_real *restrict v1, double x0, double x1,
                              double t, double end, int64_t *restrict act, int n)
{
    double h = end - t;
    for (int o = 0; o < n; o++) {
        double A = v0[o], B = (double)v1[o] - A; /* W₀ and ΔW, as in W0[1] and dW[1] */
        double n0 = h0[o] + x0 * A, n1 = (h1[o] + x0 * B) + x1 * A, n2 = h2[o] + x1 * B;
        h0[o] = n0;
        h1[o] = n1;
        h2[o] = n2;
        act[o] = quad_act(n0, n1, n2, t, h);
    }
}

/* The units of the second layer to examine on the stretch [t, end]: all, unscreened. */
static void screen_stretch(const mli_pwl *n, mli_pwl_ws *w, double t, double end, int updated)
{
    int wid = n->width[2];
    if (!w->screen || !n->relu[1])
        for (int o = 0; o < wid; o++)
            w->act[o] = 1;
    else if (!updated)
        screen_quadratics(w->H[1], t, end, w->act, wid);
    int na = 0, o = 0;
    for (; o + 4 <= wid; o += 4) /* the list in index order; most groups of four are all clear */
        if (w->act[o] | w->act[o + 1] | w->act[o + 2] | w->act[o + 3])
            for (int j = o; j < o + 4; j++)
                if (w->act[j])
                    w->alist[na++] = j;
    for (; o < wid; o++)
        if (w->act[o])
            w->alist[na++] = o;
    w->nalist = na;
}

/* ---- The outputs by rank-one changes (docs/exact.md, "The outputs of a piece") ----------
 *
 * The outputs z = (W₀ + αΔW) s + b₀ + αΔb of Linear L−1 change at a switch by:
 *   - unit j of the last hidden layer (l = L−2): its input s_j toggles between 0 and h_j(α),
 *     so z changes by ±(W₀ + αΔW)[:, j] h_j(α);
 *   - unit i of the first layer, three Linear layers (l = 0 = L−3): the second layer's
 *     pre-activations change by ±(a + αb) h_i(α) (a, b column i of Linear 1's W₀, ΔW), the
 *     outputs' input by that on the units that are on, and z by
 *     ±(W₀ + αΔW) diag(on) (a + αb) h_i(α) — two sums of WoutT's rows over the units that are
 *     on, weighted by a_j and b_j (out_rows), about half the multiplications of the outputs'
 *     GEMM column and no copy of the input.
 * A piece after such switches only is the piece before plus their changes; any other piece
 * (the first, or after a switch deeper in a longer chain) is formed from its input by the GEMMs.
 * The changes add one rounding per switch, which the allowance of docs/exact.md already counts
 * (it grows with the switches); tests/test_pieces_dbl.c compares with the GEMMs on every piece. */

/* ra = Σ_{j on} a_j WoutT[j], rb = Σ_{j on} b_j WoutT[j] (a = v0, b = v1 − v0 in double, as
 * W0[1], dW[1]): the rows in index order (the list is kept sorted, so that they stream), their
 * columns in blocks of OUT_BLOCK held in registers. */
#define OUT_BLOCK 12
__attribute__((target_clones("avx2", "default")))
static void out_rows(const double *restrict WT, int kpad, const int *restrict list, int nl,
                     const mli_real *restrict v0, const mli_real *restrict v1, double *restrict ra,
                     double *restrict rb)
{
    for (int c0 = 0; c0 < kpad; c0 += OUT_BLOCK) {
        double sa[OUT_BLOCK] = {0}, sb[OUT_BLOCK] = {0};
        for (int e = 0; e < nl; e++) {
            int j = list[e];
            double A = v0[j], B = (double)v1[j] - A;
            const double *r = WT + (size_t)j * kpad + c0;
            for (int c = 0; c < OUT_BLOCK; c++) {
                sa[c] += A * r[c];
                sb[c] += B * r[c];
            }
        }
        memcpy(ra + c0, sa, sizeof sa);
        memcpy(rb + c0, sb, sizeof sb);
    }
}

/* The second layer's units that are on, in index order (three Linear layers). */
static void on_list_build(const mli_pwl *n, mli_pwl_ws *w)
{
    w->non = 0;
    for (int j = 0; j < n->width[2]; j++)
        if (!n->relu[1] || w->on[1][j])
            w->onlist[w->non++] = j;
}

/* Unit j of the second layer toggled (three Linear layers): into or out of the sorted list. */
static void on_list_toggle(mli_pwl_ws *w, int j)
{
    int lo = 0, hi = w->non; /* the first position whose unit is ≥ j */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (w->onlist[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (w->on[1][j]) {
        memmove(w->onlist + lo + 1, w->onlist + lo, sizeof(int) * (w->non - lo));
        w->onlist[lo] = j;
        w->non++;
    } else {
        w->non--;
        memmove(w->onlist + lo, w->onlist + lo + 1, sizeof(int) * (w->non - lo));
    }
}

/* The outputs' change at the switch of unit i of layer l (sign sg: +1 on, −1 off) into dz,
 * or dz_ok = 0 where the switch has no rank-one change of the outputs. */
static void out_change(const mli_pwl *n, mli_pwl_ws *w, int l, int i, double sg)
{
    int L = n->nlin, k = n->width[L], kp = n->kpad, wl = n->width[l + 1];
    if (!w->rank1 || !w->dz_ok)
        return;
    if (l == L - 2) { /* ±(W₀ + αΔW)[:, i] h_i(α), h_i of degree L − 1 */
        const double *r = n->WoutT + (size_t)i * kp;
        double h[MLI_PWL_MAXLIN + 1];
        for (int m = 0; m < L; m++)
            h[m] = sg * w->H[l][(size_t)m * wl + i];
        for (int o = 0; o < k; o++) {
            double *c = w->dz + (size_t)o * (L + 1);
            for (int m = 0; m < L; m++) {
                c[m] += r[o] * h[m];
                c[m + 1] += r[k + o] * h[m];
            }
        }
    } else if (l == 0 && n->rank1_first) { /* ±(W₀ + αΔW) diag(on) (a + αb) (x0 + α x1) */
        double *ra = w->racc, *rb = ra + kp, x0 = sg * w->H[0][i], x1 = sg * w->H[0][wl + i];
        int w2 = n->width[2];
        out_rows(n->WoutT, kp, w->onlist, w->non, n->V0 + (size_t)i * w2, n->V1 + (size_t)i * w2, ra, rb);
        for (int o = 0; o < k; o++) {
            double c0 = ra[o], c1 = ra[k + o] + rb[o], c2 = rb[k + o], *c = w->dz + (size_t)o * 4;
            c[0] += c0 * x0;
            c[1] += c0 * x1 + c1 * x0;
            c[2] += c1 * x1 + c2 * x0;
            c[3] += c2 * x1;
        }
    } else
        w->dz_ok = 0;
}

/* Toggle unit i of relu layer l at t. The next layer's input changes in row i; its
 * pre-activations change by the rank-one term ±(W₀ + αΔW)[:, i] h_i(α) (a transposed weight
 * row), and the hidden layers after it are recomputed. `next`: the next first-layer switch
 * (the end of the stretch a first-layer switch opens). */
static void toggle(const mli_pwl *n, mli_pwl_ws *w, int l, int i, double t, double next)
{
    int d = l + 1, wl = n->width[l + 1]; /* H[l]: degree d, width wl */
    w->on[l][i] ^= 1;
    w->since_push++;
    double sg = w->on[l][i] ? 1 : -1;
    if (l == 1 && n->rank1_first)
        on_list_toggle(w, i);
    out_change(n, w, l, i, sg);
    int nl = l + 1, out = n->width[nl + 1];
    if (nl == n->nlin - 1)
        return; /* the outputs: formed when the piece is pushed and flushed */
    double *H = w->H[nl];
    if (l == 0) { /* the second layer, screened on the stretch up to the next first-layer switch */
        double x0 = sg * w->H[0][i], x1 = sg * w->H[0][wl + i];
        update_quadratics(H, H + out, H + 2 * (size_t)out, n->V0 + (size_t)i * out, n->V1 + (size_t)i * out,
                          x0, x1, t, next, w->act, out);
        screen_stretch(n, w, t, next, 1);
        forward_from(n, w, nl + 1, t);
        return;
    }
    const double *a = n->WT0[nl] + (size_t)i * out, *b = n->dWT[nl] + (size_t)i * out;
    for (int m = 0; m <= d; m++) {
        double hm = sg * w->H[l][(size_t)m * wl + i];
        if (hm == 0)
            continue;
        axpy2(H + (size_t)m * out, H + (size_t)(m + 1) * out, a, b, hm, out);
    }
    forward_from(n, w, nl + 1, t);
}

/* The first α in (t, end) after which a unit in state `on` has the other sign: the first
 * sign change of c there that leaves the side the state says. A crossing the sweep has just
 * processed can reappear as a root a rounding error right of t, after which the sign agrees
 * with the new state: it is skipped. */
static int first_switch(const double *c, int d, double t, double end, int on, double *r)
{
    double roots[MLI_POLY_MAXDEG];
    int nr = mli_poly_roots(c, d, t, end, roots, MLI_POLY_MAXDEG);
    for (int j = 0; j < nr && j < MLI_POLY_MAXDEG; j++) {
        double next = j + 1 < nr ? roots[j + 1] : end;
        double after = mli_poly_eval(c, d, 0.5 * (roots[j] + next));
        if ((after > 0) != on && after != 0) {
            *r = roots[j];
            return 1;
        }
    }
    return 0;
}

/* Does the quadratic c keep its sign on [t, end]? Its Taylor coefficients at t, then its three
 * Bernstein coefficients on [t, end], all of one strict sign (a coefficient 0 is left to the
 * exact test); a value within rounding of 0 at t never passes (the state is then decided by
 * the derivatives). */
static inline int quad_keeps_sign(const double *c, double t, double end)
{
    double h = end - t, s0 = c[0] + t * (c[1] + t * c[2]), s1 = c[1] + 2 * t * c[2];
    double tol = 64 * DBL_EPSILON * (fabs(c[0]) + fabs(c[1]) + fabs(c[2]));
    double b1 = s0 + 0.5 * h * s1, b2 = s0 + h * (s1 + h * c[2]);
    return (s0 > tol && b1 > 0 && b2 > 0) || (s0 < -tol && b1 < 0 && b2 < 0);
}

/* Unit i (polynomial c of degree d, state on) on [t, cand): 2 if it switches at t itself (its
 * state disagrees with the side its pre-activation leaves t on: it touched 0 at t where a
 * layer before it kinked), 1 with *r < cand its first switch there, 0 if none. */
static int unit_search(const double *c, int d, double t, double cand, int on, double *r)
{
    if (d == 2 && quad_keeps_sign(c, t, cand))
        return 0;
    double tol = round_tol(c, d, 1), v = mli_poly_eval(c, d, t);
    if (fabs(v) <= tol) {
        int s = sign_right(c, d, t, tol);
        if (s != 0 && (s > 0) != on)
            return 2;
    }
    return mli_poly_may_change_sign(c, d, t, cand) && first_switch(c, d, t, cand, on, r) && *r < cand;
}

/* The earliest switch of relu layer l ≥ 1 in [t, *cand), the lowest unit on a tie: a unit
 * that switches at t itself, else the first root of the units a Bernstein test on [t, *cand]
 * does not clear (unit_search). In the second layer only the units the stretch's screening
 * did not clear are examined. Updates *cand, *unit. */
static int layer_search(const mli_pwl *n, mli_pwl_ws *w, int l, double t, double *cand, int *unit)
{
    int d = l + 1, wid = n->width[l + 1], found = 0;
    const double *H = w->H[l];
    const unsigned char *on = w->on[l];
    int nexam = d == 2 ? w->nalist : wid;
    if (d == 2)
        w->path.nexam += nexam;
    for (int e = 0; e < nexam; e++) {
        int i = d == 2 ? w->alist[e] : e; /* in the second layer, the units not cleared */
        double c[MLI_POLY_MAXDEG + 1], r;
        unit_poly(H, wid, d, i, c);
        int s = unit_search(c, d, t, *cand, on[i], &r);
        if (s == 2) {
            *cand = t;
            *unit = i;
            return 1;
        }
        if (s == 1) {
            *cand = r;
            *unit = i;
            found = 1;
        }
    }
    return found;
}

const mli_pwl_path *mli_pwl_sweep(const mli_pwl *n, mli_pwl_ws *w, const double *p,
                                  const double *q, const double *h1, size_t h1_stride)
{
    int L = n->nlin, w1 = n->width[1];
    mli_pwl_path *pp = &w->path;
    pp->npieces = 0;
    pp->nswitch = 0;
    pp->nexam = 0;
    pp->brk[0] = 0;
    pp->layer[0] = -1;
    w->npend = w->nfull = w->since_push = 0;
    memset(w->dz, 0, sizeof(double) * pp->k * (L + 1));
    w->dz_ok = 1;

    /* α = 0: every layer with the states it leaves 0 with. */
    memcpy(w->H[0], p, sizeof(double) * w1);
    memcpy(w->H[0] + w1, q, sizeof(double) * w1);
    set_states(n, w, 0, 0);
    if (h1 && L >= 3) { /* the second layer's pre-activations, computed for the batch */
        int w2 = n->width[2];
        layer_input(n, w, 1);
        for (int m = 0; m < 3; m++)
            memcpy(w->H[1] + (size_t)m * w2, h1 + m * h1_stride, sizeof(double) * w2);
        set_states(n, w, 1, 0);
        forward_from(n, w, 2, 0);
    } else
        forward_from(n, w, 1, 0);
    if (n->rank1_first)
        on_list_build(n, w);

    int nev = 0;
    if (L > 1 && n->relu[0])
        for (int o = 0; o < w1; o++)
            if (q[o] != 0) {
                double r = -p[o] / q[o];
                if (r > 0 && r < 1)
                    w->ev[nev++] = (event0){r, o};
            }
    qsort(w->ev, nev, sizeof(event0), cmp_event);
    if (L >= 3)
        screen_stretch(n, w, 0, nev ? w->ev[0].t : 1, 0);

    double t = 0;
    int pos = 0;
    for (;;) {
        double cand = pos < nev ? w->ev[pos].t : 1;
        int el = pos < nev ? 0 : -1, eu = pos < nev ? w->ev[pos].unit : -1;
        for (int l = 1; l < L - 1; l++)
            if (n->relu[l] && layer_search(n, w, l, t, &cand, &eu))
                el = l;
        if (cand > t)
            push_piece(n, w, cand, el);
        if (el < 0)
            break;
        t = cand;
        if (el == 0)
            pos++;
        toggle(n, w, el, eu, t, pos < nev ? w->ev[pos].t : 1);
        pp->nswitch++;
    }
    flush_pieces(n, w);
    return pp;
}

void mli_pwl_path_eval(const mli_pwl_path *pp, double alpha, double *z, double *v, double *a)
{
    int lo = 0, hi = pp->npieces - 1, k = pp->k, D = pp->deg;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (pp->brk[mid] <= alpha)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (int o = 0; o < k; o++) {
        const double *c = pp->z + ((size_t)lo * k + o) * (D + 1);
        double f = 0, f1 = 0, f2 = 0;
        for (int m = D; m >= 0; m--) {
            f2 = f2 * alpha + 2 * f1;
            f1 = f1 * alpha + f;
            f = f * alpha + c[m];
        }
        if (z)
            z[o] = f;
        if (v)
            v[o] = f1;
        if (a)
            a[o] = f2;
    }
}
