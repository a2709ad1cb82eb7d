/* mli sweep GRID --out SWEEP [-j N] [--task K] | --slurm [...] [--submit] */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/atomic.h"
#include "io/err.h"
#include "sweep/sweep.h"

void mli_usage_sweep(FILE *f)
{
    fprintf(f,
            "usage: mli sweep GRID --out SWEEP [-j N] [--task K] [--threads T] [--data-dir DIR]\n"
            "                 [--progress|--quiet]\n"
            "       mli sweep GRID --out SWEEP --slurm [--partition P] [--time HH:MM:SS] [--mem M]\n"
            "                 [--cpus C] [--max-parallel P] [--submit]\n\n"
            "Trains and analyses every configuration of the grid file GRID: one `key = a | b | c`\n"
            "per line ('#' comments), the runs being the product of the lines (the first varies\n"
            "slowest). Keys are the training keys of 'mli train --help' and the analysis options\n"
            "analyze.examples, analyze.verify_steps, analyze.alpha_steps, analyze.certificates\n"
            "(true/false), analyze.train_derivs (true/false), analyze.bn_stats (ema/exact).\n\n"
            "Writes SWEEP/grid.txt, SWEEP/jobs.txt (index, id, key=value of each run), SWEEP/sweep.json\n"
            "and one run directory SWEEP/runs/<id>/ per run, <id> a hash of the run's configuration.\n"
            "Each run is `mli train` then `mli analyze` in a child process (their output goes to\n"
            "runs/<id>/sweep.log). Finished runs are skipped, unfinished ones resumed, so the same\n"
            "command continues a killed sweep. A failed run is reported and the sweep carries on;\n"
            "a diverged run is a result (status diverged) and is not analysed. Two sweeps may share\n"
            "SWEEP: a run the other one is working on is busy, not failed; it is taken up again\n"
            "once that sweep lets it go (counted as finished by another process when it finished).\n\n"
            "options:\n"
            "  -j, --jobs N        runs at a time (default 1)\n"
            "  --threads T         BLAS threads of each run (default: max(1, CPUs / N))\n"
            "  --task K            only run K (the index in jobs.txt): one SLURM array task\n"
            "  --data-dir DIR      the folder holding the data set's files\n"
            "  --progress/--quiet  progress line (default: when stderr is a terminal)\n"
            "  --slurm             write SWEEP/slurm.sbatch, a job array of the runs, instead of\n"
            "                      running them; --submit also submits it with sbatch\n"
            "  --partition P, --time T (default 04:00:00), --mem M (default 4G), --cpus C (default 1),\n"
            "  --max-parallel P    the job array's resources and its limit of tasks at once\n\n"
            "Exit status: 0 every run finished (diverged ones included), 1 a run failed or the sweep\n"
            "was interrupted, 2 usage error (a bad grid names its line).\n");
}

typedef struct {
    const char *grid;
    mli_sweep_opts run;
    mli_slurm_opts slurm;
    int use_slurm, submit, slurm_opt;
} sweep_args;

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo || x > hi)
        return mli_err(MLI_EUSAGE, "%s: '%s' is not an integer from %d to %d", opt, v ? v : "", lo, hi);
    *out = (int)x;
    return MLI_OK;
}

/* 1 consumed, 0 not an option of ours, −1 bad value */
static int parse_opt(int argc, char **argv, int *i, sweep_args *a)
{
    const char *o = argv[*i];
    int rc = MLI_OK;
    const char **str = !strcmp(o, "--out")         ? &a->run.out
                       : !strcmp(o, "--data-dir")  ? &a->run.data_dir
                       : !strcmp(o, "--partition") ? &a->slurm.partition
                       : !strcmp(o, "--time")      ? &a->slurm.time
                       : !strcmp(o, "--mem")       ? &a->slurm.mem
                                                   : NULL;
    if (str) {
        rc = (*str = mli_cli_value(argc, argv, i)) ? MLI_OK : MLI_EUSAGE;
        a->slurm_opt |= str != &a->run.out && str != &a->run.data_dir;
    } else if (!strcmp(o, "-j") || !strcmp(o, "--jobs"))
        rc = parse_int(o, mli_cli_value(argc, argv, i), 1, 256, &a->run.jobs);
    else if (!strcmp(o, "--task"))
        rc = parse_int(o, mli_cli_value(argc, argv, i), 0, MLI_GRID_MAX_RUNS, &a->run.task);
    else if (!strcmp(o, "--cpus") || !strcmp(o, "--max-parallel")) {
        rc = parse_int(o, mli_cli_value(argc, argv, i), 1, 100000,
                       o[2] == 'c' ? &a->slurm.cpus : &a->slurm.max_parallel);
        a->slurm_opt = 1;
    } else if (!strcmp(o, "--slurm"))
        a->use_slurm = 1;
    else if (!strcmp(o, "--submit"))
        a->submit = a->use_slurm = 1;
    else
        return 0;
    return rc ? -1 : 1;
}

