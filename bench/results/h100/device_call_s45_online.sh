#!/bin/bash
# Session 45, call 4 (H100): the online sweep of issue 16 on the final tree, first come first served, beside
# the batch-1 decode step of the same machine (latency.py, N = 1), so that median TPOT at 2-16 req/s can be
# read as a ratio to this card's own batch-1 step (vLLM keeps its within 15 % on the H200, issue 16).
# Run: NEW=<commit> bash bench/results/h100/device_call_s45_online.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "latency.py --temperature 0 --batches 1"
BENCH_OUT=$OUT timeout 90 python3 bench/latency.py --temperature 0 --batches 1 > $OUT/latency.log 2>&1
grep -v capturing $OUT/latency.log | tail -4 | tee -a $OUT/all.log
stamp "online 2,4,8,16 req/s, fcfs server"
timeout 400 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label $GPU \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_online_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | grep -v "slowest TTFT" | tail -9 | tee -a $OUT/all.log
rm -f $OUT/*.png $OUT/*server.log
stamp done
