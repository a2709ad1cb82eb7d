#!/usr/bin/env bash
# make bench: performance figures relative to the machine's sgemm rate measured in the same
# run, and to PyTorch on the same CPU when python3-torch is installed. Not a test.
set -u
cd "$(dirname "$0")/.." || exit 2
out=build/bench; mkdir -p "$out"
run=$out/run-784-1024-1024-10
# The machine as this run sees it: figures are quoted as ratios measured in the same run, and
# the machine by these lines only (a virtual machine's CPU model string is whatever the host says).
echo "== machine"
echo "cpu_model $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "cpu_cores $(nproc)"
echo "cpu_simd $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16' | tr '\n' ' ' | sed 's/ $//')"
echo "memory $(awk '/^MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "openblas $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown) (libopenblas0-pthread)"
./build/bench/bench_sgemm | tee "$out/sgemm.txt"
peak=$(awk '/sgemm_gflops/{print $2}' "$out/sgemm.txt")

echo "== training: 784-1024-1024-10 relu, batch 512, SGD, one epoch of 60,000 FashionMNIST images"
./build/mli train --quiet --force --out "$run" hsizes=1024,1024,10 epochs=1 >/dev/null || exit 1
sec=$(awk -F'\t' 'NR==2{print $8}' "$run/train.tsv")
# GEMM FLOPs: forward 2·N·Σ(in·out); backward dW for every layer, dX for all but the first;
# plus the forward pass over the 10,000 test images at the end of the epoch (included in seconds)
awk -v s="$sec" -v peak="$peak" 'BEGIN{
  w0=784*1024; w1=1024*1024; w2=1024*10; n=60000; nt=10000;
  f = 2*n*(w0+w1+w2) + 2*n*(w0+w1+w2) + 2*n*(w1+w2) + 2*nt*(w0+w1+w2);
  g = f/s/1e9;
  printf "train_epoch_seconds %.2f\ntrain_gflops %.1f\ntrain_fraction_of_sgemm %.2f\n", s, g, g/peak }'

echo "== analysis along the path (50 alphas)"
./build/bench/bench_curves "$run" | tee "$out/curves.txt"
awk -v peak="$peak" '/_gflops/{printf "%s_fraction_of_sgemm %.2f\n", substr($1,1,index($1,"_gflops")-1), $2/peak}' "$out/curves.txt"
awk '/curves_seconds/{printf "curves_speedup_vs_reference_250s %.1f\n", 250/$2} /gauss_seconds/{printf "gauss_speedup_vs_reference_320s %.1f\n", 320/$2}' "$out/curves.txt"

echo "== exact analysis (--exact) against the grid analysis of the same examples, mse networks trained one epoch"
for h in 100,10 1024,1024,10; do
  er=$out/run-exact-$h
  ./build/mli train --quiet --force --out "$er" hsizes=$h loss_fn=mse epochs=1 >/dev/null || exit 1
  ./build/bench/bench_exact "$er" | tee "$out/exact-$h.txt"
done
echo "== the 1,000-point verification grid from the engine and from the exact pieces (one thread each, CPU seconds)"
OPENBLAS_NUM_THREADS=1 ./build/bench/bench_exact "$out/run-exact-100,10" fine | tee "$out/fine-100,10.txt"
OPENBLAS_NUM_THREADS=1 MLI_BENCH_EXAMPLES=300 ./build/bench/bench_exact "$out/run-exact-1024,1024,10" fine | tee "$out/fine-1024,1024,10.txt"

echo "== controls: NTK of 1,000 test images at both ends; 25x25 plane over the 10,000 test images"
./build/bench/bench_ntk "$run" ntk plane | tee "$out/ntk.txt"
awk -v peak="$peak" '/_gflops/{printf "%s_fraction_of_sgemm %.2f\n", substr($1,1,index($1,"_gflops")-1), $2/peak}' "$out/ntk.txt"

if [ -x build/bench/bench_hvp ]; then
  echo "== Hessian-vector product vs gradient (full training set)"
  ./build/bench/bench_hvp
fi

if [ -x build/bench/bench_conv ]; then
  echo "== Conv forward + backward, ResNet-20 layer shapes (3x3, batch 128)"
  ./build/bench/bench_conv | tee "$out/conv.txt"
  # against the sgemm rate of this script's bench_sgemm run too (bench_conv measures its own)
  awk -v peak="$peak" '/all_layers_gflops/{printf "conv_fraction_of_run_sgemm %.2f\n", $3/peak}' "$out/conv.txt"
fi

bash bench/cnn.sh "$peak" || exit 1

if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "== PyTorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)") on the same CPU ($(nproc) threads)"
  /usr/bin/python3 bench/torch_compare.py "$(nproc)" | tee "$out/torch.txt"
  awk -v s="$sec" '/torch_epoch_seconds/{printf "train_speedup_vs_torch %.2f\n", $2/s}' "$out/torch.txt"
  # PyTorch runs on the same OpenBLAS, whose generic kernels this CPU may get (see README):
  # the same epoch with the kernel mli uses separates that choice from the rest
  k=$(awk '/sgemm_kernel/{print $2}' "$out/sgemm.txt")
  OPENBLAS_CORETYPE=$k /usr/bin/python3 bench/torch_compare.py "$(nproc)" epoch | sed "s/torch_epoch_seconds/torch_epoch_seconds_with_${k}_kernel/"
  c=$(awk '/curves_seconds/{print $2}' "$out/curves.txt")
  awk -v s="$c" '/torch_curves_seconds/{printf "curves_speedup_vs_torch %.2f\n", $2/s}' "$out/torch.txt"
else
  echo "== PyTorch not installed (apt-get install python3-torch) — comparison skipped"
fi
