/* mli train [--out DIR] [--config FILE] [key=value ...] */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"
#include "train/train.h"

void mli_usage_train(FILE *f)
{
    fprintf(f, "usage: mli train [--out DIR] [--config FILE] [--data-dir DIR] [--force]\n"
               "                 [--threads N] [--progress|--quiet] [key=value ...]\n\n"
               "Trains the reference FCNet and writes the run directory DIR (default runs/train):\n"
               "config.json, init.safetensors, train.tsv, checkpoint.safetensors, final.safetensors.\n"
               "Re-running the same command on an unfinished run resumes it from its checkpoint;\n"
               "on a finished run it refuses unless --force. Keys (config-file lines are key=value,\n"
               "command-line keys win):\n\n");
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
        if (!strcmp(argv[i], "--config") && !(config_file = mli_cli_value(argc, argv, &i)))
            return mli_cli_fail(MLI_EUSAGE);
    }
    if (config_file && mli_config_load_file(&cfg, config_file))
        return mli_cli_fail(MLI_EINPUT);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int c = mli_cli_common(argc, argv, &i, &o.progress, &o.threads);
        if (c < 0)
            return mli_cli_fail(MLI_EUSAGE);
        if (c > 0)
            continue;
        if (!strcmp(a, "--config"))
            i++;
        else if (!strcmp(a, "--out")) {
            if (!(o.out = mli_cli_value(argc, argv, &i)))
                return mli_cli_fail(MLI_EUSAGE);
        } else if (!strcmp(a, "--data-dir")) {
            if (!(o.data_dir = mli_cli_value(argc, argv, &i)))
                return mli_cli_fail(MLI_EUSAGE);
        } else if (!strcmp(a, "--force"))
            o.force = 1;
        else if (a[0] == '-') {
            mli_err(MLI_EUSAGE, "train: unknown option '%s' (see 'mli train --help')", a);
            return mli_cli_fail(MLI_EUSAGE);
        } else if (mli_config_set_pair(&cfg, a))
            return mli_cli_fail(MLI_EUSAGE);
    }
    return mli_cli_fail(mli_train_run(&cfg, &o));
}
