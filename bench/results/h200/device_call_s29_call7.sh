#!/bin/bash
# Session 29, call 7, run inline (carry .whl; same machine): the decode step at 1 and 2 rows with the one-row qkv
# GEMV on (4, 1024, 4, 2) against the shipped tile, alternating twice, each in its own process.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null; export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site; for r in 1 2; do for t in "" 4x1024x4x2; do SWIFTLLM_EXP_QKV_TILE=$t timeout 80 python3 bench/results/h200/step_ab_qkv_tile_s29.py "q${t:-ship}" 1,2 2>&1 | grep "^AB\|Error" | tee -a $OUT/all.log; done; done
