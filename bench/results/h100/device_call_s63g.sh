#!/bin/bash
# Session 63, with ~270 s of device time left. Whichever card comes:
# - an H200: device_call_s63f.sh's (the 256-row bridge against .reference = git archive 74a2896 swiftllm).
# - an H100: the upper bound of a norm / SiLU fusion into the GEMVs: fusion_bound_s63/probe.py none / both /
#   both / none (each a fresh process), profile_step.py --batches 1,8,32's unprofiled decode steps, each run
#   only if started within 120 s.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63g.sh (carry .whl, .reference)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s63f.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
i=0
for mode in none both both none; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 120 ] || break
  stamp "run $i: probe.py $mode --batches 1,8,32"
  BENCH_OUT=$OUT/run${i}_$mode timeout 90 python3 bench/results/h100/fusion_bound_s63/probe.py $mode \
    --batches 1,8,32 > $OUT/run${i}_$mode.log 2>&1
  grep -E "^_rms_norm|^_silu_mul|step unprofiled|Error" $OUT/run${i}_$mode.log | sed "s/^/$mode: /" | tee -a $OUT/all.log
done
rm -rf $OUT/run*/
stamp done
