#include "geometry/ntk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>

#include "io/err.h"
#include "io/parallel.h"
#include "io/text.h"
#include "nn/jacobian.h"
#include "nn/op.h"

#define CHUNK 256 /* examples per backward chunk: k·256 rows per GEMM */
#define RB 1024 /* rows of the kernel per Gram block: M = 1024 keeps the GEMM near the sgemm rate */

/* ---- factors ---------------------------------------------------------------------------- */

/* reals per row of node l's factor G (0: no parameters) */
static size_t factor_width(const mli_node *n)
{
    mli_jac_form form = n->op->jac_form(n);
    return form == MLI_JAC_OUTER ? n->size : form == MLI_JAC_EXPLICIT ? n->op->jac_width(n) : 0;
}

static int is_outer(const mli_node *n) { return n->op->jac_form(n) == MLI_JAC_OUTER; }
/* the input width of an OUTER node */
static int outer_in(const mli_node *n) { return (int)mli_shape_numel(&n->ishape[0]); }

int mli_ntk_factors_compute(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                            const mli_data *d, int N, mli_ntk_factors *f)
{
    memset(f, 0, sizeof *f);
    if (N < 1 || N > d->n)
        return mli_err(MLI_EUSAGE, "ntk: %d examples requested, the data set has %d", N, d->n);
    f->N = N;
    f->k = a->nout;
    f->n = N * a->nout;
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *L = &a->nodes[l];
        if (factor_width(L))
            f->G[l] = mli_malloc(sizeof(mli_real) * (size_t)f->n * factor_width(L));
        if (is_outer(L))
            f->X[l] = mli_malloc(sizeof(mli_real) * (size_t)N * (size_t)outer_in(L));
    }
    int B = N < CHUNK ? N : CHUNK;
    mli_jws *w = mli_jws_new(a, B);
    const mli_real *x = d->x;
    for (int i0 = 0; i0 < N; i0 += B) {
        int m = N - i0 < B ? N - i0 : B;
        const mli_real *X = x + (size_t)i0 * d->d;
        mli_net_jacobian(a, theta, bufs, w, X, m);
        for (int l = 0; l < a->nnodes; l++) {
            const mli_node *L = &a->nodes[l];
            size_t wd = factor_width(L);
            /* chunk row c·m + i goes to row c·N + i0 + i */
            for (int c = 0; c < f->k && wd; c++)
                memcpy(f->G[l] + ((size_t)c * N + i0) * wd, w->G[l] + (size_t)c * m * wd,
                       sizeof(mli_real) * (size_t)m * wd);
            if (is_outer(L))
                memcpy(f->X[l] + (size_t)i0 * outer_in(L), mli_jws_input(a, w, X, l),
                       sizeof(mli_real) * (size_t)m * outer_in(L));
            /* the forward GEMM F, and the input gradient's for every output (k·m rows, kF); the
             * gradient's count without an input gradient is the forward and the weight gradient, 2F */
            if (L->op->flops)
                f->flops += L->op->flops(L, m, 0, 0, 0) / 2 * (1 + (L->in[0] != MLI_GRAPH_INPUT ? f->k : 0));
        }
    }
    mli_jws_free(w);
    return MLI_OK;
}

void mli_ntk_factors_free(mli_ntk_factors *f)
{
    for (int l = 0; l < MLI_MAX_NODES; l++) {
        free(f->G[l]);
        free(f->X[l]);
    }
    memset(f, 0, sizeof *f);
}

/* ---- the Gram matrix -------------------------------------------------------------------- */

/* Rows q < m of S (global rows r0 + q, leading dimension lds), columns [0, cols):
 * S[q, s] = (add ? S[q, s] : 0) + T[q, s] · Kx[(r0 + q) mod N, s mod N]; T may be S (then add
 * must be 0: the product is scaled in place). */
typedef struct {
    mli_real *S;
    size_t lds;
    const mli_real *T, *Kx;
    int N, r0, cols, add;
} hadamard_job;

