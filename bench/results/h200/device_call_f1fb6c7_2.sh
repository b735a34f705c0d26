#!/bin/bash
# Device call 2 (session 9): at $1 (graphs per table width) vs 19ce14a (.before):
# one server (JIT traced): full greedy sweep 2,4,8,16,inf, then temperature 1.0 at 16 req/s (checks 9d64e09's
# sampling warm-up: nothing may compile while serving); offline throughput greedy + temperature 1, after / before.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp server start
TRACE_JIT=1 PYTHONPATH=.:/tmp/site:bench/trace_jit python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 > /tmp/r/server.log 2>&1 &
SERVER=$!
for i in $(seq 1 150); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)" 2>/dev/null && break; sleep 1; done
stamp server healthy
export PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C
timeout 330 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -22 /tmp/r/sv.log | tee -a $LOG
stamp temperature 1.0 at 16 req/s
timeout 60 python3 bench/serving.py --num-requests 200 --request-rates 16 --seed 1 --temperature 1.0 --label H200 --out /tmp/r/serving_t1.json > /tmp/r/sv1.log 2>&1
tail -8 /tmp/r/sv1.log | tee -a $LOG
kill $SERVER; sleep 3
grep -m1 "warm" /tmp/r/server.log | tee -a $LOG
awk '/SwiftLLM serving/{s=1} s && /\[jit /' /tmp/r/server.log | tee -a $LOG | wc -l | sed 's/^/compiles while serving: /' | tee -a $LOG
cp /tmp/r/serving.json $OUT/serving_H200_$C.json; cp /tmp/r/serving.png $OUT/serving_H200_$C.png; cp /tmp/r/serving_t1.json $OUT/serving_H200_${C}_t1.json
tr '\r' '\n' < /tmp/r/server.log | grep -v "it/s\]$" | tail -c 200000 > $OUT/serving_server_$C.txt
unset PYTHONPATH SWIFTLLM_COMMIT
for tree in . .before; do
  name=$C; [ "$tree" = .before ] && name=19ce14a
  stamp throughput $name
  mkdir -p /tmp/r/tp_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name BENCH_OUT=/tmp/r/tp_$name timeout 110 python3 bench/throughput.py > /tmp/r/tp.log 2>&1; grep -v capturing /tmp/r/tp.log | tail -16 | tee -a $LOG)
  cp /tmp/r/tp_$name/throughput.json $OUT/throughput_${name}.json
done
stamp done
