#!/usr/bin/env bash
# End-to-end tests of `mli export` (TAP-style lines): the ONNX files of trained runs, checked by
# a protobuf reader independent of mli's (tests/onnx_check.py: names, shapes and float32 bytes
# against the safetensors files), and the refusals with their exit statuses.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp export)

# --- export of trained runs ---------------------------------------------------------------
run "train 20-16-8-3 with batch norm on synthetic data" 0 ./build/mli train --quiet --out "$T/bn" \
    dset_name=gaussmix synth_classes=3 hsizes=16,8,3 use_batchnorm=true epochs=2 seed=1
run "export it" 0 ./build/mli export "$T/bn"
check "it says what it wrote" grep -q "init.onnx and .*final.onnx" "$T/last.out"
for m in init final; do
  check "$m.onnx written" test -s "$T/bn/$m.onnx"
  run "$m.onnx holds the safetensors tensors, byte for byte" 0 /usr/bin/python3 tests/onnx_check.py "$T/bn/$m.onnx" "$T/bn/$m.safetensors"
done
check "the nodes: Gemm, BatchNormalization, Relu ... Gemm" test "$(cut -d' ' -f1 "$T/last.out" | tr '\n' ' ')" = \
    "Gemm BatchNormalization Relu Gemm BatchNormalization Relu Gemm "
check "Gemm with transB=1 as PyTorch writes nn.Linear" grep -q "^Gemm layers.0 input,layers.0.weight,layers.0.bias -> layers.0 alpha=1.0 beta=1.0 transB=1" "$T/last.out"
check "batch norm with epsilon 1e-5 and momentum 0.9" grep -q "^BatchNormalization layers.1 .* epsilon=1e-05 momentum=0.9" "$T/last.out"
check "the last node writes the graph output" grep -q "^Gemm layers.6 .* -> output " "$T/last.out"
check "no temporary files left behind" test -z "$(find "$T/bn" -name '*.tmp.*')"

run "train 784-32-10 tanh on 1000 FashionMNIST examples" 0 ./build/mli train --quiet --out "$T/fm" \
    datasize=1000 hsizes=32,10 act_fn=tanh epochs=1 seed=2
run "export it into --out DIR" 0 ./build/mli export --quiet --out "$T/fm_onnx/sub" "$T/fm"
check "--quiet prints nothing" test ! -s "$T/last.out"
check "the files are in --out DIR, not in the run" test -s "$T/fm_onnx/sub/final.onnx" -a ! -e "$T/fm/final.onnx"
run "final.onnx (784 inputs, tanh) holds the safetensors tensors" 0 /usr/bin/python3 tests/onnx_check.py "$T/fm_onnx/sub/final.onnx" "$T/fm/final.safetensors"
check "tanh nodes" test "$(grep -c '^Tanh ' "$T/last.out")" -eq 1
run "exporting again replaces the files" 0 ./build/mli export --quiet "$T/bn"

