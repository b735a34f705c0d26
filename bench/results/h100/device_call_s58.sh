#!/bin/bash
# Session 58. One device call, whichever card comes:
# - an H200: bench/results/h100/device_call_s55.sh (the committed tree verified: the 256-row bridge against
#   74a2896, latency.py's table, offline longest-first greedy). Carry .whl and .reference.
# - an H100: session 58's host-side changes (worker server, ModelRunner.launch refusing bad sampling values,
#   sampler nan_to_num, trims) checked and timed: check_kernels.py ${CHECK_ARGS:---quick --model-only}, then
#   throughput.py --schedule-policy longest-first --temperatures 0 alternated with the tree before them
#   (carried as .before/swiftllm = git archive 52c43fe swiftllm, label BEFORE), each a fresh process, each
#   started only before STOP_AFTER seconds (default 330). Carry .whl and .before.
# Run: NEW=<commit> BEFORE=52c43fe bash bench/results/h100/device_call_s58.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels.py ${CHECK_ARGS:---quick --model-only}, $NEW"
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 150 python3 bench/check_kernels.py \
  ${CHECK_ARGS:---quick --model-only} > $OUT/check.log 2>&1
tail -6 $OUT/check.log | tee -a $OUT/all.log
i=0
for t in "$(pwd)/.before $BEFORE" "$(pwd) $NEW" "$(pwd) $NEW" "$(pwd)/.before $BEFORE"; do set -- $t; i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt ${STOP_AFTER:-330} ] || break
  stamp "throughput.py longest-first, greedy, $2 (run $i)"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1:/tmp/site BENCH_OUT=$OUT/offline_$2_$i timeout 120 python3 bench/throughput.py \
    --schedule-policy longest-first --temperatures 0 > $OUT/offline_$2_$i.log 2>&1
  tail -1 $OUT/offline_$2_$i.log | sed "s/^/$2: /" | tee -a $OUT/all.log
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
