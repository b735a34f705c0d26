#!/bin/bash
# Session 39, call 4: the online scenario on the current tree (NEW): a fresh first come first served server (the
# default), 2 / 4 / 8 / 16 req/s then all 200 at once x2 (issue 16's online table, vLLM's method).
# Run: NEW=<commit> bash bench/results/h200/device_call_s39_call4.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "online 2 / 4 / 8 / 16 req/s and all at once x2, first come first served server"
timeout 480 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s39_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | tail -16 | tee -a $OUT/all.log
stamp done
