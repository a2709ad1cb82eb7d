#!/usr/bin/env bash
# mli against PyTorch through ONNX: an FCNet, a network with a residual connection and a small
# CNN (conv, batch norm, max pool, a residual block with a 1×1 conv shortcut, global average
# pool, flatten, linear; its batch-norm statistics re-estimated exactly at each α), built
# and trained in PyTorch (300 SGD steps on 2,000 FashionMNIST images), exported with
# torch.onnx.export at initialization and after training, analysed by
# `mli check --init init.onnx --final final.onnx`; mli's training and test losses along
# θ(α) (interp.tsv) must equal PyTorch's own to 1e-5 (relative). Optional: skipped where
# python3-torch is not installed (it is never a dependency).
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp torch_onnx)
if ! /usr/bin/python3 -c "import torch, torch.onnx" 2>/dev/null; then
  echo "ok - # SKIP python3-torch not installed"; exit 0
fi
N=2000
run "train and export the PyTorch models" 0 /usr/bin/python3 tests/torch_onnx_reference.py train "$T" $N
for m in fcnet residual cnn; do
  run "mli check on the $m exported by torch.onnx.export" 0 ./build/mli check --init "$T/$m/init.onnx" \
      --final "$T/$m/final.onnx" datasize=$N --examples 20 --verify-steps 10 --alpha-steps 11 --bn-stats exact \
      --out "$T/$m/check"
  check "$m: interp.tsv written" test -s "$T/$m/check/interp.tsv"
done
run "mli's losses along the path equal PyTorch's (1e-5 relative)" 0 /usr/bin/python3 tests/torch_onnx_reference.py compare "$T" $N
sed 's/^/# /' "$T/last.out"
finish
