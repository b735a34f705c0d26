#!/bin/bash
# Session 20, call 4: the online scenario at 28c3596 (Poisson arrivals at 2, 4, 8, 16 requests/s, 200 requests each).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
cd .head
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=28c3596 timeout 370 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_28c3596.json > $OUT/sv.log 2>&1
tail -22 $OUT/sv.log
