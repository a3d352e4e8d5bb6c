#!/usr/bin/env bash
# The API reference: HTML from the comments of the public headers (include/nlm), by Doxygen
# (installed by scripts/install_deps.sh). Fails on any Doxygen warning, so a comment that
# Doxygen misreads is caught (ctest runs this as api_docs).
#   bash scripts/api_docs.sh            # writes build-docs/html/index.html
#   bash scripts/api_docs.sh DIR        # writes DIR/html/index.html
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v doxygen >/dev/null 2>&1; then
  echo "api_docs.sh: doxygen is not installed (bash scripts/install_deps.sh installs it)" >&2
  exit 1
fi
out=$(mkdir -p "${1:-build-docs}" && cd "${1:-build-docs}" && pwd)
version=$(sed -n 's/^#define NLM_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' include/nlm/version.hpp | paste -sd.)
rm -f "$out/warnings.txt"
NLM_VERSION="$version" NLM_DOCS_OUT="$out" doxygen docs/Doxyfile
if [ -s "$out/warnings.txt" ]; then
  cat "$out/warnings.txt" >&2
  echo "api_docs.sh: $(grep -c 'warning:' "$out/warnings.txt") Doxygen warning(s) above" >&2
  exit 1
fi
echo "api_docs.sh: nlm $version API reference in $out/html/index.html"
