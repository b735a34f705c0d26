#!/bin/bash
# Session 60. One device call, whichever card comes. The tree after ff5812e has run on no GPU, and its worker
# changed (LlamaModel.forward takes q, k, v as one view of qkv split by heads), so the models are checked first:
# - an H100: device_call_s59.sh (check_kernels.py --quick with the models, then throughput.py longest-first at
#   temperature 1 alternated with .before = git archive 52c43fe swiftllm).
# - an H200: check_kernels.py --quick, then device_call_s55.sh with its later parts gated earlier (the 256-row
#   bridge against .reference = git archive 74a2896 swiftllm always; latency.py's table if started within 150 s
#   of it, offline longest-first greedy within 300 s), so that the whole call fits 600 s.
# Run: NEW=<commit> BEFORE=52c43fe bash bench/results/h100/device_call_s60.sh (carry .whl, .reference, .before)
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s59.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
echo "check_kernels.py --quick, $NEW" | tee -a $OUT/all.log
SWIFTLLM_COMMIT=$NEW PYTHONPATH=$(pwd):/tmp/site BENCH_OUT=$OUT/check timeout 200 python3 bench/check_kernels.py \
  --quick > $OUT/check.log 2>&1
grep -E "^model|ALL OK|FAIL" $OUT/check.log | tee -a $OUT/all.log
LATENCY_BEFORE=${LATENCY_BEFORE:-150} OFFLINE_BEFORE=${OFFLINE_BEFORE:-300} \
  exec bash bench/results/h100/device_call_s55.sh
