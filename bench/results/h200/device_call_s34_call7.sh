#!/bin/bash
# Session 34, call 7 (Run: NEW=<commit> bash bench/results/h200/device_call_s34_call7.sh, carry .whl): the current
# tree on another machine: one longest-first server, all 200 at once four times (the first burst is a server's
# slowest: the client opens its connections in it, docs/performance_log.md session 33), then the engine alone.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 215 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "HTTP all at once x4, longest-first server"
timeout 130 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
  --out $OUT/serving_s34_call7_inf_longest-first.json > /tmp/serving.log 2>&1
grep -v "^\s*$" /tmp/serving.log | tail -12 | tee -a $OUT/all.log
stamp "engine alone, 200 at once, longest-first"
BENCH_OUT=$OUT timeout $(( $(left) - 3 )) python3 bench/throughput.py --num-requests 200 --detokenize --worker-process \
  --temperatures 0 --schedule-policy longest-first > /tmp/alone.log 2>&1
tail -2 /tmp/alone.log | tee -a $OUT/all.log
stamp done
