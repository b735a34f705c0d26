#!/bin/bash
# Device call 4 (session 8): latency at every N with the roofline; offline throughput A/B (after, before, after:
# 95b0cf3 in .before); serving at 4 and 16 req/s again (a second sample of p99 TTFT).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
LOG=$OUT/all.log
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $LOG; }
mkdir -p /tmp/r/lat
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $LOG
stamp latency
PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lat timeout 200 python3 bench/latency.py --temperature 0 > /tmp/r/lat.log 2>&1; grep -v capturing /tmp/r/lat.log | tail -9 | tee -a $LOG; cp /tmp/r/lat/latency_greedy.json $OUT/latency_greedy_$C.json; cp /tmp/r/lat/latency_greedy.png $OUT/latency_greedy_$C.png
for tree in . .before .; do
  name=$C; [ "$tree" = .before ] && name=95b0cf3
  stamp throughput $name
  mkdir -p /tmp/r/tp_$name
  (cd $tree && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$name BENCH_OUT=/tmp/r/tp_$name timeout 100 python3 bench/throughput.py --temperatures 0 > /tmp/r/tp.log 2>&1; grep -v capturing /tmp/r/tp.log | tail -13 | tee -a $LOG)
  cp /tmp/r/tp_$name/throughput.json $OUT/throughput_${name}_$(date +%s).json
done
stamp serving 4 and 16 req/s
PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="env TRACE_JIT=1 PYTHONPATH=.:/tmp/site:bench/trace_jit python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$C timeout 150 python3 bench/serving.py --num-requests 200 --request-rates 4,16 --seed 0 --label H200 --launch "$LAUNCH" --out /tmp/r/serving.json > /tmp/r/sv.log 2>&1
tail -14 /tmp/r/sv.log | tee -a $LOG
cp /tmp/r/serving.json $OUT/serving_H200_${C}_4_16.json; cp /tmp/r/serving_server.log $OUT/serving_server_${C}_4_16.log
awk '/SwiftLLM serving/{s=1} s && /\[jit /' /tmp/r/serving_server.log | wc -l | sed 's/^/compiles while serving: /' | tee -a $LOG
stamp done
