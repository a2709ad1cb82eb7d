/* libFuzzer target for the ONNX importer (nn/onnx_graph.h): whatever the reader accepts must
 * either be refused by the importer with a message (MLI_EINPUT) or give a graph that the engine
 * runs: an eval-mode forward on two examples, whose outputs are touched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/err.h"
#include "io/onnx.h"
#include "nn/net.h"
#include "nn/onnx_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mli_onnx_model *m;
    if (mli_onnx_parse(data, size, "fuzz", &m))
        return 0;
    static mli_arch a;
    mli_real *theta, *bufs;
    int rc = mli_onnx_graph(m, "fuzz", MLI_LOSS_MSE, &a, &theta, &bufs);
    mli_onnx_free(m);
    if (rc) {
        if (rc != MLI_EINPUT || !mli_errmsg()[0])
            abort();
        return 0;
    }
    /* the engine on two examples, when small enough to run quickly */
    if (a.nparams < (1u << 20) && a.width_max < (1 << 16)) {
        mli_ws *w = mli_ws_new(&a, 2);
        mli_real *x = calloc(2 * (size_t)a.input_size, sizeof(mli_real));
        for (size_t i = 0; i < 2 * (size_t)a.input_size; i++)
            x[i] = (mli_real)(i % 7) - 3;
        const mli_real *z = mli_net_forward(&a, theta, bufs, w, x, 2, MLI_MODE_EVAL);
        for (int i = 0; i < 2 * a.nout; i++)
            sink += z[i] == z[i];
        free(x);
        mli_ws_free(w);
    }
    free(theta);
    free(bufs);
    return 0;
}
