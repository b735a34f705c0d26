#!/bin/bash
# Session 12, call 6: profile_step at 8 and 16 rows (the offline and all-at-once tails), with and without PDL, at $1.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for flag in --no-pdl ""; do
  stamp "profile_step $1 $flag"
  timeout 100 python3 bench/profile_step.py --batches 8,16 $flag 2>&1 | grep -v -i "warn\|capturing" | tee -a $OUT/all.log | grep "^batch"
done
stamp done
