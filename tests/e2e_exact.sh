#!/usr/bin/env bash
# End-to-end tests of `mli analyze --exact` and `mli check --exact` (TAP-style lines):
# the outputs of the contract, their agreement with the fine-grid check (an example proved
# monotone is never non-monotone on the fine grid, and the exact data-set curve is never below
# the grid's Δ), the report's exact figures, and the refusals.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp exact)
M=./build/mli

# --- a FashionMNIST relu network trained with mse ------------------------------------------
run "train (relu, mse)" 0 $M train --quiet --out "$T/m" datasize=2000 epochs=3 hsizes=32,16,10 loss_fn=mse batchsize=100 lr=0.3
run "analyze --exact" 0 $M analyze "$T/m" --exact --examples 500 --verify-steps 400 --progress
check "summary names the exact verdicts" grep -q "exact (piecewise-linear): .* proved monotone" "$T/last.err"
check "summary gives the exact data-set delta" grep -q "exact training loss: delta = " "$T/last.err"
check "examples.tsv: the exact columns" grep -q "$(printf 'exact_monotone\texact_max_bump\texact_first_rise\tn_pieces\ttotal_turning$')" "$T/m/examples.tsv"
for f in exact_loss.tsv exact_breaks.tsv exact_dataset.tsv; do check "analyze wrote $f" test -s "$T/m/$f"; done
check "geometry.json: the exact object" python3 - "$T/m" <<'PY'
import json, sys, csv
d = sys.argv[1]
g = json.load(open(d + '/geometry.json'))
x = g['exact']
assert x['n_examples'] == 500
assert x['proved_monotone'] + x['violating'] + x['undecided'] == 500
assert x['undecided'] == 0                      # squared error: always decided
assert x['certificates']['counterexamples'] == 0
ds = x['dataset']
assert ds['curve'] == 'exact' and ds['pieces'] > 1
assert ds['delta_lo'] <= ds['delta'] <= ds['delta_hi']
assert ds['delta_hi'] - ds['delta_lo'] <= 4 * ds['curve_error'] * (1 + 1e-9) + 1e-300
assert ds['curve_error'] < 1e-2 * g['nonmonotone_threshold']   # a sane network: rounding far below the threshold
assert ds['delta'] >= ds['delta_grid'] - 1e-9 * (1 + g['init_train_loss'])
assert abs(ds['delta_grid'] - g['delta']) <= 1e-5 * (1 + g['init_train_loss']), (ds['delta_grid'], g['delta'])
assert x['turning']['mean'] >= x['turning']['pointwise_mean'] - 1e-9
PY
check "proved monotone => monotone on the fine grid; exact bump >= 0" python3 - "$T/m/examples.tsv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
assert len(rows) == 500
for r in rows:
    if r['exact_monotone'] == '1':
        assert r['monotone'] == '1', r['index']
        assert float(r['exact_first_rise']) == -1
    else:
        assert r['exact_monotone'] == '0'
        assert 0 <= float(r['exact_first_rise']) <= 1
    assert float(r['exact_max_bump']) >= 0 and int(r['n_pieces']) >= 1
    assert float(r['total_turning']) >= 0
PY
check "the exact curve at alpha 0 and 1 equals the analysis' training loss" python3 - "$T/m" <<'PY'
import csv, sys
d = sys.argv[1]
ex = list(csv.DictReader(open(d + '/exact_dataset.tsv'), delimiter='\t'))
it = list(csv.DictReader(open(d + '/interp.tsv'), delimiter='\t'))
for a, b in ((ex[0], it[0]), (ex[-1], it[-1])):
    assert float(a['alpha']) == float(b['alpha'])
    assert abs(float(a['train_loss']) - float(b['train_loss'])) <= 1e-5 * (1 + float(b['train_loss'])), (a, b)
PY
run "report with the exact figures" 0 $M report --quiet "$T/m"
for f in exact_loss exact_turning exact_dataset; do check "report figure $f" test -s "$T/m/report/$f.png"; done
check "index.html shows the exact figures" grep -q "exact_dataset.png" "$T/m/report/index.html"
check "index.html summary has the exact rows" grep -q "exact: examples proved monotone" "$T/m/report/index.html"

