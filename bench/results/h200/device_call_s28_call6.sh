#!/bin/bash
# Session 28, call 6: all 200 at once, .head (b10df45) then the candidate (root), then again candidate / head.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
ROOT=$(pwd)
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null 2>&1 || (PYTHONPATH=.:/tmp/site python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null)
inf() { stamp "all at once: $2"; (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 timeout 75 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000" --out $OUT/serving_$2_$3.json 2>&1 | grep "^  inf" | tee -a $OUT/all.log); }
inf .head b10df45 1
inf $ROOT cand 1
inf $ROOT cand 2
inf .head b10df45 2
stamp done
