#!/usr/bin/env bash
# End-to-end tests of `mli train` (TAP-style lines: "ok - ..." / "not ok - ...").
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp train)

# --- learning on real data -------------------------------------------------------------
# 784-100-10 (the default network) on the first 5,000 FashionMNIST examples, 3 epochs.
# batchsize=128: 117 SGD steps; with the default 512 it is 30 steps and lands at 0.68-0.73.
run "train 784-100-10 on 5000 FashionMNIST examples" 0 \
    ./build/mli train --quiet --out "$T/a" datasize=5000 epochs=3 batchsize=128 seed=0
acc=$(tail -1 "$T/a/train.tsv" | cut -f5)
check "test accuracy after 3 epochs above 0.70 (got $acc)" awk -v a="$acc" 'BEGIN{exit !(a > 0.70)}'
check "train.tsv has the contract header" \
    grep -qx "$(printf 'epoch\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\twdist\tnorm_wdist\tseconds')" "$T/a/train.tsv"
check "train.tsv has one row per epoch" test "$(wc -l < "$T/a/train.tsv")" -eq 4
for f in config.json init.safetensors final.safetensors checkpoint.safetensors; do
  check "run directory has $f" test -s "$T/a/$f"
done
check "config.json says done" grep -q '"status":[[:space:]]*"done"' "$T/a/config.json"
check "config.json records the data set files and sizes" grep -q 'train-images-idx3-ubyte' "$T/a/config.json"
check "no temporary files left behind" test -z "$(find "$T/a" -name '*.tmp.*')"

# --- determinism and resumption ---------------------------------------------------------
args=(--quiet datasize=3000 epochs=3 batchsize=100 hsizes=64,10 seed=7 use_batchnorm=true optim_name=adam lr=0.003)
run "reference run" 0 ./build/mli train --out "$T/ref" "${args[@]}"
run "same seed again" 0 ./build/mli train --out "$T/same" "${args[@]}"
check "same seed twice gives byte-identical final.safetensors" cmp -s "$T/ref/final.safetensors" "$T/same/final.safetensors"
MLI_FAULT_KILL=2:0 ./build/mli train --out "$T/killed" "${args[@]}" 2>/dev/null
rc=$?
check "SIGKILL after the first epoch (exit status $rc)" test "$rc" -eq 137
check "killed run has no final.safetensors" test ! -e "$T/killed/final.safetensors"
check "killed run says running" grep -q '"status":[[:space:]]*"running"' "$T/killed/config.json"
run "re-running the same command resumes" 0 ./build/mli train --out "$T/killed" "${args[@]}"
check "resumed final.safetensors is byte-identical" cmp -s "$T/ref/final.safetensors" "$T/killed/final.safetensors"
check "resumed checkpoint is byte-identical" cmp -s "$T/ref/checkpoint.safetensors" "$T/killed/checkpoint.safetensors"
check "resumed train.tsv has the same losses" diff <(cut -f1-7 "$T/ref/train.tsv") <(cut -f1-7 "$T/killed/train.tsv")
MLI_FAULT_KILL=3:7 ./build/mli train --out "$T/mid" "${args[@]}" 2>/dev/null
run "resume after a kill in the middle of epoch 3" 0 ./build/mli train --out "$T/mid" "${args[@]}"
check "mid-epoch resume is byte-identical" cmp -s "$T/ref/final.safetensors" "$T/mid/final.safetensors"
run "a finished run is refused" 2 ./build/mli train --out "$T/ref" "${args[@]}"
check "the refusal says why" grep -q -- "--force" "$T/last.err"
MLI_FAULT_KILL=1:3 ./build/mli train --out "$T/other" "${args[@]}" 2>/dev/null
run "an unfinished run with other keys is refused" 2 ./build/mli train --out "$T/other" "${args[@]/lr=0.003/lr=0.1}"
check "the refusal names the reason" grep -q "different configuration" "$T/last.err"
run "--force retrains a finished run" 0 ./build/mli train --force --out "$T/ref" "${args[@]}"
check "--force gives the same result" cmp -s "$T/same/final.safetensors" "$T/ref/final.safetensors"

