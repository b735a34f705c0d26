#!/bin/bash
# Session 44, call 2 (an H100: no H200 was lent): decode by vLLM's method (latency.py, each N's step time over
# the roofline measured in the same run) and offline on the 1000 requests longest-first greedy, on the current
# tree (NEW). H100 figures are compared with nothing measured on an H200.
# Run: NEW=<commit> bash bench/results/h100/device_call_s44_call2.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT timeout 170 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  > $OUT/latency.log 2>&1
grep -v capturing $OUT/latency.log | tail -12 | tee -a $OUT/all.log
stamp "offline 1000 longest-first, temperature 0"
BENCH_OUT=$OUT timeout 90 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 \
  > $OUT/offline_t0.log 2>&1
tail -4 $OUT/offline_t0.log | tee -a $OUT/all.log
stamp done
