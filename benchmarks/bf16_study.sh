#!/usr/bin/env bash
# The bf16 study of docs/performance.md ("Mixed precision"): the quick preset trained in
# float32 and in bf16 with 3 seeds each, each model generating 300 chains for 25 000 steps in
# its training precision and scored by mnist_evaluate; the upstream J_cupy1.npy generated in
# both precisions the same way. Prints one table row per run (and writes out/bf16/rows.csv).
#   bash benchmarks/bf16_study.sh [BUILD_DIR]   # a build with -DNLM_ONEDNN=ON (default build/)
# NLM_UPSTREAM_J=path/to/J_cupy1.npy adds the upstream rows (the file is checked by
# scripts/check_upstream_j.sh, which says where to get it); without it they are left out.
# About 40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
b=${1:-build}/examples
data=${NLM_DATA:-data/mnist}
out=out/bf16
upstream=
[ -n "${NLM_UPSTREAM_J:-}" ] && upstream=$(bash scripts/check_upstream_j.sh "$NLM_UPSTREAM_J")
mkdir -p "$out"
rows="$out/rows.csv"
echo "model,precision,seed,train_s,fd_ratio,aai,inverted,confident,share_1,share_3,share_6,balance_entropy" > "$rows"

metric() {  # metric PATTERN CSV: the samples' value of the first metric whose name starts with PATTERN
  awk -F'","|",|,' -v m="$1" 'index($1, "\"" m) == 1 || index($1, m) == 1 { gsub(/"/, "", $2); print $2; exit }' "$2"
}

score() {  # score MODEL PRECISION SEED TRAIN_S J [FIELD]
  local dir="$out/$1-$2-s$3" field_args=()
  [ -n "${6:-}" ] && field_args=(--field "$6")
  "$b/mnist_generate" --couplings "$5" "${field_args[@]}" --chains 300 --steps 25000 --precision "$2" \
    --out "$dir" --samples-npy "$dir/samples.npy" > "$dir/generate.log" 2>&1
  "$b/mnist_evaluate" --samples "$dir/samples.npy" --couplings "$5" "${field_args[@]}" --data "$data" \
    --csv "$dir/metrics.csv" > "$dir/evaluate.log" 2>&1
  local m="$dir/metrics.csv"
  echo "$1,$2,$3,$4,$(metric "ratio to real" "$m"),$(metric "adversarial accuracy" "$m"),$(metric "inverted" "$m"),$(metric "confidently" "$m"),$(metric "share of digit 1" "$m"),$(metric "share of digit 3" "$m"),$(metric "share of digit 6" "$m"),$(metric "class balance entropy" "$m")" | tee -a "$rows"
}

for seed in 0 1 2; do
  for precision in fp32 bf16; do
    dir="$out/quick-$precision-s$seed"
    mkdir -p "$dir"
    start=$(date +%s)
    "$b/mnist_train" --preset quick --data "$data" --seed "$seed" --precision "$precision" --out "$dir" \
      > "$dir/train.log" 2>&1
    train_s=$(( $(date +%s) - start ))
    score quick "$precision" "$seed" "$train_s" "$dir/J.npy" "$dir/field.npy"
  done
done
if [ -n "$upstream" ]; then
  for precision in fp32 bf16; do
    mkdir -p "$out/upstream-$precision-s30"
    score upstream "$precision" 30 0 "$upstream"
  done
else
  echo "upstream rows left out (NLM_UPSTREAM_J=path/to/J_cupy1.npy adds them)"
fi
echo "wrote $rows"
