/* The files mli writes into a run directory — by train, analyze (and its control
 * experiments), check and report — known by name, so that a retrain can remove every result
 * of the model it replaces and a restart can remove the temporary files of a killed writer,
 * without ever touching a file mli did not write. README "The run directory" lists them. */
#ifndef MLI_RUNDIR_H
#define MLI_RUNDIR_H

/* Is name (no directory) a file mli writes at the top of a run directory? */
int mli_rundir_known(const char *name);
/* ... in traj/ (epoch_K.safetensors)? */
int mli_rundir_known_traj(const char *name);
/* ... in report/ (index.html, a figure's .gp .tsv .png .svg, NAME_SUFFIX.tsv, gnuplot's
 * NAME.tmp-PID.* while it renders)? */
int mli_rundir_known_report(const char *name);
/* Is name a temporary file of the atomic writer (io/atomic.c: "<final>.tmp.XXXXXX", six
 * characters of mkstemp) for a final name the predicate accepts? */
int mli_rundir_is_tmp(const char *name, int (*known)(const char *));

/* Remove every result mli can have written into dir, config.json first (so that the
 * directory no longer claims a run), then traj/ and report/ when that leaves them empty.
 * Files mli does not know stay. MLI_EFAIL naming the file and the system error. */
int mli_rundir_clean(const char *dir);
/* Remove the temporary files a killed writer left in dir, traj/ and report/. Only for a
 * caller holding the directory's lock (io/lock.h): a live writer's file would go too. */
int mli_rundir_remove_stale_tmp(const char *dir);

#endif
