#!/bin/bash
# Session 63. One device call, whichever card comes (the tree is GPU-checked: check_kernels --quick on an H100 in
# session 62, decode at every N in session 63's first call):
# - an H200: device_call_s55.sh whole (the 256-row bridge against .reference = git archive 74a2896 swiftllm,
#   latency.py's table if started within 260 s, offline longest-first greedy within 440 s).
# - an H100: the current tree's offline and online figures on this card, each beside its floor:
#   throughput.py --schedule-policy longest-first --temperatures 0,1 (one process); latency.py at N = 1 (the
#   batch-1 step that online median TPOT is read against); serving.py's sweep 2,4,8,16 req/s and all at once
#   (200 requests each, one first come first served server), each part only if started in time.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63.sh (carry .whl, .reference)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1, $NEW"
BENCH_OUT=$OUT/offline timeout 170 python3 bench/throughput.py --schedule-policy longest-first \
  --temperatures 0,1 > $OUT/offline.log 2>&1
tail -6 $OUT/offline.log | tee -a $OUT/all.log
stamp "latency.py --temperature 0 --batches 1, $NEW"
BENCH_OUT=$OUT/latency timeout 80 python3 bench/latency.py --temperature 0 --batches 1 > $OUT/latency.log 2>&1
tail -3 $OUT/latency.log | tee -a $OUT/all.log
if [ $(( $(date +%s) - T0 )) -lt ${ONLINE_BEFORE:-260} ]; then
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  stamp "serving.py 2,4,8,16,inf req/s x 200, first come first served server, $NEW"
  timeout $(( 580 - $(date +%s) + T0 )) python3 bench/serving.py --num-requests 200 \
    --request-rates 2,4,8,16,inf --seed 0 --label $GPU \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" \
    --out $OUT/serving_online_fcfs.json > $OUT/serving.log 2>&1
  grep -v "^\s*$" $OUT/serving.log | grep -v "slowest TTFT" | tail -12 | tee -a $OUT/all.log
fi
rm -f $OUT/*.png $OUT/*/*.png $OUT/*server.log
stamp done
