#!/bin/bash
# Session 26, call 5 (minimal, the session's last device seconds): .head = 9d602a4, .fin = 79b8239 (split-K o/down
# at 2-32 rows, PARTS a compile-time flag). step_ab at 1,2,8,32 interleaved twice: is one row back to 9d602a4's?
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
B=1,2,8,32
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 60 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
stamp "step_ab (bare decode step at $B, ms, median of 5; offline's mean mixed step) interleaved twice"
for i in 1 2; do ab .fin final; ab .head head; done
stamp done
