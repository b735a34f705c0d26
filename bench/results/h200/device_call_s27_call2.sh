#!/bin/bash
# Session 27, call 2: .head = d889046 (main at the start), .fin = 3abf47e (down above the GEMV's rows as a cuBLAS bmm
# over K halves, float32 parts for the norm). 1) check_kernels --quick on .fin; 2) step_ab head / fin at
# 1,8,64,128,256 + mixed; 3) offline longest-first on .fin at temperatures 0 and 1 (one process), then .head at 0;
# 4) latency.py at every N on .fin; 5) all 200 at once on .fin.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
ROOT=$(pwd)
stamp "check_kernels --quick at 3abf47e"
(cd .fin && PYTHONPATH=.:/tmp/site BENCH_OUT=/tmp/ck timeout 200 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1)
grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|worst\|split_k" /tmp/ck.log | grep -v "Writing model" | tail -14 | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
B=1,8,64,128,256
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step)"
ab .head head; ab .fin final
tp() { (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/tp_$2 timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures $3 2>&1 | grep -v capturing | tail -$4 | tee -a $OUT/all.log); cp /tmp/tp_$2/*.json $OUT/throughput_$2.json 2>/dev/null; }
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1 at 3abf47e"
tp .fin 3abf47e 0,1 14
stamp "throughput.py --schedule-policy longest-first --temperatures 0 at d889046"
tp .head d889046 0 2
cd .fin
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=3abf47e
stamp "latency.py --temperature 0 at 3abf47e"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 60 ]; then
  stamp "serving.py: all 200 requests at once at 3abf47e"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -14 | tee -a $OUT/all.log
fi
stamp done
kill $SMI
cd $OUT && tar czf misc.tgz smi.csv check_kernels.json && rm -f smi.csv check_kernels.json
