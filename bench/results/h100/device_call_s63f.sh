#!/bin/bash
# Session 63, last calls, with ~350 s of device time left: only an H200 is worth it now.
# - an H200: device_call_s55.sh with its later parts gated early, so that the 256-row bridge against
#   .reference (git archive 74a2896 swiftllm), issue 16's one missed vLLM ratio, fits: latency.py's table only if
#   started within LATENCY_BEFORE s (default 150), offline never (OFFLINE_BEFORE=0).
# - any other card: nothing (exit 3 at once): the H100 figures of this tree are in decode_ab_s63/, current_s63/,
#   mixed_profile_s63/ and decode_profile_s63/.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63f.sh (carry .whl, .reference)
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  nvidia-smi --query-gpu=name --format=csv,noheader
  echo "not an H200: nothing run"
  exit 3
fi
LATENCY_BEFORE=${LATENCY_BEFORE:-150} OFFLINE_BEFORE=${OFFLINE_BEFORE:-0} \
  exec bash bench/results/h100/device_call_s55.sh
