#!/usr/bin/env bash
# End-to-end tests of `mli analyze` and `mli check` (TAP-style lines).
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp analyze)
M=./build/mli
has_json() { python3 - "$@" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    node = g
    for key in path.split('.'):
        node = node[key]
PY
}

# --- a FashionMNIST run, analysed with every default -------------------------------------
run "train a small FashionMNIST network" 0 $M train --quiet --out "$T/f" datasize=3000 epochs=2 hsizes=32,10 batchsize=100
run "analyze" 0 $M analyze --quiet "$T/f" --examples 300 --verify-steps 100
for f in interp.tsv geometry.json examples.tsv geometry_quantiles.tsv; do check "analyze wrote $f" test -s "$T/f/$f"; done
check "interp.tsv columns" grep -qx "$(printf 'alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\ttrain_dloss\ttrain_d2loss\ttrain_d2loss_gn\ttrain_d2loss_curv\tspeed\tcurvature\tgauss_speed\tgauss_length_cum')" "$T/f/interp.tsv"
check "interp.tsv has 50 alpha rows" test "$(wc -l < "$T/f/interp.tsv")" -eq 51
check "examples.tsv columns" grep -q "$(printf '^index\tlabel\tgauss_length\tarc_length\tmax_curvature\tmonotone\tcert_c0\tcert_c1\tcert_c2\tfirst_violation_alpha\tc1_prefix\tcert_c12')" "$T/f/examples.tsv"
check "examples.tsv has 300 rows" test "$(wc -l < "$T/f/examples.tsv")" -eq 301
check "geometry.json has the contract fields" has_json "$T/f/geometry.json" alphas delta monotone bumps wdist norm_wdist \
    final_train_loss final_test_loss final_train_acc final_test_acc gauss_length.mean gauss_length.median \
    gauss_length.frac_below_half_pi gauss_length.split gauss_length.n_examples
check "alpha grid ends at 1 and at the final model's loss" python3 -c "
import json,csv
g=json.load(open('$T/f/geometry.json')); rows=list(csv.DictReader(open('$T/f/interp.tsv'),delimiter='\t'))
assert g['alphas'][0]==0 and g['alphas'][-1]==1 and len(g['alphas'])==50
tl=[l for l in open('$T/f/train.tsv')][-1].split('\t')
assert abs(float(rows[-1]['test_loss'])-float(tl[3]))<1e-5, (rows[-1]['test_loss'], tl[3])
assert abs(float(rows[-1]['test_acc'])-float(tl[4]))<1e-9"
check "ce model: no certificates by default" test "$(awk -F'\t' 'NR>1{print $7}' "$T/f/examples.tsv" | sort -u)" = "-1"
run "--alpha-steps overrides" 0 $M analyze --quiet "$T/f" --alpha-steps 11 --examples 10 --no-train-derivs
check "11 rows, no derivative columns" test "$(wc -l < "$T/f/interp.tsv")" -eq 12 -a -z "$(head -1 "$T/f/interp.tsv" | grep dloss)"

# --- certificates on teacher-student MSE problems: a true theorem has no counterexample ----
for s in 1 2 3; do
  $M train --quiet --out "$T/t$s" dset_name=teacher loss_fn=mse act_fn=tanh hsizes=32,10 datasize=2000 epochs=15 lr=0.05 seed=$s synth_test=400 >/dev/null 2>&1
  run "check teacher-student seed $s" 0 $M check "$T/t$s" --verify-steps 400
  check "seed $s: no counterexample" grep -q "^counterexamples: 0" "$T/last.out"
  check "seed $s: C12 certifies some examples" python3 -c "
import json; c=json.load(open('$T/t$s/geometry.json'))['certificates']
assert c['c12']['certified']>0 and c['c12']['counterexamples']==0 and c['c2']['counterexamples']==0 and c['c1']['counterexamples']==0"
done
check "verdict table lists every condition" grep -q "^C12" "$T/last.out"
cp "$T/t1/init.safetensors" "$T/A.safetensors"; cp "$T/t1/final.safetensors" "$T/B.safetensors"
run "check --init/--final with data keys" 0 $M check --init "$T/A.safetensors" --final "$T/B.safetensors" \
    dset_name=teacher datasize=2000 seed=1 synth_test=400 --verify-steps 400
