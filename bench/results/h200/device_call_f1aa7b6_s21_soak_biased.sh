#!/bin/bash
# BIASED: this call's power_soak.py timed its burst with forward.time_pipelined as it then stood, which stopped the clock
# with one step still running (10 steps timed as 9: the bursts read 9-10 % low, and the windows 0.4-1.4 %). Call 5
# (device_call_f1aa7b6_s21_soak.sh) repeated it with the fix. Kept for the record; its figures are not used.
# Session 21, call 4: bench/power_soak.py (its first form, without --heat) on the tree of f1aa7b6 (swiftllm/ unchanged; bench/ as committed with
# power_soak.py), copied into .prof (bench/results excluded). Run as: bash .run/call4.sh, carry .whl .prof .run.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=f1aa7b6
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_soak.csv 2>&1 &
SMI=$!
cd .prof
stamp "power_soak.py --batches 1,8,32,128,256 --seconds 10"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 240 python3 bench/power_soak.py --batches 1,8,32,128,256 --seconds 10 2>&1 | grep -v "capturing" | tee -a $OUT/all.log
stamp done
kill $SMI
