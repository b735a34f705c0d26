#!/bin/bash
# Session 28, call 2 (run twice: the first stopped at a tile past shared memory; the second with --skip-down), from the checkout's root (b10df45 + the probes): gemv_tiles_probe_s28.py (per-SM read
# bandwidth; the one-row down projection's forms and tiles; each projection's tiles at 8 and 32 rows).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=b10df45
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "gemv_tiles_probe_s28.py"
timeout 420 python3 bench/results/h200/gemv_tiles_probe_s28.py --skip-down --out $OUT/gemv_tiles_probe.json 2>&1 | grep -v Warning | tee -a $OUT/all.log
stamp done
