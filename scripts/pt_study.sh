#!/bin/bash
# The parallel-tempering study of docs/quality.md (Likelihood and mixing): generation with and
# without PT from a quick-preset model, and PT in the model phase at about equal wall-clock
# time, each evaluated by mnist_evaluate. About 25 minutes on 2 cores.
#   bash scripts/pt_study.sh [quick model folder, default out/quick]
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/examples D=${DATA:-data/mnist} Q=${1:-out/quick} O=out/pt
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$O"
gen() {  # name, model folder, generation options...
  local name=$1 model=$2; shift 2
  mkdir -p "$O/$name"
  "$B/mnist_generate" --couplings "$model/J.npy" --field "$model/field.npy" --chains 144 --steps 10000 --diagnostics \
    --data "$D" --out "$O/$name" --samples-npy "$O/$name/samples.npy" "$@" | tee "$O/$name.gen.log"
  "$B/mnist_evaluate" --samples "$O/$name/samples.npy" --couplings "$model/J.npy" --field "$model/field.npy" \
    --data "$D" | tee "$O/$name.eval.log"
}
gen em "$Q"
gen pt8 "$Q" --sampler pt --replicas 8 --t-max 2
"$B/mnist_train" --preset quick --model-phase pt --replicas 4 --t-max 1.3 --updates 900 --data "$D" \
  --out "$O/train_pt" | tee "$O/train_pt.log"
gen train_pt_em "$O/train_pt"
