#!/bin/bash
# Session 50: one call for whichever card comes. On an H200, session 47's prepared call (the scenarios
# session 46's H200 call did not re-run on the final tree). On another card, session 46's verify script:
# check_kernels --quick --model-only on NEW (session 50 rewrote gemv._load_x's mask into its tl.load),
# latency.py at 1 and 8 rows OLD / NEW / NEW / OLD, and one fcfs server of NEW all at once.
# Run: rm -rf .before && mkdir .before && git archive OLD swiftllm bench | tar -x -C .before --exclude=bench/results
#      OLD=<commit> NEW=<commit> bash bench/results/h200/device_call_s50.sh, carry .whl and .before
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  NEW=$NEW bash bench/results/h200/device_call_s47.sh
else
  OLD=$OLD NEW=$NEW bash bench/results/h100/device_call_s46_verify.sh
fi
