#!/usr/bin/env bash
# Installs the dependencies, builds everything with warnings on and runs the whole test suite.
#   scripts/test.sh              # Release build in build/
#   scripts/test.sh --sanitize   # AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
case "${1:-}" in
  "") ;;
  --sanitize) build=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNLM_SANITIZE=ON
                                       -DNLM_BUILD_EXAMPLES=OFF -DNLM_BUILD_BENCHMARKS=OFF) ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

bash scripts/install_deps.sh
cmake -S . -B "$build" "${flags[@]}"
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure
