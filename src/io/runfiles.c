/* The files of a run directory: see runfiles.h. */
#include "io/runfiles.h"

const char *const mli_analysis_tables[MLI_N_ANALYSIS_TABLES] = {
    "interp.tsv",     "geometry_quantiles.tsv", "examples.tsv",
    "exact_loss.tsv", "exact_breaks.tsv",       "exact_dataset.tsv",
};
