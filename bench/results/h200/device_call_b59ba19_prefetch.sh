#!/bin/bash
# Session 12, call 1: GEMV L2 prefetch before the PDL wait / attention launching its successor early (one process,
# variants alternating, graphs re-captured per variant); check_kernels with the prefetch on; then HEAD's
# profile_step with and without PDL (per-kernel times) while time is left.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 570 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp prefetch_exp
timeout 300 python3 .run/prefetch_exp.py 1,8,16,32,64,128,256 2 2>&1 | grep -v -i "warn\|capturing" | tee -a $OUT/all.log
stamp check_kernels
timeout 150 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -v -i "capturing" | tail -25 | tee -a $OUT/all.log
for flag in "" --no-pdl; do
  T=$(left); [ "$T" -lt 40 ] && break
  stamp "profile_step HEAD $flag (limit $((T/2 > 40 ? T/2 : T)) s)"
  (cd .before && PYTHONPATH=.:/tmp/site timeout $((T/2 > 40 ? T/2 : T)) python3 bench/profile_step.py --batches 1,32 $flag 2>&1 | grep -v -i "warn\|capturing") | tee -a $OUT/all.log | grep "^batch"
done
stamp done
