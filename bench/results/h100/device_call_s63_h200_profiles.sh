#!/bin/bash
# Session 63, prepared for the next H200 (after device_call_s61.sh / s55, which time the targets): where the H200's
# decode step spends its excess on the current tree, to set beside the H100's of session 63 (decode_profile_s63/,
# fusion_bound_s63/, mixed_profile_s63/). On any other card it exits 3 at once. About 250 s:
#   1. profile_step.py --batches 1,8,32,64,128,256 --no-pdl (each kernel's own time; --no-pdl works again since
#      session 63), then the same with PDL;
#   2. fusion_bound_s63/probe.py none / both / both / none --batches 8,64 (the ceiling of an RMSNorm and
#      SiLU x mul fusion where the H200 misses 1.15x);
#   3. offline's mean mixed step (127 decodes at 438, a 129-token chunk) --no-pdl.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63_h200_profiles.sh (carry .whl)
# Then: python3 bench/profile_diff.py bench/results/h100/decode_profile_s63/profile_step_decode_nopdl.json
#   $OUT/decode_nopdl/profile_step_1x1088_8x1088_32x1088_64x1088_128x1088_256x1088.json (the H100 beside the H200)
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  nvidia-smi --query-gpu=name --format=csv,noheader
  echo "not an H200: nothing run"
  exit 3
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
KINDS="^batch|^kind|^linears|^decode attention|^prefill attention|^the rest|^all kernels|step unprofiled"
for mode in nopdl pdl; do
  flag=""; [ $mode = nopdl ] && flag=--no-pdl
  stamp "profile_step.py --batches 1,8,32,64,128,256 $flag"
  BENCH_OUT=$OUT/decode_$mode timeout 150 python3 bench/profile_step.py --batches 1,8,32,64,128,256 $flag \
    > $OUT/decode_$mode.log 2>&1
  grep -E "$KINDS" $OUT/decode_$mode.log | tee -a $OUT/all.log
done
i=0
for mode in none both both none; do i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 400 ] || break
  stamp "fusion bound, run $i: $mode --batches 8,64"
  timeout 90 python3 bench/results/h100/fusion_bound_s63/probe.py $mode --batches 8,64 > $OUT/fusion_${i}_$mode.log 2>&1
  grep -E "step unprofiled|Error" $OUT/fusion_${i}_$mode.log | sed "s/^/$mode: /" | tee -a $OUT/all.log
done
if [ $(( $(date +%s) - T0 )) -lt 480 ]; then
  stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 --no-pdl"
  BENCH_OUT=$OUT/mixed_nopdl timeout 100 python3 bench/profile_step.py --batches 127 --context 438 \
    --prefill-chunks 1x129 --no-pdl > $OUT/mixed_nopdl.log 2>&1
  grep -E "$KINDS" $OUT/mixed_nopdl.log | tee -a $OUT/all.log
fi
stamp done