check "same verdict as on the run directory" diff <(grep -A6 condition "$T/last.out") <($M check "$T/t1" --verify-steps 400 | grep -A6 condition)
check "geometry.json written beside the model files" test -s "$T/geometry.json"
for f in examples.tsv interp.tsv geometry_quantiles.tsv; do check "check wrote $f beside the model files" test -s "$T/$f"; done
check "check's examples.tsv is analyze's, column for column" diff <(head -1 "$T/examples.tsv") <(head -1 "$T/t1/examples.tsv")
check "check's interp.tsv has analyze's columns" grep -qx "$(printf 'alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\ttrain_dloss\ttrain_d2loss\ttrain_d2loss_gn\ttrain_d2loss_curv\tspeed\tcurvature\tgauss_speed\tgauss_length_cum')" "$T/interp.tsv"
check "400 examples, 50 alphas" test "$(wc -l < "$T/examples.tsv")" -eq 401 -a "$(wc -l < "$T/interp.tsv")" -eq 51
run "check --out a folder that does not exist yet" 0 $M check --init "$T/A.safetensors" --final "$T/B.safetensors" \
    dset_name=teacher datasize=2000 seed=1 synth_test=400 --verify-steps 50 --examples 30 --out "$T/new/deeper"
for f in geometry.json examples.tsv interp.tsv; do check "check --out NEWDIR wrote $f" test -s "$T/new/deeper/$f"; done
touch "$T/afile"
run "check --out that cannot be created fails before any work" 2 $M check --init "$T/A.safetensors" --final "$T/B.safetensors" \
    dset_name=teacher datasize=2000 --out "$T/afile/sub"
check "the message names --out and the folder" grep -q -- "--out $T/afile/sub: cannot create" "$T/last.err"
run "--verify-steps 0 is refused" 2 $M check "$T/t1" --verify-steps 0
check "the message names the option and the range" grep -q -- "--verify-steps: '0' is not an integer in \[2," "$T/last.err"
run "--verify-steps 1 is refused" 2 $M analyze "$T/t1" --verify-steps 1

# --- delta is the reference's bump scan; end_rise is the last step --------------------------
check "delta equals the reference scan of interp.tsv's training loss; end_rise is the last step" python3 -c "
import json, csv
def eval_monotonic(alphas, losses):  # the reference's loop (docs/monotonicity.md)
    inc, first, heights = False, 0, []
    h = 0
    for i in range(1, len(alphas)):
        if not inc:
            if losses[i] > losses[i-1]: inc, first, h = True, i-1, losses[i]-losses[i-1]
        elif losses[i] < losses[first]: inc = False; heights.append(h)
        else:
            h = max(h, losses[i]-losses[first])
            if i == len(alphas)-1: heights.append(h)
    return max(heights) if heights else 0
for d in ('$T/t1', '$T/t2', '$T/f'):
    g = json.load(open(d + '/geometry.json'))
    r = list(csv.DictReader(open(d + '/interp.tsv'), delimiter='	'))
    a = [float(x['alpha']) for x in r]; l = [float(x['train_loss']) for x in r]
    assert abs(g['delta'] - eval_monotonic(a, l)) <= 1e-7 * max(1, abs(g['delta'])), (d, g['delta'], eval_monotonic(a, l))
    assert abs(g['end_rise'] - max(0, l[-1] - l[-2])) <= 1e-7, (d, g['end_rise'])
"

