#!/bin/bash
# Prepared in session 35, NOT RUN (its device time was spent). Run: mkdir ab_old && git archive e7b5651 swiftllm bench |
# tar -x -C ab_old; NEW=<commit> bash bench/results/h200/device_call_s36_prepared.sh, carry .whl.
# What session 35 changed and could not time on the GPU: the detokenizer's standalone-token path (f34efae; CPU:
# bench/detokenize.py, 2-6x less per token). 1) all 200 at once over HTTP on a fresh longest-first server, the
# current tree then e7b5651's (ab_old), x3 each, with the controller's CPU ms a step (the serving table's "ctl cpu")
# and the device's idle share between steps; 2) the online sweep's 2 req/s rate, not run in session 35.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
PYTHONPATH=$ROOT:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
for pair in "$ROOT $NEW" "$ROOT/ab_old e7b5651"; do
  set -- $pair
  stamp "HTTP all at once x3, longest-first server: $2"
  (cd $1 && PYTHONPATH=$1:/tmp/site SWIFTLLM_COMMIT=$2 timeout 140 python3 bench/serving.py --num-requests 200 \
    --request-rates inf,inf,inf --seed 0 --label H200 \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
    --out $OUT/serving_s36_inf_longest-first_$2.json > /tmp/serving_$2.log 2>&1)
  grep -v "^\s*$" /tmp/serving_$2.log | tail -8 | tee -a $OUT/all.log
done
stamp "online 2 req/s, fcfs server: $NEW"
PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW timeout 170 python3 bench/serving.py --num-requests 200 --request-rates 2 --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s36_online2_fcfs.json > /tmp/serving_online2.log 2>&1
grep -v "^\s*$" /tmp/serving_online2.log | tail -6 | tee -a $OUT/all.log
stamp done
