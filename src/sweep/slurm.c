/* SLURM: a job array whose task K runs `mli sweep GRID --out SWEEP --task K`, the local
 * runner's own code path for one run, so a cluster sweep and a local one leave the same
 * directories and either can finish what the other started. */
#include "sweep/sweep.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/err.h"

/* Only these characters: the values go onto #SBATCH lines, which cannot quote. */
static int plain(const char *v, const char *allowed)
{
    if (!*v)
        return 0;
    for (const char *p = v; *p; p++)
        if (!strchr(allowed, *p))
            return 0;
    return 1;
}

static const char DIGITS[] = "0123456789";
static const char NAME[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,";

int mli_slurm_check(const mli_slurm_opts *s)
{
    if (s->partition && !plain(s->partition, NAME))
        return mli_err(MLI_EUSAGE, "--partition: '%s' is not a partition name", s->partition);
    /* SLURM's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS */
    if (s->time && !plain(s->time, "0123456789:-"))
        return mli_err(MLI_EUSAGE, "--time: '%s' is not a time limit (HH:MM:SS or D-HH:MM:SS)", s->time);
    if (s->mem) {
        size_t n = strspn(s->mem, DIGITS);
        if (n == 0 || (s->mem[n] && (strchr("KMGT", s->mem[n]) == NULL || s->mem[n + 1])))
            return mli_err(MLI_EUSAGE, "--mem: '%s' is not a memory size (e.g. 4G, 500M)", s->mem);
    }
    if (s->cpus < 0 || s->cpus > 4096)
        return mli_err(MLI_EUSAGE, "--cpus: %d is not a CPU count from 1 to 4096", s->cpus);
    if (s->max_parallel < 0)
        return mli_err(MLI_EUSAGE, "--max-parallel: %d is not a positive count", s->max_parallel);
    return MLI_OK;
}

void mli_slurm_script(const mli_slurm_opts *s, int nruns, const char *exe, const char *sweep_dir,
                      const char *cwd, const char *data_dir, mli_buf *b)
{
    int par = s->max_parallel > 0 ? s->max_parallel : nruns;
    mli_buf_printf(b, "#!/bin/bash\n"
                      "# mli sweep: %d runs as a SLURM job array, written by `mli sweep --slurm`.\n"
                      "# Submit with `sbatch %s/slurm.sbatch`. Array task K trains and analyses run K of\n"
                      "# %s/jobs.txt into %s/runs/<id>/; a task run again skips a finished run\n"
                      "# and resumes an unfinished one.\n",
                   nruns, sweep_dir, sweep_dir, sweep_dir);
    mli_buf_printf(b, "#SBATCH --job-name=mli-sweep\n");
    mli_buf_printf(b, "#SBATCH --array=0-%d%%%d\n", nruns - 1, par);
    if (s->partition)
        mli_buf_printf(b, "#SBATCH --partition=%s\n", s->partition);
    mli_buf_printf(b, "#SBATCH --time=%s\n", s->time ? s->time : "04:00:00");
    mli_buf_printf(b, "#SBATCH --mem=%s\n", s->mem ? s->mem : "4G");
    mli_buf_printf(b, "#SBATCH --cpus-per-task=%d\n", s->cpus > 0 ? s->cpus : 1);
    mli_buf_printf(b, "#SBATCH --chdir=%s\n", cwd);
    mli_buf_printf(b, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", sweep_dir);
    mli_buf_printf(b, "exec %s sweep %s/grid.txt --out %s --task \"$SLURM_ARRAY_TASK_ID\" "
                      "--threads \"${SLURM_CPUS_PER_TASK:-1}\"",
                   exe, sweep_dir, sweep_dir);
    if (data_dir)
        mli_buf_printf(b, " --data-dir %s", data_dir);
    mli_buf_printf(b, "\n");
}

/* Run sbatch --parsable SCRIPT with its stdout into a pipe; stderr passes through. */
int mli_slurm_submit(const char *script, char *jobid, size_t len)
{
    int fd[2];
    if (pipe(fd))
        return mli_err(MLI_EFAIL, "sbatch: cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execlp("sbatch", "sbatch", "--parsable", script, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0) {
        close(fd[0]);
        return mli_err(MLI_EFAIL, "sbatch: cannot start a process: %s", strerror(errno));
    }
    char out[256];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
        n += r > 0 ? (size_t)r : 0;
    out[n] = '\0';
    close(fd[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127)
        return mli_err(MLI_EFAIL, "sbatch: not found; is SLURM installed (Debian: slurm-client)? "
                       "The script is %s", script);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return mli_err(MLI_EFAIL, "sbatch %s failed (its message is above)", script);
    /* --parsable prints "jobid" or "jobid;cluster" */
    size_t id = strspn(out, DIGITS);
    if (!id)
        return mli_err(MLI_EFAIL, "sbatch %s: unexpected output '%s'", script, out);
    snprintf(jobid, len, "%.*s", (int)id, out);
    return MLI_OK;
}
