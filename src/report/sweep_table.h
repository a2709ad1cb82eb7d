/* A sweep directory read as a table of runs, and the paper's table made from it.
 *
 * A sweep directory (README: "Sweeps"; written by 'mli sweep') holds runs/<id>/, one run
 * directory per point of the grid, and sweep.json listing them ({"runs": [{"index", "id",
 * "path", "keys"}]}). sweep.json is optional: without it the runs are the subdirectories of
 * runs/, in name order. A run may be unfinished or failed: a run directory without config.json
 * is "pending" (its keys then come from sweep.json), one without geometry.json has no metrics.
 *
 * The keys that vary are the training keys (in the order of the key table of train/config.c)
 * whose values differ among the runs. Values are compared as text in one canonical form:
 * numbers with %.15g (lr 0.1 is "0.1"), booleans true/false, hsizes "1024,1024,10".
 *
 * The paper's table (docs/theory.md §2, §5): per optimizer × batch norm × learning rate, the
 * fraction of non-monotone runs (delta > delta threshold) among the successful ones (final
 * training loss below the loss threshold), with the counts and the mean delta of the
 * non-monotone runs. A run is
 *   successful  it has geometry.json and a final training loss below the threshold;
 *   excluded    unsuccessful: geometry.json with a final training loss at or above the
 *               threshold (or none), or no geometry.json and status diverged or stopped_early;
 *   pending     no result yet: no geometry.json and status running, done (not analysed yet)
 *               or pending.
 * Rows are ordered by optimizer (by name), batch norm (off first), then learning rate
 * descending, as in the paper. */
#ifndef MLI_SWEEP_TABLE_H
#define MLI_SWEEP_TABLE_H

#include <stddef.h>

#include "io/text.h"

enum { MLI_TABLE_PATH = 4096 };

typedef enum { MLI_TABLE_SUCCESS, MLI_TABLE_EXCLUDED, MLI_TABLE_PENDING } mli_table_outcome;

typedef struct {
    char id[128];                  /* the run's name: its directory under runs/ */
    char rel[512];                 /* its directory relative to the sweep directory */
    char dir[MLI_TABLE_PATH];      /* its directory */
    char status[32];               /* config.json "status"; "pending" without config.json */
    int has_config, has_geometry;
    char **val;                    /* per key of the sweep: canonical text, NULL unknown */
    /* the keys the table and the figures group by; unknown: lr NaN, optim "", bn -1, 0 sizes */
    double lr;
    char optim[32];
    int bn;
    int depth; /* number of layers = length of hsizes */
    /* the size of the last hidden layer (the one before the output; 0 without one): the w of
     * the paper's width sweep hsizes = 1024,w,10, w = 2 ... 2048, where the largest hidden size
     * would be 1024 for every w up to 1024 */
    int width;
    /* geometry.json; NaN when absent */
    double final_train_loss, final_test_loss, final_train_acc, final_test_acc;
    double delta, monotone, wdist, norm_wdist, gauss_length_mean, ntk_kernel_distance;
    double exact_delta_lo, exact_delta_hi, exact_turning_mean; /* --exact (NaN without) */
} mli_table_run;

typedef struct {
    char dir[MLI_TABLE_PATH]; /* the sweep directory, without trailing slashes */
    int n;
    mli_table_run *run;
    int nkey;
    char **key;  /* every training key, in the key-table order */
    int *varies; /* per key: 1 if its value differs among the runs */
    int has_ntk; /* some run has ntk.kernel_distance */
    int has_exact; /* some run was analysed with --exact */
} mli_table_sweep;

/* Is dir a sweep directory: no config.json of its own, and runs/ or sweep.json? */
int mli_table_is_sweep(const char *dir);

/* Read the sweep: sweep.json (if any), and each run's config.json and geometry.json.
 * MLI_EINPUT, naming the file and what is wrong, for a missing directory, a sweep without
 * runs, or a malformed file. */
int mli_table_load(mli_table_sweep *s, const char *dir);
void mli_table_free(mli_table_sweep *s);

/* summary.tsv: run_id, the keys that vary, status, then final_train_loss final_test_loss
 * final_train_acc final_test_acc delta monotone wdist norm_wdist gauss_length_mean, and
 * ntk_kernel_distance when some run has it. Numbers %.9g (nan when unknown). */
void mli_table_summary(const mli_table_sweep *s, mli_buf *b);

typedef struct {
    double loss_threshold;  /* successful: final training loss below this (default 0.1) */
    double delta_threshold; /* non-monotone: delta above this (default 1e-3) */
} mli_table_opts;

void mli_table_opts_default(mli_table_opts *o);
mli_table_outcome mli_table_classify(const mli_table_run *r, const mli_table_opts *o);

typedef struct {
    char optim[32];
    int bn;
    double lr;
    int n_runs, n_success, n_nonmono, n_excluded, n_pending;
    double mean_delta; /* of the non-monotone runs; NaN if there is none */
} mli_table_row;

typedef struct {
    mli_table_opts opts;
    int n;
    mli_table_row *row;
    int n_runs, n_success, n_nonmono, n_excluded, n_pending;
    int n_unknown; /* runs whose optimizer, batch norm or learning rate is unknown: no row */
} mli_table;

/* The paper's table of a sweep (rows in the paper's order). */
void mli_table_make(const mli_table_sweep *s, const mli_table_opts *o, mli_table *t);
void mli_table_clear(mli_table *t);
/* The table as Markdown (a sentence saying what is counted, then the table), as a LaTeX
 * tabular (text escaped), and as an HTML <table> (for the sweep report). */
void mli_table_markdown(const mli_table *t, mli_buf *b);
void mli_table_latex(const mli_table *t, mli_buf *b);
void mli_table_html(const mli_table *t, mli_buf *b);

/* mli table: write SWEEP/summary.tsv, table.md and table.tex (atomically); the Markdown text
 * is returned in md if md is not NULL. */
int mli_table_write(const mli_table_sweep *s, const mli_table_opts *o, mli_buf *md);

/* Spearman's rank correlation of the pairs (x_i, y_i) where both are finite (ties get their
 * mean rank; gsl_stats_spearman). *used = the number of such pairs; NaN when fewer than 2 or
 * when one side is constant. */
double mli_table_spearman(const double *x, const double *y, int n, int *used);

#endif
