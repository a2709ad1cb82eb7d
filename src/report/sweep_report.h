/* The report of a sweep directory: the paper's summary figures and index.html in
 * SWEEP_DIR/report/ (docs/theory.md §5).
 *
 * Reads the sweep as 'mli table' does (report/sweep_table.h) and each run's interp.tsv (the
 * alpha and train_loss columns). Figures, each NAME.tsv + NAME.gp + NAME.png + NAME.svg
 * (report/gnuplot.h):
 *   delta_lr_depth, delta_lr_width  heat maps of the mean delta per (learning rate, depth) and
 *                                   (learning rate, width) cell, over the other keys and every
 *                                   analysed run; depth = number of layers (entries of hsizes),
 *                                   width = the size of the last hidden layer (for the paper's
 *                                   hsizes 1024,w,10 the w that varies); left out when an axis
 *                                   has fewer than 2 values;
 *   gauss_delta, dist_delta,        scatter plots of delta against the mean Gauss length, the
 *   wdist_delta, gauss_dist         normalized distance and the distance ‖θ₁ − θ₀‖, and of the
 *                                   Gauss length against the normalized distance, coloured by
 *                                   optimizer and marked by batch norm, with Spearman's rank
 *                                   correlation in the title;
 *   curves_bn, curves_optim         the training loss along the path of every run, coloured by
 *                                   batch norm and by optimizer (raw loss; log scale when it
 *                                   spans decades).
 * Axes holding delta use a log scale when its positive values span decades; delta = 0 is then
 * drawn one decade below the smallest positive delta, on a tic labelled 0. index.html has the
 * paper's table, the figures with captions, the runs per status, and links to summary.tsv,
 * table.md, table.tex (rewritten here with the default thresholds) and each run's own report.
 *
 * Returns MLI_OK; MLI_EINPUT for a sweep without runs or a malformed file (named), before
 * anything is written; MLI_EFAIL when gnuplot is missing or fails (tables, scripts and
 * index.html are still written). */
#ifndef MLI_SWEEP_REPORT_H
#define MLI_SWEEP_REPORT_H

int mli_report_sweep(const char *sweep_dir);

#include <stddef.h>

#include "report/gnuplot.h"
#include "report/sweep_table.h"

enum { MLI_SWEEP_MAX_FIG = 9 };
/* Which figures: the heat maps, the scatter plots, the loss curves (bits of `which`). */
enum { MLI_SWEEP_FIG_HEAT = 1, MLI_SWEEP_FIG_SCATTER = 2, MLI_SWEEP_FIG_CURVES = 4 };

/* The figures above of the kinds in which, for runs already loaded (s is only read; the study
 * report passes the runs of several sweeps merged into one), drawn into dir (which must
 * exist); figures of other kinds are not touched there. fig receives
 * the figures made (at most MLI_SWEEP_MAX_FIG; their captions are the caller's to free),
 * notes the <li> items of the figures left out. Returns MLI_OK, a write failure, or MLI_EFAIL
 * when gnuplot is missing or failed, with its message in err (the other figures still made). */
int mli_report_sweep_figures(const mli_table_sweep *s, const char *dir, unsigned which, mli_gp_entry *fig,
                             int *nfig, mli_buf *notes, char *err, size_t nerr);

#endif
