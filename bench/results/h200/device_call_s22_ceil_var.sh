#!/bin/bash
# Session 22, call 3: ceilings() five times in each of three processes (ceil_var.py), then latency.py at 128 and 256
# on main (f0cc659, the rotary fusion). carry: .whl .main (git archive f0cc659 swiftllm bench) .run
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 100 > $OUT/smi.csv 2>&1 &
SMI=$!
for p in 1 2 3; do
  sleep 3
  stamp "process $p"
  (cd .main && PYTHONPATH=.:/tmp/site timeout 50 python3 ../.run/ceil_var.py p$p 2>&1 | grep "CEIL\|Error" | tee -a $OUT/all.log)
done
stamp "latency.py --temperature 0 --batches 128,256 on .main"
(cd .main && BENCH_OUT=/tmp/lat SWIFTLLM_COMMIT=f0cc659 PYTHONPATH=.:/tmp/site timeout 150 python3 bench/latency.py --temperature 0 --batches 128,256 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log)
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp done
kill $SMI
