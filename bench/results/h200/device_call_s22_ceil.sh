#!/bin/bash
# Session 22, call 2: bench/common.ceilings() with and without a 0.5 s warm-up of each ceiling's own work
# (.head = fc10614, .prof = fc10614 + ceilings_warm_up_untimed_s21.diff), each in a fresh process after 3 s idle,
# alternating, four rounds, nvidia-smi every 100 ms; then on .rw (f0cc659 + that diff): latency.py at every N and
# profile_step.py --batches 1,8,32,128 --no-pdl. carry: .whl .head .prof .rw .run
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 100 > $OUT/smi.csv 2>&1 &
SMI=$!
stamp "ceilings: no warm-up (.head) then 0.5 s warm-up (.prof), four rounds"
for i in 1 2 3 4; do
  for t in .head .prof; do
    sleep 3
    stamp "start $t"
    (cd $t && PYTHONPATH=.:/tmp/site timeout 40 python3 ../.run/ceil_ab.py ${t#.} 2>&1 | grep "CEIL\|Error" | tee -a $OUT/all.log)
  done
done
stamp "latency.py --temperature 0 (every N) on .rw"
(cd .rw && BENCH_OUT=/tmp/lat SWIFTLLM_COMMIT=f0cc659+warm-up PYTHONPATH=.:/tmp/site timeout 140 python3 bench/latency.py --temperature 0 2>&1 | grep -v capturing | tail -9 | tee -a $OUT/all.log)
cp /tmp/lat/*.json $OUT/latency.json 2>/dev/null
stamp "profile_step.py --batches 1,8,32,128 --no-pdl on .rw"
(cd .rw && BENCH_OUT=/tmp/pd SWIFTLLM_COMMIT=f0cc659+warm-up PYTHONPATH=.:/tmp/site timeout 80 python3 bench/profile_step.py --batches 1,8,32,128 --no-pdl 2>&1 | grep -v capturing | tee -a $OUT/all.log)
cp /tmp/pd/*.json $OUT/profile_decode.json 2>/dev/null
stamp done
kill $SMI