# --- refusals ------------------------------------------------------------------------------
run "no run directory: usage error" 2 ./build/mli export
run "an unknown option: usage error" 2 ./build/mli export --bogus "$T/bn"
run "two run directories: usage error" 2 ./build/mli export "$T/bn" "$T/fm"
run "a missing run directory: invalid input" 3 ./build/mli export "$T/nothere"
check "the message names it" grep -q "nothere: no such run directory" "$T/last.err"
(MLI_FAULT_KILL=2:0 ./build/mli train --quiet --out "$T/killed" dset_name=gaussmix hsizes=8,3 synth_classes=3 epochs=3) 2>/dev/null
run "an interrupted run (killed after epoch 1): invalid input" 3 ./build/mli export "$T/killed"
check "the message says unfinished" grep -q "unfinished (status running)" "$T/last.err"
check "nothing written into it" test ! -e "$T/killed/init.onnx"
run "a diverging training (a linear network, a large step)" 1 ./build/mli train --quiet --out "$T/div" datasize=2000 epochs=6 lr=10 act_fn=identity seed=1
run "export of the diverged run is refused" 3 ./build/mli export "$T/div"
check "the message gives the status" grep -q "status diverged" "$T/last.err"
cp -r "$T/bn" "$T/bad"
rm "$T/bad/"*.onnx
head -c 100 "$T/bn/final.safetensors" > "$T/bad/final.safetensors"
run "a truncated final.safetensors: invalid input" 3 ./build/mli export "$T/bad"
check "the message names the file" grep -q "bad/final.safetensors" "$T/last.err"
check "no init.onnx written either" test ! -e "$T/bad/init.onnx"
cp "$T/fm/final.safetensors" "$T/bad/final.safetensors"
run "init and final of different networks: invalid input" 3 ./build/mli export "$T/bad"
check "the message says so" grep -q "hold different networks" "$T/last.err"
# a run being trained holds the run directory's lock: export must not read it half-written
exec 9<"$T/bn"
flock -n 9
run "a locked run directory (a training holds it): the work failed" 1 ./build/mli export "$T/bn"
check "the message says another process holds it" grep -q "another mli process holds this run directory" "$T/last.err"
exec 9<&-
run "--out to a file is a usage error" 2 ./build/mli export --out "$T/bn/config.json" "$T/bn"

# --- the round trip: mli check on the exported files gives mli check's numbers on the run ---
# Every number of geometry.json (losses, delta, Gauss lengths, certificate counts ...) within
# 1e-6 relative, interp.tsv and examples.tsv byte for byte: the import rebuilds the same graph
# with the same values (docs/onnx.md). Only analysis_id may differ.
same_numbers() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad, count = [], [0]
def walk(x, y, path):
    if path == ".analysis_id":
        return
    if isinstance(x, dict):
        if set(x) != set(y):
            bad.append(f"{path}: keys {sorted(set(x) ^ set(y))}")
        for k in set(x) & set(y):
            walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        if len(x) != len(y):
            bad.append(f"{path}: length {len(x)} vs {len(y)}")
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool) and isinstance(y, (int, float)):
        count[0] += 1
        if abs(x - y) > 1e-6 * max(1, abs(x)):
            bad.append(f"{path}: {x} vs {y}")
    elif x != y:
        bad.append(f"{path}: {x!r} vs {y!r}")
walk(a, b, "")
print("\n".join(bad[:20]), file=sys.stderr)
sys.exit(1 if bad or count[0] < 20 else 0)
PY
}
A=(--alpha-steps 11 --examples 20 --verify-steps 10)
run "mli check on the batch-norm run (safetensors)" 0 ./build/mli check "$T/bn" "${A[@]}"
run "mli check on its init.onnx and final.onnx" 0 ./build/mli check --init "$T/bn/init.onnx" --final "$T/bn/final.onnx" \
    dset_name=gaussmix synth_classes=3 seed=1 "${A[@]}" --out "$T/bn/from_onnx"
check "  the same geometry.json numbers (1e-6 relative)" same_numbers "$T/bn/geometry.json" "$T/bn/from_onnx/geometry.json"
check "  the same interp.tsv" cmp "$T/bn/interp.tsv" "$T/bn/from_onnx/interp.tsv"
check "  the same examples.tsv" cmp "$T/bn/examples.tsv" "$T/bn/from_onnx/examples.tsv"
run "mli check on the FashionMNIST run (safetensors)" 0 ./build/mli check "$T/fm" "${A[@]}"
run "mli check on its ONNX export" 0 ./build/mli check --init "$T/fm_onnx/sub/init.onnx" \
    --final "$T/fm_onnx/sub/final.onnx" datasize=1000 seed=2 "${A[@]}"
check "  the same geometry.json numbers (1e-6 relative)" same_numbers "$T/fm/geometry.json" "$T/fm_onnx/sub/geometry.json"
check "  the same interp.tsv" cmp "$T/fm/interp.tsv" "$T/fm_onnx/sub/interp.tsv"
/usr/bin/python3 -c "
import json, sys
g = json.load(open(sys.argv[1])); g['final_test_loss'] *= 1 + 1e-5
json.dump(g, open(sys.argv[2], 'w'))" "$T/fm/geometry.json" "$T/tampered.json"
check "  (a final_test_loss 1e-5 away is noticed)" eval '! same_numbers "$T/fm/geometry.json" "$T/tampered.json"' 

