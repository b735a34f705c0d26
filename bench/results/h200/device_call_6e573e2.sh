#!/bin/bash
# Session 11, call 1: why engine decode steps are slower than bare ones (replayed commands), small-batch kernel
# breakdown, and the H200 server's first-token stages (host_share --gpu).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp engine_gap
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r timeout 200 python3 bench/engine_gap.py --batches 32,128,256 > /tmp/r/eg.log 2>&1
grep -v capturing /tmp/r/eg.log | tail -40 | tee -a $OUT/all.log; cp /tmp/r/engine_gap.json $OUT/engine_gap_$C.json 2>/dev/null
stamp profile_step
timeout 120 python3 bench/profile_step.py --batches 1,8,32,64 > /tmp/r/ps.log 2>&1
grep -v -i "warn\|capturing" /tmp/r/ps.log | tee -a $OUT/all.log | tail -70
stamp host_share
SWIFTLLM_COMMIT=$C timeout 230 python3 bench/host_share.py --gpu --request-rates 2,16 --num-requests 100 --out $OUT 2>&1 | tee -a $OUT/all.log | tail -30
stamp done
