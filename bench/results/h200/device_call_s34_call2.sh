#!/bin/bash
# Session 34, call 2 (Run: bash bench/results/h200/device_call_s34_call2.sh, carry .whl): 1) bench/mixed_gemm.py
# --quick at 160 and 256 rows (the two-block swap-AB GEMM against cuBLAS, per projection); 2) profile_step.py of
# the all-at-once run's typical mixed step (72 decode rows at context 364 + one 88-token prompt chunk, the
# 160-token mixed graph; bench/schedule_sim.py's composition of longest-first's 481 mixed steps), --no-pdl.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=s34-call2
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "mixed_gemm --quick --rows 160,256"
PYTHONPATH=$ROOT:/tmp/site BENCH_OUT=$OUT timeout 360 python3 bench/mixed_gemm.py --quick --rows 160,256 > /tmp/mg.log 2>&1
grep -v "^  " /tmp/mg.log | tail -30 | tee -a $OUT/all.log
grep "^  " /tmp/mg.log | head -8 | tee -a $OUT/all.log
stamp "profile_step mixed 72 x 364 + 1 x 88, --no-pdl"
PYTHONPATH=$ROOT:/tmp/site BENCH_OUT=$OUT timeout $(left) python3 bench/profile_step.py --batches 72 --context 364 --prefill-chunks 1x88 --no-pdl > /tmp/ps.log 2>&1
tail -40 /tmp/ps.log | tee -a $OUT/all.log
stamp done
