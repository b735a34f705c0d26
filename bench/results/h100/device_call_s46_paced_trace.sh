#!/bin/bash
# Session 46, call 4: on an H200, the prepared H200 call (bench/results/h200/device_call_s45.sh); on any other
# card, where the all-at-once burst's longest request lands in the engine's queue over HTTP, and what `paced`
# gets for it: a fresh traced server (bench/trace_requests) per run, `paced` twice and fcfs once, all 200 at
# once, then bench/results/h100/paced_trace_s46.py on each server log. The CPU simulation
# (bench/results/cpu/paced_arrival_order_s46.log) says paced gains +6-11 % when the longest request is among
# the first 40 added, and loses to fcfs when it is past the 130th.
# Run: NEW=<commit> bash bench/results/h100/device_call_s46_paced_trace.sh, carry .whl
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h200/device_call_s45.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=$NEW
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print $2}')
PYTHONPATH=$ROOT python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
traced() {  # policy run
  stamp "all at once, a fresh traced $1 server (run $2)"
  TRACE_REQUESTS=1 PYTHONPATH=$ROOT/bench/trace_requests:$ROOT:/tmp/site timeout 110 python3 bench/serving.py \
    --num-requests 200 --request-rates inf --seed 0 --label $GPU \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --schedule-policy $1 --port 8000" \
    --out $OUT/trace_$1_$2.json > $OUT/trace_$1_$2.log 2>&1
  grep -E "^\s+inf " $OUT/trace_$1_$2.log | tee -a $OUT/all.log
  python3 bench/results/h100/paced_trace_s46.py $OUT/trace_$1_$2_server.log | tee -a $OUT/all.log
}
traced paced 1
traced fcfs 1
traced paced 2
rm -f $OUT/*.png
stamp done