# --- an analysis replaces its outputs as a set; mli report refuses a mix ---------------------
mkdir -p "$T/set" && cp "$T/t2/config.json" "$T/t2/init.safetensors" "$T/t2/final.safetensors" "$T/set/"
run "analyze with 50 alphas" 0 $M analyze --quiet "$T/set" --examples 40 --verify-steps 50
mkdir -p "$T/set50" && cp "$T/set/"*.tsv "$T/set/geometry.json" "$T/set50/"
# MLI_FAULT_ANALYZE=staged (analyze.c, tests only): fail after the new tables are staged
MLI_FAULT_ANALYZE=staged run "a re-analysis with 20 alphas that fails half-way" 1 $M analyze --quiet "$T/set" --alpha-steps 20 --examples 40 --verify-steps 50
check "the previous analysis's files are untouched" bash -c "for f in interp.tsv examples.tsv geometry_quantiles.tsv geometry.json; do cmp \"$T/set/\$f\" \"$T/set50/\$f\" || exit 1; done"
check "no staged file is left behind" test -z "$(ls -A "$T/set" | grep staged)"
run "report accepts the consistent set" 0 $M report "$T/set"
mkdir -p "$T/set20" && cp "$T/t2/config.json" "$T/t2/init.safetensors" "$T/t2/final.safetensors" "$T/set20/"
run "another analysis with 20 alphas" 0 $M analyze --quiet "$T/set20" --alpha-steps 20 --examples 40 --verify-steps 50
cp "$T/set20/interp.tsv" "$T/set/interp.tsv"
run "report refuses interp.tsv of another analysis" 3 $M report "$T/set"
check "the message names the file, the rows and says to rerun analyze" grep -q "interp.tsv does not belong.*50 rows expected, the file has 20.*rerun 'mli analyze" "$T/last.err"
cp "$T/set50/interp.tsv" "$T/set/interp.tsv"; rm "$T/set/examples.tsv"
run "report refuses a set with a listed table missing" 3 $M report "$T/set"
check "the message names the missing table" grep -q "examples.tsv is missing" "$T/last.err"
rm "$T/set/geometry.json"
run "report refuses tables without their geometry.json" 3 $M report "$T/set"
check "the message says the analysis did not finish" grep -q "did not finish" "$T/last.err"
run "a finished re-analysis with 20 alphas" 0 $M analyze --quiet "$T/set" --alpha-steps 20 --no-train-derivs --examples 0 --verify-steps 50
check "tables it does not write are removed" test ! -e "$T/set/examples.tsv" -a ! -e "$T/set/geometry_quantiles.tsv"
run "report accepts it" 0 $M report "$T/set"
run "an autoencoder (recon) gets certificates" 0 $M train --quiet --out "$T/ae" loss_fn=recon hsizes=32,784 datasize=500 epochs=1
run "analyze the autoencoder" 0 $M analyze --quiet "$T/ae" --examples 20 --verify-steps 50
check "recon certificates present" has_json "$T/ae/geometry.json" certificates.c1.certified certificates.dataset.monotone

