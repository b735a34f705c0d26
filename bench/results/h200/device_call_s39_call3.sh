#!/bin/bash
# Session 39, call 3: issue 16's scenarios on the current tree (NEW), whose kernels are session 36's but whose
# mixed graphs (session 37) and forward (session 38) changed: decode by vLLM's method (latency.py), offline on
# the 1000 requests longest-first greedy and at temperature 1.0, then a fresh longest-first server: all 200 at
# once x3 (the 1.2x target's configuration). Prefill (kernels unchanged, 0.89 in session 36) is not rerun.
# Run: NEW=<commit> bash bench/results/h200/device_call_s39_call3.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 560 - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT timeout 170 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  > $OUT/logs/latency.log 2>&1
grep -v capturing $OUT/logs/latency.log | tail -10 | tee -a $OUT/all.log
for t in 0 1; do
  stamp "offline 1000 longest-first, temperature $t"
  BENCH_OUT=$OUT timeout 80 python3 bench/throughput.py --schedule-policy longest-first --temperatures $t \
    > $OUT/logs/offline_t$t.log 2>&1
  tail -3 $OUT/logs/offline_t$t.log | tee -a $OUT/all.log
done
stamp "HTTP all at once x3, longest-first server ($(left) s left)"
timeout $(( $(left) - 5 )) python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --schedule-policy longest-first" \
  --out $OUT/serving_s39_inf_longest-first.json > $OUT/logs/serving.log 2>&1
grep -v "^\s*$" $OUT/logs/serving.log | tail -8 | tee -a $OUT/all.log
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
