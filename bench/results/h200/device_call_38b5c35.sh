#!/bin/bash
# Device call 3 (session 9), at $1: kernels of the p99-TTFT request's step (40 decodes + a 951-token prompt),
# decode at 256 rows with contiguous and scattered KV blocks (the engine-vs-bare gap), then a second machine's
# serving sweep (one server; 16 req/s run twice).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
stamp profile_step 40 decodes at context 500 + one 951-token prompt
timeout 100 python3 bench/profile_step.py --batches 40 --context 500 --prefill-chunks 1x951 > /tmp/r/p1.log 2>&1; grep -v capturing /tmp/r/p1.log | tail -32 | tee -a $LOG
stamp profile_step 256 contiguous, then scattered
timeout 100 python3 bench/profile_step.py --batches 256 > /tmp/r/p2.log 2>&1; grep -v capturing /tmp/r/p2.log | tail -24 | tee -a $LOG
timeout 100 python3 bench/profile_step.py --batches 256 --scatter > /tmp/r/p3.log 2>&1; grep -v capturing /tmp/r/p3.log | tail -24 | tee -a $LOG
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp server start
python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 > /tmp/r/server.log 2>&1 &
SERVER=$!
for i in $(seq 1 150); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)" 2>/dev/null && break; sleep 1; done
stamp server healthy
timeout 300 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -22 /tmp/r/sv.log | tee -a $LOG
stamp 16 req/s again, seed 2 (other prompts and arrivals)
timeout 40 python3 bench/serving.py --num-requests 200 --request-rates 16 --seed 2 --label H200 --out /tmp/r/serving16.json > /tmp/r/sv16.log 2>&1
tail -8 /tmp/r/sv16.log | tee -a $LOG
kill $SERVER
cp /tmp/r/serving.json $OUT/serving_H200_${C}_b.json; cp /tmp/r/serving.png $OUT/serving_H200_${C}_b.png; cp /tmp/r/serving16.json $OUT/serving_H200_${C}_b16.json
stamp done
