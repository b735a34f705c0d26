#!/bin/bash
# Session 25, call 4: .head = 4a2e9cf, .gm = f9f885b (the gated GEMV at 97-128 rows). 1) step_ab at 1,8,32,64,128,
# interleaved twice; 2) check_kernels --quick on .gm; 3) latency.py at every N on .gm; 4) all 200 at once on .gm;
# 5) offline longest-first greedy on .gm.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
B=1,8,32,64,128
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head; ab .gm gated; done
cd .gm
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=f9f885b
stamp "check_kernels --quick at f9f885b"
BENCH_OUT=/tmp/ck timeout 130 python3 bench/check_kernels.py --quick 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|gated" | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
stamp "latency.py --temperature 0 at f9f885b"
BENCH_OUT=/tmp/lat timeout 210 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 60 ]; then
  stamp "serving.py: all 200 requests at once at f9f885b"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -14 | tee -a $OUT/all.log
fi
if [ $(left) -gt 70 ]; then
  stamp "throughput.py --schedule-policy longest-first --temperatures 0 at f9f885b"
  BENCH_OUT=/tmp/tp timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 2>&1 | grep -v capturing | tail -12 | tee -a $OUT/all.log
  cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
fi
stamp done
kill $SMI
