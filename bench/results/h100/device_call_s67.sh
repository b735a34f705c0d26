#!/bin/bash
# Session 67. One device call, useful on whichever card comes (carry .whl and .reference):
# - an H200: device_call_s55.sh's H200 part (the 256-row bridge against .reference = 74a2896, then latency.py's
#   table if started before LATENCY_BEFORE s, offline longest-first if before OFFLINE_BEFORE s), then
#   bench/check_kernels.py --quick if started before CHECK_BEFORE s (default 470).
# - any other card: bench/check_kernels.py in full (session 67's trims touch backend_triton.attention's
#   mixed-step calls, decode_attention's output and sample_results; a correctness check, no timing).
# Run: NEW=<commit> LATENCY_BEFORE=260 OFFLINE_BEFORE=380 bash bench/results/h100/device_call_s67.sh
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  bash bench/results/h100/device_call_s55.sh
  if [ $(( $(date +%s) - T0 )) -lt ${CHECK_BEFORE:-470} ]; then
    SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 120 \
      python3 bench/check_kernels.py --quick > $OUT/check.log 2>&1
    tail -3 $OUT/check.log | tee -a $OUT/all.log
  fi
  exit 0
fi
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/all.log
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 400 \
  python3 bench/check_kernels.py > $OUT/check.log 2>&1
echo "check_kernels rc=$? after $(( $(date +%s) - T0 )) s" | tee -a $OUT/all.log
tail -25 $OUT/check.log
