#!/bin/bash
# Session 57. One device call, whichever card comes:
# - an H200: bench/results/h100/device_call_s55.sh (the committed tree verified: the 256-row bridge against
#   74a2896, latency.py's table, offline longest-first greedy). Carry .whl and .reference.
# - an H100: the sampling fix (kernels/sample.py, sampler.draw) checked and timed: check_kernels.py --quick
#   --skip-model (or CHECK_ARGS), then throughput.py --schedule-policy longest-first --temperatures 1 alternated with the tree
#   before it (carried as .before/swiftllm, label BEFORE), each a fresh process. Carry .whl and .before.
# Run: NEW=<commit> BEFORE=<commit> bash bench/results/h100/device_call_s57.sh (TEMPERATURE, default 1, for the
# offline runs; session 58's call sets 0)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels.py ${CHECK_ARGS:---quick --skip-model}, $NEW"
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 200 python3 bench/check_kernels.py \
  ${CHECK_ARGS:---quick --skip-model} > $OUT/check.log 2>&1
grep -iE "sample|ALL OK|FAIL" $OUT/check.log | tail -8 | tee -a $OUT/all.log
i=0
for t in "$(pwd)/.before $BEFORE" "$(pwd) $NEW" "$(pwd) $NEW" "$(pwd)/.before $BEFORE"; do set -- $t; i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt ${STOP_AFTER:-450} ] || break
  stamp "throughput.py longest-first, temperature ${TEMPERATURE:-1}, $2 (run $i)"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1:/tmp/site BENCH_OUT=$OUT/offline_$2_$i timeout 140 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures ${TEMPERATURE:-1} > $OUT/offline_$2_$i.log 2>&1
  tail -1 $OUT/offline_$2_$i.log | sed "s/^/$2: /" | tee -a $OUT/all.log
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