static void hadamard_rows(void *p, int q0, int q1, int t)
{
    const hadamard_job *h = p;
    for (int q = q0; q < q1; q++) {
        const mli_real *kx = h->Kx + (size_t)((h->r0 + q) % h->N) * h->N, *tr = h->T + (size_t)q * h->lds;
        mli_real *row = h->S + (size_t)q * h->lds;
        for (int s0 = 0; s0 < h->cols; s0 += h->N) {
            int len = h->cols - s0 < h->N ? h->cols - s0 : h->N;
            if (h->add)
                for (int j = 0; j < len; j++)
                    row[s0 + j] += tr[s0 + j] * kx[j];
            else
                for (int j = 0; j < len; j++)
                    row[s0 + j] = tr[s0 + j] * kx[j];
        }
    }
}

static void hadamard(mli_real *S, size_t lds, const mli_real *T, const mli_real *Kx, int N, int r0, int m, int cols,
                     int add)
{
    hadamard_job h = {S, lds, T, Kx, N, r0, cols, add};
    mli_parallel_rows(m, hadamard_rows, &h);
}

/* Copy the lower triangle onto the upper, in tiles (a plain transpose of a 400 MB matrix would
 * miss the cache on every store). */
static void mirror_lower(mli_real *K, int n)
{
    enum { TS = 64 };
    for (int i0 = 0; i0 < n; i0 += TS)
        for (int j0 = i0; j0 < n; j0 += TS)
            for (int i = i0; i < i0 + TS && i < n; i++)
                for (int j = j0 > i + 1 ? j0 : i + 1; j < j0 + TS && j < n; j++)
                    K[(size_t)i * n + j] = K[(size_t)j * n + i];
}

/* Rows [r0, r0+m) of the lower triangle of Θ, columns [0, r0+m), into S (leading dimension
 * lds); T is scratch of m × (r0+m). Returns the GEMM flops. The first node with parameters
 * writes S, the others add to it. */
static double gram_block(const mli_arch *a, const mli_ntk_factors *f, mli_real *const *Kx, int r0, int m,
                         mli_real *S, size_t lds, mli_real *T)
{
    int N = f->N, last = a->nnodes - 1, cols = r0 + m, first = 1;
    double flops = 0;
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *L = &a->nodes[l];
        mli_jac_form form = L->op->jac_form(L);
        if (form == MLI_JAC_NONE)
            continue;
        if (first && (form == MLI_JAC_EXPLICIT || l == last)) /* those add to S */
            for (int q = 0; q < m; q++)
                memset(S + (size_t)q * lds, 0, sizeof(mli_real) * (size_t)cols);
        if (form == MLI_JAC_EXPLICIT) {
            int w = (int)L->op->jac_width(L);
            MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, cols, w, 1, f->G[l] + (size_t)r0 * w, w, f->G[l], w, 1,
                     S, (int)lds);
            flops += 2.0 * m * cols * w;
        } else if (l == last) {
            /* g = ∂z_c/∂z = e_c: ⟨g_r, g_s⟩ = δ_cd, so only the diagonal output blocks get Kx */
            for (int q = 0; q < m; q++) {
                int r = r0 + q, c = r / N, i = r % N;
                int len = cols - c * N < N ? cols - c * N : N;
                mli_real *row = S + (size_t)q * lds + (size_t)c * N;
                const mli_real *kx = Kx[l] + (size_t)i * N;
                for (int j = 0; j < len; j++)
                    row[j] += kx[j];
            }
        } else {
            int out = (int)L->size;
            mli_real *dst = first ? S : T; /* the first product goes straight into S */
            int ldd = first ? (int)lds : cols;
            MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, cols, out, 1, f->G[l] + (size_t)r0 * out, out,
                     f->G[l], out, 0, dst, ldd);
            flops += 2.0 * m * cols * out;
            if (!first)
                hadamard(S, lds, T, Kx[l], N, r0, m, cols, 1);
            else
                hadamard(S, lds, S, Kx[l], N, r0, m, cols, 0);
        }
        first = 0;
    }
    return flops;
}

