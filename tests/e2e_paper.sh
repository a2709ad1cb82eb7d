#!/usr/bin/env bash
# End-to-end test of make paper's pipeline (scripts/paper.sh) on a miniature of every part
# (TAP-style "ok - ..." lines): 2 runs per part on synthetic data, each part's sweep, table and
# report, the study page with its claims, a resumed second pass, verdicts that follow the
# runs, and a study directory with a broken part.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp paper)
MLI=$PWD/build/mli
G=$T/grids; mkdir -p "$G"
common='datasize = 200
synth_test = 100
batchsize = 50
epochs = 30
analyze.examples = 20'
printf 'dset_name = gaussmix\nhsizes = 16,10\nlr = 0.1\nseed = 0 | 1\n%s\n' "$common" > "$G/arch-mini.grid"
printf 'dset_name = gaussmix\nhsizes = 16,10\nlr = 0.1\nregularization = outR\nregscale = 0.01\noutR_mult = 1 | 4\n%s\n' "$common" > "$G/outr.grid"
printf 'dset_name = gaussmix\nhsizes = 16,10\nlr = 0.1\noptim_name = sgd | adam\n%s\n' "$common" > "$G/optim.grid"
printf 'dset_name = teacher\nloss_fn = mse\nact_fn = tanh\nhsizes = 16,10\nlr = 0.01 | 0.003\nanalyze.verify_steps = 50\n%s\n' "$common" > "$G/mse.grid"
printf 'dset_name = gaussmix\nloss_fn = recon\nhsizes = 8,2,8,20\nlr = 0.001\nmin_loss_threshold = 1e9\noptim_name = sgd | adam\nanalyze.certificates = false\n%s\n' "$common" > "$G/ae.grid"
S=$T/study
export MLI GRIDS=$G OUT=$S JOBS=2 PARTS="arch-mini outr optim mse ae"

run "make paper's pipeline runs every part and the page" 0 bash scripts/paper.sh
for p in $PARTS; do
  check "$p: 2 runs, each analysed" test "$(ls "$S/$p"/runs/*/geometry.json 2>/dev/null | wc -l)" -eq 2
  check "$p: its table and its own report" test -s "$S/$p/table.md" -a -s "$S/$p/summary.tsv" -a -s "$S/$p/report/index.html"
done
check "the part's table still works with mli table" "$MLI" table "$S/optim" --quiet
R=$S/report
check "the page and claims.tsv" test -s "$R/index.html" -a -s "$R/claims.tsv"
check "claims.tsv: a header and 7 claims" test "$(wc -l < "$R/claims.tsv")" -eq 8
check "every claim has a verdict of the rules" bash -c "tail -n +2 '$R/claims.tsv' | cut -f2 | grep -vxE 'reproduced|partly reproduced|not reproduced|not measured' | wc -l | grep -qx 0"
check "every claim is measured by the miniature" bash -c "! cut -f2 '$R/claims.tsv' | grep -q 'not measured'"
check "the page opens with the claims table" bash -c "grep -n 'id=\"claims\"' '$R/index.html' | cut -d: -f1 | { read c; f=\$(grep -n 'id=\"figures\"' '$R/index.html' | cut -d: -f1); [ \"\$c\" -lt \"\$f\" ]; }"
check "the page states the verdict rules" grep -q 'How each verdict is decided' "$R/index.html"
check "the MSE claim counts the counterexamples (0)" bash -c "grep -P '^6\t' '$R/claims.tsv' | grep -q 'counterexamples: 0\\.'"
for f in dist_delta wdist_delta gauss_delta gauss_dist curves_bn outr_delta mse_certificates; do
  check "figure $f drawn" test -s "$R/$f.png" -a -s "$R/$f.svg" -a -s "$R/$f.gp" -a -s "$R/$f.tsv"
done
check "the page links every run" test "$(grep -o 'href="../[a-z-]*/runs/[0-9a-f]*/' "$R/index.html" | sort -u | wc -l)" -eq 10
check "the page links each part's report" grep -q 'href="../mse/report/index.html"' "$R/index.html"
check "timing.tsv has one row per part" test "$(tail -n +2 "$S/timing.tsv" | wc -l)" -eq 5
check "the page shows the wall time" grep -q 'id="time"' "$R/index.html"

# a second pass (what a killed make paper does when started again) trains nothing
run "a second pass resumes: every run skipped" 0 bash scripts/paper.sh
check "second pass: the sweeps skipped their runs" test "$(grep -c ', 2 skipped (finished before)' "$T/last.out")" -eq 5

# the verdicts follow the runs: every architecture run made non-monotone, a counterexample
V=$T/verdicts; cp -r "$S" "$V"
for g in "$V"/arch-mini/runs/*/geometry.json; do sed -i -E 's/"delta":[[:space:]]*[-0-9.eE+]+/"delta": 0.5/' "$g"; done
g=$(ls "$V"/mse/runs/*/geometry.json | head -1)
sed -i -E '0,/"counterexamples":[[:space:]]*0/s//"counterexamples": 3/' "$g"
run "the study report of the edited runs" 0 "$MLI" report "$V"
check "claim 1 not reproduced when its runs are non-monotone" bash -c "grep -P '^1\tnot reproduced\t' '$V/report/claims.tsv'"
check "claim 6 not reproduced with a counterexample" bash -c "grep -P '^6\tnot reproduced\t' '$V/report/claims.tsv' | grep -q 'counterexamples: 3'"
check "the original verdict of claim 6 was not that" bash -c "! grep -qP '^6\tnot reproduced\t' '$R/claims.tsv'"

# test_every: the test set only every K epochs, at the last one and at the early-stop check
run "train with test_every=3" 0 "$MLI" train --quiet --out "$T/te" dset_name=gaussmix datasize=100 synth_test=50 epochs=7 test_every=3 min_loss_epoch_check=5 min_loss_threshold=100 hsizes=8,10
check "test loss at epochs 3, 5 (early-stop check), 6, 7 (last), nan elsewhere" \
  test "$(awk -F'\t' 'NR > 1 { printf "%s:%s ", $1, ($4 == "nan" ? "n" : "y") }' "$T/te/train.tsv")" = "1:n 2:n 3:y 4:n 5:y 6:y 7:y "
run "test_every=0 is refused, naming the key" 2 "$MLI" train --quiet --out "$T/te0" test_every=0
check "the message names test_every" grep -q test_every "$T/last.err"

# a study whose part holds no runs is an input error naming it
B=$T/broken; mkdir -p "$B/part/runs"
run "a part without runs: exit 3" 3 "$MLI" report "$B"
check "the message names the part" grep -q "$B/part" "$T/last.err"
finish
