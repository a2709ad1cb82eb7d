#!/usr/bin/env bash
# `mli run`: the main job end to end on a small configuration.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp run)
run "mli run on a small configuration" 0 ./build/mli run --quiet --out "$T/r" datasize=2000 epochs=2 hsizes=32,10
for f in config.json init.safetensors final.safetensors checkpoint.safetensors train.tsv interp.tsv \
         geometry.json examples.tsv geometry_quantiles.tsv report/index.html report/loss_alpha.png; do
  check "run directory has $f" test -s "$T/r/$f"
done
check "summary: MLI verdict line" grep -q "^training loss along the path: delta = " "$T/last.out"
check "summary: distance line" grep -q "^distance travelled: " "$T/last.out"
check "summary: Gauss length line" grep -q "^Gauss length of the output paths (10000 test examples)" "$T/last.out"
check "summary: certificates line" grep -q "^certificates" "$T/last.out"
check "summary: accuracy line" grep -q "^test accuracy " "$T/last.out"
check "summary ends with the page" grep -q "^report: $T/r/report/index.html" "$T/last.out"
check "certificates computed for a cross-entropy model (C0, C2)" python3 -c "
import json; c=json.load(open('$T/r/geometry.json'))['certificates']; assert c['c0']['n_examples']==10000 and c['c2']['n_examples']==10000"
before=$(stat -c %Y "$T/r/final.safetensors")
run "a second run reuses the finished training" 0 ./build/mli run --quiet --out "$T/r" datasize=2000 epochs=2 hsizes=32,10
check "final.safetensors untouched" test "$(stat -c %Y "$T/r/final.safetensors")" = "$before"
run "other keys in the same folder are refused" 2 ./build/mli run --quiet --out "$T/r" datasize=1000 epochs=1 hsizes=32,10
check "the refusal says --force" grep -q -- "--force" "$T/last.err"
run "--force trains the other keys" 0 ./build/mli run --quiet --force --out "$T/r" datasize=1000 epochs=1 hsizes=32,10
check "the new configuration is recorded" grep -q '"datasize":[[:space:]]*1000' "$T/r/config.json"
run "bad key" 2 ./build/mli run --out "$T/x" nosuch=1
finish
