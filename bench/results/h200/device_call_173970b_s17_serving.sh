#!/bin/bash
# Session 17, call 3 at $1 (.after): the serving sweep over HTTP, 200 requests a rate, at 2, 4, 8, 16 req/s
# and all at once (first come first served, the server's default).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp "serving sweep at $C"
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 520 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -24 /tmp/r/sv.log | tee -a $OUT/all.log
cp /tmp/r/serving.json $OUT/serving_H200_$C.json; cp /tmp/r/serving.png $OUT/serving_H200_$C.png; cp /tmp/r/serving_server.log $OUT/serving_server_$C.log
stamp done
