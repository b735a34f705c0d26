#!/bin/bash
# Session 35, call 6 (Run: NEW=<commit> bash bench/results/h200/device_call_s35_call6.sh, carry .whl): the current
# tree online, on a default (first come first served) server: serving.py --num-requests 200 --request-rates 4,8,16
# --seed 0 (rate 2 left out: the call had ~280 device seconds left).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
stamp "online 4 / 8 / 16 req/s, fcfs server"
timeout 210 python3 bench/serving.py --num-requests 200 --request-rates 4,8,16 --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s35_call6_online_fcfs.json > $OUT/serving.log 2>&1
grep -v "^\s*$" $OUT/serving.log | tail -12 | tee -a $OUT/all.log
stamp done
