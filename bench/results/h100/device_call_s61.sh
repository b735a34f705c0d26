#!/bin/bash
# Session 61. One device call, whichever card comes. The tree was checked on an H100 this session
# (committed_s61: check_kernels --quick ALL OK, offline level), so no kernel check first:
# - an H200: device_call_s55.sh whole (the 256-row bridge against .reference = git archive 74a2896 swiftllm,
#   latency.py's table if started within 260 s, offline longest-first greedy within 440 s).
# - an H100: decode by vLLM's method at every N (latency.py --temperature 0), the tree before session 58
#   (.before = git archive 52c43fe swiftllm, label BEFORE) then NEW, each a fresh process, the second only if
#   started within 300 s: the q/k/v view's A/B at every batch size (offline covers them only mixed).
# Run: NEW=<commit> BEFORE=52c43fe bash bench/results/h100/device_call_s61.sh (carry .whl, .reference, .before)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for t in "$(pwd)/.before $BEFORE" "$(pwd) $NEW"; do set -- $t
  [ $(( $(date +%s) - T0 )) -lt 300 ] || break
  stamp "latency.py --temperature 0 (every N), $2"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1:/tmp/site BENCH_OUT=$OUT/latency_$2 timeout 280 python3 bench/latency.py \
    --temperature 0 > $OUT/latency_$2.log 2>&1
  tail -9 $OUT/latency_$2.log | sed "s/^/$2: /" | tee -a $OUT/all.log
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
