#!/usr/bin/env bash
# Checks a copy of the paper authors' trained couplings, J_cupy1.npy (float32, 784 x 784, MNIST
# digits 1, 3, 6 with the paper's Table 1; no field). nlm does not ship it: get it from the
# authors' code release, https://github.com/yuzd610/Neural-Langevin-Machine (folder "Neural
# Langevin Machine"), then
#   bash scripts/check_upstream_j.sh path/to/J_cupy1.npy
# Prints the path when the file is that release's, byte for byte; else says what is wrong.
set -euo pipefail
expected=70b246787954cfed9d4f4cce612ba7471399653f40c86bbedd357c5dabf9c5b7
where="https://github.com/yuzd610/Neural-Langevin-Machine (folder 'Neural Langevin Machine')"
if [ $# -ne 1 ]; then
  echo "usage: $0 path/to/J_cupy1.npy (the paper authors' couplings, from $where)" >&2
  exit 2
fi
if [ ! -f "$1" ]; then
  echo "$1: no such file (J_cupy1.npy comes with the paper authors' code: $where)" >&2
  exit 1
fi
actual=$(sha256sum "$1" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
  echo "$1: not the authors' J_cupy1.npy (SHA-256 $actual, expected $expected; get it from $where)" >&2
  exit 1
fi
echo "$1"
