/* Grid files of `mli sweep`: one `key = alternative | alternative | ...` per line, '#'
 * comments, blank lines. The runs are the product of all lines, the first line varying
 * slowest. Keys are the training keys (src/train/config.h) and the analysis options
 * analyze.examples, analyze.verify_steps, analyze.alpha_steps, analyze.certificates,
 * analyze.train_derivs, analyze.bn_stats (the `mli analyze` options of the same names).
 *
 * Every run has a stable id: the 64-bit FNV-1a hash of its canonical text (every training
 * key with its resolved value, in the key table's order, as mli_config_to_json prints it
 * unformatted, then the resolved analysis options one per line), printed as the hash's top
 * 48 bits in 12 hex digits. The id depends on the configuration only, never on the grid's
 * line order, so a run keeps its directory runs/<id> when the grid is rewritten or grown. */
#ifndef MLI_GRID_H
#define MLI_GRID_H

#include <stdint.h>
#include <stddef.h>

#include "geometry/analyze.h"
#include "io/text.h"
#include "train/config.h"

/* Upper bound on the runs of one grid: a typo like `seed = 0|1|...` times a big grid should
 * be an error, not a week of computing. */
#define MLI_GRID_MAX_RUNS 100000

typedef struct {
    char *key;
    int lineno;   /* line of the grid file, for messages */
    int analysis; /* an analyze.* key */
    int n;        /* alternatives, ≥ 1 */
    char **alts;  /* as written, trimmed */
} mli_grid_line;

typedef struct {
    char *label;  /* the file name, for messages */
    char *text;   /* the file's bytes: SWEEP/grid.txt is a copy */
    size_t len;
    int nlines;
    mli_grid_line *lines;
    long nruns;   /* product of the alternatives */
} mli_grid;

typedef struct {
    int index;
    char id[13];
    int *choice;         /* per grid line, the index of the alternative */
    mli_config cfg;      /* defaults overridden by the grid's training keys */
    mli_analyze_opts an; /* analyze defaults overridden by the analyze.* keys (no paths) */
    char *canon;         /* the canonical text hashed into id */
} mli_grid_run;

/* Parse grid text; label names it in messages ("GRID:LINE: ..."). MLI_EUSAGE on a line
 * without '=', an empty key or alternative, a repeated key, an unknown key, a value the key
 * does not accept, or a grid with no line at all. */
int mli_grid_parse(mli_grid *g, const char *label, const char *text, size_t len);
/* Read and parse a grid file (MLI_EUSAGE if it cannot be read: it is the command's input). */
int mli_grid_load(mli_grid *g, const char *path);
void mli_grid_free(mli_grid *g);

/* The run list, product order. Checks every run's configuration (mli_config_validate) and
 * the ids: the same configuration twice is MLI_EUSAGE, two configurations with one id (a
 * hash collision) MLI_EFAIL naming both runs. */
int mli_grid_expand(const mli_grid *g, mli_grid_run **runs, int *n);
void mli_grid_runs_free(mli_grid_run *runs, int n);

/* mli_fnv1a64: io/text.h */
/* The canonical text of a configuration and its analysis options (malloc'd). */
char *mli_grid_canonical(const mli_config *cfg, const mli_analyze_opts *an);
/* 12 hex digits and a terminator. */
void mli_grid_id(const char *canon, char id[13]);

/* The run's keys as "key=value" separated by sep: varying training keys, fixed training
 * keys, then analyze.* keys (varying first). Values as written in the grid. */
void mli_grid_run_pairs(const mli_grid *g, const mli_grid_run *r, char sep, mli_buf *b);
/* The command-line words of the run for `mli train` (key=value of every training line) or
 * `mli analyze` (--examples N, --no-certificates, ...): appended to words[*n] (each
 * malloc'd), at most max. */
void mli_grid_train_words(const mli_grid *g, const mli_grid_run *r, char **words, int *n, int max);
void mli_grid_analyze_words(const mli_grid *g, const mli_grid_run *r, char **words, int *n, int max);

#endif
