/* Certificates of monotonicity along the path, per example and for the data set (docs/theory.md §3).
 *
 * For squared-error losses ℓ = ‖r‖² (r = z − y; mse and recon), per example:
 *   C0  monotone on the α grid, judged from exact values and derivatives: ℓ(α_{i+1}) ≤ ℓ(α_i)
 *       and dℓ/dα(α_i) ≤ 0 at every grid point. Evidence, not proof: a bump can hide between
 *       grid points.
 *   C1  the Gauss-length condition: for α with G[α,1] < π/2,
 *       dℓ/dα ≤ 2‖v(α)‖ (‖r(1)‖ − cos(G[α,1]) S[α,1]), so ℓ decreases wherever
 *       cos(G[α,1]) S[α,1] ≥ ‖r(1)‖. Checked cell by cell: on [α_i, α_{i+1}] the tail integrals
 *       satisfy G[α,1] ≤ G[α_i,1] and S[α,1] ≥ S[α_{i+1},1], so the cell is certified when
 *       cos(G⁺[α_i,1]) · S⁻[α_{i+1},1] ≥ ‖r(1)‖ with G⁺ an upper and S⁻ a lower estimate of the
 *       integrals (margins below). c1_prefix is the α up to which every cell from 0 is
 *       certified; C1 certifies the example when that is 1 (in practice only if r(1) ≈ 0).
 *   C2  convexity: d²ℓ/dα² ≥ 0 on [0,1] and dℓ/dα(1) ≤ 0 imply ℓ non-increasing.
 *   C12 C1 on [0, c1_prefix] and C2 on [c1_prefix, 1].
 * For cross-entropy, C0 and C2 apply (they are loss-agnostic) and C1, C12 are marked −1.
 *
 * Margins (what makes a grid evaluation conservative):
 *   - integrals: trapezoid on the grid, with the Richardson estimate |T_h − T_2h|/3 of its
 *     error; G⁺ = max(G_trapz + 3·err, G_chord), where G_chord sums the angles between
 *     consecutive tangents (a lower bound of the total turning that also sees the tangent's
 *     jumps at ReLU kinks); S⁻ = S_trapz − 3·err;
 *   - C2 on a cell needs min(d2_i, d2_{i+1}) ≥ |d2_{i+1} − d2_i| (room for a dip as large as
 *     the observed change) and the secant (ℓ_{i+1}−ℓ_i)/h between dℓ/dα(α_i) and dℓ/dα(α_{i+1})
 *     (a convex function's chord slope lies between its end slopes; a concave kink between
 *     grid points breaks it).
 * Every verdict is re-checked on a finer grid of values (verify_steps points): an example
 * certified by C1, C2 or C12 that is not monotone there is a counterexample (there must be
 * none); one that C0 called monotone but is not is "missed by the grid".
 *
 * The fine check (docs/monotonicity.md). A rise is measured against the running minimum,
 * never against the previous point: the curve is non-monotone as soon as some ℓ_j exceeds an
 * earlier ℓ_i by more than the error both values can carry, so a slow steady rise (ℓ = 1 +
 * 0.01α on 1,000 points) accumulates and is caught. The fine losses come from the float32
 * engine; the error of each is bounded by τ(α) = 2·u₃₂·K(α), u₃₂ = 2⁻²⁴ and K the condition
 * number of the evaluation of ℓ at α, computed by a first-order forward error analysis of the
 * network in double (geometry/reeval.h states the recurrence). For one example:
 *   1. R = max_j (ℓ_j − min_{i<j} ℓ_i), reached at the pair (i, j). R ≤ 0: monotone.
 *   2. τ_pair = τ(α_i) + τ(α_j). R > MLI_CERT_FEW·τ_pair: non-monotone, decided in float32
 *      (the float values differ by more than a few times what rounding can explain).
 *   3. 0 < R ≤ MLI_CERT_FEW·τ_pair, and the two ends of the pair recomputed in double differ
 *      by more than their double error 2·u₆₄·(K_i + K_j): non-monotone, the pair a witness.
 *      The first-order bound K is worst-case (10³–10⁴ times the errors seen), so on a wide
 *      first layer τ_pair can exceed real rises of a few percent: this step, two double
 *      evaluations, decides them (counted in rechecked_double).
 *   4. Otherwise (the largest float rise is rounding, or no re-evaluation): the
 *      whole fine curve is re-evaluated in double (geometry/reeval.h) and judged there with the
 *      double tolerance 2·u₆₄·K (rechecked_double counts these) — always when the verdict
 *      decides a counterexample (the example is certified by C1, C2 or C12), and for the
 *      others while MLI_CERT_DOUBLE_BUDGET lasts; past it, an uncertified example is
 *      non-monotone iff R > τ_pair, judged in float32 (judged_float counts these).
 *   With no re-evaluation available (values given without a model, as in unit tests) K is
 *   taken as 8|ℓ| (a float32 result of a well-conditioned evaluation), and a certified
 *   example in case 4 is counted as undecided (and as monotone), never silently.
 * first_violation_alpha is the first α_j whose rise over the running minimum exceeds the
 * tolerance of the judgement that decided. The mean curve of the data set is judged with
 * K = 8|ℓ|. */
