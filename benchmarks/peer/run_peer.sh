#!/usr/bin/env bash
# Peer comparison in one command: builds nlm's driver (Release, -march=native), then runs nlm,
# the PyTorch peer and the NumPy peer at several thread settings, interleaved over rounds, and prints
# the table of docs/performance.md. Arguments go to compare.py, e.g.
#   benchmarks/peer/run_peer.sh                         # 3 rounds, threads 1 and 2
#   OPENBLAS_CORETYPE=Haswell benchmarks/peer/run_peer.sh --rounds 5
#   benchmarks/peer/run_peer.sh --nlm-old OLD/nlm_peer  # also an older nlm, same rounds, ratio printed
#   benchmarks/peer/run_peer.sh --bf16                  # also bf16: nlm (oneDNN) and PyTorch bfloat16
# Needs python3-torch and python3-numpy (scripts/install_deps.sh --peer); with pybind11 installed
# (scripts/install_deps.sh) it also builds the Python module and runs the row nlm-python. PYTHON picks the
# interpreter (default /usr/bin/python3, where Debian installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build=${NLM_BENCH_BUILD:-build-bench}
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  echo "run_peer: $python cannot import torch and numpy; run scripts/install_deps.sh --peer" >&2
  exit 1
fi
onednn=OFF  # nlm_peer --precision bf16 where oneDNN (libdnnl-dev) is installed
if [ -f /usr/lib/x86_64-linux-gnu/cmake/dnnl/dnnl-config.cmake ]; then onednn=ON; fi
python_module=OFF  # the row nlm-python where pybind11 is installed (python3-pybind11)
if "$python" -c "import pybind11" 2>/dev/null; then python_module=ON; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNLM_NATIVE=ON -DNLM_BUILD_BENCHMARKS=ON \
      -DNLM_BUILD_TESTS=OFF -DNLM_BUILD_EXAMPLES=OFF -DNLM_ONEDNN=$onednn -DNLM_PYTHON=$python_module \
      -DPython3_EXECUTABLE="$python" >/dev/null
targets=(nlm_peer)
extra=()
if [ "$python_module" = ON ]; then targets+=(nlm_python); extra=(--nlm-python "$build/python"); fi
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >/dev/null
exec "$python" benchmarks/peer/compare.py --nlm "$build/benchmarks/nlm_peer" --python "$python" "${extra[@]}" "$@"
