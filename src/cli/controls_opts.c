/* Options of the control experiments. Every plane option implies --plane, and --filter-norm
 * implies random directions, so that no combination is contradictory. */
#include "cli/controls_opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/err.h"

static int int_value(int argc, char **argv, int *i, int lo, int hi, int *out)
{
    const char *opt = argv[*i], *v = mli_cli_value(argc, argv, i);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo || x > hi)
        return mli_err(MLI_EUSAGE, "%s: '%s' is not an integer in [%d, %d]", opt, v ? v : "", lo, hi);
    *out = (int)x;
    return MLI_OK;
}

static int extent_value(int argc, char **argv, int *i, double *ext)
{
    const char *opt = argv[*i], *v = mli_cli_value(argc, argv, i), *p = v;
    int n = 0, ok = v != NULL;
    while (ok) {
        char *end;
        double x = strtod(p, &end);
        ok = end != p && isfinite(x) && n < 4 && (*end == ',' || !*end);
        if (ok)
            ext[n++] = x;
        if (!ok || !*end)
            break;
        p = end + 1;
    }
    if (!ok || n != 4 || !(ext[0] < ext[1]) || !(ext[2] < ext[3]))
        return mli_err(MLI_EUSAGE, "%s: '%s' is not xmin,xmax,ymin,ymax with xmin < xmax and ymin < ymax", opt,
                       v ? v : "");
    return MLI_OK;
}

int mli_cli_controls_opt(int argc, char **argv, int *i, mli_controls_opts *o)
{
    const char *a = argv[*i];
    int rc = MLI_OK;
    if (!strcmp(a, "--random-inits"))
        rc = int_value(argc, argv, i, 1, MLI_CONTROLS_MAX_K, &o->random_inits);
    else if (!strcmp(a, "--permute"))
        rc = int_value(argc, argv, i, 1, MLI_CONTROLS_MAX_K, &o->permute);
    else if (!strcmp(a, "--plane"))
        o->plane = 1;
    else if (!strcmp(a, "--plane-size"))
        rc = int_value(argc, argv, i, 3, 1001, &o->plane_size);
    else if (!strcmp(a, "--plane-extent"))
        rc = extent_value(argc, argv, i, o->plane_extent), o->plane_has_extent = 1;
    else if (!strcmp(a, "--plane-examples"))
        rc = int_value(argc, argv, i, 1, 100000000, &o->plane_examples);
    else if (!strcmp(a, "--plane-directions")) {
        const char *v = mli_cli_value(argc, argv, i);
        if (v && !strcmp(v, "init"))
            o->plane_dirs = MLI_PLANE_INIT;
        else if (v && !strcmp(v, "random"))
            o->plane_dirs = MLI_PLANE_RANDOM;
        else
            rc = mli_err(MLI_EUSAGE, "--plane-directions: '%s' is not init or random", v ? v : "");
    } else if (!strcmp(a, "--filter-norm")) {
        o->filter_norm = 1;
        o->plane_dirs = MLI_PLANE_RANDOM;
    } else if (!strcmp(a, "--logits"))
        rc = int_value(argc, argv, i, 1, 1000000, &o->logits);
    else if (!strcmp(a, "--ntk"))
        rc = int_value(argc, argv, i, 1, 1000000, &o->ntk);
    else if (!strcmp(a, "--ntk-eigs"))
        rc = int_value(argc, argv, i, 1, 64, &o->ntk_top);
    else
        return 0;
    if (!strncmp(a, "--plane-", 8) || !strcmp(a, "--filter-norm"))
        o->plane = 1;
    return rc ? -1 : 1;
}

void mli_cli_controls_help(FILE *f)
{
    fprintf(f, "control experiments (each writes its own TSV and geometry.json entry):\n"
               "  --random-inits K     interpolate from K unrelated initializations (seed + 1000 + k) to\n"
               "                       theta1: random_inits.tsv\n"
               "  --permute K          K random permutations pi of the hidden units (seed + 2000 + k):\n"
               "                       theta0 -> pi(theta1) and pi(theta0) -> theta1: permute.tsv\n"
               "  --plane              the training loss on the plane through theta0, theta1 and an\n"
               "                       unrelated initialization, with the snapshots traj/epoch_K (train\n"
               "                       with save_freq=1) projected: plane.tsv, plane_points.tsv\n"
               "  --plane-size N       grid points per axis (default 25)\n"
               "  --plane-extent A,B,C,D   x in [A,B], y in [C,D], in units of |theta1 - theta0| (default:\n"
               "                       the three points with a margin, with theta0 and theta1 on nodes)\n"
               "  --plane-directions init|random   the plane above (default), or two random directions\n"
               "                       centred at theta1 (extent default -1,1,-1,1)\n"
               "  --filter-norm        random directions rescaled row by row to theta1's rows (Li et al.)\n"
               "  --plane-examples N   grid losses on the first N training examples (default all)\n"
               "  --logits N           outputs of the first N test examples along the path, PCA to 2D:\n"
               "                       logits.tsv\n"
               "  --ntk N              empirical NTK on the first N test examples at theta0 and theta1:\n"
               "                       kernel distance, top eigenvalues, Jacobian change (geometry.json)\n"
               "  --ntk-eigs K         eigenvalues reported at each end (default 10)\n");
}
