/* The lock of a run directory: an exclusive flock on the directory itself, held for as long
 * as its descriptor is open (a killed process releases it). One implementation for every
 * writer: `mli train` and the sweep runner. A sweep hands the lock it holds to the `mli train`
 * it starts (the descriptor is inherited, named by MLI_RUN_LOCK_FD), so the child does not
 * find its own parent in the way. */
#ifndef MLI_LOCK_H
#define MLI_LOCK_H

#define MLI_LOCK_ENV "MLI_RUN_LOCK_FD"
#define MLI_LOCK_CHILD_FD 10 /* where a sweep puts the lock in its children */

/* Take the lock of dir (which must exist) without waiting. MLI_OK with the descriptor in
 * *fd; MLI_EFAIL naming dir when another mli process holds it, or on a system error. An
 * inherited descriptor (MLI_LOCK_ENV) on the same directory, whose lock this process already
 * shares, is used instead of a new one. */
int mli_dir_lock(const char *dir, int *fd);
/* Is the last mli_dir_lock failure of this thread "another process holds it" (1), as opposed
 * to a system error (0)? A sweep skips a busy run for now and fails on an error. */
int mli_dir_lock_was_busy(void);
/* Release (close) a lock; fd < 0 is ignored. */
void mli_dir_unlock(int fd);
/* The environment for a child that inherits the lock at MLI_LOCK_CHILD_FD: a copy of environ
 * with MLI_LOCK_ENV set (free with mli_dir_lock_env_free). Built before fork: the child only
 * dup2()s and execs. */
char **mli_dir_lock_env(void);
void mli_dir_lock_env_free(char **env);

#endif
