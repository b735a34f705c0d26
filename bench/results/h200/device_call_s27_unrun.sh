#!/bin/bash
# Prepared in session 27, not run (no device time left): what the final tree 8258601 (= b02531a's swiftllm/) still
# lacks on the GPU. Build .fin with `git archive b02531a swiftllm bench | tar -x -C .fin --exclude=bench/results`,
# carry [".fin", ".whl"]; ~420 s. 1) offline longest-first at temperatures 0 and 1 in one process (issue 16 asks
# both under 16.5 s; session 27 showed 16.45 greedy on one machine, 16.65 / 16.58 on another); 2) latency.py at
# every N; 3) all 200 at once.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 580 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
cd .fin || exit 1
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=b02531a
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1"
BENCH_OUT=/tmp/tp timeout 150 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log
cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
stamp "latency.py --temperature 0"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 60 ]; then
  stamp "serving.py: all 200 requests at once"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -8 | tee -a $OUT/all.log
fi
stamp done
