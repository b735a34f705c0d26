#!/bin/bash
# Session 63, fourth kind of call. Whichever card comes:
# - an H200: device_call_s55.sh whole (carry .reference = git archive 74a2896 swiftllm).
# - an H100: the decode step by kind of kernel on the current tree, for a card-to-card reading against session
#   29's H200 profile (bench/results/h200/profile_step_decode_nopdl_c463f15_s29.json): profile_step.py
#   --batches 1,8,32,256 --no-pdl (each kernel's own time), then the same with PDL (as the engine runs).
# Run: NEW=<commit> bash bench/results/h100/device_call_s63d.sh (carry .whl, .reference)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for mode in no-pdl pdl; do
  [ $(( $(date +%s) - T0 )) -lt 200 ] || break
  flag=""; [ $mode = no-pdl ] && flag=--no-pdl
  stamp "profile_step.py --batches 1,8,32,256 $flag, $NEW"
  BENCH_OUT=$OUT/$mode timeout 180 python3 bench/profile_step.py --batches 1,8,32,256 $flag \
    > $OUT/profile_$mode.log 2>&1
  grep -E "^batch|^kind|^linears|^decode attention|^the rest|^all kernels|step unprofiled" $OUT/profile_$mode.log \
    | tee -a $OUT/all.log
done
stamp done
