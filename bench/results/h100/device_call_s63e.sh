#!/bin/bash
# Session 63, fifth kind of call, after profile_step.py's --no-pdl was found to be a no-op (fixed in this tree).
# Whichever card comes:
# - an H200: device_call_s55.sh (carry .reference = git archive 74a2896 swiftllm), its parts gated by time.
# - an H100: each kernel's own time (--no-pdl, now in effect) on the current tree: the decode step at 1, 8, 32
#   and 256 rows (context 1,088), then offline's mean mixed step (127 decodes at 438, one 129-token chunk).
# Run: NEW=<commit> bash bench/results/h100/device_call_s63e.sh (carry .whl, .reference)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for args in "--batches 1,8,32,256" "--batches 127 --context 438 --prefill-chunks 1x129"; do
  [ $(( $(date +%s) - T0 )) -lt 150 ] || break
  name=$(echo $args | tr -d ' -' | cut -c1-40)
  stamp "profile_step.py $args --no-pdl, $NEW"
  BENCH_OUT=$OUT/$name timeout 150 python3 bench/profile_step.py $args --no-pdl > $OUT/profile_$name.log 2>&1
  grep -E "^batch|^kind|^linears|^decode attention|^prefill attention|^the rest|^all kernels|step unprofiled" \
    $OUT/profile_$name.log | tee -a $OUT/all.log
done
stamp done
