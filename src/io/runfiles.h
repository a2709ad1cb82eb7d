/* The files `mli analyze` and `mli check` write into a run directory, in one list for the
 * writer (geometry/analyze.c, which replaces them as a set), the report (which checks that they
 * belong together) and the retrain's clean-up (train/rundir.c). geometry.json, the set's commit
 * point, is not in the list. */
#ifndef MLI_RUNFILES_H
#define MLI_RUNFILES_H

enum {
    MLI_T_INTERP,        /* interp.tsv */
    MLI_T_QUANTILES,     /* geometry_quantiles.tsv */
    MLI_T_EXAMPLES,      /* examples.tsv */
    MLI_T_EXACT_LOSS,    /* exact_loss.tsv: --exact, the first examples' exact loss */
    MLI_T_EXACT_BREAKS,  /* exact_breaks.tsv: their breakpoints */
    MLI_T_EXACT_DATASET, /* exact_dataset.tsv: the data set's exact (or enclosed) curve */
    MLI_N_ANALYSIS_TABLES
};

extern const char *const mli_analysis_tables[MLI_N_ANALYSIS_TABLES];

#endif
