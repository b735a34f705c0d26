#!/bin/bash
# Session 34, call 6 (Run: NEW=<commit> bash bench/results/h200/device_call_s34_call6.sh, carry .whl): the tree with
# o split above the GEMV's rows, first come first served (the default): all 200 at once over HTTP three times
# (serving.py --request-rates inf,inf,inf); then offline 1000 longest-first at temperature 1.0.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "HTTP all at once x3, first come first served server"
timeout 120 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s34_call6_inf_fcfs.json > /tmp/serving.log 2>&1
grep -v "^\s*$" /tmp/serving.log | tail -10 | tee -a $OUT/all.log
stamp "offline 1000 longest-first, temperature 1.0"
BENCH_OUT=$OUT timeout 70 python3 bench/throughput.py --schedule-policy longest-first --temperatures 1 > /tmp/off.log 2>&1
tail -3 /tmp/off.log | tee -a $OUT/all.log
stamp done
