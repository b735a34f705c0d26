#!/bin/bash
# SUPERSEDED in session 19: gated_gemv_untimed_s18.diff does not compile for sm_90 (_rows_out's two returns;
# bench/sm90_resources.py). Session 20 ran the fixed patch: device_call_s20_fusions.sh with gated_gemv_lost_s20.diff.
# Prepared in session 18, NOT RUN: time the gate_up GEMV with the SiLU in its epilogue (gated_gemv_untimed_s18.diff)
# against the tree it applies to. Build the two trees on the developer machine first, from the repository root:
#   rm -rf .before .gated && mkdir .before .gated
#   git archive HEAD swiftllm bench | tar -x -C .before --exclude=bench/results && mkdir -p .before/bench/results
#   cp -r .before/. .gated/ && git apply --directory=.gated --include='.gated/swiftllm/*' bench/results/h200/gated_gemv_untimed_s18.diff
#   (session 19: `git apply` run inside .gated, as written here before, applies nothing and says nothing)
#   mkdir -p .run && cp bench/results/h200/step_ab_ef11845.py .run/step_ab.py && cp <this script> .run/gated.sh
#   cp bench/results/h200/gated_exp_s18.py .run/
# then: run(command="bash .run/gated.sh", carry=[".whl", ".run", ".before", ".gated"]) (~450 s with the start).
# Prints the kernel-level comparison and tile sweep (gated_exp_s18.py), bare decode steps (time_pipelined,
# context 1088) alternating trees in separate processes, check_kernels on .gated, and latency.py at N = 8 and 32
# for both. If the sweep's best tile beats the patch's, put it in the gated tree's GEMV_CONFIGS first.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "gated_exp_s18.py on .gated"
(cd .gated && PYTHONPATH=.:/tmp/site timeout 150 python3 ../.run/gated_exp_s18.py 2>&1 | tail -12 | tee -a $OUT/all.log)
B=1,2,4,8,16,32,64
ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 100 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
for i in 1 2; do
  ab .before head
  ab .gated gated
done
stamp "check_kernels --quick --model-only on .gated"
(cd .gated && PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
for t in .before .gated .before .gated; do
  stamp "latency.py --temperature 0 --batches 8,32 on $t"
  (cd $t && PYTHONPATH=.:/tmp/site timeout 100 python3 bench/latency.py --temperature 0 --batches 8,32 2>&1 | grep -v capturing | tail -4 | tee -a $OUT/all.log)
done
stamp done
