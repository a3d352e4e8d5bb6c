#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, get MNIST, build, train the quick preset on
# digits 1/3/6 with label units, generate with the labels free (annealed from T = 2: the
# configuration docs/quality.md's "Balance" study chose) and one row per digit, draw the paper's
# figures, and say where the pictures are.
#   scripts/demo.sh [OUT_DIR]     (default out/quick)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-out/quick}"
start=$SECONDS

bash scripts/install_deps.sh --demo
bash scripts/get_mnist.sh data/mnist
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DNLM_NATIVE=ON \
      -DNLM_BUILD_TESTS=OFF -DNLM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-demo -j"$(nproc)" --target mnist_train mnist_generate mnist_pca mnist_neuron_trace mnist_evaluate
bin=build-demo/examples
# Run the examples on OpenBLAS's OpenMP build (installed above beside Debian's default pthread
# build, which stays the system's choice): its threads and nlm's share one OpenMP pool, which
# makes a training update up to 1.8x faster on 2 cores (README, Performance).
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -e "$openmp_blas/libopenblas.so.0" ]; then
  export LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

echo "== training (quick preset, label units) =="
"$bin/mnist_train" --preset quick --labels --data data/mnist --out "$out"
model=(--model "$out/model.nlm")  # J, the field b the quick preset learns, the unit layout
echo "== generating: labels free, cooled from T = 2, then quenched to T = 0 =="
"$bin/mnist_generate" "${model[@]}" --anneal-from 2 --anneal-steps 10000 --quench 200 --out "$out" \
  --samples-npy "$out/samples.npy"
echo "== generating: label units clamped, one row per digit =="
"$bin/mnist_generate" "${model[@]}" --class all --chains 12 --data data/mnist --out "$out/per-digit"
echo "== sample quality (docs/quality.md) =="
"$bin/mnist_evaluate" --samples "$out/samples.npy" "${model[@]}" --data data/mnist --csv "$out/metrics.csv"
echo "== PCA trajectory (Fig. 1) =="
"$bin/mnist_pca" "${model[@]}" --data data/mnist --out "$out"
echo "== single-neuron activity (Fig. 2) =="
"$bin/mnist_neuron_trace" "${model[@]}" --out "$out"

echo
echo "demo finished in $((SECONDS - start)) s. Pictures:"
for f in samples quenched per-digit/samples snapshots training_curve pca neuron_trace; do
  echo "  $out/$f.png"
done
