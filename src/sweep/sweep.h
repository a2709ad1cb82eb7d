/* `mli sweep`: the run list of a grid (grid.h) trained and analysed into SWEEP/runs/<id>/,
 * locally N at a time or as a SLURM job array. Every run is a child process executing this
 * same binary (`mli train`, then `mli analyze`), so a run is exactly what the user would get
 * from those commands, a crash stays in its run, and the cluster path is the local path.
 *
 * SWEEP/ holds grid.txt (the grid), jobs.txt (`index<TAB>id<TAB>key=value ...`), sweep.json
 * ({"n_runs", "varying": [keys], "fixed": {key: value}, "runs": [{"index", "id", "keys":
 * {varying key: value}, "path": "runs/<id>"}]}, values typed as in config.json), runs/<id>/
 * (a run directory plus sweep.log, the children's output) and, for SLURM, slurm.sbatch. */
#ifndef MLI_SWEEP_H
#define MLI_SWEEP_H

#include "io/text.h"
#include "sweep/grid.h"

typedef struct {
    const char *out;      /* SWEEP */
    const char *exe;      /* the binary the children execute; NULL: /proc/self/exe */
    const char *data_dir; /* passed on to train and analyze; NULL: their lookup */
    int jobs;             /* runs at a time, ≥ 1 */
    int task;             /* run only this index; −1: every run */
    int threads;          /* BLAS threads of each child; 0: max(1, cpus / jobs) */
    int progress;         /* 1 always, −1 never, 0 when stderr is a terminal */
} mli_sweep_opts;

typedef struct {
    int total;    /* runs selected */
    int done;     /* trained and analysed by this invocation */
    int failed;   /* a child failed (its output in runs/<id>/sweep.log) */
    int diverged; /* training diverged (now or before): a result, not a failure */
    int skipped;  /* finished before this invocation */
    int others;   /* busy when tried (another process held them), finished by that process */
} mli_sweep_summary;

/* SWEEP/grid.txt, jobs.txt and sweep.json (each rewritten only when its text changes). */
int mli_sweep_write_plan(const mli_grid *g, const mli_grid_run *runs, int n, const char *out);
/* jobs.txt's text. */
void mli_sweep_jobs_text(const mli_grid *g, const mli_grid_run *runs, int n, mli_buf *b);
/* sweep.json's object. */
cJSON *mli_sweep_json(const mli_grid *g, const mli_grid_run *runs, int n);

/* Train and analyse the selected runs, skipping finished ones and resuming unfinished ones.
 * A run another live process holds (its lock: another sweep on the same directory, a SLURM
 * task) is busy, not failed: it is tried again when nothing else is left to start, and then
 * counted as finished by that process, or taken over where that process left it.
 * MLI_OK when every selected run finished (diverged included), MLI_EFAIL when some failed
 * or the sweep was interrupted (SIGINT, SIGTERM, SIGHUP: the children are stopped too). */
int mli_sweep_run(const mli_grid *g, const mli_grid_run *runs, int n, const mli_sweep_opts *o,
                  mli_sweep_summary *s);
/* Usable CPUs (the affinity mask: what a SLURM allocation or taskset grants). */
int mli_sweep_cpus(void);

typedef struct {
    const char *partition; /* NULL: the cluster's default */
    const char *time;      /* --time, NULL: "04:00:00" */
    const char *mem;       /* --mem, NULL: "4G" */
    int cpus;              /* --cpus-per-task, 0: 1 */
    int max_parallel;      /* the %P of --array, 0: every run at once */
} mli_slurm_opts;

/* Check the option values (MLI_EUSAGE naming the option). */
int mli_slurm_check(const mli_slurm_opts *s);
/* The job array script: every path absolute (exe, sweep_dir, cwd — the job's working
 * directory, where ./data is looked up — and data_dir when not NULL). */
void mli_slurm_script(const mli_slurm_opts *s, int nruns, const char *exe, const char *sweep_dir,
                      const char *cwd, const char *data_dir, mli_buf *b);
/* Submit a script with sbatch; the job id goes to jobid. */
int mli_slurm_submit(const char *script, char *jobid, size_t len);

#endif
