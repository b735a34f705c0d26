#!/bin/bash
# Session 36, call 5: where the decode step's time above its roofline goes under PDL, by doing each kind of
# kernel twice. Run: mkdir ab_twice && git archive 1ee07aa swiftllm bench | tar -x -C ab_twice && patch -d ab_twice
# -p1 < bench/results/h200/twice_ablation_exp_s36.diff; bash <this>, carry .whl.
# ab_twice's knob SWIFTLLM_EXP_TWICE=norm|silu|linear|attn|reduce launches every such kernel twice in the step
# (the first result discarded; each is idempotent), so that the step's growth over main is that kind's marginal
# cost in the PDL pipeline as captured in the CUDA graphs (a kernel profile without PDL counts each kernel's whole
# duration instead, its overlap with neighbours not subtracted). step_ab_s35.py decode-only at 1 / 8 / 32
# rows (context 1088), two rounds of: main, then each knob.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 200 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "warm-up compile (not timed)"
(cd $ROOT && PYTHONPATH=$ROOT:/tmp/site timeout 90 python3 $ROOT/bench/results/h200/step_ab_s35.py warmup 1,8,32 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
stamp "step A/B"
for round in 1 2; do
  for variant in "$ROOT main" "$ROOT/ab_twice norm" "$ROOT/ab_twice silu" "$ROOT/ab_twice reduce" "$ROOT/ab_twice attn" "$ROOT/ab_twice linear"; do
    set -- $variant
    if [ $(left) -gt 20 ]; then
      (cd $1 && SWIFTLLM_EXP_TWICE=$2 PYTHONPATH=$1:/tmp/site timeout 40 python3 $ROOT/bench/results/h200/step_ab_s35.py $2 1,8,32 decode 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log)
    fi
  done
done
stamp done
