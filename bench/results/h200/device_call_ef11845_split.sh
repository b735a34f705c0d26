#!/bin/bash
# Session 12, call 5: decode attention split rules in the real step (one process); offline throughput at $1.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp split_exp
timeout 200 python3 .run/split_exp.py 4,8,16,24,32,40,48 2>&1 | grep -v -i "warn\|capturing" | tee -a $OUT/all.log
stamp throughput $C
mkdir -p /tmp/r/tp
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/tp timeout 150 python3 bench/throughput.py > /tmp/r/tp.log 2>&1
grep -v capturing /tmp/r/tp.log | tail -16 | tee -a $OUT/all.log
cp /tmp/r/tp/throughput.json $OUT/throughput_$C.json
stamp done