/* The block's share of ‖S‖²_F and, if O is not NULL, of ⟨O, S⟩_F for symmetric matrices of
 * which the block holds lower-triangle rows [r0, r0+m): Σ w·x·y with w = 2 off the diagonal, 1
 * on it. One pass, the same order for both sums. */
typedef struct {
    const mli_real *O, *S;
    size_t ldo, lds;
    int r0;
    double ss[MLI_PARALLEL_MAX], so[MLI_PARALLEL_MAX];
} dots_job;

static void dots_rows(void *p, int q0, int q1, int t)
{
    dots_job *d = p;
    double ss = 0, so = 0;
    for (int q = q0; q < q1; q++) {
        const mli_real *s = d->S + (size_t)q * d->lds, *o = d->O ? d->O + (size_t)q * d->ldo : s;
        double a = 0, b = 0;
        int diag = d->r0 + q;
        for (int j = 0; j < diag; j++) {
            a += (double)s[j] * s[j];
            b += (double)o[j] * s[j];
        }
        ss += 2 * a + (double)s[diag] * s[diag];
        so += 2 * b + (double)o[diag] * s[diag];
    }
    d->ss[t] = ss;
    d->so[t] = so;
}

static void block_dots(const mli_real *O, size_t ldo, const mli_real *S, size_t lds, int r0, int m, double *ss,
                       double *so)
{
    dots_job d = {O, S, ldo, lds, r0, {0}, {0}};
    int nt = mli_parallel_rows(m, dots_rows, &d);
    for (int t = 0; t < nt; t++) { /* in order: deterministic for a given thread count */
        *ss += d.ss[t];
        *so += d.so[t];
    }
}

double mli_ntk_gram(const mli_arch *a, const mli_ntk_factors *f, mli_real *K, double *fro2, double *inner)
{
    int n = f->n, N = f->N;
    double flops = 0, ss = 0, sp = 0;
    mli_real *Kx[MLI_MAX_NODES] = {0};
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *L = &a->nodes[l];
        if (!is_outer(L))
            continue;
        /* ⟨x_i, x_j⟩ + 1: the 1 is the bias, whose Jacobian block is g alone */
        int in = outer_in(L);
        Kx[l] = mli_malloc(sizeof(mli_real) * (size_t)N * N);
        for (size_t e = 0; e < (size_t)N * N; e++)
            Kx[l][e] = 1;
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, in, 1, f->X[l], in, f->X[l], in, 1, Kx[l], N);
        flops += 2.0 * N * N * in;
    }
    size_t blk = (size_t)(n < RB ? n : RB) * n;
    mli_real *T = mli_malloc(sizeof(mli_real) * blk), *S = inner ? mli_malloc(sizeof(mli_real) * blk) : NULL;
    for (int r0 = 0; r0 < n; r0 += RB) {
        int m = n - r0 < RB ? n - r0 : RB, cols = r0 + m;
        mli_real *Kr = K + (size_t)r0 * n;
        if (!inner) { /* straight into K */
            flops += gram_block(a, f, Kx, r0, m, Kr, (size_t)n, T);
            block_dots(NULL, 0, Kr, (size_t)n, r0, m, &ss, &sp);
            continue;
        }
        /* the old kernel's rows [r0, r0+m) (lower triangle) are read one last time, then replaced */
        flops += gram_block(a, f, Kx, r0, m, S, (size_t)cols, T);
        block_dots(Kr, (size_t)n, S, (size_t)cols, r0, m, &ss, &sp);
        for (int q = 0; q < m; q++)
            memcpy(Kr + (size_t)q * n, S + (size_t)q * cols, sizeof(mli_real) * (size_t)cols);
    }
    mirror_lower(K, n);
    if (fro2)
        *fro2 = ss;
    if (inner)
        *inner = sp;
    free(S);
    free(T);
    for (int l = 0; l < MLI_MAX_NODES; l++)
        free(Kx[l]);
    return flops;
}

