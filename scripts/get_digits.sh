#!/usr/bin/env bash
# Gets the UCI 8x8 handwritten digits (1 797 images; the data of scikit-learn's load_digits)
# into DEST_DIR/digits.csv.gz (default: data/digits under the repository), for the free-energy
# attractor network's examples.
#
# usage: scripts/get_digits.sh [DEST_DIR]
#
# Debian's python3-sklearn ships the file as sklearn/datasets/data/digits.csv.gz: 1 797 lines of
# 64 pixel values 0-16 and a label 0-9. The script copies it from an installed python3-sklearn,
# or downloads the package with `apt-get download` (no root, no install, none of its
# dependencies) and extracts that one file. The copy is checked before it is moved into place:
# a complete gzip stream of 1 797 lines of 65 whole numbers, pixels 0-16, labels 0-9, and its
# decompressed SHA-256 compared with Debian 12's (1.2.1+dfsg-1); another version's file that
# passes the checks is kept with a note. The file appears complete or not at all.
set -euo pipefail

readonly MEMBER="usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
readonly KNOWN_SHA256="6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8"  # decompressed, bookworm

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in -h|--help) sed -n '6p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2; exit 2 ;; -*) echo "get_digits.sh: unknown option $1" >&2; exit 2 ;; esac
dest="${1:-$SCRIPT_DIR/../data/digits}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
out="$dest/digits.csv.gz"

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check FILE: prints what is wrong with FILE, or nothing.
check() {
  gzip -t "$1" 2>/dev/null || { echo "not a complete gzip stream"; return; }
  gzip -dc "$1" | awk -F, '
    NF != 65 { printf "line %d has %d fields, expected 65 (64 pixels and a label)\n", NR, NF; bad = 1; exit }
    { for (i = 1; i <= 65; i++) if ($i !~ /^[0-9]+(\.0+)?$/ || $i + 0 > (i < 65 ? 16 : 9)) {
        printf "line %d, field %d: \"%s\" is not a %s\n", NR, i, $i, i < 65 ? "pixel value 0-16" : "label 0-9"; bad = 1; exit } }
    END { if (!bad && NR != 1797) printf "%d lines, expected 1797\n", NR }'
}

if [[ -f "$out" && -z "$(check "$out")" ]]; then
  echo "$out: already present and intact"
  exit 0
fi

installed="/$MEMBER"
if [[ -f "$installed" ]]; then
  cp -- "$installed" "$work/digits.csv.gz"
  source="$installed (installed python3-sklearn)"
else
  command -v apt-get >/dev/null || { echo "get_digits.sh: needs apt-get (Debian) to fetch python3-sklearn" >&2; exit 1; }
  echo "downloading python3-sklearn (apt-get download: the package file only, nothing installed)" >&2
  (cd "$work" && apt-get download python3-sklearn 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2) || true
  deb=("$work"/python3-sklearn_*.deb)
  if [[ ! -f "${deb[0]}" ]]; then
    echo "get_digits.sh: apt-get download python3-sklearn failed (run apt-get update, or install python3-sklearn)" >&2
    exit 1
  fi
  dpkg-deb --fsys-tarfile "${deb[0]}" | tar -x -O "./$MEMBER" > "$work/digits.csv.gz" || {
    echo "get_digits.sh: ${deb[0]##*/} holds no $MEMBER" >&2
    exit 1
  }
  source="${deb[0]##*/}"
fi

problem="$(check "$work/digits.csv.gz")"
if [[ -n "$problem" ]]; then
  echo "get_digits.sh: the digits file from $source is damaged: $problem" >&2
  exit 1
fi
sha="$(gzip -dc "$work/digits.csv.gz" | sha256sum | cut -d' ' -f1)"
tmp="$(mktemp "$dest/.digits.csv.gz.XXXXXX.tmp")"
cp -- "$work/digits.csv.gz" "$tmp"
chmod "$(printf '%04o' $((0666 & ~0$(umask))))" "$tmp"
mv -f -- "$tmp" "$out"
echo "$out  <- $source"
if [[ "$sha" == "$KNOWN_SHA256" ]]; then
  echo "checked: 1797 images of 64 pixels 0-16 with labels 0-9; content SHA-256 $sha (Debian 12's)"
else
  echo "checked: 1797 images of 64 pixels 0-16 with labels 0-9; note: content SHA-256 $sha differs from Debian 12's $KNOWN_SHA256 (another python3-sklearn version)"
fi
