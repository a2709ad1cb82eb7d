#!/usr/bin/env bash
# The CNN section of make bench (bench/run.sh runs it; alone: bash bench/cnn.sh [SGEMM_GFLOPS]).
# mli against PyTorch (bench/torch_cnn.py: the same graphs as src/nn/arch_cnn.c, the same loops)
# in the same run, same threads:
#   - one epoch of ResNet-20 (batch norm) and of VGG (64/128/256) on the first N FashionMNIST
#     training images, batch 128, SGD lr 0.1 momentum 0.9 (seconds of the epoch: no test pass);
#   - ResNet-20's loss curve at 50 alphas over the first NC training images, batch-norm
#     statistics re-estimated at every alpha by the ema pass (mli analyze's default).
# N = MLI_BENCH_CNN_N (default 5000), NC = MLI_BENCH_CNN_CURVE_N (default 256): fewer images
# than the 60,000 of the training set so that the section (both sides) fits a few minutes.
set -u
cd "$(dirname "$0")/.." || exit 2
out=build/bench; mkdir -p "$out"
n=${MLI_BENCH_CNN_N:-5000}
nc=${MLI_BENCH_CNN_CURVE_N:-256}
peak=${1:-}
if [ -z "$peak" ]; then
  ./build/bench/bench_sgemm | tee "$out/sgemm.txt"
  peak=$(awk '/sgemm_gflops/{print $2}' "$out/sgemm.txt")
fi
# forward FLOPs of the convolutions per example (2·K·L·P summed over the layers) and of the
# first one (no input gradient in training): a training step costs 3·F − F_first
declare -A F F1 ARGS
F[resnet]=61641216; F1[resnet]=225792; ARGS[resnet]="arch=resnet depth=20 use_batchnorm=true"
F[vgg]=58705920;    F1[vgg]=903168;    ARGS[vgg]="arch=vgg"
echo "== CNN training: one epoch of the first $n FashionMNIST images, batch 128 (ResNet-20 with batch norm; VGG)"
for arch in resnet vgg; do
  r=$out/run-cnn-$arch
  # shellcheck disable=SC2086
  ./build/mli train --quiet --force --out "$r" ${ARGS[$arch]} batchsize=128 datasize="$n" epochs=1 lr=0.1 >/dev/null || exit 1
  sec=$(awk -F'\t' 'NR==2{print $8}' "$r/train.tsv")
  awk -v a="$arch" -v s="$sec" -v n="$n" -v f="${F[$arch]}" -v f1="${F1[$arch]}" -v peak="$peak" 'BEGIN{
    g = n*(3*f - f1)/s/1e9;
    printf "cnn_%s_epoch_seconds %.2f\ncnn_%s_conv_gflops %.1f\ncnn_%s_conv_fraction_of_sgemm %.2f\n", a, s, a, g, a, g/peak }' \
    | tee "$out/cnn-$arch.txt"
done
echo "== CNN curves: ResNet-20 loss at 50 alphas over the first $nc training images, ema statistics per alpha"
./build/bench/bench_curves "$out/run-cnn-resnet" cnn "$nc" 128 | tee "$out/cnn-curves.txt"
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "== PyTorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)"), the same CNN loops ($(nproc) threads)"
  for arch in resnet vgg; do
    /usr/bin/python3 bench/torch_cnn.py "$(nproc)" train "$arch" "$n" | tee "$out/torch-cnn-$arch.txt"
    s=$(awk '/_epoch_seconds/{print $2}' "$out/cnn-$arch.txt")
    awk -v s="$s" -v a="$arch" '/_epoch_seconds/{printf "cnn_train_ratio_vs_torch_%s %.2f\n", a, s/$2}' "$out/torch-cnn-$arch.txt"
  done
  /usr/bin/python3 bench/torch_cnn.py "$(nproc)" curves "$nc" | tee "$out/torch-cnn-curves.txt"
  c=$(awk '/cnn_curves_seconds/{print $2}' "$out/cnn-curves.txt")
  awk -v c="$c" '/torch_cnn_curves_seconds/{printf "cnn_curves_speedup_vs_torch %.2f\n", $2/c}' "$out/torch-cnn-curves.txt"
else
  echo "== PyTorch not installed (apt-get install python3-torch) — CNN comparison skipped"
fi