/* ---- Jacobian change ---------------------------------------------------------------------- */

static double dot(const mli_real *u, const mli_real *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)u[i] * v[i];
    return s;
}

void mli_ntk_jacobian_change(const mli_arch *a, const mli_ntk_factors *f0, const mli_ntk_factors *f1,
                             double *diff2, double *norm0_2)
{
    int N = f0->N;
    double d = 0, z = 0;
    double *xx = mli_malloc(sizeof(double) * 3 * (size_t)N);
    for (int l = 0; l < a->nnodes; l++) {
        const mli_node *L = &a->nodes[l];
        mli_jac_form form = L->op->jac_form(L);
        if (form == MLI_JAC_OUTER) {
            /* ‖g₁⊗x₁ − g₀⊗x₀‖² = ‖g₁‖²‖x₁‖² + ‖g₀‖²‖x₀‖² − 2⟨g₀,g₁⟩⟨x₀,x₁⟩ with x extended by the
             * bias' 1; every term through the same dot(), so identical factors give exactly 0 */
            int in = outer_in(L), out = (int)L->size;
            for (int i = 0; i < N; i++) {
                const mli_real *x0 = f0->X[l] + (size_t)i * in, *x1 = f1->X[l] + (size_t)i * in;
                xx[3 * i] = dot(x0, x0, in) + 1;
                xx[3 * i + 1] = dot(x1, x1, in) + 1;
                xx[3 * i + 2] = dot(x0, x1, in) + 1;
            }
            for (int r = 0; r < f0->n; r++) {
                const mli_real *g0 = f0->G[l] + (size_t)r * out, *g1 = f1->G[l] + (size_t)r * out;
                const double *x = xx + 3 * (r % N);
                double b = dot(g0, g0, out) * x[0];
                d += dot(g1, g1, out) * x[1] + b - 2 * dot(g0, g1, out) * x[2];
                z += b;
            }
        } else if (form == MLI_JAC_EXPLICIT) {
            size_t w = L->op->jac_width(L);
            for (size_t e = 0; e < (size_t)f0->n * w; e++) {
                double u = f0->G[l][e], v = f1->G[l][e];
                d += (v - u) * (v - u);
                z += u * u;
            }
        }
    }
    free(xx);
    *diff2 = d > 0 ? d : 0; /* rounding of the expanded square */
    *norm0_2 = z;
}

/* ---- eigenvalues --------------------------------------------------------------------------- */

static int eigs_dense(const mli_real *A, int n, int top, double *eig)
{
    double *D = mli_malloc(sizeof(double) * (size_t)n * n), *w = mli_malloc(sizeof(double) * (size_t)n);
    for (size_t e = 0; e < (size_t)n * n; e++)
        D[e] = A[e];
    int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', n, D, n, w);
    for (int t = 0; t < top && !info; t++)
        eig[t] = w[n - 1 - t];
    free(D);
    free(w);
    return info ? mli_err(MLI_EFAIL, "LAPACKE_dsyevd failed (info %d) on a %d x %d kernel", info, n, n) : MLI_OK;
}

#ifdef MLI_DOUBLE
#define LAPACKE_GEQRF LAPACKE_dgeqrf
#define LAPACKE_ORGQR LAPACKE_dorgqr
#else
#define LAPACKE_GEQRF LAPACKE_sgeqrf
#define LAPACKE_ORGQR LAPACKE_sorgqr
#endif

/* Q (n × m, row-major) ← an orthonormal basis of its columns (Householder QR, in the engine's
 * precision: orthonormal to rounding, which is all the Rayleigh–Ritz step needs). */
static int orthonormalise(mli_real *Q, mli_real *tau, int n, int m)
{
    int info = LAPACKE_GEQRF(LAPACK_ROW_MAJOR, n, m, Q, m, tau);
    if (!info)
        info = LAPACKE_ORGQR(LAPACK_ROW_MAJOR, n, m, m, Q, m, tau);
    return info ? mli_err(MLI_EFAIL, "LAPACKE QR failed (info %d) in the subspace iteration", info) : MLI_OK;
}

