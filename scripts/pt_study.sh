#!/bin/bash
# The parallel-tempering study of docs/quality.md (Likelihood and mixing), at the issue's scale:
# 300 chains x 25 000 steps from N(0, I) per row, scored by mnist_evaluate, with the mixing
# diagnostics of mnist_generate. Rows: the quick preset generated with Euler-Maruyama and with
# PT; PT in the model phase at the quick preset's wall-clock training time (its number of
# updates set from the ms/update of a 100-update probe of each); and PT in the model phase for
# as many updates as the preset (about 3.9 times its time). About 80 minutes on one core.
#   bash scripts/pt_study.sh            # CHAINS, STEPS, REPLICAS, GEN_TMAX, TRAIN_TMAX override
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BIN:-build/examples} D=${DATA:-data/mnist} O=${OUT:-out/pt}
CHAINS=${CHAINS:-300} STEPS=${STEPS:-25000} REPLICAS=${REPLICAS:-4} GEN_TMAX=${GEN_TMAX:-1.5} TRAIN_TMAX=${TRAIN_TMAX:-1.3}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$O"
train() {  # name, training options...
  local name=$1; shift
  [ -f "$O/$name/J.npy" ] || "$B/mnist_train" --preset quick --data "$D" --out "$O/$name" "$@" | tee "$O/$name.train.log"
}
gen() {  # name, model folder, generation options...
  local name=$1 model=$2; shift 2
  mkdir -p "$O/$name"
  [ -f "$O/$name.eval.log" ] && return
  "$B/mnist_generate" --couplings "$model/J.npy" --field "$model/field.npy" --chains "$CHAINS" --steps "$STEPS" \
    --diagnostics --data "$D" --out "$O/$name" --samples-npy "$O/$name/samples.npy" "$@" | tee "$O/$name.gen.log"
  "$B/mnist_evaluate" --samples "$O/$name/samples.npy" --couplings "$model/J.npy" --field "$model/field.npy" \
    --data "$D" --picture "$O/$name/first.png" | tee "$O/$name.eval.log"
}
ms_per_update() { sed -n 's/.*updates in .* s (\([0-9.]*\) ms\/update).*/\1/p' "$1" | tail -1; }

pt=(--model-phase pt --replicas "$REPLICAS" --t-max "$TRAIN_TMAX" --swap-every 10)
train quick
gen quick_em "$O/quick"
gen quick_pt "$O/quick" --sampler pt --replicas "$REPLICAS" --t-max "$GEN_TMAX" --swap-every 10
train probe_em --updates 100
train probe_pt --updates 100 "${pt[@]}"
equal=$(awk -v a="$(ms_per_update "$O/probe_em.train.log")" -v b="$(ms_per_update "$O/probe_pt.train.log")" \
        'BEGIN { printf "%d", 3000 * a / b }')
echo "PT model phase at the preset's training time: $equal updates" | tee "$O/equal_updates.txt"
train pt_equal --updates "$equal" "${pt[@]}"
gen pt_equal_em "$O/pt_equal"
train pt_3000 "${pt[@]}"
gen pt_3000_em "$O/pt_3000"
