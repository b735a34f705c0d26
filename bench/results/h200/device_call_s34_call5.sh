#!/bin/bash
# Session 34, call 5 (Run: NEW=<commit> bash bench/results/h200/device_call_s34_call5.sh, carry .whl): the tree with
# o split above the GEMV's rows. 1) latency.py --temperature 0 (decode by vLLM's method; 65-256 rows route o
# differently now); 2) one longest-first server through the online rates then all at once three times, as
# session 33's call 1 (serving.py --num-requests 200 --request-rates 2,4,8,16,inf,inf,inf --seed 0).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 580 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
stamp "HTTP, one longest-first server: 2,4,8,16 req/s, then all at once x3"
timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf,inf,inf \
  --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
  --out $OUT/serving_s34_call5_longest-first_sweep.json > $OUT/logs/serving.log 2>&1
grep -v "^\s*$" $OUT/logs/serving.log | tail -22 | tee -a $OUT/all.log
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT timeout $(( $(left) - 5 )) python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 > $OUT/logs/latency.log 2>&1
grep -v capturing $OUT/logs/latency.log | tail -10 | tee -a $OUT/all.log
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
