#!/bin/bash
# Session 28, call 1, run from the checkout's root (b10df45, the final tree of session 27, plus the probe):
# 1) read_bw_probe_s28.py: can a read-only kernel beat copy bandwidth, and where is the one-row GEMV against it;
# 2) offline longest-first at temperatures 0 and 1 in one process; 3) latency.py at every N; 4) the prefill
# profile (1 x 8,192); 5) all 200 at once. The final tree was not run in session 27 (its call 4 ran 8258601).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=b10df45
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 585 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv,noheader -lms 500 > $OUT/smi.csv &
stamp "read_bw_probe_s28.py"
timeout 120 python3 bench/results/h200/read_bw_probe_s28.py --out $OUT/read_bw_probe.json > $OUT/probe.log 2>&1
grep -v "^read block" $OUT/probe.log | tee -a $OUT/all.log
sort -t: -k2 -r $OUT/probe.log | grep "^read block" | head -5 | tee -a $OUT/all.log
stamp "throughput.py --schedule-policy longest-first --temperatures 0,1"
BENCH_OUT=/tmp/tp timeout 150 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 2>&1 | grep -v capturing | tail -10 | tee -a $OUT/all.log
cp /tmp/tp/*.json $OUT/throughput.json 2>/dev/null
stamp "latency.py --temperature 0"
BENCH_OUT=/tmp/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 2>&1 | grep -v capturing | tail -10 | tee -a $OUT/all.log
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
if [ $(left) -gt 200 ]; then
  stamp "prefill_profile.py"
  BENCH_OUT=/tmp/pp timeout 100 python3 bench/prefill_profile.py 2>&1 | grep -v capturing | tail -14 | tee -a $OUT/all.log
  cp /tmp/pp/*.json $OUT/prefill_profile.json 2>/dev/null
fi
if [ $(left) -gt 70 ]; then
  stamp "serving.py: all 200 requests at once"
  python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
  timeout $(( $(left) > 110 ? 110 : $(left) )) python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving.json 2>&1 | tail -8 | tee -a $OUT/all.log
fi
kill %1 2>/dev/null
stamp done