static int parse_args(int argc, char **argv, sweep_args *a)
{
    for (int i = 1; i < argc; i++) {
        int c = mli_cli_common(argc, argv, &i, &a->run.progress, &a->run.threads);
        if (!c)
            c = parse_opt(argc, argv, &i, a);
        if (c < 0)
            return MLI_EUSAGE;
        if (c > 0)
            continue;
        if (argv[i][0] == '-' || a->grid)
            return mli_err(MLI_EUSAGE, "sweep: unexpected argument '%s' (see 'mli sweep --help')", argv[i]);
        a->grid = argv[i];
    }
    if (!a->grid)
        return mli_err(MLI_EUSAGE, "sweep: which grid file? (mli sweep GRID --out SWEEP)");
    if (!a->run.out)
        return mli_err(MLI_EUSAGE, "sweep: --out SWEEP is required (the sweep's directory)");
    if (a->slurm_opt && !a->use_slurm)
        return mli_err(MLI_EUSAGE, "sweep: --partition, --time, --mem, --cpus and --max-parallel need --slurm");
    if (a->use_slurm && a->run.task >= 0)
        return mli_err(MLI_EUSAGE, "sweep: --task runs one run here; it does not go with --slurm");
    return a->use_slurm ? mli_slurm_check(&a->slurm) : MLI_OK;
}

/* An absolute path without whitespace (#SBATCH lines cannot quote). */
static int abs_path(const char *what, const char *p, char *out)
{
    if (!realpath(p, out))
        return mli_err(MLI_EUSAGE, "%s: %s: cannot resolve the path", what, p);
    if (strpbrk(out, " \t\n'\"\\$`"))
        return mli_err(MLI_EUSAGE, "%s: '%s': a path with spaces or quotes cannot go into a SLURM script",
                       what, out);
    return MLI_OK;
}

static int slurm(const sweep_args *a, int nruns)
{
    char exe[PATH_MAX], dir[PATH_MAX], cwd[PATH_MAX], data[PATH_MAX], tmp[PATH_MAX];
    int rc = abs_path("mli binary", "/proc/self/exe", exe);
    if (!rc)
        rc = abs_path("--out", a->run.out, dir);
    if (!rc)
        rc = abs_path("working directory", getcwd(tmp, sizeof tmp) ? tmp : ".", cwd);
    if (!rc && a->run.data_dir)
        rc = abs_path("--data-dir", a->run.data_dir, data);
    if (rc)
        return rc;
    mli_buf b = {0};
    mli_slurm_script(&a->slurm, nruns, exe, dir, cwd, a->run.data_dir ? data : NULL, &b);
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/slurm.sbatch", dir);
    rc = mli_buf_write(&b, script);
    mli_buf_free(&b);
    if (rc)
        return rc;
    printf("wrote %s (%d runs, jobs in %s/jobs.txt)\n", script, nruns, dir);
    if (!a->submit) {
        printf("submit it with: sbatch %s\n", script);
        return MLI_OK;
    }
    char jobid[64];
    rc = mli_slurm_submit(script, jobid, sizeof jobid);
    if (!rc)
        printf("submitted job array %s (%d tasks); follow it with: squeue -j %s\n", jobid, nruns, jobid);
    return rc;
}

int mli_cmd_sweep(int argc, char **argv)
{
    sweep_args a = {.run = {.jobs = 1, .task = -1}};
    for (int i = 1; i < argc; i++)
        if (mli_cli_is_help(argv[i])) {
            mli_usage_sweep(stdout);
            return 0;
        }
    if (parse_args(argc, argv, &a))
        return mli_cli_fail(MLI_EUSAGE);
    mli_grid g;
    mli_grid_run *runs = NULL;
    int n = 0;
    int rc = mli_grid_load(&g, a.grid);
    if (!rc)
        rc = mli_grid_expand(&g, &runs, &n);
    if (!rc && a.run.task >= n)
        rc = mli_err(MLI_EUSAGE, "--task %d: the grid has %d runs (0 to %d)", a.run.task, n, n - 1);
    if (!rc)
        rc = mli_sweep_write_plan(&g, runs, n, a.run.out);
    if (!rc && a.use_slurm)
        rc = slurm(&a, n);
    else if (!rc) {
        mli_sweep_summary s;
        rc = mli_sweep_run(&g, runs, n, &a.run, &s);
        if (rc != MLI_EUSAGE) {
            printf("sweep %s: %d run%s: %d done, %d failed, %d diverged, %d skipped (finished before)",
                   a.run.out, s.total, s.total == 1 ? "" : "s", s.done, s.failed, s.diverged, s.skipped);
            if (s.others)
                printf(", %d finished by another process", s.others);
            printf("\n");
        }
    }
    mli_grid_runs_free(runs, n);
    mli_grid_free(&g);
    return mli_cli_fail(rc);
}
