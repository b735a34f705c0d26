#!/bin/bash
# Session 70. One device call, useful on whichever card comes (carry .whl and .reference):
# - an H200: device_call_s67.sh's H200 part (256-row bridge vs .reference = 74a2896, latency.py, offline
#   longest-first, check_kernels --quick, each if time allows), then the float32 Llama shape if time is left.
# - any other card: float32_engine_s69.py on the Llama-3-8B shape, 2 layers (session 69's call ran out of time
#   there: is float32 at head dim 128 served end to end, and do its tokens match the torch backend's?), each case
#   given CASE_TIMEOUT s; then bench/check_kernels.py in full on NEW while time is left.
# Run: NEW=<commit> LATENCY_BEFORE=300 OFFLINE_BEFORE=400 CHECK_BEFORE=470 bash bench/results/h100/device_call_s70.sh
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  bash bench/results/h100/device_call_s67.sh
  if [ $(( $(date +%s) - T0 )) -lt 380 ]; then
    stamp "float32_engine_s69.py llama, $NEW"
    CASE_TIMEOUT=$(( (560 - $(date +%s) + T0) / 3 )) PYTHONPATH=$(pwd):/tmp/site timeout $(( 570 - $(date +%s) + T0 )) \
      python3 bench/results/h100/float32_engine_s69.py llama 2>&1 | grep -v "it/s" | tail -30 | tee -a $OUT/all.log
  fi
  stamp done
  exit 0
fi
stamp "float32_engine_s69.py llama, $NEW"
CASE_TIMEOUT=${CASE_TIMEOUT:-130} PYTHONPATH=$(pwd):/tmp/site timeout 400 \
  python3 bench/results/h100/float32_engine_s69.py llama 2>&1 | grep -v "it/s" | tail -30 | tee -a $OUT/all.log
stamp "check_kernels.py, $NEW"
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout $(( 580 - $(date +%s) + T0 )) \
  python3 bench/check_kernels.py > $OUT/check.log 2>&1
stamp "check_kernels rc=$?"
tail -25 $OUT/check.log | tee -a $OUT/all.log
rm -f $OUT/*.png $OUT/*/*.png
stamp done
