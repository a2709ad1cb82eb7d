/* The options of the control experiments (geometry/controls.h), shared by `mli analyze`
 * through mli_cli_analysis_opt. */
#ifndef MLI_CLI_CONTROLS_OPTS_H
#define MLI_CLI_CONTROLS_OPTS_H

#include <stdio.h>

#include "geometry/controls.h"

/* 1 consumed (advancing *i past a value), 0 not ours, −1 bad value (message recorded). */
int mli_cli_controls_opt(int argc, char **argv, int *i, mli_controls_opts *o);
void mli_cli_controls_help(FILE *f);

#endif
