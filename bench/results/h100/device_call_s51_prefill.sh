#!/bin/bash
# Session 51, call 3: on an H200, the bridge (bench/results/h200/device_call_s51.sh PART=1); on another card,
# bench/results/h100/prefill_kernels_s51.py for this tree, 74a2896, this tree again (t(1) was 2.4-6.6 % slower
# here than 74a2896's in the bridge's H100 calls). Carry .whl and .reference; NEW=<commit>.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  PART=1 NEW=$NEW bash bench/results/h200/device_call_s51.sh
  exit
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ROOT=$(pwd)
for run in new1 ref new2; do
  path=$ROOT; commit=$NEW
  if [ $run = ref ]; then path=$ROOT/.reference; commit=74a2896; fi
  echo "== $run ($commit)" | tee -a $OUT/all.log
  SWIFTLLM_COMMIT=$commit PYTHONPATH=$path:/tmp/site timeout 170 python3 bench/results/h100/prefill_kernels_s51.py \
    $OUT/prefill_$run.json 2>&1 | grep -v "^USDT\|^STAGE\|Warning" | tee -a $OUT/all.log
done
