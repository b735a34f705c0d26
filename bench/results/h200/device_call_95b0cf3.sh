#!/bin/bash
# Device call 1 (session 8): serving sweep at every rate (fresh prompts, engine warm-up), step trace at 128/256.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=.:/tmp/site PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r/st
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
stamp serving sweep
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 400 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -22 /tmp/r/sv.log | tee -a $LOG
cp /tmp/r/serving.json $OUT/serving_H200_$C.json; cp /tmp/r/serving.png $OUT/serving_H200_$C.png; cp /tmp/r/serving_server.log $OUT/serving_server_$C.log
grep -i -m5 "warm" /tmp/r/serving_server.log | tee -a $LOG
stamp step_trace
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/st timeout 150 python3 bench/step_trace.py --batches 32,128,256 --temperature 0 > /tmp/r/st.log 2>&1
grep -v capturing /tmp/r/st.log | tail -60 | tee -a $LOG; cp /tmp/r/st/step_trace.json $OUT/step_trace_$C.json 2>/dev/null
stamp done