# --- batch norm, Hessian, adaptive quadrature -----------------------------------------------
# 100 batches: enough for the moving average (momentum 0.1) to forget its start (0, 1)
run "train with batch norm" 0 $M train --quiet --out "$T/bn" dset_name=gaussmix use_batchnorm=true hsizes=16,16,10 datasize=2000 batchsize=20 lr=0.01 epochs=2 synth_test=200
run "analyze with ema statistics" 0 $M analyze --quiet "$T/bn" --bn-stats ema --examples 50 --verify-steps 50
cp "$T/bn/interp.tsv" "$T/bn-ema.tsv"
check "100 batches: the reset statistics weigh 0.9^100, no warning" python3 -c "
import json; g=json.load(open('$T/bn/geometry.json')); assert abs(g['bn_reset_weight']-0.9**100) < 1e-9*0.9**100 and 'bn_warning' not in g, g.get('bn_reset_weight')"
run "analyze with exact statistics" 0 $M analyze --quiet "$T/bn" --bn-stats exact --examples 50 --verify-steps 50
check "exact and ema statistics agree closely at alpha=1" python3 -c "
import csv
a=list(csv.DictReader(open('$T/bn-ema.tsv'),delimiter='\t'))[-1]; b=list(csv.DictReader(open('$T/bn/interp.tsv'),delimiter='\t'))[-1]
assert abs(float(a['train_loss'])-float(b['train_loss']))<0.05*float(b['train_loss'])+1e-3, (a['train_loss'], b['train_loss'])"
run "train with batch norm, 4 batches per epoch" 0 $M train --quiet --out "$T/bn4" dset_name=gaussmix use_batchnorm=true hsizes=16,10 datasize=2000 batchsize=500 epochs=1 synth_test=100
run "analyze with ema statistics after 4 batches" 0 $M analyze --quiet "$T/bn4" --examples 20 --verify-steps 20 --alpha-steps 5
check "stderr warns and names --bn-stats exact" grep -q "warning: the batch-norm statistics.*0.656.*--bn-stats exact" "$T/last.err"
check "geometry.json: bn_reset_weight = 0.9^4 and the warning" python3 -c "
import json; g=json.load(open('$T/bn4/geometry.json')); assert abs(g['bn_reset_weight']-0.9**4) < 1e-12 and 'bn-stats exact' in g['bn_warning'], g"
run "report on it" 0 $M report "$T/bn4"
check "the report page shows the weight and the warning" grep -q "weight of the reset statistics.*0.656.*warning: above 1%.*--bn-stats exact" "$T/bn4/report/index.html"
run "check warns too" 0 $M check "$T/bn4" --examples 20 --verify-steps 20 --alpha-steps 5
check "check's warning" grep -q "mli check: warning: the batch-norm statistics" "$T/last.err"
run "exact statistics: no warning" 0 $M analyze "$T/bn4" --bn-stats exact --examples 20 --verify-steps 20 --alpha-steps 5 --quiet
check "no warning with --bn-stats exact" bash -c "! grep -q warning '$T/last.err'"
run "--hessian 3" 0 $M analyze --quiet "$T/f" --examples 20 --verify-steps 20 --hessian 3 --hessian-alphas 0,0.5,1 --trace-samples 4
check "hessian eigenvalues at three alphas" python3 -c "
import json; h=json.load(open('$T/f/geometry.json'))['hessian']
assert h['alphas']==[0,0.5,1] and len(h['top_eigenvalues'])==3 and len(h['top_eigenvalues'][0])==3
assert h['top_eigenvalues'][0][0]>=h['top_eigenvalues'][0][1]>=h['top_eigenvalues'][0][2]"
run "--gauss-quad adaptive" 0 $M analyze --quiet "$T/t1" --examples 20 --verify-steps 20 --gauss-quad adaptive
check "adaptive column, close to the trapezoid for a smooth network" python3 -c "
import csv
r=list(csv.DictReader(open('$T/t1/examples.tsv'),delimiter='\t'))
assert len(r)==20
for x in r: assert abs(float(x['gauss_length_adaptive'])-float(x['gauss_length']))<0.02*float(x['gauss_length'])+1e-3, x"
run "adaptive quadrature refuses batch norm" 2 $M analyze "$T/bn" --gauss-quad adaptive

# --- bad input ---------------------------------------------------------------------------
run "no such run directory" 3 $M analyze "$T/nope"
run "no run directory given" 2 $M analyze
run "unknown option" 2 $M analyze "$T/f" --frobnicate
run "bad value" 2 $M analyze "$T/f" --alpha-steps 1
MLI_FAULT_KILL=2:0 $M train --quiet --out "$T/unfinished" datasize=500 epochs=2 2>/dev/null
run "an unfinished run" 3 $M analyze "$T/unfinished"
check "the message says the run did not finish" grep -q "did not finish" "$T/last.err"
mkdir -p "$T/broken"; cp "$T/f/config.json" "$T/f/init.safetensors" "$T/broken/"
head -c 5000 "$T/f/final.safetensors" > "$T/broken/final.safetensors"
run "a truncated model file" 3 $M analyze "$T/broken"
check "the message names the file" grep -q "final.safetensors" "$T/last.err"
run "model and data set do not match" 3 $M check --init "$T/A.safetensors" --final "$T/B.safetensors" dset_name=fashionmnist datasize=100
run "check needs both model files" 2 $M check --init "$T/A.safetensors"
run "check --help" 0 $M check --help
finish
