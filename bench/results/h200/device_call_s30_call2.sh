#!/bin/bash
# Session 30, call 2, from the checkout's root (HEAD ed8cac1 + these scripts): do the dummy weights' values move
# the power-capped figures? 1) dummy_values_probe_s30.py: prefill / mixed / decode steps with our dummy weights
# and vLLM's, alternating, one process; 2) offline longest-first greedy, our weights then vLLM's, twice, each in
# its own process (throughput_vllm_dummy_s30.py wraps throughput.py).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=ed8cac1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
left() { echo $(( 575 - ($(date +%s) - T0) )); }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "dummy_values_probe_s30"
timeout 220 python3 bench/results/h200/dummy_values_probe_s30.py > /tmp/dv.log 2>&1
grep "^DV\|^cell\|^prefill\|^mixed\|^decode\|Error" /tmp/dv.log | tee -a $OUT/all.log
for round in 1 2; do
  for kind in ours vllm; do
    script=bench/throughput.py; [ $kind = vllm ] && script=bench/results/h200/throughput_vllm_dummy_s30.py
    if [ $(left) -gt 75 ]; then
      stamp "offline longest-first greedy, $kind dummy weights"
      BENCH_OUT=/tmp/tp_$kind$round timeout $(left) python3 $script --schedule-policy longest-first --temperatures 0 2>&1 | grep -v capturing | tail -3 | tee -a $OUT/all.log
      cp /tmp/tp_$kind$round/*.json $OUT/throughput_${kind}_$round.json 2>/dev/null
    fi
  done
done
stamp done
