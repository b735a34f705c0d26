#!/bin/bash
# Prepared in session 44 (which got only H100s) for the next H200: everything sessions 42-44 changed, timed
# where it counts against vLLM's H200 figures, in order of priority, each step guarded by the time left:
# 1. check_kernels --quick --model-only (ALL OK on session 44's H100; never yet on an H200);
# 2. latency.py, decode by vLLM's method at N = 1-256 (the kernels of session 39; 200 s: session 44's 170 s
#    timeout cut it after N = 128 on the slower H100);
# 3. a fresh paced server, all 200 at once x2, then a fresh fcfs server x2 (H100: +2.2 % for paced).
# Run: NEW=<commit> bash bench/results/h200/device_call_s45.sh, carry .whl (bash ../shared/device/prepare-wheels.sh)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( ${LIMIT:-585} - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
stamp "check_kernels --quick --model-only"
BENCH_OUT=$OUT timeout 150 python3 bench/check_kernels.py --quick --model-only > $OUT/check_kernels.log 2>&1
tail -6 $OUT/check_kernels.log | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "latency.py --temperature 0 ($(left) s left)"
BENCH_OUT=$OUT timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  > $OUT/latency.log 2>&1
grep -v capturing $OUT/latency.log | tail -12 | tee -a $OUT/all.log
serve() {  # policy seconds
  stamp "all at once x2, $1 server ($(left) s left)"
  timeout $2 python3 bench/serving.py --num-requests 200 --request-rates inf,inf --seed 0 --label $GPU \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --schedule-policy $1 --port 8000" \
    --out $OUT/serving_inf_$1.json > $OUT/serving_$1.log 2>&1
  grep -v "^\s*$" $OUT/serving_$1.log | grep -v "slowest TTFT" | tail -5 | tee -a $OUT/all.log
}
if [ $(left) -gt 150 ]; then serve paced 75; fi
if [ $(left) -gt 70 ]; then serve fcfs $(( $(left) - 5 )); fi
stamp done
