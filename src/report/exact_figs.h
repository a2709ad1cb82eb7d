/* Figures of the exact analysis (`mli analyze --exact`, docs/exact.md) for the per-run report:
 * the exact loss of the first examples with their breakpoints, the total turning against the
 * pointwise Gauss length, and the data set's exact training-loss curve beside the grid's. */
#ifndef MLI_EXACT_FIGS_H
#define MLI_EXACT_FIGS_H

#include <stddef.h>

#include <cJSON.h>

#include "io/text.h"
#include "report/gnuplot.h"

typedef struct mli_exact_figs mli_exact_figs;

/* Read exact_loss.tsv, exact_breaks.tsv, exact_dataset.tsv, examples.tsv and interp.tsv of
 * run (those that exist) and geometry.json's `exact` object (geo may be NULL). MLI_EINPUT
 * naming the file for a malformed table. */
int mli_exact_figs_load(const char *run, const cJSON *geo, mli_exact_figs **out);
void mli_exact_figs_free(mli_exact_figs *x);

/* Was the run analysed with --exact? */
int mli_exact_figs_present(const mli_exact_figs *x);

/* The rows of the report's summary table for the exact analysis (nothing without it). */
void mli_exact_summary_rows(const mli_exact_figs *x, mli_buf *b);

/* The figure named f->name (exact_loss, exact_turning, exact_dataset): fills f and the HTML
 * caption and returns 1, or returns 0 with why saying what is missing. */
int mli_exact_fig_draw(const mli_exact_figs *x, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy);

#endif
