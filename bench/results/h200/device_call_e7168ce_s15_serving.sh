#!/bin/bash
# Session 15, call 5 at $1 (.after): the serving sweep at 2/4/8/16/inf (first come first served, as vLLM's figures).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp "serving sweep at $C"
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 420 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16,inf --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_${C}.json > /tmp/r_sv.log 2>&1
tail -32 /tmp/r_sv.log | tee -a $OUT/all.log
stamp done
