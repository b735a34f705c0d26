#!/bin/bash
# PREPARED, NOT RUN (session 21 had no device time left): rotary + KV store done by the decode kernel in decode-only
# steps (branch rotary-decode; bench/results/h200/rotary_decode_untimed_s21.diff applies to 63ffb5d) against
# main, in one call. Build the trees on the developer machine:
#   git archive <main commit> swiftllm bench | tar -x -C .head --exclude=bench/results && mkdir -p .head/bench/results
#   git archive rotary-decode swiftllm bench | tar -x -C .rot --exclude=bench/results && mkdir -p .rot/bench/results
#   mkdir -p .run && cp bench/results/h200/step_ab_ef11845.py .run/step_ab.py && cp this file .run/
# then: run(command="bash .run/device_call_s21_rotary_prepared.sh", carry=[".whl", ".head", ".rot", ".run"]), ~7 min.
# step_ab.py imports forward.time_pipelined from each tree's bench/: both trees have session 21's fixed timer.
# What to look for: the bare step at 1-16 rows (the fused path; 32 rotary kernels a step fewer, ~2.9 us each at one
# row) and 32-64 (also fused: every decode-only step is); check_kernels' decode (graphs) phase against HF.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_rotary.csv 2>&1 &
SMI=$!
B=1,2,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 80 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step, ms, median of 5) at $B, interleaved three times"
for i in 1 2 3; do
  ab .head head; ab .rot rotary
done
stamp "check_kernels --quick --model-only on .rot (decode graphs run the fused kernel)"
(cd .rot && PYTHONPATH=.:/tmp/site timeout 150 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
for i in 1 2; do
  for t in .head .rot; do
    stamp "latency.py --temperature 0 --batches 1,8,32 on $t"
    (cd $t && BENCH_OUT=/tmp/lat$t$i SWIFTLLM_COMMIT=${t#.} PYTHONPATH=.:/tmp/site timeout 90 python3 bench/latency.py --temperature 0 --batches 1,8,32 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log)
  done
done
stamp done
kill $SMI