# --- statuses ---------------------------------------------------------------------------
# a linear network with a large step size grows without bound
run "divergence exits 1" 1 ./build/mli train --quiet --out "$T/div" datasize=2000 epochs=6 lr=10 act_fn=identity seed=1
check "diverged run says diverged" grep -q '"status":[[:space:]]*"diverged"' "$T/div/config.json"
check "diverged run keeps init.safetensors" test -s "$T/div/init.safetensors"
check "diverged run has no final.safetensors" test ! -e "$T/div/final.safetensors"
check "diverged run keeps its last good checkpoint and train.tsv" test -s "$T/div/checkpoint.safetensors" -a -s "$T/div/train.tsv"
check "divergence message names the epoch" grep -q "diverged at epoch" "$T/last.err"
run "early stop" 0 ./build/mli train --quiet --out "$T/early" datasize=1000 epochs=5 min_loss_threshold=0.001 min_loss_epoch_check=2
check "early-stopped run says stopped_early" grep -q '"status":[[:space:]]*"stopped_early"' "$T/early/config.json"
check "early-stopped run trained 2 epochs" test "$(wc -l < "$T/early/train.tsv")" -eq 3
run "save_freq writes snapshots" 0 ./build/mli train --quiet --out "$T/traj" datasize=1000 epochs=4 save_freq=2
check "traj/epoch_2 and epoch_4 exist" test -s "$T/traj/traj/epoch_2.safetensors" -a -s "$T/traj/traj/epoch_4.safetensors"
check "no traj/epoch_1" test ! -e "$T/traj/traj/epoch_1.safetensors"

# --- synthetic sets, losses, options ------------------------------------------------------
run "teacher regression with mse" 0 ./build/mli train --quiet --out "$T/teach" dset_name=teacher loss_fn=mse hsizes=32,10 datasize=2000 epochs=3
run "gaussmix with tanh and batch norm" 0 ./build/mli train --quiet --out "$T/gm" dset_name=gaussmix act_fn=tanh use_batchnorm=true hsizes=32,32,10 datasize=2000 epochs=2
run "autoencoder (recon)" 0 ./build/mli train --quiet --out "$T/ae" loss_fn=recon hsizes=64,8,64,784 datasize=1000 epochs=1
check "recon accuracy is nan" test "$(tail -1 "$T/ae/train.tsv" | cut -f3)" = nan
printf 'lr = 0.05  # comment\nepochs=1\ndatasize=500\n' > "$T/c.cfg"
run "--config file" 0 ./build/mli train --quiet --out "$T/cfg" --config "$T/c.cfg" epochs=2
check "config file key applied" grep -q '"lr":[[:space:]]*0.05' "$T/cfg/config.json"
check "command-line key wins" grep -q '"epochs":[[:space:]]*2' "$T/cfg/config.json"
run "--threads 1" 0 ./build/mli train --quiet --threads 1 --out "$T/thr" datasize=500 epochs=1

# --- bad input ----------------------------------------------------------------------------
run "unknown key" 2 ./build/mli train --out "$T/x" nosuchkey=1
check "message names the key" grep -q nosuchkey "$T/last.err"
run "malformed value" 2 ./build/mli train --out "$T/x" lr=fast
check "message names key and value" grep -q "lr: 'fast'" "$T/last.err"
run "unknown option" 2 ./build/mli train --frobnicate
run "output size does not match classes" 2 ./build/mli train --out "$T/x" hsizes=100,7 datasize=100
printf 'foo=1\n' > "$T/bad.cfg"
run "bad config file" 3 ./build/mli train --out "$T/x" --config "$T/bad.cfg"
check "config error names file and line" grep -q "bad.cfg:1" "$T/last.err"
mkdir -p "$T/empty"
run "missing data set" 3 env MLI_DATA_ROOT="$T/empty" ./build/mli train --out "$T/x" dset_name=mnist
check "missing data set lists where it looked" grep -q "$T/empty/mnist" "$T/last.err"
mkdir -p "$T/trunc"
for f in train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  cp /usr/share/datasets/fashion-mnist/$f "$T/trunc/"; done
head -c 1000000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz > "$T/trunc/train-images-idx3-ubyte.gz"
run "truncated data set" 3 ./build/mli train --out "$T/x" --data-dir "$T/trunc"
check "truncation error names the file" grep -q "train-images-idx3-ubyte.gz" "$T/last.err"
run "help" 0 ./build/mli train --help
check "help lists the keys" grep -q random_label_proportion "$T/last.out"
run "mli help train" 0 ./build/mli help train
run "unknown command" 2 ./build/mli frobnicate
finish
