/* BLAS set-up shared by the mli command and the benchmarks. */
#ifndef MLI_BLAS_H
#define MLI_BLAS_H

/* OpenBLAS 0.3.21 falls back to its generic "Prescott" kernels on CPUs it does not know by
 * name (virtual machines often hide it), which runs sgemm about 4x below what an AVX-512 or
 * AVX2 CPU does. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so the program
 * re-executes itself once with the right core type. A user's own OPENBLAS_CORETYPE, or
 * MLI_BLAS_TUNE=0, wins. Call first thing in main(). */
void mli_blas_tune(char **argv);
/* Flush denormal floats to zero on the calling thread (x86 MXCSR FTZ and DAZ). Optimizer
 * state of parameters whose gradient has stopped (dead units, constant input pixels) decays
 * geometrically into the denormal range, where every multiply costs ~100 cycles: Adam ran 15x
 * slower without this. Values below 1.2e-38 carry no information for training; results stay
 * deterministic (the same setting every run). Call first thing in main(). */
void mli_fp_flush_denormals(void);
/* The kernel OpenBLAS uses ("SkylakeX", ...). */
const char *mli_blas_core(void);

#endif
