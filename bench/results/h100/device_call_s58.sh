#!/bin/bash
# Session 58. One device call, whichever card comes (session 57's call with other settings):
# - an H200: bench/results/h100/device_call_s55.sh (the committed tree verified: the 256-row bridge against
#   74a2896, latency.py's table, offline longest-first greedy). Carry .whl and .reference.
# - an H100: session 58's host-side changes (worker server, ModelRunner.launch refusing bad sampling values,
#   sampler nan_to_num_, trims) checked and timed: check_kernels.py --quick --model-only, then throughput.py
#   --schedule-policy longest-first --temperatures 0 alternated with the tree before them (carried as
#   .before/swiftllm = git archive 52c43fe swiftllm, label BEFORE), each a fresh process, each started only
#   before STOP_AFTER seconds (default 330). Carry .whl and .before.
# Run: NEW=<commit> BEFORE=52c43fe bash bench/results/h100/device_call_s58.sh
CHECK_ARGS=${CHECK_ARGS:---quick --model-only} TEMPERATURE=0 STOP_AFTER=${STOP_AFTER:-330} \
  exec bash bench/results/h100/device_call_s57.sh
