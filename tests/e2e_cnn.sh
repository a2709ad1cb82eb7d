#!/usr/bin/env bash
# End-to-end tests of the convolutional architectures (arch=lenet, resnet) through every
# command: train, resume after SIGKILL, analyze with the controls, check (mse), report.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp cnn)
M=./build/mli

# --- learning on real data -------------------------------------------------------------
# Adam: plain SGD at lr 0.1 lands anywhere between 0.67 and 0.73 with the BLAS thread count
run "lenet on 5000 FashionMNIST examples, 3 epochs" 0 \
    $M train --quiet --out "$T/le" arch=lenet datasize=5000 epochs=3 test_every=3 batchsize=64 optim_name=adam \
    lr=0.003 seed=0
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
# exact batch-norm statistics node after node (the whole set's tensors kept) and one partial
# pass per batch-norm node (MLI_BN_NODE_AT_A_TIME) sum the same chunks: the same bytes
mkdir -p "$T/bn1" "$T/bn2"
cp "$T/ref/config.json" "$T/ref/init.safetensors" "$T/ref/final.safetensors" "$T/bn1/"
cp "$T/ref/config.json" "$T/ref/init.safetensors" "$T/ref/final.safetensors" "$T/bn2/"
run "exact batch-norm statistics, node-major" 0 $M analyze --quiet "$T/bn1" --bn-stats exact --alpha-steps 3 --examples 2
MLI_BN_NODE_AT_A_TIME=1 $M analyze --quiet "$T/bn2" --bn-stats exact --alpha-steps 3 --examples 2 >/dev/null 2>&1
check "  equal to one pass per batch-norm node" cmp -s "$T/bn1/interp.tsv" "$T/bn2/interp.tsv"
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

# --- figure 1 -------------------------------------------------------------------------------
f1=(--quiet --out "$T/f1" depth=8 width=2 datasize=300 epochs=2 batchsize=50 --alpha-steps 3 --plane-size 3
    --plane-examples 100 --examples 4)
run "figure1 on a small ResNet" 0 $M figure1 "${f1[@]}"
check "  says where the figure is" grep -q "figure 1: $T/f1/report/figure1.png" "$T/last.out"
check "  figure1.png is a PNG" bash -c "head -c 8 '$T/f1/report/figure1.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "  the report shows it" grep -q 'figure1.svg' "$T/f1/report/index.html"
check "  preset keys: resnet with batch norm, snapshots every epoch" bash -c \
    "grep -q '\"arch\":[[:space:]]*\"resnet\"' '$T/f1/config.json' && grep -q '\"use_batchnorm\":[[:space:]]*true' '$T/f1/config.json' && grep -q '\"save_freq\":[[:space:]]*1' '$T/f1/config.json'"
check "  a key on the command line wins over the preset" grep -q '"depth":[[:space:]]*8' "$T/f1/config.json"
check "  both snapshots projected" grep -q '"trajectory_snapshots":[[:space:]]*2' "$T/f1/geometry.json"
# θ_r of the plane is the unrelated initialization of the second curve: its distance to θ₁ from
# the plane's coordinates (units of ‖Δ‖, θ₁ at (1, 0)) equals the curve's wdist
w0=$(grep -m1 '^[[:space:]]"wdist"' "$T/f1/geometry.json" | tr -dc '0-9.e-')
wr=$(grep -A30 '"random_inits"' "$T/f1/geometry.json" | grep -m1 '"wdist"' | sed 's/.*\[//; s/\].*//')
check "  the plane's θ_r is the curve's θ_r (|θ1-θr| $wr)" awk -F'\t' -v w0="$w0" -v wr="$wr" \
    '$1=="theta_rand"{d=w0*sqrt(($2-1)^2+$3^2); r=d-wr; r=r<0?-r:r; ok=wr>0 && r<=1e-5*wr} END{exit !ok}' \
    "$T/f1/plane_points.tsv"
cp "$T/f1/train.tsv" "$T/f1.train.tsv"
run "figure1 again reuses the finished training" 0 $M figure1 "${f1[@]}"
check "  train.tsv untouched" cmp -s "$T/f1/train.tsv" "$T/f1.train.tsv"
run "figure1 with an unknown option" 2 $M figure1 --out "$T/x" --bogus
run "figure1 with a bad key" 2 $M figure1 --out "$T/x" depth=10

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