#ifdef MLI_DOUBLE
#define EIG_TOL 1e-12
#else
#define EIG_TOL 1e-6
#endif

/* Subspace iteration with Rayleigh–Ritz for a positive semi-definite A: Q ← orth(A Q); the
 * Ritz values (eigenvalues of Qᵀ A Q) converge to the largest eigenvalues, the t-th at the
 * rate (λ_{m+1}/λ_t)² per step. */
static int eigs_subspace(const mli_real *A, int n, int top, double *eig, double *flops)
{
    int m = 2 * top + 16 > 96 ? 2 * top + 16 : 96;
    m = m < n ? m : n;
    mli_real *Q = mli_malloc(sizeof(mli_real) * (size_t)n * m), *Y = mli_malloc(sizeof(mli_real) * (size_t)n * m);
    mli_real *H = mli_malloc(sizeof(mli_real) * (size_t)m * m);
    mli_real *tau = mli_malloc(sizeof(mli_real) * (size_t)m);
    double *Hd = mli_malloc(sizeof(double) * (size_t)m * m), *w = mli_malloc(sizeof(double) * (size_t)m);
    double *prev = mli_calloc((size_t)top, sizeof(double));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12345);
    for (size_t e = 0; e < (size_t)n * m; e++)
        Q[e] = (mli_real)gsl_ran_gaussian_ziggurat(rng, 1);
    gsl_rng_free(rng);
    int rc = orthonormalise(Q, tau, n, m), it, converged = 0;
    for (it = 0; it < 500 && !rc && !converged; it++) {
        MLI_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, n, 1, A, n, Q, m, 0, Y, m);
        MLI_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, n, 1, Q, m, Y, m, 0, H, m);
        *flops += 2.0 * n * n * m + 2.0 * n * m * m;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                Hd[(size_t)i * m + j] = 0.5 * ((double)H[(size_t)i * m + j] + H[(size_t)j * m + i]);
        int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', m, Hd, m, w);
        if (info) {
            rc = mli_err(MLI_EFAIL, "LAPACKE_dsyevd failed (info %d) on the Ritz matrix", info);
            break;
        }
        double change = 0;
        for (int t = 0; t < top; t++) {
            change = fmax(change, fabs(w[m - 1 - t] - prev[t]));
            prev[t] = eig[t] = w[m - 1 - t];
        }
        converged = it > 1 && change <= EIG_TOL * fabs(eig[0]);
        if (!converged) { /* Q ← orth(Y): swap the buffers, then orthonormalise in place */
            mli_real *t = Q;
            Q = Y;
            Y = t;
            rc = orthonormalise(Q, tau, n, m);
        }
    }
    if (!rc && !converged)
        mli_warn("ntk: the subspace iteration for the top %d eigenvalues of a %d x %d kernel did not "
                 "converge in %d steps; the estimates are kept",
                 top, n, n, it);
    free(Q);
    free(Y);
    free(H);
    free(tau);
    free(Hd);
    free(w);
    free(prev);
    return rc;
}

int mli_sym_top_eigs(const mli_real *A, int n, int top, int method, double *eig, double *flops)
{
    double f = 0;
    top = top < n ? top : n;
    int rc = method == 1 || (method == 0 && n <= MLI_NTK_DENSE_MAX) ? eigs_dense(A, n, top, eig)
                                                                      : eigs_subspace(A, n, top, eig, &f);
    if (flops)
        *flops = f;
    return rc;
}

/* ⟨A, B⟩_F, ‖A‖²_F and ‖B‖²_F in one pass over the two matrices (they are large) */
static void frobenius(const mli_real *A, const mli_real *B, int n, double *ab, double *aa, double *bb)
{
    double s = 0, p = 0, q = 0;
    for (size_t e = 0; e < (size_t)n * n; e++) {
        s += (double)A[e] * B[e];
        p += (double)A[e] * A[e];
        q += (double)B[e] * B[e];
    }
    *ab = s;
    *aa = p;
    *bb = q;
}