# --- mli check on the model files, into a new directory --------------------------------------
run "check --exact --init/--final --out NEW" 0 $M check --quiet --exact --init "$T/m/init.safetensors" \
    --final "$T/m/final.safetensors" dset_name=fashionmnist datasize=2000 --examples 200 --verify-steps 200 --out "$T/new/dir"
check "check printed the exact lines" grep -q "exact certificates: counterexamples 0" "$T/last.out"
check "check wrote the exact columns" grep -q exact_monotone "$T/new/dir/examples.tsv"

# --- cross-entropy: an enclosure of the data set's curve -------------------------------------
run "train (relu, ce)" 0 $M train --quiet --out "$T/c" datasize=2000 epochs=2 hsizes=32,10 batchsize=100
run "analyze --exact (ce)" 0 $M analyze --quiet "$T/c" --exact --examples 300
check "ce: an enclosure that contains the grid's delta" python3 - "$T/c/geometry.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
x = g['exact']; ds = x['dataset']
assert ds['curve'] == 'enclosure'
assert ds['delta_lo'] <= ds['delta_hi']
assert ds['delta_lo'] >= g['delta'] - 1e-6      # the grid's rises are real rises
assert x['proved_monotone'] + x['violating'] + x['undecided'] == 300
assert 'note' in x['certificates']
PY
check "running it again leaves the same set (report accepts it)" $M report --quiet "$T/c"

# --- sweeps: analyze.exact, its columns and figure; run ids without it unchanged ------------------
printf 'dset_name = fashionmnist\ndatasize = 600\nepochs = 1\nbatchsize = 100\nhsizes = 8,10\nloss_fn = mse | ce\nanalyze.examples = 50\nanalyze.verify_steps = 50\n' > "$T/plain.grid"
cp "$T/plain.grid" "$T/off.grid"; echo 'analyze.exact = false' >> "$T/off.grid"
cp "$T/plain.grid" "$T/on.grid"; echo 'analyze.exact = true' >> "$T/on.grid"
run "sweep with analyze.exact" 0 $M sweep "$T/on.grid" --out "$T/s_on" -j 2 --quiet
run "sweep with analyze.exact = false" 0 $M sweep "$T/off.grid" --out "$T/s_off" -j 2 --quiet
run "sweep without the key" 0 $M sweep "$T/plain.grid" --out "$T/s_plain" -j 2 --quiet
check "analyze.exact = false keeps the run ids" test "$(ls "$T/s_off/runs")" = "$(ls "$T/s_plain/runs")"
check "analyze.exact = true makes other ids" test "$(ls "$T/s_on/runs")" != "$(ls "$T/s_plain/runs")"
run "mli table" 0 $M table "$T/s_on"
check "summary.tsv has the exact columns" grep -q "$(printf 'exact_delta_lo\texact_delta_hi\texact_turning_mean')" "$T/s_on/summary.tsv"
check "no exact columns without the key" test -z "$($M table "$T/s_plain" >/dev/null; grep exact "$T/s_plain/summary.tsv")"
run "sweep report" 0 $M report --quiet "$T/s_on"
check "sweep figure exact_delta" test -s "$T/s_on/report/exact_delta.png"

# --- refusals: no exact pieces -----------------------------------------------------------------
run "train (tanh)" 0 $M train --quiet --out "$T/t" datasize=500 epochs=1 hsizes=8,10 act_fn=tanh batchsize=100
run "analyze --exact refuses a smooth activation" 2 $M analyze --quiet "$T/t" --exact
check "the message names the activation" grep -q "act_fn=tanh" "$T/last.err"
check "nothing was written" test ! -e "$T/t/geometry.json"
run "train (batch norm)" 0 $M train --quiet --out "$T/b" datasize=500 epochs=1 hsizes=8,10 use_batchnorm=1 batchsize=100
run "check --exact refuses batch norm" 2 $M check --quiet "$T/b" --exact
check "the message names batch norm" grep -q "batch norm" "$T/last.err"
finish
