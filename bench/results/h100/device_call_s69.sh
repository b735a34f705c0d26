#!/bin/bash
# Session 69. One device call, useful on whichever card comes (carry .whl, .reference and .prefix68):
# - first, on any card: float32_s69.py on .prefix68 (= 10c5420, tl.dot at Triton's default precision) and on NEW
#   (input_precision "ieee"); the script now prints which swiftllm tree ran and TRITON_F32_DEFAULT (session 68's
#   puzzle: both passed identically on an H100).
# - an H200: device_call_s67.sh's H200 part (256-row bridge vs .reference = 74a2896, latency.py, offline
#   longest-first, check_kernels --quick, each if time allows), then float32_engine_s69.py if time is left.
# - any other card: float32_engine_s69.py (does --dtype float32 serve on this GPU?), then the 256-row bridge
#   kernels of 74a2896 (.reference) and NEW at 256 rows (kernel_diff_s69.py: which kernels make ours slower?),
#   then the 256-row bridge, 74a2896 then NEW (session 68's: 0.992), while time is left.
# F32_SHAPES=llama runs only the Llama-3-8B shape in float32_engine_s69.py (the SmolLM2 shape served in session 69).
# Run: NEW=<commit> LATENCY_BEFORE=300 OFFLINE_BEFORE=400 CHECK_BEFORE=470 bash bench/results/h100/device_call_s69.sh
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for t in "$(pwd)/.prefix68:/tmp/site 10c5420" "$(pwd):/tmp/site $NEW"; do set -- $t
  stamp "float32_s69.py, $2"
  PYTHONPATH=$1 timeout 90 python3 bench/results/h100/float32_s69.py > $OUT/float32_$2.log 2>&1
  sed "s/^/$2 /" $OUT/float32_$2.log | grep -v "it/s" | tail -20 | tee -a $OUT/all.log
done
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  bash bench/results/h100/device_call_s67.sh
  if [ $(( $(date +%s) - T0 )) -lt 360 ]; then
    stamp "float32_engine_s69.py, $NEW"
    PYTHONPATH=$(pwd):/tmp/site timeout 100 python3 bench/results/h100/float32_engine_s69.py ${F32_SHAPES:-} 2>&1 \
      | grep -v "it/s" | tail -30 | tee -a $OUT/all.log
  fi
  exit 0
fi
stamp "float32_engine_s69.py, $NEW"
PYTHONPATH=$(pwd):/tmp/site timeout 240 python3 bench/results/h100/float32_engine_s69.py ${F32_SHAPES:-} 2>&1 | grep -v "it/s" \
  | tail -30 | tee -a $OUT/all.log
MODEL=$(PYTHONPATH=$(pwd):/tmp/site python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
for t in "$(pwd)/.reference:/tmp/site 74a2896" "$(pwd):/tmp/site $NEW"; do set -- $t
  [ $(( $(date +%s) - T0 )) -lt 340 ] || break
  stamp "kernel_diff_s69.py profile --batch 256, $2"
  PYTHONPATH=$1 timeout 110 python3 bench/results/h100/kernel_diff_s69.py profile --model $MODEL --batch 256 \
    --out $OUT/kernels_$2_256.json 2>&1 | grep -v "it/s\|USDT" | tail -14 | tee -a $OUT/all.log
done
[ -f $OUT/kernels_74a2896_256.json ] && [ -f $OUT/kernels_${NEW}_256.json ] && python3 \
  bench/results/h100/kernel_diff_s69.py compare $OUT/kernels_74a2896_256.json $OUT/kernels_${NEW}_256.json 2>&1 \
  | tee -a $OUT/all.log
for t in "$(pwd)/.reference:/tmp/site 74a2896" "$(pwd):/tmp/site $NEW"; do set -- $t
  [ $(( $(date +%s) - T0 )) -lt 370 ] || break
  stamp "bridge.py decode --batches 256, $2"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1 timeout 100 python3 bench/bridge.py decode --batches 256 --model $MODEL \
    --label $2 --out $OUT/bridge_decode_$2_256.json 2>&1 | grep "^N=" | sed "s/^/$2 /" | tee -a $OUT/all.log
done
rm -f $OUT/*.png $OUT/*/*.png
stamp done
