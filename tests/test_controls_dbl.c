/* The control-experiment tests in the double build of the engine: tight tolerances and finite
 * differences of the Jacobian rows (see test_controls.c). */
#include "test_controls.c"
