/* The training configuration: the reference code's keys and defaults (docs/theory.md §4), plus
 * mli's own (save_freq, synthetic data sizes). One table in config.c drives parsing,
 * validation, JSON output and the help text, so a key is declared exactly once. */
#ifndef MLI_CONFIG_H
#define MLI_CONFIG_H

#include <stdio.h>
#include <cJSON.h>

#include "nn/arch.h"

typedef enum { MLI_OPT_SGD, MLI_OPT_ADAM } mli_optim_name;
typedef enum { MLI_REG_NONE, MLI_REG_L1, MLI_REG_OUTR } mli_reg;

typedef struct {
    char dset_name[32];
    int datasize;
    int batchsize;
    int hsizes[MLI_MAX_HIDDEN];
    int nh;
    mli_act act_fn;
    int use_batchnorm;
    mli_loss loss_fn;
    mli_init_type init_type;
    mli_optim_name optim_name;
    double lr;
    double beta;
    int epochs;
    int test_every; /* evaluate the test set every K epochs (and at the last and the early-stop check) */
    mli_reg regularization;
    double regscale;
    double outR_reg;
    double outR_mult; /* > 0: each tensor's outR target is outR_mult · its norm at θ₀ */
    double random_label_proportion;
    double min_loss_threshold;
    int min_loss_epoch_check;
    int alpha_steps;
    long seed;
    int save_freq;
    int synth_dim;
    int synth_classes;
    int synth_test;
    int arch;    /* mli_arch_kind */
    int depth;   /* 0: the architecture's default */
    int width;   /* 0: the architecture's default */
    int augment; /* random crop and flip of training images */
} mli_config;

/* The largest α grid, for train's alpha_steps and analyze's --alpha-steps alike. */
#define MLI_ALPHA_STEPS_MAX 100000

/* The defaults of the reference code. */
void mli_config_default(mli_config *c);
/* Set one key from its text form; MLI_EUSAGE naming the key and the expected form. */
int mli_config_set(mli_config *c, const char *key, const char *value);
/* "key=value" */
int mli_config_set_pair(mli_config *c, const char *pair);
/* A file of key=value lines of any length, '#' comments; errors are MLI_EINPUT naming file
 * and line (a NUL byte, a directory too), except a key given twice in the file: MLI_EUSAGE
 * naming both lines. */
int mli_config_load_file(mli_config *c, const char *path);

/* Where each key was set, to refuse a key given twice (a repeated key is never silently
 * last-wins; the command line overriding a config file uses two of these). */
#define MLI_CONFIG_MAX_KEYS 64
typedef struct {
    char where[MLI_CONFIG_MAX_KEYS][160]; /* "" not set yet */
} mli_config_seen;
/* mli_config_set, or MLI_EUSAGE "key 'K' given twice: WHERE1 and WHERE2" when seen has it. */
int mli_config_set_once(mli_config *c, mli_config_seen *seen, const char *key, const char *value,
                        const char *where);
/* The same for "key=value". */
int mli_config_set_pair_once(mli_config *c, mli_config_seen *seen, const char *pair, const char *where);
/* Checks across keys (e.g. recon needs the output size to equal the input size is checked
 * later, with the data); MLI_EUSAGE. */
int mli_config_validate(const mli_config *c);
/* Every key with its value, as JSON (numbers as numbers, lists as arrays). */
cJSON *mli_config_to_json(const mli_config *c);
/* Read the keys back from JSON written by mli_config_to_json (unknown keys are an error). */
int mli_config_from_json(mli_config *c, const cJSON *obj, const char *label);
/* One value as text (the form mli_config_set accepts). */
void mli_config_get(const mli_config *c, const char *key, char *buf, size_t len);
/* Is key a configuration key? */
int mli_config_has_key(const char *key);
/* "  key  default  help" lines. */
void mli_config_print_help(FILE *f);

#endif