# --- convolutional runs: every architecture exports, and imports back to the same analysis ---
# Small data folders of their own: the first 128 training and 64 test images of FashionMNIST
# (uncompressed IDX), and a CIFAR-10 binary set of random pixels (128 training images in the
# five batches, 64 test images), so that each analysis takes a second.
/usr/bin/python3 tests/small_fmnist.py "$T/fm_data" 128 64 || echo "not ok - write the FashionMNIST folder"
/usr/bin/python3 - "$T/cifar_data" <<'PY' || echo "not ok - write the CIFAR-10 folder"
import os, random, sys
os.makedirs(sys.argv[1], exist_ok=True)
r = random.Random(7)
for name, n in (("data_batch_1", 64), ("data_batch_2", 16), ("data_batch_3", 16), ("data_batch_4", 16),
                ("data_batch_5", 16), ("test_batch", 64)):
    open(f"{sys.argv[1]}/{name}.bin", "wb").write(bytes(b for _ in range(n) for b in [r.randrange(10)] + [r.randrange(256) for _ in range(3072)]))
PY
# the node lists and the tampered file need python3-onnx, the run of final.onnx python3-torch too
HAVE_ONNX=0 HAVE_TORCH=0
/usr/bin/python3 -c "import onnx" 2>/dev/null && HAVE_ONNX=1
/usr/bin/python3 -c "import torch, onnx" 2>/dev/null && HAVE_TORCH=1
# check NAME CMD... where python3-onnx is installed, else a skip
check_onnx() {
  if [ "$HAVE_ONNX" = 1 ]; then check "$@"; else echo "ok - $1 # SKIP python3-onnx not installed"; fi
}
# NAME DSET KEYS...: train one epoch, export, check the run and its ONNX files alike
cnn_roundtrip() {
  local name=$1 dset=$2; shift 2
  local D="$T/cnn_$name" data="$T/fm_data"
  [ "$dset" = cifar10 ] && data="$T/cifar_data"
  run "$name: train one epoch on 128 $dset images" 0 ./build/mli train --quiet --out "$D" --data-dir "$data" \
      dset_name=$dset datasize=128 batchsize=32 epochs=1 seed=3 "$@"
  run "$name: export" 0 ./build/mli export "$D"
  /usr/bin/python3 -c "import onnx,sys; print(' '.join(n.op_type for n in onnx.load(sys.argv[1]).graph.node))" \
      "$D/final.onnx" > "$D/ops.txt" 2>/dev/null
  run "$name: mli check on the run" 0 ./build/mli check "$D" --data-dir "$data" "${A[@]}"
  run "$name: mli check on its init.onnx and final.onnx" 0 ./build/mli check --init "$D/init.onnx" \
      --final "$D/final.onnx" --data-dir "$data" dset_name=$dset datasize=128 batchsize=32 seed=3 "${A[@]}" \
      --out "$D/from_onnx"
  check "$name:   the same geometry.json numbers (1e-6 relative)" same_numbers "$D/geometry.json" "$D/from_onnx/geometry.json"
  check "$name:   the same interp.tsv" cmp "$D/interp.tsv" "$D/from_onnx/interp.tsv"
  check "$name:   the same examples.tsv" cmp "$D/examples.tsv" "$D/from_onnx/examples.tsv"
  if [ "$HAVE_TORCH" = 1 ]; then
    # final.onnx run by PyTorch (float64) on the raw test pixels/255 gives the run's final test loss
    run "$name: final.onnx read by onnx and run by PyTorch" 0 /usr/bin/python3 tests/onnx_torch_eval.py "$D/final.onnx" "$data" $dset
    cp "$T/last.out" "$D/torch.txt"
    check "$name:   PyTorch's test loss and accuracy of final.onnx are the run's (1e-5 relative)" /usr/bin/python3 -c "
import sys
ref = dict(l.split() for l in open('$D/torch.txt'))
row = open('$D/train.tsv').read().split('\n')[1].split('\t')
loss, acc = float(row[3]), float(row[4])
d = abs(float(ref['test_loss']) - loss) / loss
print('$name', 'torch', ref['test_loss'], 'mli', loss, 'relative', d)
sys.exit(not (d <= 1e-5 and abs(float(ref['test_acc']) - acc) < 1e-9))"
  else
    echo "ok - $name: final.onnx run by PyTorch # SKIP python3-torch or python3-onnx not installed"
  fi
}
cnn_roundtrip resnet_bn fashionmnist arch=resnet depth=8 width=4 use_batchnorm=true
check_onnx "  the option-A shortcut: AveragePool (stride 2), BatchNormalization, Pad" grep -q "AveragePool BatchNormalization Pad" "$T/cnn_resnet_bn/ops.txt"
check_onnx "  FashionMNIST is not normalised: no Sub, no Div" eval '! grep -qw "Sub\|Div" "$T/cnn_resnet_bn/ops.txt"'
cnn_roundtrip resnet fashionmnist arch=resnet depth=8 width=4
check_onnx "  two Pad nodes (stages 2 and 3)" test "$(grep -o -w Pad "$T/cnn_resnet/ops.txt" | wc -l)" -eq 2
cnn_roundtrip lenet fashionmnist arch=lenet width=3
cnn_roundtrip vgg_bn fashionmnist arch=vgg depth=2 width=4 use_batchnorm=true
cnn_roundtrip resnet_cifar cifar10 arch=resnet depth=8 width=4 use_batchnorm=true
check_onnx "  CIFAR-10: the graph begins with Sub and Div (the channel normalisation)" grep -q "^Sub Div Conv" "$T/cnn_resnet_cifar/ops.txt"
cnn_roundtrip vgg_cifar cifar10 arch=vgg depth=2 width=4
# The normalisation's constants are not parameters: two files must hold the same ones
if [ "$HAVE_ONNX" = 1 ]; then
/usr/bin/python3 - "$T/cnn_resnet_cifar" <<'PY' || echo "not ok - tamper with the normalisation"
import onnx, sys
from onnx import numpy_helper
m = onnx.load(sys.argv[1] + "/final.onnx")
for t in m.graph.initializer:
    if t.name == "input/std":
        a = numpy_helper.to_array(t).copy(); a[0, 1, 0, 0] *= 1.01
        t.CopyFrom(numpy_helper.from_array(a, t.name))
