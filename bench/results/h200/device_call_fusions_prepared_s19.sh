#!/bin/bash
# Prepared in session 19 (no device time was left in it), NOT RUN: time two untimed fusions against the tree they
# apply to, and check them. ~480 s with the start for PART=time, ~300 s for PART=check. Build on the developer
# machine first, from the repository root:
#   rm -rf .before .gated .normed && mkdir .before
#   git archive HEAD swiftllm bench | tar -x -C .before --exclude=bench/results && mkdir -p .before/bench/results
#   cp -r .before/. .gated/ && cp -r .before/. .normed/
#   git apply --directory=.gated --include='.gated/swiftllm/*' bench/results/h200/gated_gemv_untimed_s19.diff
#   git apply --directory=.normed --include='.normed/swiftllm/*' --include='.normed/bench/*' \
#     bench/results/h200/norm_gemv_untimed_s19.diff
#   grep -c norm_gemv .normed/swiftllm/kernels/gemv.py && grep -c gated .gated/swiftllm/kernels/gemv.py  # both > 0
#   mkdir -p .run && cp bench/results/h200/step_ab_ef11845.py .run/step_ab.py && cp <this script> .run/fusions.sh
# then run(command="PART=time bash .run/fusions.sh", carry=[".whl", ".run", ".before", ".gated", ".normed"]), and
# PART=check the same way (the two fit one 600 s call only without the start).
#   gated  (gated_gemv_untimed_s19.diff, branch gated-gemv): the SiLU in the gate_up GEMV's epilogue at 2-64 rows,
#          no silu_and_mul. Session 18's diff did not compile for sm_90 (bench/sm90_resources.py found it).
#   normed (norm_gemv_untimed_s19.diff): the RMSNorm before qkv, gate_up and the LM head done by the GEMV as it
#          loads x, at 1-16 rows: 65 norm kernels fewer a step (138 us of a 4.77 ms step at 8 rows without PDL).
# Predictions: normed -2 to -3 % at 1-16 sequences, nothing at 32; gated -1 % at 2-32. If the two both win, they
# conflict in gemv.py's kernel and are merged by hand.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $OUT/smi_$PART.csv 2>&1 &
SMI=$!
if [ "$PART" = time ]; then
  B=1,4,8,16,32
  ab() { (cd $1 && PYTHONPATH=.:/tmp/site timeout 100 python3 ../.run/step_ab.py $2 $B 2>&1 | grep "^AB\|Error" | tail -3) | tee -a $OUT/all.log; }
  for i in 1 2; do
    ab .before head; ab .normed normed; ab .gated gated
  done
  for t in .before .normed .gated; do
    stamp "latency.py --temperature 0 --batches 1,8,32 on $t"
    (cd $t && PYTHONPATH=.:/tmp/site timeout 100 python3 bench/latency.py --temperature 0 --batches 1,8,32 2>&1 | grep -v capturing | tail -5 | tee -a $OUT/all.log)
  done
fi
if [ "$PART" = check ]; then
  stamp "check_kernels --quick on .normed (norm_gemv's own cases included)"
  (cd .normed && PYTHONPATH=.:/tmp/site timeout 200 python3 bench/check_kernels.py --quick 2>&1 | grep -i "^gemv\|model \|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
  stamp "check_kernels --quick --model-only on .gated"
  (cd .gated && PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only 2>&1 | grep -i "model \|ALL OK\|FAIL\|Error" | tee -a $OUT/all.log)
fi
stamp done
kill $SMI
