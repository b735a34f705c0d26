#!/bin/bash
# PREPARED, NOT RUN (session 22 had no device time left): the two calls that would check HEAD after session 22.
# Build the tree on the developer machine:
#   mkdir -p .head && git archive <HEAD> swiftllm bench | tar -x -C .head --exclude=bench/results && mkdir -p .head/bench/results
#   mkdir -p .run && cp bench/results/h200/device_call_s22_next_prepared.sh .run/
# Call A (~6 min): run(command="bash .head/bench/verify_on_gpu.sh .head <HEAD> $OUT", carry=[".whl", ".head"])
#   check_kernels --quick --model-only, latency.py at every N (the first GPU run of the best-of-five ceilings),
#   offline at temperatures 0 and 1, all 200 at once, the decode and mixed profiles.
# Call B (~4.5 min): run(command="bash .run/device_call_s22_next_prepared.sh <HEAD>", carry=[".whl", ".head", ".run"])
#   the online sweep, as session 20's call 4 (device_call_28c3596_s20_online.sh), which met issue 16's online
#   targets before the rotary fusion changed decode-only steps.
C=${1:?commit}
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
cd .head || exit 1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 370 python3 bench/serving.py --num-requests 200 --request-rates 2,4,8,16 --seed 0 --label H200 \
  --launch "$LAUNCH" --out $OUT/serving_H200_$C.json > $OUT/sv.log 2>&1
tail -22 $OUT/sv.log | tee -a $OUT/all.log
