#!/bin/bash
# Session 27, call 3: .head = d889046, .fin = 3abf47e. 1) the qkv parts probe (norm + qkv GEMV, whole or in two
# K parts, 2-32 rows); 2) step_ab fin / head (the second round, the other order); 3) the online sweep on .fin,
# 200 requests a rate at 2 / 4 / 8 / 16 req/s (as session 25's device_call_s25_online).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
stamp "qkv parts probe"
(cd .fin && PYTHONPATH=.:/tmp/site timeout 60 python3 ../.run/qkv_parts_exp_s27.py --out $OUT/qkv_parts.json 2>&1 | tail -6) | tee -a $OUT/all.log
B=1,8,64,128,256
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step)"
ab .fin final; ab .head head
cd .fin
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=3abf47e
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
stamp "serving.py --request-rates 2,4,8,16 at 3abf47e"
timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label H200 \
  --launch "$LAUNCH" --out $OUT/serving_online.json > /tmp/sv.log 2>&1
tail -22 /tmp/sv.log | tee -a $OUT/all.log
stamp done
kill $SMI
