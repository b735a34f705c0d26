#!/bin/bash
# Session 59. One device call, whichever card comes (session 57's call with other settings):
# - an H200: bench/results/h100/device_call_s55.sh (the committed tree verified: the 256-row bridge against
#   74a2896, latency.py's table, offline longest-first greedy). Carry .whl and .reference.
# - an H100: the sampling kernel's +inf clamp (kernels/sample.py) and session 58's host-side changes checked and
#   timed: check_kernels.py --quick (kernels, the +inf case among them, and the model), then throughput.py
#   --schedule-policy longest-first --temperatures 1 (plain temperature rows go through the sampling kernel)
#   alternated with the tree before them (.before/swiftllm = git archive 52c43fe swiftllm, label BEFORE), each a
#   fresh process, each started only before STOP_AFTER seconds (default 400). Carry .whl and .before.
# Run: NEW=<commit> BEFORE=52c43fe bash bench/results/h100/device_call_s59.sh
CHECK_ARGS=${CHECK_ARGS:---quick} TEMPERATURE=1 STOP_AFTER=${STOP_AFTER:-400} \
  exec bash bench/results/h100/device_call_s57.sh
