/* Row-parallel loops for the memory-bound passes that sit between BLAS calls (OpenBLAS
 * threads only its own routines; a pass over a 400 MB matrix on one core then costs as much
 * as the GEMMs around it). */
#ifndef MLI_PARALLEL_H
#define MLI_PARALLEL_H

#define MLI_PARALLEL_MAX 8

/* Values below which a memory-bound pass (batch norm, activations, sums) stays on one thread:
 * sharing it out would cost more than it saves */
#define MLI_PARALLEL_MIN_VALUES 32768

/* The threads a parallel loop may use: BLAS's, at most MLI_PARALLEL_MAX */
int mli_parallel_threads(void);
/* Run fn(ctx, q0, q1, t) over [0, m) split into contiguous ranges, one per thread t (as many
 * threads as BLAS uses, at most MLI_PARALLEL_MAX; one when m is small). The split depends only
 * on m and the thread count, so per-thread partial sums combined in order t = 0, 1, … are
 * deterministic. Returns the number of ranges used. */
int mli_parallel_rows(int m, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx);
/* The same on nt threads (at most MLI_PARALLEL_MAX), for loops that call BLAS themselves while
 * BLAS is set to one thread. */
int mli_parallel_rows_n(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx);
/* The same for coarse tasks (each of the m costs a GEMM or more): min(nt, m) threads, however
 * small m. The threads are a pool started on first use; a call made while another runs (from
 * inside a task) runs its ranges in the calling thread, in order. */
int mli_parallel_tasks(int m, int nt, void (*fn)(void *ctx, int q0, int q1, int t), void *ctx);

#endif
