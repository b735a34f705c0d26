#!/bin/bash
# Session 63, second kind of call. Whichever card comes:
# - an H200: device_call_s55.sh whole (the 256-row bridge against .reference = git archive 74a2896 swiftllm,
#   latency.py's table if started within 260 s, offline longest-first greedy within 440 s).
# - an H100: where offline's paced mixed step spends its time on the current tree, by kind of kernel against
#   each kind's roofline term: profile_step.py at the run's mean mixed step (127 decode rows at context 438 and
#   one 129-token chunk: offline.log of current_s63), as the engine runs it (PDL) and with --no-pdl (each
#   kernel's own time), each only if started within 200 s.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63b.sh (carry .whl, .reference)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for mode in pdl no-pdl; do
  [ $(( $(date +%s) - T0 )) -lt 200 ] || break
  flag=""; [ $mode = no-pdl ] && flag=--no-pdl
  stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 $flag, $NEW"
  BENCH_OUT=$OUT/$mode timeout 150 python3 bench/profile_step.py --batches 127 --context 438 \
    --prefill-chunks 1x129 $flag > $OUT/profile_$mode.log 2>&1
  tail -14 $OUT/profile_$mode.log | tee -a $OUT/all.log
done
stamp done
