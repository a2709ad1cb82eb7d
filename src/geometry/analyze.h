/* `mli analyze` and `mli check`: everything measured along θ(α) = θ₀ + αΔ for one trained
 * network, written as interp.tsv, geometry_quantiles.tsv, examples.tsv and geometry.json
 * (README: "The run directory"). */
#ifndef MLI_ANALYZE_H
#define MLI_ANALYZE_H

#include "geometry/certify.h"
#include "geometry/controls.h"
#include "geometry/path.h"
#include "train/config.h"

typedef struct {
    const char *out_dir;     /* where the files go (the run directory for analyze) */
    const char *init_path;   /* θ₀ and θ₁ model files */
    const char *final_path;
    const char *data_dir;
    int alpha_steps;         /* grid points; ≤ 0: the configuration's alpha_steps */
    mli_bn_stats bn_stats;
    int n_examples;          /* geometry examples from the test set; < 0: all */
    int train_derivs;        /* dL/dα, d²L/dα² of the training loss (Taylor mode on the train set) */
    int certificates;        /* 1 on, 0 off, −1 auto (on for mse / recon) */
    int verify_steps;        /* fine grid for the verification of the verdicts (0: none) */
    int adaptive;            /* Gauss length also by adaptive quadrature */
    int hessian_k;           /* top-k Hessian eigenvalues (0: none) */
    int n_hessian_alphas;
    double hessian_alphas[16];
    int hessian_iters;
    int trace_samples;
    double threshold;        /* non-monotone threshold on Δ */
    int progress;
    int threads;             /* recorded only: the CLI sets the BLAS thread count */
    int write_interp;        /* write interp.tsv, geometry_quantiles.tsv, examples.tsv (0: geometry.json
                              * only, the directory's tables left alone) */
    mli_controls_opts controls; /* control experiments (geometry/controls.h) */
    int exact;               /* --exact: the piecewise-linear analysis (geometry/pwlan.h) */
} mli_analyze_opts;

void mli_analyze_opts_default(mli_analyze_opts *o);

typedef struct {
    double delta;    /* the reference's Δ (curve.h: mli_bumps) */
    double end_rise; /* rise over the last grid step, which Δ leaves out (mli_end_rise) */
    double wdist, norm_wdist, final_test_acc, final_train_loss;
    int monotone;
    double gauss_mean, gauss_median, gauss_frac_below_half_pi;
    int n_examples;
    int has_certificates;
    double bn_reset_weight; /* ema: weight of the reset statistics left (mli_path_bn_reset_weight); −1 without batch norm */
    mli_loss loss;
    mli_cert_summary cert;
    /* --exact (has_exact): counts over the analysed examples and the data set's Δ */
    int has_exact, exact_monotone, exact_violating, exact_undecided, exact_missed_by_grid;
    int exact_counterexamples, exact_c1p_false, exact_curve; /* curve: 1 exact, 0 enclosure, −1 none */
    double exact_delta_lo, exact_delta_hi, exact_grid_delta, exact_turning_mean, exact_smooth_mean;
} mli_analysis;

/* Run the analysis of cfg's data with the models of o; fills *res (may be NULL). */
int mli_analyze_run(const mli_config *cfg, const mli_analyze_opts *o, mli_analysis *res);
void mli_analysis_free(mli_analysis *r);

#endif
