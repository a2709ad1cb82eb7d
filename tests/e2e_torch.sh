#!/usr/bin/env bash
# mli against PyTorch on the same models (converted with scripts/torch2safetensors.py).
# Optional: skipped where python3-torch is not installed (it is never a dependency).
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp torch)
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "ok - # SKIP python3-torch not installed"; exit 0
fi
for act in relu tanh; do
  mkdir -p "$T/$act"
  /usr/bin/python3 tests/torch_reference.py "$T/$act" 2000 $act > "$T/$act/ref.txt" || { echo "not ok - torch reference"; exit 1; }
  for m in init final; do
    run "convert the $act $m model" 0 /usr/bin/python3 scripts/torch2safetensors.py "$T/$act/$m.pt" "$T/$act/$m.safetensors" --act-fn $act
  done
  run "mli check on the converted $act models" 0 ./build/mli check --init "$T/$act/init.safetensors" \
      --final "$T/$act/final.safetensors" datasize=2000 --examples 50 --verify-steps 20 --alpha-steps 3
  check "$act: losses and accuracy agree with PyTorch" /usr/bin/python3 -c "
import json
g = json.load(open('$T/$act/geometry.json'))
ref = dict(l.split() for l in open('$T/$act/ref.txt'))
for k in ('init_train_loss', 'final_test_loss', 'final_test_acc'):
    assert abs(g[k] - float(ref[k])) <= 2e-6 * max(1, abs(float(ref[k]))), (k, g[k], ref[k])
"
done
run "analyze the path with 3 alphas" 0 ./build/mli check --init "$T/tanh/init.safetensors" \
    --final "$T/tanh/final.safetensors" datasize=2000 --examples 10 --verify-steps 5 --alpha-steps 3 --out "$T/tanh"
finish
