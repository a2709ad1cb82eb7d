/* Control experiments of the MLI paper (docs/theory.md §5) and lazy-regime diagnostics, run by
 * `mli analyze` beside the main path θ₀ → θ₁ (options in src/cli/controls_opts.c):
 *
 *   --random-inits K   K unrelated initializations θ_r (the run's init_type; the k-th drawn from
 *                      a gsl_rng_mt19937 seeded with seed + 1000 + k), each interpolated to θ₁:
 *                      is the monotone decrease special to the true θ₀?        random_inits.tsv
 *   --permute K        K random permutations π of the hidden units (seeded seed + 2000 + k): π(θ)
 *                      computes the same function as θ, yet θ₀ → π(θ₁) and π(θ₀) → θ₁ are
 *                      different lines.                                         permute.tsv
 *   --plane            the loss on the plane through θ₀, θ₁ and θ_r (seed + 1000, the first
 *                      unrelated init), with the training trajectory projected (geometry/plane.h)
 *                                                                               plane.tsv, plane_points.tsv
 *   --logits N         the outputs of the first N test examples along the path, PCA to 2D
 *                      (geometry/logits.h)                                      logits.tsv
 *   --ntk N            the empirical NTK on the first N test examples at θ₀ and θ₁ (geometry/ntk.h)
 *
 * Every control adds an entry of its name to geometry.json. Losses along a line use the main
 * path's machinery (mli_path_eval) and, for batch norm, statistics re-estimated at every α
 * with mli_path_bn_stats exactly as for the main path. */
#ifndef MLI_CONTROLS_H
#define MLI_CONTROLS_H

#include <gsl/gsl_rng.h>
#include <cJSON.h>

#include "data/dataset.h"
#include "geometry/path.h"
#include "io/text.h"
#include "nn/arch.h"
#include "train/config.h"

#define MLI_SEED_RANDOM_INIT 1000 /* the k-th unrelated initialization: seed + 1000 + k */
#define MLI_SEED_PERMUTE 2000     /* the k-th permutation: seed + 2000 + k */
#define MLI_SEED_PLANE_DIRS 3000  /* random plane directions: seed + 3000, seed + 3001 */
#define MLI_CONTROLS_MAX_K 1000

typedef enum { MLI_PLANE_INIT, MLI_PLANE_RANDOM } mli_plane_dirs;

typedef struct {
    int random_inits;      /* K (0: off) */
    int permute;           /* K (0: off) */
    int plane;             /* 1: on */
    int plane_size;        /* grid points per axis */
    int plane_has_extent;  /* else the default (geometry/plane.h) */
    double plane_extent[4];/* xmin, xmax, ymin, ymax */
    mli_plane_dirs plane_dirs;
    int filter_norm;       /* random directions rescaled filter by filter (Li et al. 2018) */
    int plane_examples;    /* training examples of the grid losses (0: all) */
    int logits;            /* N (0: off) */
    int ntk;               /* N (0: off) */
    int ntk_top;           /* eigenvalues reported at each end */
} mli_controls_opts;

void mli_controls_opts_default(mli_controls_opts *o);
int mli_controls_any(const mli_controls_opts *o);

/* What the analysis hands over: the main path and where to write. */
typedef struct {
    const mli_config *cfg;
    const mli_controls_opts *o;
    const mli_arch *a;
    const mli_dataset *ds;
    const mli_real *theta0, *theta1, *delta;
    const mli_real *bn;       /* n_alpha blocks of batch-norm statistics on the main path, or NULL */
    mli_bn_stats bn_mode;
    int n_alpha;
    const double *alpha;
    const double *train_loss; /* the main path's training loss at each α */
    const char *out_dir;      /* the TSVs go there; snapshots are read from out_dir/traj/ */
    mli_progress *progress;
    int chunk;                /* examples per chunk of the main path's evaluation (mli_path_ctx) */
} mli_controls_ctx;

/* Checks that need the network and data (e.g. the NTK's size), before any work: MLI_EUSAGE. */
int mli_controls_check(const mli_controls_opts *o, const mli_arch *a, const mli_dataset *ds);
/* Runs every requested control, writes its TSV(s) and adds its entry to geo. */
int mli_controls_run(const mli_controls_ctx *c, cJSON *geo);
/* Moves every entry of from into to (from is left empty). */
void mli_controls_merge(cJSON *to, cJSON *from);

/* ---- permutations of the hidden units ---- */
/* perm[h] (h = 0 .. nh−2) is a permutation of the hsizes[h] units of hidden layer h: unit u of
 * the result is unit perm[h][u] of the original. Rows of the Linear layer that produces the
 * layer and its bias, batch-norm γ, β and running statistics, and columns of the next Linear
 * layer move together, so the network computes the same function. bufs/bufs_out may be NULL. */
void mli_permute_hidden(const mli_arch *a, int *const *perm, const mli_real *theta, const mli_real *bufs,
                        mli_real *theta_out, mli_real *bufs_out);
/* Uniform random permutations for every group; perm[h] must hold gsize[h] ints. */
void mli_random_hidden_perm(const mli_arch *a, gsl_rng *rng, int **perm);
/* The groups of hidden channels the permutation control permutes, on any graph: a node that
 * makes new units (Linear, Conv; not the output node) opens a group of its output channels;
 * batch norm, activations and pools keep their input's; Add ties its inputs' groups into one
 * (a residual stream is one group); the data's channels, the outputs, a reshape, a node whose
 * channels are not its input's (PadChannels: C in, C + E out) and a Linear
 * on a C×H×W value tie their groups to the fixed channels, never permuted. Groups are numbered
 * in node order (an FCNet's group h is its hidden layer h: perm[h] as above); node_group[l] is
 * node l's output group or −1 (fixed); gsize[h] the channels of group h. Returns the number
 * of groups. The generalisation of the hidden layers above; perm[h] for mli_permute_hidden is
 * then a permutation of gsize[h] channels. */
int mli_perm_groups(const mli_arch *a, int *node_group, int *gsize);

/* Loss along θ = start + α·dir on the training set at every α of the main path (batch-norm
 * statistics re-estimated at each α as for the main path); out[n_alpha]. */
void mli_controls_train_curve(const mli_controls_ctx *c, const mli_real *start, const mli_real *dir,
                              const mli_data *d, const char *label, double *out);

#endif
