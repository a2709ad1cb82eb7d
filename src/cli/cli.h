/* The `mli` command: one file per subcommand, no numerics here. */
#ifndef MLI_CLI_H
#define MLI_CLI_H

#include <stdio.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
    const char *summary;
    void (*usage)(FILE *f);
} mli_command;

int mli_cmd_train(int argc, char **argv);
void mli_usage_train(FILE *f);
int mli_cmd_report(int argc, char **argv);
void mli_usage_report(FILE *f);
int mli_cmd_help(int argc, char **argv);
int mli_cmd_run(int argc, char **argv);
void mli_usage_run(FILE *f);
int mli_cmd_sweep(int argc, char **argv);
void mli_usage_sweep(FILE *f);
int mli_cmd_table(int argc, char **argv);
void mli_usage_table(FILE *f);
int mli_cmd_export(int argc, char **argv);
void mli_usage_export(FILE *f);
int mli_cmd_figure1(int argc, char **argv);
void mli_usage_figure1(FILE *f);

/* Print "mli: <message>" for a failed status and return it (the exit status). */
int mli_cli_fail(int status);
/* Options shared by the commands that compute: --threads N, --progress, --quiet.
 * Returns 1 if argv[*i] was one of them (advancing *i past a value), 0 if not, and
 * -1 (message recorded) on a bad value. */
int mli_cli_common(int argc, char **argv, int *i, int *progress, int *threads);
/* Is this --help / -h? */
int mli_cli_is_help(const char *arg);
/* Needs a value: returns argv[++*i] or NULL with a usage error recorded. */
const char *mli_cli_value(int argc, char **argv, int *i);

const mli_command *mli_commands(int *n);

#include "geometry/analyze.h"
int mli_cmd_analyze(int argc, char **argv);
void mli_usage_analyze(FILE *f);
int mli_cmd_check(int argc, char **argv);
void mli_usage_check(FILE *f);
/* --alpha-steps, --examples, ... (see mli_cli_analysis_help): 1 consumed, 0 not ours, −1 bad */
int mli_cli_analysis_opt(int argc, char **argv, int *i, mli_analyze_opts *o);
void mli_cli_analysis_help(FILE *f);
/* The arguments of `mli train` and `mli run` after the config file: --out, --data-dir,
 * --force, the common options and key=value (a key given twice is MLI_EUSAGE). argv[0] is
 * the subcommand; --config (train only) is skipped, it was read before. */
#include "train/train.h"
int mli_cli_train_args(int argc, char **argv, mli_config *cfg, mli_config_seen *seen, mli_train_opts *o);
/* train → analyze → report, for `mli run` and `mli figure1`: a finished training with the same
 * keys in t->out is reused, anything else goes to mli_train_run (resume, or refusal without
 * --force); then the analysis with o (its paths, data folder and progress set here; cmd names
 * the command in the batch-norm warning) into *res, and the report. *res is always set (free it
 * with mli_analysis_free); *analysed says whether the analysis ran (MLI_EFAIL from it leaves its
 * partial results in *res, MLI_EFAIL from training nothing). */
int mli_cli_pipeline(const char *cmd, const mli_config *cfg, const mli_train_opts *t, mli_analyze_opts *o,
                     mli_analysis *res, int *analysed);
/* The warning when the ema batch-norm statistics are far from converged (stderr). */
void mli_cli_bn_warning(const char *cmd, const mli_analysis *r);
/* The --exact lines of the summaries of analyze and check (nothing without --exact). */
void mli_cli_exact_summary(FILE *f, const mli_analysis *r, double threshold);
/* Make sure the output folder dir exists (created with its parents) and takes files, before any
 * work; MLI_EUSAGE naming the option and the folder if not. */
int mli_cli_output_dir(const char *dir, const char *opt);
/* A run directory's configuration (config.json). */
int mli_cli_read_run_config(const char *run_dir, mli_config *cfg);
/* A run directory's two models and its keys: init/final.safetensors with config.json (keys
 * refused), or, without final.safetensors, init/final.onnx with config.json if present, else
 * the key=value pairs given (nkeys of them, dset_name required). ip, fp: 4096 chars. */
int mli_cli_run_models(const char *run, char *ip, char *fp, mli_config *cfg, char *const *keys, int nkeys,
                       const char *cmd);

#endif
