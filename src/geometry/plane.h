/* A 2D slice of the loss landscape: the losses at θ(x, y) = o + x·u + y·v on a grid.
 *
 * Two planes (`mli analyze --plane`, `--plane-directions init|random`):
 *   init:   through θ₀, θ₁ and an unrelated initialization θ_r (docs/theory.md §5). o = θ₀, u = Δ (the
 *           main path's own vector), v = ‖Δ‖ e₂, where e₁ = Δ/‖Δ‖ and e₂ the normalised part of
 *           θ_r − θ₀ orthogonal to e₁ (Gram–Schmidt in double, twice). Coordinates are in units
 *           of ‖Δ‖ along e₁ and e₂: θ₀ = (0, 0), θ₁ = (1, 0), θ_r = (x_r, y_r), and the row y = 0
 *           is the interpolation path itself, evaluated by the same code.
 *   random: centred at θ₁ along two random directions (Li et al. 2018): Gaussian, then with
 *           --filter-norm each row of each weight matrix rescaled to the norm of the same row of
 *           θ₁ (else the whole vector to ‖θ₁‖); biases and batch-norm parameters zeroed.
 *           Coordinates are multiples of the directions.
 *
 * Each grid row y is a straight line o + y·v + x·u in x, so rows are evaluated with the path
 * machinery (mli_path_eval, the first layer's products reused along the row) and, for batch
 * norm, statistics re-estimated at every grid point by mli_path_bn_stats exactly as on the
 * main path (one pass over the training examples per point: N² passes for an N × N grid).
 *
 * Grid nodes: x_i = xmin + i (xmax − xmin)/(N − 1), and a node within 1e-9 of a step of an
 * integer is set to that integer, so that θ₀ and θ₁ are evaluated exactly when the extent
 * puts nodes there (the default extent does whenever the grid is fine enough). */
#ifndef MLI_PLANE_H
#define MLI_PLANE_H

#include <gsl/gsl_rng.h>

#include "data/dataset.h"
#include "geometry/path.h"
#include "io/text.h"
#include "nn/arch.h"

typedef struct {
    size_t P;
    mli_real *o, *u, *v; /* θ(x, y) = o + x·u + y·v */
    double *ud, *vd;     /* u and v as evaluated, in double, for projections */
    double g[3];         /* ⟨u,u⟩, ⟨u,v⟩, ⟨v,v⟩ */
    double *e1, *e2;     /* init plane: the orthonormal basis (NULL for random planes) */
    double scale;        /* init plane: ‖Δ‖ */
} mli_plane;

/* The init plane; MLI_EFAIL if θ₁ = θ₀ or θ_r − θ₀ is parallel to Δ. */
int mli_plane_through(mli_plane *p, const mli_real *theta0, const mli_real *theta1,
                      const mli_real *theta_r, size_t P);
/* A plane o + x·u + y·v with given directions (copied). */
void mli_plane_from_dirs(mli_plane *p, const mli_real *o, const mli_real *u, const mli_real *v, size_t P);
void mli_plane_free(mli_plane *p);

/* Coordinates of θ: the least-squares (x, y) of θ − o in (u, v), and the distance of θ from the
 * plane (NULL allowed). */
void mli_plane_project(const mli_plane *p, const mli_real *theta, double *x, double *y, double *off);

/* A random direction as described above, from rng, with the row norms (or norm) of ref. */
void mli_plane_random_direction(const mli_arch *a, const mli_real *ref, gsl_rng *rng, int filter_norm,
                                mli_real *d);

/* The default extent {xmin, xmax, ymin, ymax} for an N-point grid: the bounding box of the
 * points (px, py) (which should contain the origin) grown by 15% of its larger side on every
 * side, then stretched by at most one step so that 0 is a node of both axes and, when the x
 * span is at most N − 2, the x step is 1/m (m ≥ 1 integer) so that 1 is a node as well. */
void mli_plane_default_extent(const double *px, const double *py, int np, int N, double ext[4]);
/* The grid nodes of [lo, hi] (N points, integers snapped as described above). */
void mli_plane_nodes(double lo, double hi, int N, double *nodes);

/* Mean loss and accuracy over d at every grid node: loss[iy·N + ix] at (x_ix, y_iy). Batch
 * norm (a->use_bn): statistics from train (batchsize, mode) at every node. chunk as in
 * mli_path_ctx. */
void mli_plane_grid(const mli_plane *p, const mli_arch *a, const mli_data *d, const mli_data *train,
                    int batchsize, mli_bn_stats mode, const double *xs, const double *ys, int N,
                    int chunk, mli_progress *prog, double *loss, double *acc);

#endif
