#!/usr/bin/env bash
# End-to-end tests of the convolutional architectures (arch=lenet, resnet) through every
# command: train, resume after SIGKILL, analyze with the controls, check (mse), report.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp cnn)
M=./build/mli

# --- learning on real data -------------------------------------------------------------
run "lenet on 5000 FashionMNIST examples, 3 epochs" 0 \
    $M train --quiet --out "$T/le" arch=lenet datasize=5000 epochs=3 test_every=3 batchsize=64 lr=0.1 seed=0
acc=$(tail -1 "$T/le/train.tsv" | cut -f5)
check "lenet test accuracy above 0.70 (got $acc)" awk -v a="$acc" 'BEGIN{exit !(a > 0.70)}'
run "resnet-8 of width 4 with batch norm on 5000 FashionMNIST examples, 3 epochs" 0 \
    $M train --quiet --out "$T/rn" arch=resnet depth=8 width=4 use_batchnorm=true datasize=5000 epochs=3 test_every=3 \
    batchsize=64 optim_name=adam lr=0.003 seed=0
acc=$(tail -1 "$T/rn/train.tsv" | cut -f5)
check "resnet test accuracy above 0.70 (got $acc)" awk -v a="$acc" 'BEGIN{exit !(a > 0.70)}'
check "the model file names its architecture" grep -q '"mli.arch":"resnet"' "$T/rn/final.safetensors"
check "... and its input shape" grep -q '"mli.input_shape":"1,28,28"' "$T/rn/final.safetensors"
check "tensor names of the reference" grep -q '"layer2.0.downsample.bn0.weight"' "$T/rn/final.safetensors"
check "config.json records arch" grep -q '"arch":[[:space:]]*"resnet"' "$T/rn/config.json"

# --- resumption with augmentation -------------------------------------------------------
args=(--quiet arch=resnet depth=8 width=2 use_batchnorm=true augment=true datasize=400 epochs=2 batchsize=50
      seed=3 alpha_steps=3)
run "reference run (augment=true)" 0 $M train --out "$T/ref" "${args[@]}"
MLI_FAULT_KILL=2:3 $M train --out "$T/killed" "${args[@]}" 2>/dev/null
rc=$?
check "SIGKILL in the middle of epoch 2 (exit status $rc)" test "$rc" -eq 137
run "re-running the same command resumes" 0 $M train --out "$T/killed" "${args[@]}"
check "resumed final.safetensors is byte-identical" cmp -s "$T/ref/final.safetensors" "$T/killed/final.safetensors"
run "augment=false differs" 0 $M train --out "$T/noaug" "${args[@]/augment=true/augment=false}"
check "augmentation changes the result" bash -c "! cmp -s '$T/ref/final.safetensors' '$T/noaug/final.safetensors'"

# --- analyses on the small run ------------------------------------------------------------
run "analyze with every control" 0 $M analyze --quiet "$T/ref" --alpha-steps 3 --examples 8 --random-inits 1 \
    --permute 1 --plane --plane-size 3 --plane-examples 100 --logits 4 --ntk 4 --hessian 1 --hessian-iters 6 \
    --trace-samples 2
for f in interp.tsv examples.tsv geometry.json random_inits.tsv permute.tsv plane.tsv logits.tsv; do
  check "analyze wrote $f" test -s "$T/ref/$f"
done
check "geometry.json has the NTK" grep -q '"ntk"' "$T/ref/geometry.json"
check "geometry.json has the Hessian spectra" grep -q '"hessian"' "$T/ref/geometry.json"
# π(θ₁) computes θ₁'s function (same loss at α = 1) but is another point (another loss inside)
check "the permuted final has the final's loss, and another path" awk -F'\t' \
    'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} {t=$c["true_train_loss"]; p=$c["final_perm_0"]; d=t-p; d=d<0?-d:d}
     $1==1{same=d<1e-5} $1!=0&&$1!=1{moved=d>1e-4} END{exit !(same && moved)}' "$T/ref/permute.tsv"
run "--exact refuses a CNN" 2 $M analyze "$T/ref" --exact --alpha-steps 3
check "  says why" grep -q "dense chains" "$T/last.err"
run "report" 0 $M report --quiet "$T/ref"
check "report has index.html" test -s "$T/ref/report/index.html"

# --- mse and the model-file path ----------------------------------------------------------
run "lenet with loss_fn=mse" 0 $M train --quiet --out "$T/mse" arch=lenet width=3 loss_fn=mse datasize=400 epochs=1 \
    batchsize=50 seed=0 alpha_steps=3
run "check on the run" 0 $M check --quiet "$T/mse" --examples 8
check "check wrote the certificates" grep -q '"certificates"' "$T/mse/geometry.json"
run "check on the model files with data keys" 0 $M check --quiet --init "$T/mse/init.safetensors" \
    --final "$T/mse/final.safetensors" --out "$T/files" datasize=400 --examples 8 --alpha-steps 3
check "the same curve from the files" cmp -s "$T/mse/interp.tsv" "$T/files/interp.tsv"

# --- a sweep over architectures ----------------------------------------------------------
printf 'arch = lenet | resnet\nwidth = 2\ndatasize = 200\nepochs = 1\nbatchsize = 50\nalpha_steps = 3\nanalyze.examples = 4\n' > "$T/grid.txt"
run "sweep over lenet and resnet" 0 $M sweep "$T/grid.txt" --out "$T/sw" --quiet
check "both runs done" test "$(grep -l '"status":[[:space:]]*"done"' "$T"/sw/runs/*/config.json | wc -l)" -eq 2
run "sweep report" 0 $M report --quiet "$T/sw"

# --- bad keys -------------------------------------------------------------------------------
run "resnet depth not 6n+2" 2 $M train --out "$T/x" arch=resnet depth=10
check "  names the key" grep -q "depth=10" "$T/last.err"
run "a CNN on a synthetic set" 2 $M train --out "$T/x" arch=lenet dset_name=gaussmix
check "  says why" grep -q "needs images" "$T/last.err"
run "lenet with batch norm" 2 $M train --out "$T/x" arch=lenet use_batchnorm=true
run "augment with an FCNet" 2 $M train --out "$T/x" augment=true
run "unknown arch" 2 $M train --out "$T/x" arch=alexnet
run "help lists arch" 0 $M train --help
check "  with its choices" grep -q "lenet, vgg or resnet" "$T/last.out"
finish
