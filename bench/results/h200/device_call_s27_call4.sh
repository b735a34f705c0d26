#!/bin/bash
# Session 27, call 4: .head = d889046 (main at the start), .fin = $1 (the session's final tree: 3abf47e's kernels
# plus host-side trims). 1) check_kernels --quick on .fin; 2) offline longest-first greedy, the tree before first
# this time (call 2 ran the new tree first): .head, then .fin.
FIN=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 250 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "check_kernels --quick at $FIN"
(cd .fin && PYTHONPATH=.:/tmp/site BENCH_OUT=/tmp/ck timeout 150 python3 bench/check_kernels.py --quick > /tmp/ck.log 2>&1)
grep -i "model \|by phase\|ALL OK\|FAIL\|Error\|worst\|split_k" /tmp/ck.log | grep -v "Writing model" | tail -14 | tee -a $OUT/all.log
cp /tmp/ck/*.json $OUT/check_kernels.json 2>/dev/null
tp() { (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/tp_$2 timeout $(left) python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 2>&1 | grep -v capturing | tail -$3 | tee -a $OUT/all.log); cp /tmp/tp_$2/*.json $OUT/throughput_$2.json 2>/dev/null; }
stamp "throughput.py --schedule-policy longest-first --temperatures 0 at d889046, then $FIN"
tp .head d889046 8
tp .fin $FIN 8
stamp done
