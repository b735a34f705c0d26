#!/bin/bash
# Session 26, call 4 (the last of the session's device time): .head = 9d602a4, .fin = 79b8239 (split-K o/down at 2-32
# rows with PARTS a compile-time flag: one part compiles to the same SASS as 9d602a4's). 1) step_ab at
# 1,2,8,16,32 interleaved twice; 2) latency.py at N = 1, 8, 32 on .fin (all 200 at once only if time is left).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 230 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,2,8,16,32
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .fin final; done
cd .fin
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=79b8239
stamp "latency.py --temperature 0 at 79b8239"
BENCH_OUT=/tmp/lat timeout $(left) python3 bench/latency.py --temperature 0 --batches 1,8,32 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 60 ]; then
  stamp "serving.py: all 200 requests at once at 79b8239"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(left) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -14 | tee -a $OUT/all.log
fi
stamp done
kill $SMI
