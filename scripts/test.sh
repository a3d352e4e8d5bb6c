#!/usr/bin/env bash
# Installs the dependencies, builds everything with warnings on and runs the whole test suite,
# twice: on Debian's default OpenBLAS (the pthread build) and on its OpenMP build, whose
# products follow OpenMP's thread count (docs/reliability.md, "Reproducibility").
#   scripts/test.sh              # Release build in build/, with nlm/distributed (MPI), bf16 (oneDNN)
#                                # and the Python module (import nlm; its pytest suite)
#   scripts/test.sh --sanitize   # AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/:
#                                # the suite, the examples' smoke tests, MPI and oneDNN (the pthread
#                                # build only; the allocation check, which counts malloc, is left out)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
# MPI: the nlm/distributed tests run under mpirun -np 2; oneDNN: the bf16 backend's tests;
# Python: the module and python_tests
flags=(-DCMAKE_BUILD_TYPE=Release -DNLM_MPI=ON -DNLM_ONEDNN=ON -DNLM_PYTHON=ON)
case "${1:-}" in
  "") ;;
  --sanitize) build=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNLM_SANITIZE=ON -DNLM_MPI=ON
                                       -DNLM_ONEDNN=ON -DNLM_BUILD_BENCHMARKS=OFF)
              # A report fails its test; Open MPI's own leaks are suppressed by library in the
              # MPI tests (tests/sanitize/lsan.supp says which and why).
              export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
              export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

bash scripts/install_deps.sh
cmake -S . -B "$build" "${flags[@]}"
cmake --build "$build" -j"$(nproc)"

# 1. The pthread build, one BLAS thread: its threads would spin against nlm's OpenMP threads.
echo "== test suite on OpenBLAS's pthread build (OPENBLAS_NUM_THREADS=1) =="
OPENBLAS_NUM_THREADS=1 ctest --test-dir "$build" --output-on-failure
[ "$build" = build ] || exit 0

# 2. The OpenMP build (installed beside it by install_deps.sh): BLAS and nlm share OpenMP's
#    threads. The compile-only tests (compile_fail_*, consumer_project) need not run twice.
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ ! -e "$openmp_blas/libopenblas.so.0" ]; then
  echo "test.sh: $openmp_blas/libopenblas.so.0 is missing (libopenblas0-openmp)" >&2
  exit 1
fi
echo "== test suite on OpenBLAS's OpenMP build ($openmp_blas, OMP_NUM_THREADS=$(nproc)) =="
env -u OPENBLAS_NUM_THREADS LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  OMP_NUM_THREADS="$(nproc)" ctest --test-dir "$build" --output-on-failure -E "^(compile_fail_|consumer_project)"
