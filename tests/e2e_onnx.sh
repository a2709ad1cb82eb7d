#!/usr/bin/env bash
# End-to-end tests of ONNX models in `mli check` / `mli analyze` (TAP-style lines). The models
# are written by build/tests-bin/mkonnx (tests/mkonnx.c, the io/onnx.h builder): native runs
# converted to ONNX must give the native numbers; malformed and unsupported files exit 3 naming
# the culprit; analyses that need an FCNet refuse general graphs with exit 2.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp onnx)
M=./build/mli
K=./build/tests-bin/mkonnx
KEYS="dset_name=fashionmnist datasize=3000 batchsize=100" # batchsize: the batch-norm statistics along the path
OPTS="--quiet --examples 200 --verify-steps 100"
err_has() { grep -qF -- "$1" "$T/last.err"; }
# the largest relative difference of two interp.tsv files
max_rel() { python3 - "$1" "$2" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1]), delimiter='\t'))
b = list(csv.reader(open(sys.argv[2]), delimiter='\t'))
assert a[0] == b[0] and len(a) == len(b)
print(max(abs(float(x) - float(y)) / (abs(float(x)) + 1e-3)
          for r, s in zip(a[1:], b[1:]) for x, y in zip(r, s) if x.lower() != 'nan'))
PY
}

# --- native runs through ONNX: the same numbers ---------------------------------------------
run "train relu 32,10" 0 $M train --quiet --out "$T/relu" datasize=3000 epochs=2 hsizes=32,10 batchsize=100
run "train tanh with batch norm" 0 $M train --quiet --out "$T/bn" datasize=3000 epochs=2 hsizes=32,16,10 \
    batchsize=100 act_fn=tanh use_batchnorm=1
for r in relu bn; do
  mkdir -p "$T/$r.onnx" "$T/$r.flat" "$T/$r.mm"
  for v in init final; do
    run "$r: $v as Gemm chain" 0 $K fcnet "$T/$r/$v.safetensors" "$T/$r.onnx/$v.onnx"
    run "$r: $v flattened from N x 1 x 28 x 28" 0 $K fcnet "$T/$r/$v.safetensors" "$T/$r.flat/$v.onnx" flat
    run "$r: $v with MatMul + Add" 0 $K fcnet "$T/$r/$v.safetensors" "$T/$r.mm/$v.onnx" matmul
  done
  run "$r: check natively" 0 $M check $OPTS "$T/$r"
  run "$r: check the ONNX files" 0 $M check $OPTS --init "$T/$r.onnx/init.onnx" --final "$T/$r.onnx/final.onnx" $KEYS
  check "$r: interp.tsv identical" cmp "$T/$r/interp.tsv" "$T/$r.onnx/interp.tsv"
  check "$r: examples.tsv identical" cmp "$T/$r/examples.tsv" "$T/$r.onnx/examples.tsv"
  run "$r: check MatMul + Add (fused into Linear, weight transposed)" 0 $M check $OPTS \
      --init "$T/$r.mm/init.onnx" --final "$T/$r.mm/final.onnx" $KEYS
  check "$r: MatMul + Add gives identical numbers" cmp "$T/$r/interp.tsv" "$T/$r.mm/interp.tsv"
  run "$r: check the flattened 4-D input" 0 $M check $OPTS --init "$T/$r.flat/init.onnx" --final "$T/$r.flat/final.onnx" $KEYS
  check "$r: the flattened input gives identical numbers (the Linear after Flatten hoisted)" \
      cmp "$T/$r/interp.tsv" "$T/$r.flat/interp.tsv"
done

# --- every control on a graph with a Linear without bias and a Bias node (not folded) --------
mkdir -p "$T/relu.bias"
for v in init final; do
  run "relu: $v with a [1, 1, N] bias" 0 $K fcnet "$T/relu/$v.safetensors" "$T/relu.bias/$v.onnx" bias
done
run "relu: random inits, plane, logits, NTK, Hessian on it" 0 $M check $OPTS --init "$T/relu.bias/init.onnx" \
    --final "$T/relu.bias/final.onnx" $KEYS --random-inits 2 --plane --plane-size 5 --logits 50 --ntk 20 --hessian-iters 5
for f in random_inits.tsv plane.tsv logits.tsv; do check "  wrote $f" test -s "$T/relu.bias/$f"; done
check "  the native numbers within 1e-4 relative" python3 -c "import sys; sys.exit(not $(max_rel "$T/relu/interp.tsv" "$T/relu.bias/interp.tsv") < 1e-4)"

# --- a run directory of ONNX models ----------------------------------------------------------
mkdir -p "$T/dir"; cp "$T/relu.onnx/"*.onnx "$T/dir/"
run "analyze a directory of ONNX models without keys" 2 $M analyze --quiet "$T/dir"
check "  says to give dset_name" err_has "give the data set as dset_name="
run "analyze it with keys" 0 $M analyze $OPTS "$T/dir" $KEYS
check "  wrote interp.tsv" test -s "$T/dir/interp.tsv"
run "check it with keys" 0 $M check $OPTS "$T/dir" $KEYS
cp "$T/relu/config.json" "$T/dir/"
run "with a config.json the keys come from it" 0 $M analyze $OPTS "$T/dir"
run "  and key=value is refused" 2 $M analyze $OPTS "$T/dir" $KEYS
run "--permute on an imported graph" 2 $M check $OPTS --init "$T/relu.onnx/init.onnx" --final "$T/relu.onnx/final.onnx" $KEYS --permute 2
check "  says why" err_has "--permute needs an FCNet"
run "--exact on an imported relu chain" 0 $M check $OPTS --init "$T/relu.flat/init.onnx" --final "$T/relu.flat/final.onnx" $KEYS --exact
run "--exact on an imported graph with batch norm" 2 $M check $OPTS --init "$T/bn.onnx/init.onnx" --final "$T/bn.onnx/final.onnx" $KEYS --exact

# --- malformed and unsupported files: exit 3 naming the culprit ------------------------------
mkdir -p "$T/bad"
run "write the malformed models" 0 $K bad "$T/bad"
bad() { # NAME EXPECTED-TEXT
  run "$1.onnx refused" 3 $M check --quiet --init "$T/bad/$1.onnx" --final "$T/bad/$1.onnx" $KEYS
  check "  names it: $2" err_has "$2"
}
bad truncated "truncated.onnx: not a valid ONNX model"
bad wiretype "wiretype.onnx: not a valid ONNX model"
bad huge "initializer 'W': dimension 1 is 1099511627776"
bad external "initializer 'W': external data is not supported"
bad cycle "node 'loop_add' (Add) is on a cycle"
bad conv "node 'conv1' (ConvTranspose): op_type ConvTranspose is not supported (supported: Gemm"
bad transa "node 'fc' (Gemm): transA=1 is not supported"
bad two_inputs "graph inputs 'x' and 'x2'"
run "init and final of different shapes" 3 $M check --quiet --init "$T/bad/shape_a.onnx" --final "$T/bad/shape_b.onnx" $KEYS
check "  names the first difference" err_has "initializer 'W' has shape [3, 4] and [5, 4]"
run "an input size that is not the data's" 3 $M check --quiet --init "$T/bad/shape_a.onnx" --final "$T/bad/shape_a.onnx" $KEYS
check "  gives both sizes" err_has "the network takes 4 inputs, the data set fashionmnist has 784"
run "one ONNX and one native model" 3 $M check --quiet --init "$T/bad/shape_a.onnx" --final "$T/relu/final.safetensors" $KEYS
finish
