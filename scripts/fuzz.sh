#!/usr/bin/env bash
# Fuzzes the .npy, IDX, checkpoint and UCI digits readers with clang's libFuzzer (AddressSanitizer and
# UndefinedBehaviorSanitizer on), each for SECONDS (default 600), one after another.
#   scripts/fuzz.sh [SECONDS] [READER...]     readers: npy idx checkpoint digits (default all four)
# Each reader's corpus grows in build-fuzz/corpus/<reader> (seeded from tests/fuzz/corpus/);
# an input that crashes a reader is written to tests/fuzz/crashes/<reader>/, where ctest's
# fuzz_regression_<reader> replays it from then on. Prints each run's count and rate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(npy idx checkpoint digits)

bash scripts/install_deps.sh --fuzz
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNLM_FUZZ=ON \
  -DNLM_BUILD_EXAMPLES=OFF -DNLM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${readers[@]/#/fuzz_}"

status=0
for r in "${readers[@]}"; do
  corpus=build-fuzz/corpus/$r
  mkdir -p "$corpus" "tests/fuzz/crashes/$r"
  cp -n tests/fuzz/corpus/"$r"/* "$corpus"/ 2>/dev/null || true
  log=build-fuzz/fuzz_$r.log
  echo "== fuzzing the $r reader for $seconds s =="
  # rss/malloc limits: a reader must not allocate what a corrupt header announces.
  if OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=allocator_may_return_null=0 \
     "build-fuzz/tests/fuzz_$r" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
       -max_len=65536 -use_value_profile=1 -print_final_stats=1 \
       -artifact_prefix="tests/fuzz/crashes/$r/" "$corpus" >"$log" 2>&1; then
    :
  else
    status=1
    echo "fuzz_$r found a crash: see $log and tests/fuzz/crashes/$r/"
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  echo "fuzz_$r: ${runs:-no final line} ($execs inputs executed; $cov; corpus $(ls "$corpus" | wc -l) files)"
done
exit $status
