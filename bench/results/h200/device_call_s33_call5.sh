#!/bin/bash
# Session 33, call 5: call 4 again on another machine, the host probe now warmed up (best of 5), the final tree's two policies side by side:
# a longest-first server x3, then a first come first served server x3 (serving.py --request-rates inf,inf,inf).
# Run: NEW=<commit> bash bench/results/h200/device_call_s33_call5.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
for policy in longest-first fcfs; do
  stamp "HTTP all at once x3, $policy server"
  timeout 150 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy $policy" \
    --out $OUT/serving_s33_call5_inf_$policy.json > $OUT/serving_$policy.log 2>&1
  grep -v "^\s*$" $OUT/serving_$policy.log | grep -A4 "^ rate" | tee -a $OUT/all.log
done
stamp "engine alone, 200 at once, longest-first"
timeout 60 python3 bench/throughput.py --num-requests 200 --detokenize --worker-process --temperatures 0 \
  --schedule-policy longest-first > $OUT/alone.log 2>&1
grep -A3 "^host:" $OUT/alone.log | head -2 | tee -a $OUT/all.log; tail -2 $OUT/alone.log | tee -a $OUT/all.log
grep -h "^host:" $OUT/serving_*.log | tee -a $OUT/all.log
stamp done
