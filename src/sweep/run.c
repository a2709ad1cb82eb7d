/* The sweep runner: the plan files, then a pool of child processes, each one run's
 * `mli train` followed by its `mli analyze`. State lives in the run directories only (the
 * status in config.json, geometry.json), so a sweep killed at any point — even with SIGKILL —
 * loses no finished run and resumes where it stopped when started again. */
#include "sweep/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/err.h"
#include "io/lock.h"
#include "nn/model.h" /* MLI_VERSION */
#include "train/rundir.h"

/* ---- the plan: grid.txt, jobs.txt, sweep.json -------------------------------------------- */

void mli_sweep_jobs_text(const mli_grid *g, const mli_grid_run *runs, int n, mli_buf *b)
{
    for (int i = 0; i < n; i++) {
        mli_buf_printf(b, "%d\t%s\t", runs[i].index, runs[i].id);
        mli_grid_run_pairs(g, &runs[i], ' ', b);
        mli_buf_printf(b, "\n");
    }
}

/* A value of a run as JSON: training keys typed as in config.json, analysis options as
 * numbers, booleans or strings. */
static cJSON *value_json(const mli_grid_line *l, const mli_grid_run *r, int line)
{
    const char *v = l->alts[r->choice[line]];
    if (l->analysis) {
        if (!strcmp(v, "true") || !strcmp(v, "false"))
            return cJSON_CreateBool(!strcmp(v, "true"));
        char *end;
        double x = strtod(v, &end);
        return *end ? cJSON_CreateString(v) : cJSON_CreateNumber(x);
    }
    cJSON *all = mli_config_to_json(&r->cfg);
    cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(all, l->key);
    cJSON_Delete(all);
    return item;
}

cJSON *mli_sweep_json(const mli_grid *g, const mli_grid_run *runs, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mli_version", MLI_VERSION);
    cJSON_AddStringToObject(o, "grid", "grid.txt");
    cJSON_AddNumberToObject(o, "n_runs", n);
    cJSON *varying = cJSON_AddArrayToObject(o, "varying");
    cJSON *fixed = cJSON_AddObjectToObject(o, "fixed");
    for (int i = 0; i < g->nlines; i++) {
        if (g->lines[i].n > 1)
            cJSON_AddItemToArray(varying, cJSON_CreateString(g->lines[i].key));
        else if (n > 0)
            cJSON_AddItemToObject(fixed, g->lines[i].key, value_json(&g->lines[i], &runs[0], i));
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "runs");
    for (int k = 0; k < n; k++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "index", runs[k].index);
        cJSON_AddStringToObject(r, "id", runs[k].id);
        cJSON *keys = cJSON_AddObjectToObject(r, "keys");
        for (int i = 0; i < g->nlines; i++)
            if (g->lines[i].n > 1)
                cJSON_AddItemToObject(keys, g->lines[i].key, value_json(&g->lines[i], &runs[k], i));
        char path[32];
        snprintf(path, sizeof path, "runs/%s", runs[k].id);
        cJSON_AddStringToObject(r, "path", path);
        cJSON_AddItemToArray(arr, r);
    }
    return o;
}

/* Rewrite only on change: the array tasks of a SLURM sweep all write the same plan. */
static int write_if_changed(const char *path, const char *text, size_t len)
{
    unsigned char *old;
    size_t n;
    if (mli_file_read(path, 1u << 28, &old, &n) == MLI_OK) {
        int same = n == len && !memcmp(old, text, len);
        free(old);
        if (same)
            return MLI_OK;
    }
    mli_err_clear();
    return mli_atomic_write(path, text, len);
}

int mli_sweep_write_plan(const mli_grid *g, const mli_grid_run *runs, int n, const char *out)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/runs", out);
    int rc = mli_mkdirs(p);
    snprintf(p, sizeof p, "%s/grid.txt", out);
    if (!rc)
        rc = write_if_changed(p, g->text, g->len);
    mli_buf b = {0};
    mli_sweep_jobs_text(g, runs, n, &b);
    snprintf(p, sizeof p, "%s/jobs.txt", out);
    if (!rc)
        rc = write_if_changed(p, b.s ? b.s : "", b.len);
    mli_buf_free(&b);
    cJSON *j = mli_sweep_json(g, runs, n);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    mli_buf_printf(&b, "%s\n", text);
    free(text);
    snprintf(p, sizeof p, "%s/sweep.json", out);
    if (!rc)
        rc = write_if_changed(p, b.s, b.len);
    mli_buf_free(&b);
    return rc;
}

