#!/bin/bash
# Session 31, call 5 (call 4 edited by sed, run on the same machine right after it): the switch interval at
# 0.0001, 0.0005, 0.0001.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$COMMIT
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy >/dev/null
inf() {  # switch interval, label
  stamp "all at once x3: --gil-switch-interval $1"
  timeout 140 python3 bench/serving.py --num-requests 200 --request-rates inf,inf,inf --seed 0 --label H200 \
    --launch "python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000 --gil-switch-interval $1" \
    --out $OUT/serving_s31_switch_$2.json 2>&1 | grep "^  inf  200" | tee -a $OUT/all.log
  python3 -c "
import json; d = json.load(open('$OUT/serving_s31_switch_$2.json'))
print('   wall - device busy (s):', ' / '.join(f\"{r['duration_s'] - r['server']['gpu_busy_s']:.3f}\" for r in d['rates']))" | tee -a $OUT/all.log
  rm -f $OUT/serving_s31_switch_$2_server.log $OUT/serving_s31_switch_$2.png
}
inf 0.0001 e
inf 0.0005 f
inf 0.0001 g
stamp done
