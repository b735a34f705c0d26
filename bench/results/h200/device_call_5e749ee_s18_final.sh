#!/bin/bash
# Session 18, call 6 at 5e749ee (.after): latency.py --temperature 0 at N = 1, 8, 32, 128; offline longest-first
# greedy; then latency.py at N = 8 on 173970b (.s17), as call 4's N = 8 (5.1 ms) sat 0.6 ms above the bare step.
# nvidia-smi clocks / power logged throughout.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu --format=csv -lms 250 > $OUT/smi.csv 2>&1 &
SMI=$!
mkdir -p /tmp/r/lat /tmp/r/lf /tmp/r/lat17
stamp "latency.py --temperature 0 --batches 1,8,32,128 at 5e749ee"
(cd .after && SWIFTLLM_COMMIT=5e749ee BENCH_OUT=/tmp/r/lat PYTHONPATH=.:/tmp/site timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,128 > /tmp/r/lat.log 2>&1)
grep -v capturing /tmp/r/lat.log | tail -8 | tee -a $OUT/all.log
for f in /tmp/r/lat/*.json; do cp $f $OUT/$(basename $f .json)_5e749ee.json; done
stamp "throughput longest-first greedy at 5e749ee"
(cd .after && SWIFTLLM_COMMIT=5e749ee BENCH_OUT=/tmp/r/lf PYTHONPATH=.:/tmp/site timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/lf.log 2>&1)
grep -v capturing /tmp/r/lf.log | tail -12 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_5e749ee.json 2>/dev/null
stamp "latency.py --temperature 0 --batches 8 at 173970b"
(cd .s17 && SWIFTLLM_COMMIT=173970b BENCH_OUT=/tmp/r/lat17 PYTHONPATH=.:/tmp/site timeout 90 python3 bench/latency.py --temperature 0 --batches 8 > /tmp/r/lat17.log 2>&1)
grep -v capturing /tmp/r/lat17.log | tail -4 | tee -a $OUT/all.log
stamp done
kill $SMI
