#!/bin/bash
# Session 11, call 2: where an eager mixed step's host time goes.
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
mkdir -p /tmp/r
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r timeout 200 python3 bench/eager_step.py > /tmp/r/es.log 2>&1
grep -v -i "capturing" /tmp/r/es.log | tail -60 | tee $OUT/all.log; cp /tmp/r/eager_step.json $OUT/eager_step_$C.json 2>/dev/null
