#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, get MNIST, build, train the quick preset on
# digits 1/3/6, generate, draw the paper's figures, and say where the pictures are.
#   scripts/demo.sh [OUT_DIR]     (default out/quick)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-out/quick}"
start=$SECONDS

bash scripts/install_deps.sh --demo
bash scripts/get_mnist.sh data/mnist
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DNLM_NATIVE=ON \
      -DNLM_BUILD_TESTS=OFF -DNLM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-demo -j"$(nproc)" --target mnist_train mnist_generate mnist_pca mnist_neuron_trace
bin=build-demo/examples

echo "== training (quick preset) =="
"$bin/mnist_train" --preset quick --data data/mnist --out "$out"
echo "== generating =="
"$bin/mnist_generate" --couplings "$out/J.npy" --out "$out" --samples-npy "$out/samples.npy"
echo "== PCA trajectory (Fig. 1) =="
"$bin/mnist_pca" --couplings "$out/J.npy" --data data/mnist --out "$out"
echo "== single-neuron activity (Fig. 2) =="
"$bin/mnist_neuron_trace" --couplings "$out/J.npy" --out "$out"

echo
echo "demo finished in $((SECONDS - start)) s. Pictures:"
for f in samples snapshots training_curve pca neuron_trace; do
  echo "  $out/$f.png"
done
