#!/bin/bash
# Session 29, call 1, from the checkout's root (HEAD c463f15 + the probe scripts): 1) decode attention's pipeline
# depth (decode_stages_probe_s29.py); 2) the decode step with decode-only tiles 64x4x3 (shipped) / 64x4x5 /
# the experiment's kernel (decode_attention_exp_s29.py: table one tile ahead) at 64x4x3 / 64x4x4, alternating
# twice, each in its own process (step_ab_tiles_s29.py; mixed tiles unchanged).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=c463f15
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 570 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "decode_stages_probe_s29"
timeout 280 python3 bench/results/h200/decode_stages_probe_s29.py > /tmp/probe.log 2>&1
grep -v Warn /tmp/probe.log | tail -30 | tee -a $OUT/all.log
for round in 1 2; do
  for v in ship: exp:64x4x3 exp:64x4x4; do
    k=${v%%:*}; t=${v#*:}
    if [ $(left) -gt 45 ]; then
      SWIFTLLM_EXP_KERNEL=$([ $k = exp ] && echo 1) SWIFTLLM_EXP_TILES=$t timeout $(left) python3 bench/results/h200/step_ab_tiles_s29.py "$k$t" 1,8,32,256 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log
    fi
  done
done
stamp done
