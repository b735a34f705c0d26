#!/bin/bash
# Session 18, call 5: (1) the GEMV multiply-add of 2-8 rows at once with its weight tile before the PDL wait
# (.fma): a chain sweep picks its tile at 8 rows (fma_sweep.py writes it into .fma); (2) bare decode steps at
# 1, 2, 4, 8, 16, 32 rows (context 1088): 173970b (.s17, session 17's timed tree), 97aad57 (.wf, HEAD), .fma,
# alternating in separate processes, twice.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp fma_sweep
(cd .fma && PYTHONPATH=.:/tmp/site timeout 150 python3 ../.run/fma_sweep.py 2>&1 | grep "^FMA\|Error" | tee -a $OUT/all.log)
grep -n '"2-8 rows"' .fma/swiftllm/kernels/gemv.py | tee -a $OUT/all.log
B=1,2,4,8,16,32
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 100 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error\|error" | tail -3) | tee -a $OUT/all.log; }
for i in 1 2; do
  ab .s17 173970b
  ab .wf 97aad57
  ab .fma fma
done
stamp done
