#!/bin/bash
# Session 21, call 5: bench/power_soak.py with 3 s of prefill before each batch's decode steps, and with none (--heat 0);
# then bench/profile_step.py again (its "step unprofiled" now timed by the fixed forward.time_pipelined). Tree: f1aa7b6's
# swiftllm/ with the working tree's bench/ (as committed after this call), copied into .prof (bench/results excluded).
# Run as: bash .run/call5.sh, carry .whl .prof .run.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=f1aa7b6
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_soak2.csv 2>&1 &
SMI=$!
cd .prof
F="capturing\|UserWarning\|_warn_once"
stamp "power_soak.py --batches 1,8,32,128,256 --heat 3 --seconds 6"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 200 python3 bench/power_soak.py --batches 1,8,32,128,256 --heat 3 --seconds 6 2>&1 | grep -v "$F" | tee -a $OUT/all.log
mv $OUT/power_soak.json $OUT/power_soak_heat3.json
stamp "power_soak.py --batches 1,128,256 --heat 0 --seconds 3"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 100 python3 bench/power_soak.py --batches 1,128,256 --heat 0 --seconds 3 2>&1 | grep -v "$F" | tee -a $OUT/all.log
mv $OUT/power_soak.json $OUT/power_soak_heat0.json
stamp "profile_step.py --batches 1,8,32,64,128,256 --no-pdl"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 120 python3 bench/profile_step.py --batches 1,8,32,64,128,256 --no-pdl 2>&1 | grep -v "$F" | grep -v "^_\|^nvjet\|^void\|^Mem\|^mem\|^kernel " | tee -a $OUT/all.log
stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 --no-pdl"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 60 python3 bench/profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 --no-pdl 2>&1 | grep -v "$F" | grep -v "^_\|^nvjet\|^void\|^Mem\|^mem\|^kernel " | tee -a $OUT/all.log
stamp done
kill $SMI
