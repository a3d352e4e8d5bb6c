#!/usr/bin/env bash
# The class-balance study of docs/quality.md ("Balance: the levers over 3 seeds"): each
# configuration trained with seeds 0, 1 and 2, each model generating 300 chains for 25 000
# steps and scored by mnist_evaluate (the issue's protocol). Two jobs run at once, one core
# each; one CSV row per (configuration, seed, generation) in out/balance/rows.csv.
#   bash benchmarks/balance_study.sh [BUILD_DIR] [CONFIG ...]   # default build/, all configs
#   NLM_SEEDS="0 1 2" NLM_JOBS=2 NLM_STEPS=25000 NLM_CHAINS=300 (the defaults)
# A configuration is a name, the mnist_train options after --preset quick, and the
# mnist_generate options (see the table below); a trained model is reused when its folder has
# model.nlm, so a configuration that only changes the generation shares its training run.
# About 10 minutes per configuration and seed on 2 cores (train ~4 min, generate ~5 min).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
shift || true
b=$build/examples
data=${NLM_DATA:-data/mnist}
out=${NLM_BALANCE_OUT:-out/balance}
seeds=${NLM_SEEDS:-0 1 2}
jobs=${NLM_JOBS:-2}
steps=${NLM_STEPS:-25000}
chains=${NLM_CHAINS:-300}

# name | training folder | mnist_train options (after --preset quick) | mnist_generate options
configs=(
  "quick|quick||"
  "labels|labels|--labels|"
  "labels-data-restart|labels-data-restart|--labels --data-restart 0.01|"
  "data-restart|data-restart|--data-restart 0.01|"
  "labels-anneal-gen|labels|--labels|--anneal-from 2 --anneal-steps 10000"
  "labels-pt|labels-pt|--labels --model-phase pt --replicas 4 --t-max 1.3 --updates 1000|"
  "labels-anneal-gen-20k|labels|--labels|--anneal-from 2 --anneal-steps 20000"
  "labels-anneal-gen-t3|labels|--labels|--anneal-from 3 --anneal-steps 20000"
)

metric() {  # metric PATTERN CSV [COLUMN]: a column (default 2: the samples') of the first metric named PATTERN...
  awk -F'","|",|,' -v m="$1" -v c="${3:-2}" 'index($1, "\"" m) == 1 || index($1, m) == 1 { gsub(/"/, "", $c); print $c; exit }' "$2"
}

row() {  # row NAME SEED TRAIN_S VARIANT METRICS_CSV
  local m=$5
  echo "$1,$2,$3,$4,$(metric "ratio to real" "$m"),$(metric "adversarial accuracy" "$m"),$(metric "inverted" "$m"),$(metric "confidently" "$m"),$(metric "confidently" "$m" 4),$(metric "confidently" "$m" 5),$(metric "share of digit 1" "$m"),$(metric "share of digit 3" "$m"),$(metric "share of digit 6" "$m"),$(metric "class balance entropy" "$m"),$(metric "class balance entropy" "$m" 4),$(metric "class balance entropy" "$m" 5)"
}

one() {  # one NAME SEED: train (unless done), generate, evaluate raw and quenched samples
  local name=$1 seed=$2 spec train_dir train_args gen_args
  for spec in "${configs[@]}"; do
    IFS='|' read -r n train_dir train_args gen_args <<< "$spec"
    [ "$n" = "$name" ] && break
  done
  [ "$n" = "$name" ] || { echo "balance_study: unknown configuration '$name'" >&2; return 2; }
  local tdir="$out/train-$train_dir-s$seed" gdir="$out/$name-s$seed"
  mkdir -p "$tdir" "$gdir"
  # One training run per folder, even when two configurations share it and run at once.
  exec 9> "$tdir/.lock"
  flock 9
  if [ ! -e "$tdir/model.nlm" ]; then
    local start=$SECONDS
    # shellcheck disable=SC2086
    "$b/mnist_train" --preset quick --data "$data" --seed "$seed" --threads 1 $train_args --out "$tdir" \
      > "$tdir/train.log" 2>&1
    echo $((SECONDS - start)) > "$tdir/train_s"
  fi
  flock -u 9
  # shellcheck disable=SC2086
  "$b/mnist_generate" --model "$tdir/model.nlm" --chains "$chains" --steps "$steps" --threads 1 $gen_args \
    --quench 200 --out "$gdir" --samples-npy "$gdir/samples.npy" --quenched-npy "$gdir/quenched.npy" \
    > "$gdir/generate.log" 2>&1
  for v in samples quenched; do
    "$b/mnist_evaluate" --samples "$gdir/$v.npy" --model "$tdir/model.nlm" --data "$data" --threads 1 \
      --csv "$gdir/$v.csv" --picture "$gdir/$v.png" > "$gdir/evaluate-$v.log" 2>&1
    row "$name" "$seed" "$(cat "$tdir/train_s")" "$v" "$gdir/$v.csv" >> "$out/rows.csv"
  done
  echo "done: $name seed $seed"
}

if [ "${1:-}" = "--one" ]; then one "$2" "$3"; exit; fi

mkdir -p "$out"
[ -e "$out/rows.csv" ] ||
  echo "config,seed,train_s,samples,fd_ratio,aai,inverted,confident,confident_lower,confident_upper,share_1,share_3,share_6,balance_entropy,balance_lower,balance_upper" \
    > "$out/rows.csv"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for spec in "${configs[@]}"; do names+=("${spec%%|*}"); done
fi
export OMP_NUM_THREADS=1
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -n "${NLM_PTHREAD_BLAS:-}" ] || [ ! -e "$openmp_blas/libopenblas.so.0" ] ||
  export LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for name in "${names[@]}"; do for seed in $seeds; do echo "$name $seed"; done; done |
  xargs -P "$jobs" -L 1 bash "${BASH_SOURCE[0]}" "$build" --one
echo "wrote $out/rows.csv"
