#!/bin/bash
# Session 36, call 3: every issue-16 scenario on the current tree in one call, one machine (NEW = 1ee07aa, whose
# swiftllm/ is session 35's final code): decode by vLLM's method (latency.py), prefill by operation
# (prefill_profile.py), offline on the 1000 requests longest-first greedy and at temperature 1.0, then one first
# come first served server: online 4 / 8 / 16 req/s (2 req/s: call 1) and all 200 at once.
# Run: NEW=<commit> bash bench/results/h200/device_call_s36_call3.sh, carry .whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 570 - ($(date +%s) - T0) )); }
ROOT=$(pwd)
export PYTHONPATH=$ROOT:/tmp/site SWIFTLLM_COMMIT=$NEW
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
mkdir -p $OUT/logs
stamp "latency.py --temperature 0"
BENCH_OUT=$OUT timeout 170 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  > $OUT/logs/latency.log 2>&1
grep -v capturing $OUT/logs/latency.log | tail -10 | tee -a $OUT/all.log
stamp "prefill_profile.py"
BENCH_OUT=$OUT timeout 100 python3 bench/prefill_profile.py > $OUT/logs/prefill.log 2>&1
grep -v capturing $OUT/logs/prefill.log | tail -16 | tee -a $OUT/all.log
for t in 0 1; do
  stamp "offline 1000 longest-first, temperature $t"
  BENCH_OUT=$OUT timeout 80 python3 bench/throughput.py --schedule-policy longest-first --temperatures $t \
    > $OUT/logs/offline_t$t.log 2>&1
  tail -3 $OUT/logs/offline_t$t.log | tee -a $OUT/all.log
done
stamp "online 4 / 8 / 16 req/s and all at once, first come first served server"
timeout $(( $(left) - 5 )) python3 bench/serving.py --num-requests 200 --request-rates 4,8,16,inf --seed 0 --label H200 \
  --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
  --out $OUT/serving_s36_call3_fcfs.json > $OUT/logs/serving.log 2>&1
grep -v "^\s*$" $OUT/logs/serving.log | tail -14 | tee -a $OUT/all.log
cd $OUT && tar czf logs.tgz logs && rm -rf logs
stamp done