onnx.save(m, sys.argv[1] + "/other_std.onnx")
PY
run "init.onnx and a final.onnx of another normalisation: invalid input" 3 ./build/mli check \
    --init "$T/cnn_resnet_cifar/init.onnx" --final "$T/cnn_resnet_cifar/other_std.onnx" --data-dir "$T/cifar_data" \
    dset_name=cifar10 datasize=128 "${A[@]}" --out "$T/cnn_resnet_cifar/tampered"
check "  the message says the normalisation differs" grep -q "normalisation (the Sub and Div constants) differs" "$T/last.err"
else
  echo "ok - a final.onnx of another normalisation # SKIP python3-onnx not installed"
fi
run "a CIFAR-10 model on FashionMNIST: invalid input" 3 ./build/mli check --init "$T/cnn_resnet_cifar/init.onnx" \
    --final "$T/cnn_resnet_cifar/final.onnx" --data-dir "$T/fm_data" datasize=128 "${A[@]}" --out "$T/cnn_resnet_cifar/fm"

# --- the run directory's known files ------------------------------------------------------
run "retrain with --force" 0 ./build/mli train --quiet --force --out "$T/bn" \
    dset_name=gaussmix synth_classes=3 hsizes=16,8,3 use_batchnorm=true epochs=1 seed=1
check "--force removed the ONNX files of the model it replaced" test ! -e "$T/bn/init.onnx" -a ! -e "$T/bn/final.onnx"
finish
