#!/bin/bash
# Session 29, call 3, from the checkout's root (swiftllm/ of c463f15, session 28's final tree): 1) the online
# sweep at 2 / 4 / 8 / 16 req/s (not run on this tree in session 28); 2) offline longest-first at temperatures
# 0 and 1 in one process; 3) session 28's prepared qkv_parts_probe_s28.py if time is left.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=c463f15
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 580 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "serving.py --request-rates 2,4,8,16"
timeout 300 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_online.json 2>&1 | tail -14 | tee -a $OUT/all.log
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1"
BENCH_OUT=/tmp/tp timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log
cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
if [ $(left) -gt 100 ]; then
  stamp "qkv_parts_probe_s28"
  timeout $(left) python3 bench/results/h200/qkv_parts_probe_s28.py --out $OUT/qkv_parts_probe.json 2>&1 | grep -v Warn | tail -40 | tee -a $OUT/all.log
fi
stamp done
