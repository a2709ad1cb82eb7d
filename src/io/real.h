/* The scalar type of the engine and the BLAS calls that go with it.
 * The product builds in float; the derivative tests build the same sources with
 * -DMLI_DOUBLE so that finite differences can be checked to 1e-6. */
#ifndef MLI_REAL_H
#define MLI_REAL_H

#include <cblas.h>
/* OpenBLAS provides the whole CBLAS interface; GSL headers that would pull in GSL's own
 * copy of the same declarations (gsl_cblas.h) must see it as already included. */
#ifndef __GSL_CBLAS_H__
#define __GSL_CBLAS_H__
#endif

#ifdef MLI_DOUBLE
typedef double mli_real;
#define MLI_GEMM cblas_dgemm
#define MLI_GEMV cblas_dgemv
#define MLI_AXPY cblas_daxpy
#define MLI_DOT cblas_ddot
#define MLI_SCAL cblas_dscal
#define MLI_REAL_NAME "double"
#else
typedef float mli_real;
#define MLI_GEMM cblas_sgemm
#define MLI_GEMV cblas_sgemv
#define MLI_AXPY cblas_saxpy
#define MLI_DOT cblas_sdot
#define MLI_SCAL cblas_sscal
#define MLI_REAL_NAME "float"
#endif

#endif
