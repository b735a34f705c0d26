#!/bin/bash
# Session 24, call 3: .head = git archive 3631202 (the kernels and worker of db9582c). 1) gemm_swap_exp_s24.py;
# 2) throughput.py longest-first at temperatures 0 and 1; 3) serving.py, all 200 requests at once;
# 4) latency.py at every N of issue 16's table (bench/verify_on_gpu.sh's steps 2-4, as written there).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd)/.head:/tmp/site SWIFTLLM_COMMIT=3631202
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
cd .head
stamp "gemm_swap_exp_s24.py"
BENCH_OUT=$OUT timeout 90 python3 bench/gemm_swap_exp_s24.py 2>&1 | grep -v "^\s*$" | tail -22 | tee -a $OUT/all.log
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1 at 3631202"
BENCH_OUT=/tmp/tp timeout 150 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -16 | tee -a $OUT/all.log
cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
stamp "serving.py: all 200 requests at once at 3631202"
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
timeout 120 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -14 | tee -a $OUT/all.log
stamp "latency.py --temperature 0 at 3631202"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp done
kill $SMI
