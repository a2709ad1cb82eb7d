/* mli train [--out DIR] [--config FILE] [key=value ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "train/train.h"

void mli_usage_train(FILE *f)
{
    fprintf(f, "usage: mli train [--out DIR] [--config FILE] [--data-dir DIR] [--force]\n"
               "                 [--threads N] [--progress|--quiet] [key=value ...]\n\n"
               "Trains the reference FCNet (or with arch= its LeNet, VGG or CIFAR ResNet) and writes\n"
               "the run directory DIR (default runs/train):\n"
               "config.json, init.safetensors, train.tsv, checkpoint.safetensors, final.safetensors.\n"
               "Re-running the same command on an unfinished run (killed, or stopped by a failed\n"
               "write) resumes it from its checkpoint; on a finished run it refuses unless --force,\n"
               "which deletes the old run's files (model, analysis, report, snapshots) first. One\n"
               "mli process at a time trains in DIR: a second one fails at once (exit status 1).\n"
               "Keys (config-file lines are key=value; a command-line key overrides the file's, a\n"
               "key given twice elsewhere is an error):\n\n");
    mli_config_print_help(f);
}

int mli_cmd_train(int argc, char **argv)
{
    mli_config cfg;
    mli_config_default(&cfg);
    mli_train_opts o = {.out = "runs/train"};
    const char *config_file = NULL;
    /* two passes: the config file first, then command-line keys, which win */
    for (int i = 1; i < argc; i++) {
        if (mli_cli_is_help(argv[i])) {
            mli_usage_train(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--config")) {
            const char *prev = config_file;
            if (!(config_file = mli_cli_value(argc, argv, &i)))
                return mli_cli_fail(MLI_EUSAGE);
            if (prev) {
                mli_err(MLI_EUSAGE, "--config given twice ('%s' and '%s'); give one file", prev, config_file);
                return mli_cli_fail(MLI_EUSAGE);
            }
        }
    }
    int rc = config_file ? mli_config_load_file(&cfg, config_file) : MLI_OK;
    if (rc)
        return mli_cli_fail(rc);
    mli_config_seen *seen = mli_calloc(1, sizeof *seen); /* keys of the command line */
    rc = mli_cli_train_args(argc, argv, &cfg, seen, &o);
    free(seen);
    return mli_cli_fail(rc ? rc : mli_train_run(&cfg, &o));
}

int mli_cli_train_args(int argc, char **argv, mli_config *cfg, mli_config_seen *seen, mli_train_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int c = mli_cli_common(argc, argv, &i, &o->progress, &o->threads);
        if (c < 0)
            return MLI_EUSAGE;
        if (c > 0)
            continue;
        if (!strcmp(a, "--config") && !strcmp(argv[0], "train"))
            i++;
        else if (!strcmp(a, "--out")) {
            if (!(o->out = mli_cli_value(argc, argv, &i)))
                return MLI_EUSAGE;
        } else if (!strcmp(a, "--data-dir")) {
            if (!(o->data_dir = mli_cli_value(argc, argv, &i)))
                return MLI_EUSAGE;
        } else if (!strcmp(a, "--force"))
            o->force = 1;
        else if (a[0] == '-')
            return mli_err(MLI_EUSAGE, "%s: unknown option '%s' (see 'mli %s --help')", argv[0], a, argv[0]);
        else {
            char where[160];
            snprintf(where, sizeof where, "'%.100s' (argument %d of the command line)", a, i);
            if (mli_config_set_pair_once(cfg, seen, a, where))
                return MLI_EUSAGE;
        }
    }
    return MLI_OK;
}
