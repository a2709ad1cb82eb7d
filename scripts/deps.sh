#!/usr/bin/env bash
# Install the Debian packages mli needs (README), only those that are missing.
set -euo pipefail
pkgs=(libopenblas-dev liblapacke-dev libgsl-dev zlib1g-dev libcjson-dev libcmocka-dev
      gnuplot-nox dataset-fashion-mnist pkg-config
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata)
# The last four: ONNX models (src/io/onnx.c) through protobuf-c, its code generator, the ONNX
# schema, and ONNX's backend test models read by tests/test_onnx.c.
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: missing packages (${missing[*]}) and not root: run 'sudo make deps' or install them with apt-get" >&2
    exit 1
  fi
else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
