/* The report of one run directory: gnuplot figures and index.html in RUN_DIR/report/.
 *
 * Reads config.json (required: it is what makes a directory a run directory) and, when
 * present, train.tsv, interp.tsv, geometry_quantiles.tsv, examples.tsv and geometry.json
 * (README: "The run directory"). Tables are read by column name; a missing optional file, column or
 * JSON key only removes the figure or row that needs it. Figures: loss_alpha, acc_alpha,
 * train_curves, dloss_alpha, geometry_alpha, gauss_hist, certificates, hessian, and the
 * control experiments' figures when their tables exist (report/control_figs.h); each is
 * NAME.tsv (+ NAME_*.tsv), NAME.gp, NAME.png and NAME.svg.
 *
 * Returns MLI_OK; MLI_EINPUT for a missing run directory or a malformed file (the message
 * names the file and line or key), before anything is written; MLI_EUSAGE for a folder that
 * is neither a run nor a sweep directory (sweeps: report/sweep_report.h); MLI_EFAIL when gnuplot is missing or fails: every table,
 * script and index.html is still written, and the message says how to render later. */
#ifndef MLI_RUN_REPORT_H
#define MLI_RUN_REPORT_H

int mli_report_run(const char *run_dir);

#endif
