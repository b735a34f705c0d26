#!/bin/bash
# Session 20, call 3 (call 2 was this script with a quoting error that bash refused; nothing ran): verify 28c3596
# (main's HEAD, session 19's code plus the kernels review) on an H200. Tree built on the developer machine:
#   rm -rf .head && mkdir .head && git archive HEAD swiftllm bench | tar -x -C .head --exclude=bench/results \
#     && mkdir -p .head/bench/results
# run(command="COMMIT=28c3596 bash .run/verify.sh", carry=[".whl", ".run", ".head"]); 280 s on a warm machine.
# Prints: check_kernels --quick --model-only; latency.py at every N of issue 16's table, with its device / idle /
# SM-clock columns; offline longest-first at temperatures 0 and 1; decode_sweep at 1, 8, 16 sequences; all 200
# requests at once over HTTP. nvidia-smi clocks and power every 250 ms.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
C=${COMMIT:?set COMMIT to the tree short hash}
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
PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp "serving.py all 200 at once at $C"
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C PYTHONPATH=.:/tmp/site timeout 120 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_inf_$C.json > /tmp/r/sv.log 2>&1
tail -14 /tmp/r/sv.log | tee -a $OUT/all.log
cp /tmp/r/lat/*.json /tmp/r/tp/*.json /tmp/r/ds/*.json $OUT/ 2>/dev/null
cp /tmp/r/*.log $OUT/
stamp done
kill $SMI
