#!/usr/bin/env bash
# End-to-end tests of the control experiments of `mli analyze` (--random-inits, --permute,
# --plane, --logits, --ntk) and their report figures (TAP-style lines).
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp controls)
M=./build/mli
json() { python3 - "$@" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    node = g
    for key in path.split('.'):
        node = node[key]
PY
}
rows() { echo $(($(wc -l < "$1") - 1)); }
header() { head -1 "$1"; }

run "train a small FashionMNIST network with snapshots" 0 $M train --quiet --out "$T/f" datasize=2000 epochs=3 hsizes=32,10 batchsize=100 save_freq=1
check "three snapshots" test -s "$T/f/traj/epoch_3.safetensors"
A="--examples 20 --verify-steps 20 --alpha-steps 21"

# --- unrelated initializations --------------------------------------------------------------
run "--random-inits 3" 0 $M analyze --quiet "$T/f" $A --random-inits 3
check "random_inits.tsv header" test "$(header "$T/f/random_inits.tsv")" = "$(printf 'alpha\ttrue_train_loss\tmean\tstd\tinit_0\tinit_1\tinit_2')"
check "random_inits.tsv has 21 rows" test "$(rows "$T/f/random_inits.tsv")" -eq 21
check "geometry.json random_inits" json "$T/f/geometry.json" random_inits.k random_inits.deltas random_inits.mean_delta random_inits.seeds
check "seeds are seed + 1000 + k, the true curve is interp.tsv's" python3 -c "
import json, csv
g = json.load(open('$T/f/geometry.json'))['random_inits']
assert g['seeds'] == [1000, 1001, 1002] and len(g['deltas']) == 3
a = list(csv.DictReader(open('$T/f/random_inits.tsv'), delimiter='\t'))
b = list(csv.DictReader(open('$T/f/interp.tsv'), delimiter='\t'))
assert all(x['true_train_loss'] == y['train_loss'] for x, y in zip(a, b))
# every curve ends at theta1: the same loss at alpha = 1
assert abs(float(a[-1]['init_0']) - float(b[-1]['train_loss'])) < 1e-6 and float(a[-1]['std']) < 1e-6"
cp "$T/f/random_inits.tsv" "$T/ri1.tsv"
run "--random-inits again" 0 $M analyze --quiet "$T/f" $A --random-inits 3
check "the same initializations: identical table" cmp -s "$T/ri1.tsv" "$T/f/random_inits.tsv"

# --- permutations ----------------------------------------------------------------------------
run "--permute 2" 0 $M analyze --quiet "$T/f" $A --permute 2
check "permute.tsv header" grep -q "^alpha	true_train_loss	final_perm_mean	final_perm_std	init_perm_mean	init_perm_std	final_perm_0	final_perm_1	init_perm_0	init_perm_1$" "$T/f/permute.tsv"
check "geometry.json permute" json "$T/f/geometry.json" permute.k permute.deltas_final_permuted permute.deltas_init_permuted
check "a permuted network has the same loss at its end" python3 -c "
import csv
r = list(csv.DictReader(open('$T/f/permute.tsv'), delimiter='\t'))
assert abs(float(r[-1]['final_perm_0']) - float(r[-1]['true_train_loss'])) < 1e-5
assert abs(float(r[0]['init_perm_1']) - float(r[0]['true_train_loss'])) < 1e-5
assert max(abs(float(x['final_perm_0']) - float(x['true_train_loss'])) for x in r) > 1e-3  # another line"

# --- the plane ---------------------------------------------------------------------------------
run "--plane --plane-size 7" 0 $M analyze --quiet "$T/f" $A --plane --plane-size 7
check "plane.tsv: 7 x 7 grid" test "$(rows "$T/f/plane.tsv")" -eq 49 -a "$(header "$T/f/plane.tsv")" = "$(printf 'x\ty\ttrain_loss\ttrain_acc')"
check "plane_points.tsv: the three points and the three snapshots" test "$(cut -f1 "$T/f/plane_points.tsv" | tr '\n' ' ')" = "name theta0 theta1 theta_rand epoch_1 epoch_2 epoch_3 "
check "geometry.json plane" json "$T/f/geometry.json" plane.extent plane.size plane.points plane.scale
check "theta0 and theta1 are grid nodes with the path's losses" python3 -c "
import csv
p = {(float(r['x']), float(r['y'])): float(r['train_loss']) for r in csv.DictReader(open('$T/f/plane.tsv'), delimiter='\t')}
i = list(csv.DictReader(open('$T/f/interp.tsv'), delimiter='\t'))
assert p[(0.0, 0.0)] == float(i[0]['train_loss']) and p[(1.0, 0.0)] == float(i[-1]['train_loss']), (p.get((0.0,0.0)), i[0]['train_loss'])
pts = {r['name']: r for r in csv.DictReader(open('$T/f/plane_points.tsv'), delimiter='\t')}
assert abs(float(pts['epoch_3']['x']) - 1) < 1e-5 and float(pts['epoch_3']['off_plane']) < 1e-3 * float(pts['epoch_1']['off_plane'])"
run "--plane-extent" 0 $M analyze --quiet "$T/f" $A --plane-extent -1,2,-1,1 --plane-size 4
check "the extent is honoured" python3 -c "
import json; p = json.load(open('$T/f/geometry.json'))['plane']
assert p['extent'] == [-1, 2, -1, 1] and p['size'] == 4"
run "--plane-examples" 0 $M analyze --quiet "$T/f" $A --plane-size 4 --plane-examples 500
check "the grid losses use 500 training examples" python3 -c "
import json; p = json.load(open('$T/f/geometry.json'))['plane']; assert p['n_examples'] == 500"
run "--plane-directions random --filter-norm" 0 $M analyze --quiet "$T/f" $A --plane-directions random --filter-norm --plane-size 5
check "a random plane centred at theta1" python3 -c "
import json, csv; p = json.load(open('$T/f/geometry.json'))['plane']
assert 'filter-normalized' in p['directions'] and p['extent'] == [-1, 1, -1, 1]
r = {(float(x['x']), float(x['y'])): float(x['train_loss']) for x in csv.DictReader(open('$T/f/plane.tsv'), delimiter='\t')}
i = list(csv.DictReader(open('$T/f/interp.tsv'), delimiter='\t'))
assert abs(r[(0.0, 0.0)] - float(i[-1]['train_loss'])) < 1e-5  # theta1, by another summation order"

