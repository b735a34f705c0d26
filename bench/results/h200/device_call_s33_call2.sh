#!/bin/bash
# Session 33, call 2: every issue-16 scenario not timed in call 1, on the final tree (NEW = HEAD; its code is
# 696b5c9's, later commits change docs and comments only): decode by vLLM's method (latency.py), prefill by
# operation (prefill_profile.py), and the default policy (first come first served) offline on the 1000 requests,
# through the engine alone on the first 200 at once, and over HTTP all at once x3.
# Run: NEW=<commit> bash bench/results/h200/device_call_s33_call2.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT/logs/lat timeout 170 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  > $OUT/logs/latency.log 2>&1
grep -v capturing $OUT/logs/latency.log | tail -10 | tee -a $OUT/all.log
stamp "prefill_profile.py"
BENCH_OUT=$OUT/logs/pp timeout 100 python3 bench/prefill_profile.py > $OUT/logs/prefill.log 2>&1
grep -v capturing $OUT/logs/prefill.log | tail -16 | tee -a $OUT/all.log
stamp "offline 1000, first come first served, greedy"
BENCH_OUT=$OUT/logs/off timeout 90 python3 bench/throughput.py --temperatures 0 > $OUT/logs/offline_fcfs.log 2>&1
tail -2 $OUT/logs/offline_fcfs.log | tee -a $OUT/all.log
stamp "engine alone, 200 at once, first come first served"
timeout 60 python3 bench/throughput.py --num-requests 200 --detokenize --worker-process --temperatures 0 \
  > $OUT/logs/alone_fcfs.log 2>&1
tail -2 $OUT/logs/alone_fcfs.log | tee -a $OUT/all.log
stamp "HTTP all at once x3, first come first served server"
timeout 150 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s33_call2_inf_fcfs.json > $OUT/logs/serving.log 2>&1
grep -v "^\s*$" $OUT/logs/serving.log | tail -12 | tee -a $OUT/all.log
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
