#!/usr/bin/env bash
# The whole pipeline once more with mli built under AddressSanitizer and UBSan (build/san/mli),
# on small configurations: training, resumption, analysis with every option, check, report.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp sanitized)
S=./build/san/mli
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run "train (batch norm, adam, l1)" 0 $S train --quiet --out "$T/a" datasize=600 epochs=2 hsizes=16,16,10 use_batchnorm=true optim_name=adam lr=0.01 regularization=l1 save_freq=1
run "train (outR, random labels)" 0 $S train --quiet --out "$T/o" datasize=600 epochs=1 hsizes=16,10 regularization=outR random_label_proportion=0.2
MLI_FAULT_KILL=2:1 $S train --quiet --out "$T/k" dset_name=teacher loss_fn=mse hsizes=16,10 datasize=600 epochs=3 batchsize=100 2>/dev/null
run "resume under the sanitizers" 0 $S train --quiet --out "$T/k" dset_name=teacher loss_fn=mse hsizes=16,10 datasize=600 epochs=3 batchsize=100
run "analyze with batch norm, hessian" 0 $S analyze --quiet "$T/a" --examples 30 --verify-steps 20 --hessian 2 --trace-samples 3 --alpha-steps 9
run "analyze exact statistics" 0 $S analyze --quiet "$T/a" --examples 10 --bn-stats exact --alpha-steps 5 --no-train-derivs
run "analyze mse with adaptive quadrature" 0 $S analyze --quiet "$T/k" --examples 10 --verify-steps 20 --gauss-quad adaptive --alpha-steps 9
run "check" 0 $S check "$T/k" --examples 20 --verify-steps 20 --alpha-steps 9
run "check --exact (mse pieces, certificates, the data set's curve)" 0 $S check "$T/k" --exact --examples 20 --verify-steps 20 --alpha-steps 9
run "analyze --exact, cross-entropy (the enclosure), deep" 0 $S analyze --quiet "$T/o" --exact --examples 20 --verify-steps 20 --alpha-steps 9
run "train a deeper relu network" 0 $S train --quiet --out "$T/d" datasize=300 epochs=1 hsizes=16,12,8,10 batchsize=100
run "analyze --exact on it (three hidden layers: the batched start, rank-one outputs)" 0 $S analyze --quiet "$T/d" --exact --examples 30 --verify-steps 20 --alpha-steps 9
run "train three Linear layers with mse" 0 $S train --quiet --out "$T/t" dset_name=teacher loss_fn=mse hsizes=24,16,10 datasize=300 epochs=1 batchsize=100
run "check --exact on it (outputs by the rank-one changes of both layers' switches)" 0 $S check "$T/t" --exact --examples 20 --verify-steps 20 --alpha-steps 9
run "report" 0 $S report "$T/k"
mkdir -p "$T/st/arch-s/runs" "$T/st/mse-s/runs" && cp -r "$T/a" "$T/st/arch-s/runs/r0" && cp -r "$T/k" "$T/st/mse-s/runs/r0"
run "report of a study (two parts)" 0 $S report "$T/st"
mkdir -p "$T/st2/part/runs"
run "a study part without runs" 3 $S report "$T/st2"
run "retrain over the analysed and reported run (--force)" 0 $S train --quiet --force --out "$T/k" dset_name=teacher loss_fn=mse hsizes=16,10 datasize=600 epochs=1 batchsize=100
check "  leaves nothing of the old analysis or report" test -z "$(ls "$T/k" | grep -v -x -e config.json -e init.safetensors -e checkpoint.safetensors -e final.safetensors -e train.tsv)"
mkdir -p "$T/w" && touch "$T/w/traj"
run "a failed write" 1 $S train --quiet --out "$T/w" datasize=600 epochs=2 hsizes=16,10 save_freq=1
rm "$T/w/traj"
run "  resumes once fixed" 0 $S train --quiet --out "$T/w" datasize=600 epochs=2 hsizes=16,10 save_freq=1
printf 'epochs=1\n#%5000s\nseed=2\0\n' x > "$T/nul.cfg"
run "a config file with a long line and a NUL byte" 3 $S train --out "$T/x" --config "$T/nul.cfg"
run "a key twice" 2 $S train --out "$T/x" seed=1 seed=2
run "bad input" 2 $S train --out "$T/x" lr=oops
head -c 3000 "$T/a/final.safetensors" > "$T/a/final.safetensors.cut" && mv "$T/a/final.safetensors.cut" "$T/a/final.safetensors"
run "truncated model" 3 $S analyze "$T/a"
finish
