/* Evaluation along the interpolation path θ(α) = θ₀ + αΔ on an α grid, over a data split:
 * per-α means of the loss and accuracy (and, where asked, of dℓ/dα and d²ℓ/dα² with its
 * Gauss–Newton and output-curvature parts), and per-example records of the output-space
 * geometry for the first n_geo examples.
 *
 * Work is organised chunk-outer, α-inner: the graph's hoisted node (the first node that meets
 * the data, when it is linear in its parameters: the FCNet's first Linear, nn/taylor.h) has its
 * products X W₀ᵀ, X ΔWᵀ computed once per chunk and reused at every α (they do not depend on
 * α), so it costs two GEMMs per chunk instead of one per α. Rows that need derivatives go through Taylor
 * mode (5 GEMM-rows per layer); the others through the plain forward pass. */
#ifndef MLI_PATH_H
#define MLI_PATH_H

#include "data/dataset.h"
#include "io/text.h"
#include "nn/arch.h"

typedef struct {
    const mli_arch *a;
    const mli_real *theta0, *delta;
    const mli_real *bufs; /* n_alpha blocks of nbuffers (batch norm statistics per α), or NULL */
    int n_alpha;
    const double *alpha;
    int chunk; /* examples per chunk (memory: ~ 5 × chunk × widest layer reals) */
    mli_progress *progress;
    const char *label; /* for the progress line */
} mli_path_ctx;

/* Per-α means over a split. Derivative arrays are NULL when not computed. */
typedef struct {
    double *loss, *acc;            /* n_alpha */
    double *dl, *d2l, *d2l_gn, *d2l_curv;
} mli_path_means;

/* Per-example, per-α records of the geometry examples (row e, column j: e * n_alpha + j). */
typedef struct {
    int n;                         /* examples */
    int n_alpha;
    double *loss, *dl, *d2l_gn, *d2l_curv;
    double *speed, *curvature, *gauss_speed;
    double *turn;                  /* angle between the unit tangents at α_{j−1} and α_j (0 at j = 0):
                                    * summed, a lower bound of the Gauss length that also sees the
                                    * jumps of the tangent at ReLU kinks between grid points */
    unsigned char *degenerate;     /* zero speed at that point */
} mli_path_examples;

/* Evaluate a split. derivs_all: Taylor mode on every example (the means get derivative
 * columns); n_geo: per-example records for the first n_geo examples (0: none). */
void mli_path_eval(const mli_path_ctx *c, const mli_data *d, int derivs_all, int n_geo,
                   mli_path_means *means, mli_path_examples *ex);
/* Loss of each of the first n examples at each α of another grid (values only; for the
 * fine verification grid): out[e * n_alpha + j]. */
void mli_path_losses(const mli_path_ctx *c, const mli_data *d, int n, double *out);

void mli_path_means_free(mli_path_means *m);
void mli_path_examples_free(mli_path_examples *e);

/* Batch-norm statistics at θ(α) for every α of the grid, from the training data:
 *   ema:   the reference's procedure: reset (mean 0, variance 1), then one pass of
 *          training-mode forward passes over the training set in batches of batchsize,
 *          momentum 0.1 (data order);
 *   exact: population mean and unbiased variance of each batch-norm input, layer by layer.
 * Returns n_alpha blocks of nbuffers reals (caller frees). */
typedef enum { MLI_BN_EMA, MLI_BN_EXACT } mli_bn_stats;
/* exact: the whole training set's tensors are kept node after node (one forward pass per α)
 * while they fit in this many bytes; beyond, one partial pass per batch-norm node. */
#define MLI_BN_EXACT_MEM ((size_t)3 << 30)
/* The weight the reset statistics (mean 0, variance 1) still carry after the ema pass over n
 * training examples in batches of batchsize: (1 − momentum)^b, b the number of batches of at
 * least two examples (0.9²⁰ ≈ 0.12 for 10,000 examples in batches of 512). 0 for exact. */
double mli_path_bn_reset_weight(int n, int batchsize, mli_bn_stats mode);
/* Above this the ema statistics are far from converged: the commands warn and name
 * --bn-stats exact (docs/monotonicity.md). */
#define MLI_BN_RESET_WARN 0.01
mli_real *mli_path_bn_stats(const mli_arch *a, const mli_real *theta0, const mli_real *delta,
                            const double *alpha, int n_alpha, const mli_data *train, int batchsize,
                            mli_bn_stats mode, mli_progress *progress);

#endif