static double distance_of(double ab, double aa, double bb) { return aa > 0 && bb > 0 ? 1 - ab / sqrt(aa * bb) : NAN; }

double mli_kernel_distance(const mli_real *A, const mli_real *B, int n)
{
    double ab, aa, bb;
    frobenius(A, B, n, &ab, &aa, &bb);
    return distance_of(ab, aa, bb);
}

/* ---- both ends ------------------------------------------------------------------------------ */

static double trace(const mli_real *K, int n)
{
    double t = 0;
    for (int i = 0; i < n; i++)
        t += K[(size_t)i * n + i];
    return t;
}

/* The kernel: 400 MB for n = 10,000. Freshly mapped memory is slow to fault in page by page
 * (about 1 s here for 400 MB in a virtual machine), so ask for huge pages where Linux has them. */
static mli_real *kernel_alloc(int n)
{
    size_t bytes = sizeof(mli_real) * (size_t)n * n;
    void *p = NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= (64u << 20) && posix_memalign(&p, 2u << 20, bytes) == 0) {
        madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#endif
    return mli_malloc(bytes);
}

int mli_ntk_compute(const mli_arch *a, const mli_real *theta0, const mli_real *bufs0,
                    const mli_real *theta1, const mli_real *bufs1, const mli_data *d, int N,
                    int n_top, mli_ntk_result *res)
{
    memset(res, 0, sizeof *res);
    if (mli_arch_has_stats(a) && (!bufs0 || !bufs1))
        return mli_err(MLI_EUSAGE, "ntk: a batch-norm network needs its statistics at both ends");
    if ((long)N * a->nout > MLI_NTK_MAX_ROWS)
        return mli_err(MLI_EUSAGE, "--ntk %d: the kernel would have %d x %d = %ld rows (examples x outputs), "
                       "at most %d are supported (memory: rows^2 reals)",
                       N, N, a->nout, (long)N * a->nout, MLI_NTK_MAX_ROWS);
    double t = mli_now();
    mli_ntk_factors f0, f1;
    int rc = mli_ntk_factors_compute(a, theta0, bufs0, d, N, &f0);
    if (rc)
        return rc;
    rc = mli_ntk_factors_compute(a, theta1, bufs1, d, N, &f1);
    if (rc) {
        mli_ntk_factors_free(&f0);
        return rc;
    }
    int n = f0.n;
    res->n_examples = N;
    res->k = a->nout;
    res->n = n;
    res->n_top = n_top < n ? n_top : n;
    res->n_top = res->n_top < 64 ? res->n_top : 64;
    double diff2, norm2, fro0, fro1, inner, e0 = 0, e1 = 0;
    mli_ntk_jacobian_change(a, &f0, &f1, &diff2, &norm2);
    res->jacobian_rel_change = norm2 > 0 ? sqrt(diff2 / norm2) : NAN;
    /* one kernel in memory: Θ₀ and its eigenvalues, then Θ₁ over it block by block, the
     * Frobenius product taken as each block of Θ₀ is replaced */
    mli_real *K = kernel_alloc(n);
    double fl = f0.flops + f1.flops + mli_ntk_gram(a, &f0, K, &fro0, NULL);
    res->trace_init = trace(K, n);
    rc = mli_sym_top_eigs(K, n, res->n_top, 0, res->top_init, &e0);
    mli_ntk_factors_free(&f0);
    if (!rc) {
        fl += mli_ntk_gram(a, &f1, K, &fro1, &inner);
        res->trace_final = trace(K, n);
        res->fro_init = sqrt(fro0);
        res->fro_final = sqrt(fro1);
        res->kernel_distance = distance_of(inner, fro0, fro1);
        rc = mli_sym_top_eigs(K, n, res->n_top, 0, res->top_final, &e1);
    }
    mli_ntk_factors_free(&f1);
    free(K);
    res->flops = fl + e0 + e1;
    res->seconds = mli_now() - t;
    return rc;
}
