#!/bin/bash
# Session 18, call 3: .wf = the GEMV loading its first weight tile before the PDL wait at one row only, with
# the decode reduce launching its successor early; .wf2 = the reduce change alone; .before = HEAD 7c2c335.
# Bare decode steps (time_pipelined, context 1088), trees alternating in separate processes; check_kernels on .wf.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
B=1,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 100 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error\|error" | tail -3) | tee -a $OUT/all.log; }
for i in 1 2; do
  ab .before head
  ab .wf wf1+red
  ab .wf2 red
done
stamp "check_kernels --quick --model-only on .wf"
(cd .wf && PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
stamp done
