#!/bin/bash
# Session 28, call 5 (call 3's machine, warm), from the checkout's root = the candidate (b10df45 + the one-row MLP
# as silu_and_mul then the plain GEMV, the SiLU-fused GEMV form removed): 1) check_kernels --quick; 2) latency.py
# at every N; 3) offline longest-first at temperatures 0 and 1 in one process; 4) all 200 at once.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=s28-cand
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 470 - ($(date +%s) - T0) )); }
stamp "check_kernels --quick"
BENCH_OUT=/tmp/ck timeout 170 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1
grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|worst" /tmp/ck.log | grep -v "Writing model" | tail -12 | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
stamp "latency.py --temperature 0"
BENCH_OUT=/tmp/lat timeout 180 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 70 ]; then
  stamp "throughput.py --schedule-policy longest-first --temperatures 0,1"
  BENCH_OUT=/tmp/tp timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log
  cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
fi
if [ $(left) -gt 60 ]; then
  stamp "serving.py: all 200 requests at once"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -6 | tee -a $OUT/all.log
fi
stamp done
