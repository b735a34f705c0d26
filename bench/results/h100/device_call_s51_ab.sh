#!/bin/bash
# Session 51, call 4: on an H200, the bridge (bench/results/h200/device_call_s51.sh PART=1) on NEW; on another card,
# LLM.generate of 8 / 16 prompts of 1,024 tokens (max_tokens 1) before (OLD, carried as .before) and after
# is_token_id's fast path, in the order new / old / new / old (bench/results/h100/prefill_kernels_s51.py).
# Carry .whl, .reference and .before; NEW=<commit> OLD=<commit>.
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  PART=1 NEW=$NEW bash bench/results/h200/device_call_s51.sh
  exit
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ROOT=$(pwd)
for run in new1 old1 new2 old2; do
  path=$ROOT; commit=$NEW
  case $run in old*) path=$ROOT/.before; commit=$OLD;; esac
  echo "== $run ($commit)" | tee -a $OUT/all.log
  SWIFTLLM_COMMIT=$commit PYTHONPATH=$path:/tmp/site timeout 140 python3 bench/results/h100/prefill_kernels_s51.py \
    $OUT/ab_$run.json 2>&1 | grep "^N=" | tee -a $OUT/all.log
done