int mli_sweep_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- the runner ------------------------------------------------------------------------- */

/* J_BUSY: another live process holds the run's lock (another sweep, a SLURM task); the run
 * is tried again once this sweep has nothing else to start, and whatever that process left is
 * taken from there: its result when it finished the run, the rest of the work otherwise. */
typedef enum { J_WAITING, J_TRAIN, J_ANALYZE, J_END, J_BUSY } jstate;
typedef enum { R_NONE, R_DONE, R_FAILED, R_DIVERGED, R_SKIPPED, R_OTHER } jresult;

typedef struct {
    const mli_grid_run *r;
    char dir[4096];
    char log[4128];
    jstate st;
    jresult res;
    pid_t pid;
    int lock; /* the run directory's lock (io/lock.h), held while this sweep works on it (−1: not held) */
} job;

typedef struct {
    const mli_grid *g;
    const mli_sweep_opts *o;
    char threads[16];
    job *jobs;
    int njobs, next, running, interrupted;
    int busy;         /* runs in J_BUSY */
    double busy_try;  /* when they were last tried */
    int finished_now; /* runs this invocation finished, for the ETA */
    mli_sweep_summary *s;
    mli_progress prog;
    double t0;
    char **env; /* the children's environment: they inherit the run's lock (io/lock.h) */
} sweep;

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

/* The training status in config.json ("" if none or unreadable). */
static void run_status(const char *dir, char *status, size_t len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    status[0] = '\0';
    cJSON *j;
    if (!mli_exists_in(dir, "config.json") || mli_json_read(p, &j)) {
        mli_err_clear();
        return;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (cJSON_IsString(s))
        snprintf(status, len, "%s", s->valuestring);
    cJSON_Delete(j);
}

static int trained(const char *status) { return !strcmp(status, "done") || !strcmp(status, "stopped_early"); }

/* Temporary files of a writer that was killed: nothing else writes into a run directory
 * this sweep holds the lock of, so they are garbage. */
static void log_line(const job *j, const char *text)
{
    FILE *f = fopen(j->log, "a");
    if (!f)
        return;
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(f, "== %s %s\n", when, text);
    fclose(f);
}

/* Fork and exec this binary with words; the child's stdout and stderr go to the run's
 * sweep.log. */
static int spawn(sweep *sw, job *j, char **words)
{
    mli_buf cmd = {0};
    for (int i = 0; words[i]; i++)
        mli_buf_printf(&cmd, "%s%s", i ? " " : "", i ? words[i] : "mli");
    log_line(j, cmd.s);
    mli_buf_free(&cmd);
    int fd = open(j->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return mli_err(MLI_EFAIL, "%s: cannot open: %s", j->log, strerror(errno));
    const char *exe = sw->o->exe ? sw->o->exe : "/proc/self/exe";
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* only async-signal-safe calls between fork and exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a sweep killed with SIGKILL takes its children along */
        if (getppid() != parent)
            _exit(127); /* the parent died before prctl */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (j->lock >= 0)
            dup2(j->lock, MLI_LOCK_CHILD_FD); /* the child's training takes this lock over */
        execve(exe, words, sw->env);
        static const char msg[] = "mli sweep: cannot execute the mli binary\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(fd);
    if (pid < 0)
        return mli_err(MLI_EFAIL, "cannot start a process: %s", strerror(errno));
    j->pid = pid;
    return MLI_OK;
}

static void free_words(char **w)
{
    for (int i = 0; w[i]; i++)
        free(w[i]);
}

enum { MAX_WORDS = 256 };

static int start_child(sweep *sw, job *j, jstate what)
{
    char *w[MAX_WORDS + 1] = {0};
    int n = 0;
    const char *head[] = {"mli", what == J_TRAIN ? "train" : "analyze"};
    for (int i = 0; i < 2; i++)
        w[n++] = mli_strdup(head[i]);
    if (what == J_TRAIN) {
        w[n++] = mli_strdup("--out");
        w[n++] = mli_strdup(j->dir);
    } else
        w[n++] = mli_strdup(j->dir);
    const char *tail[] = {"--quiet", "--threads", sw->threads};
    for (int i = 0; i < 3; i++)
        w[n++] = mli_strdup(tail[i]);
    if (sw->o->data_dir) {
        w[n++] = mli_strdup("--data-dir");
        w[n++] = mli_strdup(sw->o->data_dir);
    }
    if (what == J_TRAIN)
        mli_grid_train_words(sw->g, j->r, w, &n, MAX_WORDS);
    else
        mli_grid_analyze_words(sw->g, j->r, w, &n, MAX_WORDS);
    int rc = spawn(sw, j, w);
    free_words(w);
    if (!rc)
        j->st = what;
    return rc;
}

/* now: finished by this invocation (counts towards the ETA) */
static void count(sweep *sw, jresult res, int now)
{
    mli_sweep_summary *s = sw->s;
    if (res == R_DONE)
        s->done++;
    else if (res == R_FAILED)
        s->failed++;
    else if (res == R_DIVERGED)
        s->diverged++;
    else if (res == R_SKIPPED)
        s->skipped++;
    else if (res == R_OTHER)
        s->others++;
    sw->finished_now += now;
}

static void end_job(sweep *sw, job *j, jresult res, int now)
{
    if (j->st == J_TRAIN || j->st == J_ANALYZE)
        sw->running--;
    j->st = J_END;
    j->res = res;
    j->pid = 0;
    mli_dir_unlock(j->lock);
    j->lock = -1;
    count(sw, res, now);
}

/* Report a failed run on stderr with the end of its log. */
static void report_failure(sweep *sw, job *j, const char *what)
{
    fprintf(stderr, "%smli sweep: run %d (%s) failed: %s; see %s\n", sw->prog.on ? "\r\033[K" : "",
            j->r->index, j->r->id, what, j->log);
    unsigned char *buf;
    size_t n;
    if (mli_file_read(j->log, 1u << 24, &buf, &n)) {
        mli_err_clear();
        return;
    }
    /* the last two lines the child wrote */
    char *text = (char *)buf, *end = text + n;
    while (end > text && end[-1] == '\n')
        end--;
    char *start = end;
    for (int lines = 0; start > text && lines < 2; start--)
        if (start[-1] == '\n' && ++lines == 2)
            break;
    *end = '\0';
    for (char *line = start, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "== ", 3))
            fprintf(stderr, "    %s\n", line);
    }
    free(buf);
}

