#!/bin/bash
# Session 27, call 1: .head = d889046 (main), .exp = e493ac3 (o/down above the GEMV's rows as a cuBLAS bmm over K
# halves, switch SWIFTLLM_EXP_BMM). 1) the chain experiment; 2) step_ab at 48,64,128,256 + mixed: head, exp down,
# exp both, twice; 3) latency.py at every N on .head; 4) all 200 at once on .head; 5) offline greedy on .head.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 580 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
stamp "chain experiment (8 layers, us/layer incl. norms)"
(cd .exp && PYTHONPATH=.:/tmp/site timeout 100 python3 ../.run/splitk_bmm_exp_s27.py --out $OUT/chain.json 2>&1 | tail -9) | tee -a $OUT/all.log
B=48,64,128,256
ab() { (cd $1 && SWIFTLLM_EXP_BMM=$3 PYTHONPATH=.:/tmp/site timeout 90 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .head head ""; ab .exp down down; ab .exp both both; done
cd .head
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=d889046
stamp "latency.py --temperature 0 at d889046"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 70 ]; then
  stamp "serving.py: all 200 requests at once at d889046"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 100 ? 100 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -14 | tee -a $OUT/all.log
fi
if [ $(left) -gt 50 ]; then
  stamp "throughput.py --schedule-policy longest-first --temperatures 0 at d889046"
  BENCH_OUT=/tmp/tp timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 2>&1 | grep -v capturing | tail -12 | tee -a $OUT/all.log
  cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
fi
stamp done
kill $SMI
