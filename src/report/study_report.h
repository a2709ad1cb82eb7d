/* The report of a study: a directory holding several sweep directories (one per part of the
 * study, as `make paper` writes them into runs/paper/), and one page that sets each of the
 * paper's claims beside what the parts measured.
 *
 * A study directory has no config.json, sweep.json or runs/ of its own, and at least one
 * subdirectory that is a sweep directory (report/sweep_table.h). A part's role comes from the
 * start of its directory name:
 *   arch...   claim 1: MLI is usual under SGD without batch norm, across architectures
 *   outr...   claim 2: moving far from initialization (the outR regularizer) breaks MLI
 *   optim...  claim 3: large learning rates, Adam and batch norm break MLI
 *   mse...    claim 6: the sufficient conditions for squared error (certificates)
 *   ae...     claim 7: autoencoders
 * and claims 4 (Δ against distance) and 5 (Δ against Gauss length) pool every run of the
 * arch, outr and optim parts (the cross-entropy classifiers). A part of another name is
 * reported and linked but enters no claim.
 *
 * mli_report_study writes each part's own report (mli_report_sweep: its table, summary.tsv and
 * figures in PART/report/), then STUDY/report/: claims.tsv (claim, verdict, measured text),
 * the figures of report/sweep_report.h over the pooled classifier runs, the outR and the MSE
 * figures, and index.html: the table of claims — claim, what the paper reports, what was
 * measured (numbers with counts), verdict — with the verdict rules, the figures, the parts'
 * wall times (STUDY/timing.tsv when make paper wrote it) and a link to every run.
 *
 * Verdicts are computed, never written by hand: study_report.c states each rule next to its
 * code, and the page prints the same rule under the table. A run counts in a claim at the
 * paper's thresholds: successful when its final training loss is below 0.1, non-monotone when
 * Δ > 1e-3 (mli_table_classify); the autoencoders and the MSE part count every analysed run,
 * their losses being on another scale.
 *
 * Returns MLI_OK; MLI_EINPUT for a directory without parts or a malformed file (named);
 * MLI_EFAIL when gnuplot is missing or failed (the tables and index.html are still written). */
#ifndef MLI_STUDY_REPORT_H
#define MLI_STUDY_REPORT_H

/* Is dir a study directory (see above)? */
int mli_study_is(const char *dir);
int mli_report_study(const char *dir);

#endif
