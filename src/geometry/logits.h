/* Logit trajectories (docs/theory.md §5): the outputs z(α) = f(x; θ₀ + αΔ) of a few examples along
 * the α grid, and a principal component analysis of all of them together, so that the paths
 * can be drawn in the 2D plane that holds most of their variance. */
#ifndef MLI_LOGITS_H
#define MLI_LOGITS_H

#include <stddef.h>

#include "data/dataset.h"
#include "nn/arch.h"

/* Z[(e·n_alpha + j)·k + c] = z_c(x_e) at α_j for the first N examples of d, eval mode with the
 * batch-norm statistics bn[j] (n_alpha blocks of nbuffers) or none. */
void mli_logits_path(const mli_arch *a, const mli_real *theta0, const mli_real *delta, const mli_real *bn,
                     const double *alpha, int n_alpha, const mli_data *d, int N, double *Z);

/* PCA of n points X[n·k] in ℝᵏ: centred on their mean, the eigenvectors of the k × k covariance
 * (LAPACKE_dsyevd) by decreasing eigenvalue. proj[n·ncomp] receives the coordinates on the first
 * ncomp components, ratio[ncomp] the fraction of the total variance each explains (NaN if the
 * points are all equal). MLI_EFAIL if LAPACK fails. */
int mli_pca(const double *X, size_t n, int k, int ncomp, double *proj, double *ratio);

#endif