#ifndef MLI_CERTIFY_H
#define MLI_CERTIFY_H

#include "geometry/path.h"
#include "nn/arch.h"

typedef struct {
    double gauss_length, arc_length, max_curvature, gauss_chord;
    int monotone;                 /* on the verification grid (analysis grid if none) */
    int c0, c1, c2, c12;          /* 1 certified, 0 not, −1 not applicable */
    double c1_prefix;             /* −1 when not applicable */
    double first_violation_alpha; /* −1 if monotone */
} mli_cert_example;

typedef struct {
    int certified, monotone, counterexamples, n_examples, missed_by_grid;
} mli_cert_count;

/* "a few times the float tolerance": rises up to this many τ are re-evaluated in double */
#define MLI_CERT_FEW 4.0

/* The loss of example e at α recomputed in double, with the condition number K of its float32
 * evaluation in *cond (geometry/reeval.h). */
typedef double (*mli_cert_exact_fn)(void *ctx, int e, double alpha, double *cond);
typedef struct {
    mli_cert_exact_fn fn;
    void *ctx;
    double cost; /* multiply-adds per call (≈ parameters of the network) */
} mli_cert_exact;
/* Multiply-adds (about 2 s of the double evaluation on one core) spent at most on the double
 * re-evaluation of examples whose verdict decides no counterexample (their `monotone` column);
 * the certified ones are always re-evaluated. */
#define MLI_CERT_DOUBLE_BUDGET 1e9

typedef struct {
    mli_cert_count c0, c1, c2, c12;
    /* the mean loss over the analysed examples */
    int dataset_c0, dataset_c2, dataset_c12, dataset_monotone;
    double dataset_first_violation_alpha;
    int n_counterexamples;
    int *counterexamples; /* indices into the examples (caller frees) */
    int rechecked_double; /* examples whose fine curve was re-evaluated in double */
    int undecided;        /* certified, rise within the float tolerance, no double re-evaluation */
    int judged_float;     /* uncertified, rise within the float tolerance, judged in float32 (budget spent) */
} mli_cert_summary;

/* Certify every example of ex (grid alpha), with fine-grid losses fine[e * n_fine + j] on
 * alpha_fine (or NULL: no verification). exact (may be NULL) re-evaluates losses in double
 * and gives their condition numbers. out has ex->n entries. */
void mli_certify(mli_loss loss, const double *alpha, const mli_path_examples *ex,
                 const double *alpha_fine, int n_fine, const double *fine, const mli_cert_exact *exact,
                 mli_cert_example *out, mli_cert_summary *sum);

/* Is the sampled curve l (n points) non-increasing up to the error bounds tol[j] ≥ 0 of its
 * values (tol NULL: exact values)? It is not when some l_j − tol_j > l_i + tol_i with i < j
 * (a rise over the running minimum of l_i + tol_i). Returns 1 if non-increasing; else 0 and
 * the α of the first such j in *first (when not NULL; −1 when monotone). */
int mli_cert_monotone(const double *alpha, const double *l, const double *tol, int n, double *first);
/* The largest rise over the running minimum, max_j (l_j − min_{i<j} l_i) (0 if none, NaN if
 * any l is NaN), with its pair in *i, *j (may be NULL). */
double mli_cert_max_rise(const double *l, int n, int *i, int *j);

#endif
