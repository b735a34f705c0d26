#!/bin/bash
# Prepared in session 19 (no device time was left in it), NOT RUN: verify HEAD on an H200 in one call, ~330 s with
# the start. Build the tree on the developer machine first, from the repository root:
#   rm -rf .head && mkdir .head && git archive HEAD swiftllm bench | tar -x -C .head --exclude=bench/results \
#     && mkdir -p .head/bench/results && mkdir -p .run && cp <this script> .run/verify.sh
# then: run(command="COMMIT=$(git rev-parse --short HEAD) bash .run/verify.sh", carry=[".whl", ".run", ".head"])
# (the command runs on the device, where there is no .git: put the hash in the command as text instead).
# Prints: check_kernels --quick --model-only; latency.py at every N of issue 16's table, with its new device /
# idle / SM-clock columns (never run on a GPU); offline longest-first at temperatures 0 and 1; decode_sweep at
# 1 and 8 sequences (is 64 splits at one sequence the best?). nvidia-smi clocks and power every 250 ms.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
C=${COMMIT:?set COMMIT to the tree's short hash}
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_$C.csv 2>&1 &
SMI=$!
mkdir -p /tmp/r/lat /tmp/r/tp /tmp/r/ds
cd .head
stamp "check_kernels --quick --model-only at $C"
PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log
stamp "latency.py --temperature 0 --batches 1,8,32,64,128,256 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lat PYTHONPATH=.:/tmp/site timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 > /tmp/r/lat.log 2>&1
grep -v capturing /tmp/r/lat.log | tail -10 | tee -a $OUT/all.log
stamp "throughput.py longest-first at temperatures 0 and 1 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/tp PYTHONPATH=.:/tmp/site timeout 200 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 > /tmp/r/tp.log 2>&1
grep -v capturing /tmp/r/tp.log | tail -16 | tee -a $OUT/all.log
stamp "decode_sweep.py --batches 1,8,16 at $C"
BENCH_OUT=/tmp/r/ds PYTHONPATH=.:/tmp/site timeout 90 python3 bench/decode_sweep.py --batches 1,8,16 2>&1 | tail -12 | tee -a $OUT/all.log
cp /tmp/r/lat/*.json /tmp/r/tp/*.json /tmp/r/ds/*.json $OUT/ 2>/dev/null
cp /tmp/r/*.log $OUT/
stamp done
kill $SMI
