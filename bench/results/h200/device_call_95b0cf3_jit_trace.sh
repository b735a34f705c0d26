#!/bin/bash
# Device call 2 (session 8): which Triton specializations compile while serving, after the warm-up.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=.:/tmp/site PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="env TRACE_JIT=1 PYTHONPATH=.:/tmp/site:.run/hook python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
stamp serving with the JIT trace
SWIFTLLM_COMMIT=$C timeout 300 python3 bench/serving.py --num-requests 200 --request-rates 2,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -22 /tmp/r/sv.log | tee -a $LOG
cp /tmp/r/serving.json $OUT/serving_jit_trace_$C.json; cp /tmp/r/serving_server.log $OUT/serving_jit_trace_server_$C.log
stamp jit lines after the warm-up
awk '/warming up/{w=1} /SwiftLLM serving/{s=1} {if (w && /\[jit /) print (s ? "SERVING " : "WARMUP ") $0}' /tmp/r/serving_server.log | cut -c1-700 | tee -a $LOG | head -80
grep -c "\[jit " /tmp/r/serving_server.log | tee -a $LOG
stamp done
