#!/bin/bash
# Session 29, call 6, run inline (same machine as call 5, warm): the one-row tiles at the TP = 1 shapes too.
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site; timeout 200 python3 bench/results/h200/tp2_onerow_tiles_s29.py --shapes "tp1 qkv,tp1 o,tp1 gate_up,tp2 qkv,tp2 o,tp2 down" --out $OUT/onerow_tiles_s29_b.json 2>&1 | grep -v Warn | tee $OUT/all.log
