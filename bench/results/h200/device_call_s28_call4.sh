#!/bin/bash
# Session 28, call 4 (the machine of call 3, warm; run twice, the first stopped at a tile past shared memory that the
# probe did not yet skip): gemv_tiles_probe_s28.py --skip-down, which call 3 stopped at
# (the probe passed silu=, gone from the candidate tree it ran on).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
stamp "gemv_tiles_probe_s28.py --skip-down"
PYTHONPATH=.:/tmp/site timeout 330 python3 bench/results/h200/gemv_tiles_probe_s28.py --skip-down --out $OUT/gemv_tiles_probe.json 2>&1 | grep -v Warning | tee -a $OUT/all.log
stamp done
