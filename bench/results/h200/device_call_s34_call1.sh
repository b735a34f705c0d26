#!/bin/bash
# Session 34, call 1 (Run: bash bench/results/h200/device_call_s34_call1.sh, carry .whl), branch exp-prefetch:
# decode attention pulling the output projection's weight into the L2 (prefetch.global.L2, one slice per
# program) at small batch, so that the o GEMV after it reads from the L2. SWIFTLLM_EXP_PF = off | start (after
# the PDL wait, before the K/V loop) | end (after the loop); _FRAC: the share of the weight; _SEQS: the most
# sequences it runs at. The bare decode step (step_ab_s23.py: graphs as the engine captures them, context 1088,
# median of 5) at 1-64 rows, each variant in its own process, two rounds alternating.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 SWIFTLLM_COMMIT=s34-pf SWIFTLLM_EXP_PF_SEQS=64
ROOT=$(pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 570 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 -c "import torch; p=torch.cuda.get_device_properties(0); print('L2 bytes', p.L2_cache_size, 'SMs', p.multi_processor_count)" | tee -a $OUT/all.log
run() {  # label mode frac
  if [ $(left) -gt 75 ]; then
    SWIFTLLM_EXP_PF=$2 SWIFTLLM_EXP_PF_FRAC=$3 PYTHONPATH=$ROOT:/tmp/site timeout 100 python3 bench/results/h200/step_ab_s23.py "$1" 1,2,4,8,16,32,64 2>&1 | grep "^AB\|Error\|error" | tail -5 | tee -a $OUT/all.log
  fi
}
for round in 1 2; do
  stamp "round $round"
  run off off 1.0
  run start1 start 1.0
  run end1 end 1.0
  run start.5 start 0.5
  run end.5 end 0.5
done
stamp done