# --- logits and the NTK ------------------------------------------------------------------------
run "--logits 10" 0 $M analyze --quiet "$T/f" $A --logits 10
check "logits.tsv: 10 examples x 21 alphas" test "$(rows "$T/f/logits.tsv")" -eq 210 -a "$(header "$T/f/logits.tsv")" = "$(printf 'example\tlabel\talpha\tpc1\tpc2')"
check "geometry.json logits: explained variance in (0, 1]" python3 -c "
import json; l = json.load(open('$T/f/geometry.json'))['logits']
assert 0 < l['explained_variance_2d'] <= 1 + 1e-9 and l['n_examples'] == 10"
run "--ntk 30" 0 $M analyze --quiet "$T/f" $A --ntk 30 --ntk-eigs 8
check "geometry.json ntk: the contract's fields" python3 -c "
import json; n = json.load(open('$T/f/geometry.json'))['ntk']
assert n['n_examples'] == 30 and 0 <= n['kernel_distance'] <= 1 and n['jacobian_rel_change'] > 0
assert len(n['top_eigs_init']) == 8 and len(n['top_eigs_final']) == 8
assert n['top_eigs_init'] == sorted(n['top_eigs_init'], reverse=True) and n['top_eigs_final'][-1] > 0"

# --- everything at once, then the report -------------------------------------------------------
run "every control at once" 0 $M analyze --quiet "$T/f" $A --random-inits 2 --permute 2 --plane --plane-size 5 --logits 8 --ntk 20
check "geometry.json has every entry" json "$T/f/geometry.json" random_inits permute plane logits ntk.kernel_distance ntk.top_eigs_init ntk.top_eigs_final ntk.jacobian_rel_change ntk.n_examples delta
run "report" 0 $M report --quiet "$T/f"
for fig in random_inits permute plane logits ntk; do
  check "report figure $fig" test -s "$T/f/report/$fig.png" -a -s "$T/f/report/$fig.svg" -a -s "$T/f/report/$fig.gp"
  check "index.html shows $fig" grep -q "id=\"$fig\"" "$T/f/report/index.html"
done
check "no gnuplot warnings" test ! -s "$T/last.err"
run "a report without controls leaves them out with a note" 0 $M analyze --quiet "$T/f" $A
rm -f "$T/f/"{random_inits,permute,plane,plane_points,logits}.tsv
run "report again" 0 $M report --quiet "$T/f"
check "no control figure" test -z "$(ls "$T/f/report" | grep -E '^(random_inits|permute|plane|logits|ntk)\.')"
check "the note names the option" grep -q "mli analyze --random-inits K" "$T/f/report/index.html"
printf 'alpha\ttrue_train_loss\tmean\tstd\n0\t1\toops\t0\n' > "$T/f/random_inits.tsv"
run "a malformed random_inits.tsv" 3 $M report --quiet "$T/f"
check "the message names file and line" grep -q "random_inits.tsv:2" "$T/last.err"
rm -f "$T/f/random_inits.tsv"

# --- batch norm --------------------------------------------------------------------------------
run "train with batch norm" 0 $M train --quiet --out "$T/bn" dset_name=gaussmix use_batchnorm=true hsizes=16,16,10 datasize=1000 batchsize=50 lr=0.01 epochs=2 synth_test=200 save_freq=1
run "every control with batch norm" 0 $M analyze --quiet "$T/bn" $A --random-inits 2 --permute 1 --plane --plane-size 5 --logits 5 --ntk 10
check "batch norm: every entry" json "$T/bn/geometry.json" random_inits permute plane logits ntk.kernel_distance
check "batch norm: theta1 on the plane has the path's loss" python3 -c "
import csv
p = {(float(r['x']), float(r['y'])): float(r['train_loss']) for r in csv.DictReader(open('$T/bn/plane.tsv'), delimiter='\t')}
i = list(csv.DictReader(open('$T/bn/interp.tsv'), delimiter='\t'))
assert p[(1.0, 0.0)] == float(i[-1]['train_loss'])"

# --- bad values ----------------------------------------------------------------------------------
for bad in "--random-inits 0" "--random-inits x" "--permute -1" "--plane-size 2" "--plane-extent 1,0,0,1" \
           "--plane-extent 0,1,0" "--plane-extent 0,1,0,1,2" "--plane-extent a,b,c,d" "--plane-directions sideways" \
           "--plane-examples 0" "--logits 0" "--ntk 0" "--ntk-eigs 65" "--ntk 5000"; do
  run "bad value: $bad" 2 $M analyze "$T/f" $A $bad
done
check "the NTK size error says how many examples fit" grep -q "use --ntk 1638 or fewer" "$T/last.err"
run "train a network without hidden layer" 0 $M train --quiet --out "$T/lin" datasize=500 epochs=1 hsizes=10
run "--permute needs a hidden layer" 2 $M analyze "$T/lin" $A --permute 1
run "analyze --help lists the controls" 0 $M analyze --help
check "help mentions --plane-extent" grep -q -- "--plane-extent" "$T/last.out"
finish
