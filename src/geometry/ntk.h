/* The empirical neural tangent kernel of the outputs on N examples, at θ₀ and θ₁ (eval mode):
 *
 *   Θ[(c,i), (d,j)] = ⟨∂z_c(x_i)/∂θ, ∂z_d(x_j)/∂θ⟩,   an (N·k) × (N·k) matrix, Θ = J Jᵀ,
 *
 * rows output-major (row c·N + i). Reported, as in the lazy-training literature: the top
 * eigenvalues of Θ₀ and Θ₁; the kernel distance 1 − ⟨Θ₀, Θ₁⟩_F / (‖Θ₀‖_F ‖Θ₁‖_F) (0 when the
 * kernel only changed scale, 1 when orthogonal); the relative change of the Jacobian
 * ‖J₁ − J₀‖_F / ‖J₀‖_F.
 *
 * J is never formed (N·k·P reals: 74 GB in float for N = 1000, k = 10, P = 1.86M). Per Linear
 * layer the rows of J are outer products g ⊗ x (nn/jacobian.h), so
 *     Θ = Σ_Linear (G Gᵀ) ⊙ (X Xᵀ + 1)  +  Σ_BN J_bn J_bnᵀ
 * with G the (N·k) × out gradients w.r.t. the layer's output and X the N × in inputs.
 * Costs for N·k = n rows: memory n·Σ out + N·Σ in reals per end for the factors (82 MB for
 * 784-1024-1024-10, N = 1000, float), n² reals for the kernel (400 MB: Θ₁ is computed over Θ₀
 * once Θ₀'s eigenvalues are known, the Frobenius product taken block by block) and two blocks
 * of 1024 × n for the products (80 MB): about 0.7 GB in all there. GEMM flops per end: the
 * forward and k backward passes 2N·Σ in·out·(1 + k), the Gram blocks of the lower triangle
 * n²·out per Linear layer (the last layer, whose g are unit vectors, costs no GEMM) and
 * n²·2C per batch-norm layer, the input Grams 2N²·Σ in. For the network above: 2.4e11 per end
 * (forming J and one GEMM J Jᵀ would cost 2n²P = 3.7e14), plus about 1e11 per end for the
 * eigenvalues.
 *
 * Eigenvalues: LAPACKE_dsyevd on a double copy when n ≤ MLI_NTK_DENSE_MAX; above, subspace
 * iteration with Rayleigh–Ritz (a block of m = max(96, 2·top + 16) vectors, one GEMM n × n × m
 * per step, QR in the engine's precision, until the top Ritz values move by less than 1e-6 of
 * the largest: float precision; 4-5 steps for the top 10 of the kernels above), since the O(n³)
 * tridiagonal reduction of a 10,000 × 10,000 matrix would cost minutes. The block is wider than
 * the convergence needs because OpenBLAS runs a GEMM with 96 columns at twice the rate of one
 * with 80 on this machine: the steps cost the same, and there are fewer. */
#ifndef MLI_NTK_H
#define MLI_NTK_H

#include "data/dataset.h"
#include "io/real.h"
#include "nn/arch.h"

#define MLI_NTK_DENSE_MAX 2048
#define MLI_NTK_MAX_ROWS 16384 /* N·k: one kernel of 16384² floats is 1 GB */

/* The factors of J at one θ for the first N examples of a data set (see above). */
typedef struct {
    int N, k, n;                     /* n = N·k */
    mli_real *G[MLI_MAX_NODES];      /* per node (mli_op.jac_form): OUTER n × out, EXPLICIT n × width */
    mli_real *X[MLI_MAX_NODES];      /* OUTER nodes: their inputs, N × in */
    double flops;                    /* GEMM flops spent */
} mli_ntk_factors;

int mli_ntk_factors_compute(const mli_arch *a, const mli_real *theta, const mli_real *bufs,
                            const mli_data *d, int N, mli_ntk_factors *f);
void mli_ntk_factors_free(mli_ntk_factors *f);

/* Θ = J Jᵀ (n × n, row-major, full symmetric) from the factors, into K; returns its GEMM flops.
 * fro2 (may be NULL) receives ‖Θ‖²_F. With inner not NULL, K must hold on entry another kernel
 * Θ' of the same rows: *inner receives ⟨Θ', Θ⟩_F, taken block by block as Θ replaces Θ' (one
 * kernel's memory for two). Both sums run over the lower triangle in the same order, so Θ = Θ'
 * gives *inner == *fro2 exactly. */
double mli_ntk_gram(const mli_arch *a, const mli_ntk_factors *f, mli_real *K, double *fro2, double *inner);

/* ‖J₁ − J₀‖²_F and ‖J₀‖²_F from two sets of factors of the same rows, in double; exactly 0
 * for identical factors. */
void mli_ntk_jacobian_change(const mli_arch *a, const mli_ntk_factors *f0, const mli_ntk_factors *f1,
                             double *diff2, double *norm0_2);

/* The `top` largest eigenvalues of the symmetric n × n matrix A, descending. method: 0 auto
 * (dense up to MLI_NTK_DENSE_MAX), 1 dense (LAPACKE_dsyevd), 2 subspace iteration. *flops
 * (may be NULL) receives the GEMM flops. MLI_EFAIL if LAPACK fails or the iteration does not
 * converge within 500 steps (the best estimates are stored). */
int mli_sym_top_eigs(const mli_real *A, int n, int top, int method, double *eig, double *flops);

/* 1 − ⟨A, B⟩_F / (‖A‖_F ‖B‖_F) for n × n matrices, accumulated in double (exactly 0 for A = B). */
double mli_kernel_distance(const mli_real *A, const mli_real *B, int n);

typedef struct {
    int n_examples, k, n, n_top;
    double top_init[64], top_final[64];
    double kernel_distance, jacobian_rel_change;
    double fro_init, fro_final;     /* ‖Θ‖_F */
    double trace_init, trace_final; /* tr Θ = ‖J‖²_F */
    double flops, seconds;          /* GEMM flops and wall time of the whole computation */
} mli_ntk_result;

/* Everything above for the first N examples of d at (θ₀, bufs0) and (θ₁, bufs1) (the buffers
 * may be NULL without batch norm); n_top ≤ 64. MLI_EUSAGE when N·k exceeds MLI_NTK_MAX_ROWS. */
int mli_ntk_compute(const mli_arch *a, const mli_real *theta0, const mli_real *bufs0,
                    const mli_real *theta1, const mli_real *bufs1, const mli_data *d, int N,
                    int n_top, mli_ntk_result *res);

#endif
