#!/usr/bin/env bash
# Builds the Google Benchmark suite (Release, -march=native) and runs it at 1 and 2 OpenBLAS
# threads, 5 repetitions each, writing JSON to build-bench/results/ and printing the Markdown
# tables of docs/performance.md (medians). Arguments go to nlm_benchmarks, e.g.
#   benchmarks/run_benchmarks.sh --benchmark_filter='TrainingUpdate'
# THREADS="1" limits the thread counts; REPETITIONS=3 shortens the run. Where pybind11 and NumPy
# are installed (scripts/install_deps.sh) it also builds the Python module and measures the
# Python layer's cost (benchmarks/peer/nlm_python_peer.py) at the same thread counts; where NumPy
# is, the attractor network's learning update against NumPy's (benchmarks/peer/fep_scaling.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${NLM_BENCH_BUILD:-build-bench}
python=${PYTHON:-python3}
module_python=/usr/bin/python3  # the interpreter the module is built for (Debian's NumPy)
python_module=OFF
if "$module_python" -c "import pybind11, numpy" 2>/dev/null; then python_module=ON; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNLM_NATIVE=ON -DNLM_BUILD_BENCHMARKS=ON \
      -DNLM_BUILD_TESTS=OFF -DNLM_BUILD_EXAMPLES=OFF -DNLM_PYTHON=$python_module \
      -DPython3_EXECUTABLE="$module_python" >/dev/null
targets=(nlm_benchmarks nlm_alloc_check nlm_fep_scaling nlm_lagrangian_step)
if [ "$python_module" = ON ]; then targets+=(nlm_python); fi
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >/dev/null
mkdir -p "$build/results"
for t in ${THREADS:-1 2}; do
  OPENBLAS_NUM_THREADS=$t "$build/benchmarks/nlm_benchmarks" \
    --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_display_aggregates_only=true \
    --benchmark_out="$build/results/bench_t$t.json" --benchmark_out_format=json "$@" >&2
  "$python" benchmarks/tables.py "$build/results/bench_t$t.json"
done
if [ "$python_module" = ON ]; then
  echo
  echo "| threads (OpenMP = OpenBLAS) | update from Python (ms) | the C++ call (ms) | Python layer | generation step from Python (µs) | the C++ call (µs) | Python layer |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for t in ${THREADS:-1 2}; do
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$module_python" benchmarks/peer/nlm_python_peer.py \
      --module-dir "$build/python" > "$build/results/python_t$t.json"
    "$module_python" - "$build/results/python_t$t.json" "$t" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {r['update_ms']:.1f} | {r['update_cpp_ms']:.1f} | {r['update_overhead']:+.2%} | "
      f"{r['generation_us']:.1f} | {r['generation_cpp_us']:.1f} | {r['generation_overhead']:+.2%} |")
PY
  done
fi
# The attractor network's learning update against NumPy (one chain; FEP_SIZES to choose N).
if "$module_python" -c "import numpy" 2>/dev/null; then
  echo
  for t in ${THREADS:-1 2}; do
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$module_python" benchmarks/peer/fep_scaling.py \
      --nlm "$build/benchmarks/nlm_fep_scaling" --sizes "${FEP_SIZES:-1000,5000,10000,20000}" --rounds 3
  done
fi
# The least-action model's step at the MNIST shapes (layered and dense solves) against NumPy's.
if "$module_python" -c "import numpy" 2>/dev/null; then
  for layers in 784-500-10 784-300-100-10; do
    echo
    OMP_NUM_THREADS=${THREADS_LAGRANGIAN:-2} OPENBLAS_NUM_THREADS=${THREADS_LAGRANGIAN:-2} "$module_python" \
      benchmarks/peer/lagrangian_step.py --nlm "$build/benchmarks/nlm_lagrangian_step" --layers "$layers" --rounds 3
  done
fi
