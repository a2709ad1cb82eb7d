/* Figures of the control experiments (geometry/controls.h) for the per-run report: the
 * unrelated initializations, the permutations, the 2D slice, the logit paths and the NTK
 * spectra. Their data are read and checked with the rest of the run's files (a malformed table
 * stops the report before anything is written); a figure whose data are absent is left out with
 * a note saying which option of `mli analyze` produces them. */
#ifndef MLI_CONTROL_FIGS_H
#define MLI_CONTROL_FIGS_H

#include <stddef.h>

#include <cJSON.h>

#include "io/text.h"
#include "report/gnuplot.h"

typedef struct mli_ctl_figs mli_ctl_figs;

/* Read random_inits.tsv, permute.tsv, plane.tsv, plane_points.tsv, logits.tsv of run (those
 * that exist) and the entries of geometry.json (geo may be NULL; it must outlive *out).
 * MLI_EINPUT naming file, line and column for a malformed table. */
int mli_ctl_figs_load(const char *run, const cJSON *geo, mli_ctl_figs **out);
void mli_ctl_figs_free(mli_ctl_figs *c);

/* Does the run have part of what figure 1 needs (the unrelated initializations or the plane)? A
 * run with neither needs no note about its absence. */
int mli_ctl_figure1_partial(const mli_ctl_figs *c);
/* The figure named f->name (one of figure1, random_inits, permute, plane, logits, ntk): fills f and the
 * HTML caption and returns 1, or returns 0 with why (plain text) saying what is missing. */
int mli_ctl_fig_draw(const mli_ctl_figs *c, mli_gp_fig *f, mli_buf *cap, char *why, size_t nwhy);

#endif
