#!/bin/bash
# Session 29, call 5, run inline as the device tool's command from the checkout's root (swiftllm/ of c463f15); the
# script then held four shapes (tp2 qkv, tp2 o, tp2 down, tp1 down): the one-row GEMV over 9 tiles.
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site; nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader; timeout 200 python3 bench/results/h200/tp2_onerow_tiles_s29.py --out $OUT/tp2_onerow_tiles_s29.json 2>&1 | grep -v Warn | tee $OUT/all.log
