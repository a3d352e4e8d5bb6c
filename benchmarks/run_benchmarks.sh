#!/usr/bin/env bash
# Builds the Google Benchmark suite (Release, -march=native) and runs it at 1 and 2 OpenBLAS
# threads, 5 repetitions each, writing JSON to build-bench/results/ and printing the Markdown
# tables of docs/performance.md (medians). Arguments go to nlm_benchmarks, e.g.
#   benchmarks/run_benchmarks.sh --benchmark_filter='TrainingUpdate'
# THREADS="1" limits the thread counts; REPETITIONS=3 shortens the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${NLM_BENCH_BUILD:-build-bench}
python=${PYTHON:-python3}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNLM_NATIVE=ON -DNLM_BUILD_BENCHMARKS=ON \
      -DNLM_BUILD_TESTS=OFF -DNLM_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target nlm_benchmarks nlm_alloc_check -j"$(nproc)" >/dev/null
mkdir -p "$build/results"
for t in ${THREADS:-1 2}; do
  OPENBLAS_NUM_THREADS=$t "$build/benchmarks/nlm_benchmarks" \
    --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_display_aggregates_only=true \
    --benchmark_out="$build/results/bench_t$t.json" --benchmark_out_format=json "$@" >&2
  "$python" benchmarks/tables.py "$build/results/bench_t$t.json"
done
