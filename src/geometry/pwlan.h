/* `--exact`: the exact analysis of a piecewise-linear network along θ(α) (docs/exact.md).
 * Every analysed example's pieces (pieces.h) and their analysis (pwlgeo.h), the data set's
 * exact mean training loss (squared error, pwlsum.h) and an enclosure of it (cross-entropy),
 * with the summaries that geometry.json and the report show. Examples are swept on as many
 * threads as BLAS uses; the results do not depend on the thread count. */
#ifndef MLI_GEOMETRY_PWLAN_H
#define MLI_GEOMETRY_PWLAN_H

#include "data/dataset.h"
#include "geometry/ppoly.h"
#include "geometry/pwlgeo.h"
#include "nn/arch.h"

#define MLI_PWLAN_MAX_BUMPS 16
#define MLI_PWLAN_SHOW 4       /* examples whose exact loss the report draws */
#define MLI_PWLAN_SAMPLES 1001 /* fine grid of those curves */

typedef struct {
    int n_alpha;      /* the analysis grid, to compare with (≥ 2) */
    int curve;        /* also the data set's training-loss curve (1) or not (0) */
    int ce_cells;     /* cross-entropy enclosure: cells of [0,1] (default 256) */
    int progress;
    /* squared error (mse, recon): each analysed example's loss on another grid, from its pieces
     * (a polynomial evaluation per α): fine[e·n_fine + g] at alpha_fine[g]; fine NULL: none.
     * The certificates' verification grid in exact mode (cheaper than the engine's GEMMs per
     * α: docs/exact.md). */
    int n_fine;
    const double *alpha_fine;
    double *fine;
} mli_pwlan_opts;

typedef struct {
    /* per analysed example */
    int n;
    mli_pwl_result *ex;
    int *grid_monotone; /* the example's own loss on the analysis grid: no sampled rise */
    /* counts over the examples */
    int n_monotone, n_violating, n_undecided, n_missed_by_grid;
    int c1, c2, c12, counterexamples;
    int c1p_false;      /* pointwise-C1 prefix beyond the first rise: the condition without kinks fails */
    double pieces_mean;
    int pieces_max;
    double turning_mean, turning_median, smooth_mean, frac_turning_below, frac_smooth_below;
    /* the data set's mean training loss */
    int have_curve, curve_exact; /* exact (squared error) or an enclosure (cross-entropy) */
    long curve_pieces;
    double delta, delta_lo, delta_hi; /* exact: delta ± 2·curve_err (lo, hi); enclosure: its ends */
    double curve_err;   /* exact: a bound on the rounding error of the curve (pwlsum.h) */
    double delta_start, delta_end, first_rise;
    double grid_delta;  /* the same curve sampled on the analysis grid, the reference's scan */
    int nbumps;
    mli_cbump bumps[MLI_PWLAN_MAX_BUMPS];
    int n_train;
    /* for the report: the first examples' exact loss on the fine grid and at their breakpoints,
     * and the data set's curve (exact: sampled on the fine grid; enclosure: the cell edges) */
    int nshow;
    double show_loss[MLI_PWLAN_SHOW][MLI_PWLAN_SAMPLES];
    int show_nbrk[MLI_PWLAN_SHOW];
    double *show_brk[MLI_PWLAN_SHOW], *show_brk_loss[MLI_PWLAN_SHOW];
    int n_curve;
    double *curve_alpha, *curve_loss;
} mli_pwlan;

/* Analyse the first n_examples of `examples` (per example) and, with o->curve, every example
 * of `train` (the data set's curve). MLI_EUSAGE (with the reason) for a network that has no
 * exact pieces. */
int mli_pwlan_run(const mli_arch *a, const mli_real *theta0, const mli_real *theta1,
                  const mli_data *examples, int n_examples, const mli_data *train,
                  const mli_pwlan_opts *o, mli_pwlan *out);
void mli_pwlan_free(mli_pwlan *r);

#endif