static void fail_job(sweep *sw, job *j, const char *what)
{
    char *msg = mli_strdup(what); /* what may be mli_errmsg(), which reading the log resets */
    report_failure(sw, j, msg);   /* before the log's last line is ours */
    log_line(j, msg);
    free(msg);
    end_job(sw, j, R_FAILED, 1);
}

/* Another live process holds the run (a lock dies with its process): not a failure. The run
 * waits until this sweep has nothing else to start, then is tried again. */
static void busy_job(sweep *sw, job *j)
{
    if (j->st != J_BUSY) {
        fprintf(stderr, "%smli sweep: run %d (%s) is busy: another process is working on it; skipped "
                        "for now, its outcome is taken when that process is done with it\n",
                sw->prog.on ? "\r\033[K" : "", j->r->index, j->r->id);
        j->st = J_BUSY;
        sw->busy++;
    }
}

/* Take the run: lock it, look at what is already there, start what is missing. */
static void start_job(sweep *sw, job *j)
{
    int was_busy = j->st == J_BUSY;
    if (mli_mkdirs(j->dir)) {
        sw->busy -= was_busy;
        fail_job(sw, j, mli_errmsg());
        return;
    }
    if (mli_dir_lock(j->dir, &j->lock)) {
        j->lock = -1;
        if (mli_dir_lock_was_busy()) {
            busy_job(sw, j);
            return;
        }
        sw->busy -= was_busy;
        fail_job(sw, j, mli_errmsg());
        return;
    }
    sw->busy -= was_busy;
    char status[32];
    run_status(j->dir, status, sizeof status);
    if (!strcmp(status, "diverged")) {
        end_job(sw, j, R_DIVERGED, 0);
        return;
    }
    if (trained(status) && mli_exists_in(j->dir, "geometry.json")) {
        /* finished before this sweep, or while it waited for another process to let it go */
        end_job(sw, j, was_busy ? R_OTHER : R_SKIPPED, 0);
        return;
    }
    mli_rundir_remove_stale_tmp(j->dir); /* mli's own temporaries only, under the lock */
    int rc = start_child(sw, j, trained(status) ? J_ANALYZE : J_TRAIN);
    if (rc) {
        fail_job(sw, j, mli_errmsg());
        return;
    }
    sw->running++;
}

