#!/bin/bash
# The profiles' kernel times and gap tables stand; their "step unprofiled" figures (and the x-floor line from them)
# were timed by forward.time_pipelined before its fix and read 1/30 low: call 5 (device_call_f1aa7b6_s21_soak.sh)
# profiled again with the fix (profile_step_*_s21b.json).
# Session 21, call 3: bench/profile_step.py's new gap-to-the-floor table on the tree of f1aa7b6 (swiftllm/ unchanged,
# bench/ as committed in 5401b83), copied into .prof (bench/results excluded). Decode at every N
# of issue 16's table without PDL, then offline's mean mixed step without and with PDL.
# Run as: bash .run/call3.sh (this file), carry .whl .prof .run. Its JSONs renamed here: profile_step_decode_nopdl_f1aa7b6_s21.json,
# profile_step_mixed_nopdl_f1aa7b6_s21.json, profile_step_mixed_pdl_f1aa7b6_s21.json; all.log -> device_call_f1aa7b6_s21_profile.log.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=f1aa7b6
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_profile.csv 2>&1 &
SMI=$!
cd .prof
stamp "profile_step.py --batches 1,8,32,64,128,256 --no-pdl"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 150 python3 bench/profile_step.py --batches 1,8,32,64,128,256 --no-pdl 2>&1 | grep -v "capturing\|UserWarning\|_warn_once" | tee -a $OUT/all.log
stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 --no-pdl"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 60 python3 bench/profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 --no-pdl 2>&1 | grep -v "capturing\|UserWarning\|_warn_once" | tee -a $OUT/all.log
mv $OUT/profile_step_127x438_chunks1x129.json $OUT/profile_step_127x438_chunks1x129_nopdl.json
stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 (PDL, as the engine runs it)"
BENCH_OUT=$OUT PYTHONPATH=.:/tmp/site timeout 60 python3 bench/profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 2>&1 | grep -v "capturing\|UserWarning\|_warn_once" | tee -a $OUT/all.log
stamp done
kill $SMI
