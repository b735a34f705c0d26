#!/bin/bash
# Session 63, third kind of call. Whichever card comes:
# - an H200: device_call_s55.sh whole (carry .reference = git archive 74a2896 swiftllm).
# - an H100: does the mixed graph's fixed prefill grid cost the step time? offline's mean mixed step (127
#   decodes at 438 and one 129-token chunk; profile_step.py's unprofiled step and kernels), each a fresh
#   process, alternated: A = this tree (grid: tiles x chunks x KV heads, 1,024 programs of which 40 work);
#   B = .variant (git archive HEAD swiftllm with the grid's last two axes swapped: tiles x KV heads x chunks, so
#   the working chunk's programs come first); C = this tree with CHUNKS = 1 (64 programs: the bound of what
#   fewer empty programs give). Order A B C C B A, then D = the 127-row decode step alone.
# Run: NEW=<commit> bash bench/results/h100/device_call_s63c.sh (carry .whl, .reference, .variant)
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  exec bash bench/results/h100/device_call_s55.sh
fi
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site SWIFTLLM_COMMIT=$NEW
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
ARGS="--batches 127 --context 438"
i=0
for run in "A $(pwd) 0" "B $(pwd)/.variant 0" "C $(pwd) 1" "C $(pwd) 1" "B $(pwd)/.variant 0" "A $(pwd) 0" "D $(pwd) 0"; do
  set -- $run; i=$((i + 1))
  [ $(( $(date +%s) - T0 )) -lt 400 ] || break
  chunks="--prefill-chunks 1x129"; [ $1 = D ] && chunks=""
  stamp "run $i: $1 ($2, CHUNKS $3) profile_step.py $ARGS $chunks"
  BENCH_OUT=$OUT/run${i}_$1 timeout 120 python3 bench/results/h100/prefill_grid_s63/probe.py $2 $3 $ARGS $chunks \
    > $OUT/run${i}_$1.log 2>&1
  grep -E "^tree|GPU kernels|^_prefill_kernel|^_decode_kernel|step unprofiled" $OUT/run${i}_$1.log \
    | sed "s/^/$1: /" | tee -a $OUT/all.log
done
stamp done