static job *find_pid(sweep *sw, pid_t pid)
{
    for (int i = 0; i < sw->njobs; i++)
        if (sw->jobs[i].pid == pid && (sw->jobs[i].st == J_TRAIN || sw->jobs[i].st == J_ANALYZE))
            return &sw->jobs[i];
    return NULL;
}

static void describe_exit(int wstatus, const char *what, char *buf, size_t len)
{
    if (WIFEXITED(wstatus))
        snprintf(buf, len, "mli %s exited with status %d", what, WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(buf, len, "mli %s was killed by signal %d (%s)", what, WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(buf, len, "mli %s ended abnormally", what);
}

/* A child ended: the next step of its run, or the run's result. */
static void child_ended(sweep *sw, job *j, int wstatus)
{
    int ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    const char *what = j->st == J_TRAIN ? "train" : "analyze";
    char why[256];
    describe_exit(wstatus, what, why, sizeof why);
    if (stop_signal) { /* interrupted: neither a result nor a failure */
        log_line(j, why);
        j->pid = 0;
        j->st = J_WAITING;
        sw->running--;
        mli_dir_unlock(j->lock);
        j->lock = -1;
        return;
    }
    char status[32];
    run_status(j->dir, status, sizeof status);
    if (j->st == J_TRAIN) {
        if (!strcmp(status, "diverged") && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == MLI_EFAIL) {
            log_line(j, "training diverged: recorded, not analysed");
            end_job(sw, j, R_DIVERGED, 1);
        } else if (ok && trained(status)) {
            sw->running--; /* start_child's slot is the same one */
            if (start_child(sw, j, J_ANALYZE))
                fail_job(sw, j, mli_errmsg());
            else
                sw->running++;
        } else
            fail_job(sw, j, ok ? "mli train ended without a finished status in config.json" : why);
        return;
    }
    if (ok && mli_exists_in(j->dir, "geometry.json")) {
        log_line(j, "done");
        end_job(sw, j, R_DONE, 1);
    } else
        fail_job(sw, j, ok ? "mli analyze wrote no geometry.json" : why);
}

static void show_progress(sweep *sw)
{
    if (!sw->prog.on)
        return;
    const mli_sweep_summary *s = sw->s;
    int finished = s->done + s->failed + s->diverged + s->skipped + s->others;
    char eta[32] = "?";
    double el = mli_now() - sw->t0;
    if (sw->finished_now > 0) {
        double left = el / sw->finished_now * (s->total - finished);
        snprintf(eta, sizeof eta, "%dm%02ds", (int)(left / 60), (int)left % 60);
    }
    mli_progress_show(&sw->prog, "sweep: %d/%d finished, %d failed, %d diverged, %d running, %d busy, ETA %s",
                      finished, s->total, s->failed, s->diverged, sw->running, sw->busy, eta);
}

/* Stop the children (SIGTERM, then SIGKILL after 5 s) and reap them. */
static void stop_children(sweep *sw)
{
    for (int i = 0; i < sw->njobs; i++)
        if (sw->jobs[i].st == J_TRAIN || sw->jobs[i].st == J_ANALYZE)
            kill(sw->jobs[i].pid, SIGTERM);
    double t0 = mli_now();
    int killed = 0;
    while (sw->running > 0) {
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        job *j = pid > 0 ? find_pid(sw, pid) : NULL;
        if (j)
            child_ended(sw, j, ws);
        else if (pid < 0 && errno == ECHILD)
            break;
        else if (pid == 0) {
            if (!killed && mli_now() - t0 > 5) {
                for (int i = 0; i < sw->njobs; i++)
                    if (sw->jobs[i].st == J_TRAIN || sw->jobs[i].st == J_ANALYZE)
                        kill(sw->jobs[i].pid, SIGKILL);
                killed = 1;
            }
            nanosleep(&(struct timespec){0, 20000000}, NULL);
        }
    }
}

/* The busy runs tried again (at most every 0.2 s), once every other run has been started. */
static void retry_busy(sweep *sw)
{
    if (!sw->busy || sw->next < sw->njobs || mli_now() - sw->busy_try < 0.2)
        return;
    sw->busy_try = mli_now();
    for (int i = 0; i < sw->njobs && sw->running < sw->o->jobs && !stop_signal; i++)
        if (sw->jobs[i].st == J_BUSY)
            start_job(sw, &sw->jobs[i]);
}

static void pool(sweep *sw)
{
    while (sw->next < sw->njobs || sw->running > 0 || sw->busy > 0) {
        if (stop_signal) {
            sw->interrupted = stop_signal;
            stop_children(sw);
            return;
        }
        while (sw->running < sw->o->jobs && sw->next < sw->njobs && !stop_signal)
            start_job(sw, &sw->jobs[sw->next++]);
        if (sw->running < sw->o->jobs)
            retry_busy(sw);
        show_progress(sw);
        if (!sw->running) {
            if (sw->busy && !stop_signal) /* waiting for another process to let a run go */
                nanosleep(&(struct timespec){0, 100000000}, NULL);
            continue;
        }
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        job *j = pid > 0 ? find_pid(sw, pid) : NULL;
        if (j)
            child_ended(sw, j, ws);
        else if (pid == 0 || (pid < 0 && errno == EINTR))
            nanosleep(&(struct timespec){0, 100000000}, NULL); /* interrupted by a signal too */
        else if (pid < 0) {
            mli_warn("mli sweep: waitpid: %s", strerror(errno));
            return;
        }
    }
}

int mli_sweep_run(const mli_grid *g, const mli_grid_run *runs, int n, const mli_sweep_opts *o,
                  mli_sweep_summary *s)
{
    memset(s, 0, sizeof *s);
    int first = o->task >= 0 ? o->task : 0, last = o->task >= 0 ? o->task + 1 : n;
    if (o->task >= n)
        return mli_err(MLI_EUSAGE, "--task %d: the grid has %d runs (0 to %d)", o->task, n, n - 1);
    sweep sw = {.g = g, .o = o, .s = s, .prog = mli_progress_make(o->progress), .t0 = mli_now()};
    sw.njobs = last - first;
    s->total = sw.njobs;
    int workers = o->jobs < sw.njobs ? o->jobs : sw.njobs;
    int threads = o->threads > 0 ? o->threads : mli_sweep_cpus() / (workers > 0 ? workers : 1);
    snprintf(sw.threads, sizeof sw.threads, "%d", threads > 0 ? threads : 1);
    sw.jobs = mli_calloc((size_t)(sw.njobs ? sw.njobs : 1), sizeof *sw.jobs);
    for (int i = 0; i < sw.njobs; i++) {
        job *j = &sw.jobs[i];
        j->r = &runs[first + i];
        j->lock = -1;
        snprintf(j->dir, sizeof j->dir, "%s/runs/%s", o->out, j->r->id);
        snprintf(j->log, sizeof j->log, "%s/sweep.log", j->dir);
    }
    /* the handlers only raise a flag: the pool stops the children and keeps what finished */
    struct sigaction sa = {.sa_handler = on_stop}, old[3];
    sigemptyset(&sa.sa_mask);
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    stop_signal = 0;
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &sa, &old[i]);
    sw.env = mli_dir_lock_env();
    pool(&sw);
    mli_dir_lock_env_free(sw.env);
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &old[i], NULL);
    mli_progress_end(&sw.prog);
    int unfinished = s->total - (s->done + s->failed + s->diverged + s->skipped + s->others);
    free(sw.jobs);
    if (sw.interrupted)
        return mli_err(MLI_EFAIL, "interrupted by signal %d (%s): %d of %d runs unfinished; the same command "
                       "resumes the sweep", sw.interrupted, strsignal(sw.interrupted), unfinished, s->total);
    if (s->failed)
        return mli_err(MLI_EFAIL, "%d of %d runs failed (their output is in %s/runs/<id>/sweep.log); the "
                       "same command retries them", s->failed, s->total, o->out);
    return MLI_OK;
}
