#!/bin/bash
# Session 68. One device call, useful on whichever card comes (carry .whl, .reference and .prefix68):
# - first, on any card: check_kernels' float32 section (float32_s68.py) on .prefix68 (= 10c5420, tl.dot at
#   Triton's default precision, TF32) and on NEW (input_precision "ieee"): fails before, passes after.
# - an H200: device_call_s67.sh's H200 part (the 256-row bridge against .reference = 74a2896, latency.py's table
#   if before LATENCY_BEFORE s, offline longest-first if before OFFLINE_BEFORE s, check_kernels --quick if before
#   CHECK_BEFORE s).
# - then float32_engine_s68.py: does --dtype float32 serve on this GPU (the SmolLM2 and 2-layer Llama-3-8B shapes)?
# - any other card: bench/check_kernels.py in full (bf16 unchanged by "ieee"), then latency.py --switch-interval
#   0.001 at N = 1, 64, 256 (session 67's fix), then the 256-row bridge, .reference then NEW, while time is left.
# Run: NEW=<commit> LATENCY_BEFORE=300 OFFLINE_BEFORE=400 CHECK_BEFORE=470 bash bench/results/h100/device_call_s68.sh
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
for t in "$(pwd)/.prefix68:/tmp/site 10c5420" "$(pwd):/tmp/site $NEW"; do set -- $t
  stamp "float32_s68.py, $2"
  PYTHONPATH=$1 timeout 90 python3 bench/results/h100/float32_s68.py > $OUT/float32_$2.log 2>&1
  sed "s/^/$2 /" $OUT/float32_$2.log | grep -v "it/s" | tail -20 | tee -a $OUT/all.log
done
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  bash bench/results/h100/device_call_s67.sh
  if [ $(( $(date +%s) - T0 )) -lt 450 ]; then
    stamp "float32_engine_s68.py, $NEW"
    PYTHONPATH=$(pwd):/tmp/site timeout 150 python3 bench/results/h100/float32_engine_s68.py 2>&1 \
      | grep -v "it/s" | tail -30 | tee -a $OUT/all.log
  fi
  exit 0
fi
stamp "float32_engine_s68.py, $NEW"
PYTHONPATH=$(pwd):/tmp/site timeout 200 python3 bench/results/h100/float32_engine_s68.py 2>&1 | grep -v "it/s" \
  | tail -30 | tee -a $OUT/all.log
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
stamp "check_kernels.py, $NEW"
BENCH_OUT=$OUT/check timeout 300 python3 bench/check_kernels.py > $OUT/check.log 2>&1
echo "check_kernels rc=$?" | tee -a $OUT/all.log
grep -v "it/s" $OUT/check.log | tail -20 | tee -a $OUT/all.log
if [ $(( $(date +%s) - T0 )) -lt 380 ]; then
  stamp "latency.py --switch-interval 0.001 --batches 1,64,256 --repeats 2, $NEW"
  BENCH_OUT=$OUT/latency timeout 150 python3 bench/latency.py --switch-interval 0.001 --batches 1,64,256 \
    --repeats 2 > $OUT/latency.log 2>&1
  echo "latency rc=$?" | tee -a $OUT/all.log
  grep -v "it/s" $OUT/latency.log | tail -8 | tee -a $OUT/all.log
fi
MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
for t in "$(pwd)/.reference:/tmp/site 74a2896" "$(pwd):/tmp/site $NEW"; do set -- $t
  [ $(( $(date +%s) - T0 )) -lt 470 ] || break
  stamp "bridge.py decode --batches 256, $2"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1 timeout 110 python3 bench/bridge.py decode --batches 256 --model $MODEL \
    --label $2 --out $OUT/bridge_decode_$2_256.json 2>&1 | grep "^N=" | sed "s/^/$2 /" | tee -a $OUT/all.log
done
[ -f $OUT/bridge_decode_74a2896_256.json ] && [ -f $OUT/bridge_decode_${NEW}_256.json ] && python3 \
  bench/bridge.py compare $OUT/bridge_decode_74a2896_256.json $OUT/bridge_decode_${NEW}_256.json 2>&1 \
  | tee -a $OUT/all.log
rm -f $OUT/*.png $OUT/*/*.png
stamp done
