#!/bin/bash
# Session 16, call 6 (.after = HEAD b1b44ad + the experiment): prefill attention in a mixed graph's fixed grid
# against the same work on its real chunks only, 64-key tiles, and a work-item grid.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
timeout 100 python3 bench/results/h200/exp_prefill_grid_s16.py 2>&1 | tail -12 | tee -a $OUT/all.log
