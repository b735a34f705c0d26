#!/bin/bash
# Session 68. One device call, useful on whichever card comes (carry .whl and .reference):
# - an H200: device_call_s67.sh's H200 part (the 256-row bridge against .reference = 74a2896, latency.py's table,
#   offline longest-first), without the kernel check (it passed on an H100 at 9740dd7, check_s68_9740dd7/).
# - any other card: latency.py --switch-interval 0.001 at N = 1, 64, 256 (session 67's fix: the flag had been
#   dropped; the run must start and print its table), then the 256-row bridge, .reference then NEW.
# Run: NEW=<commit> LATENCY_BEFORE=260 OFFLINE_BEFORE=380 bash bench/results/h100/device_call_s68.sh
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONUNBUFFERED=1
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  CHECK_BEFORE=0 bash bench/results/h100/device_call_s67.sh
  exit 0
fi
export PYTHONPATH=$(pwd):/tmp/site SWIFTLLM_COMMIT=$NEW
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a $OUT/all.log
stamp "latency.py --switch-interval 0.001 --batches 1,64,256 --repeats 2, $NEW"
BENCH_OUT=$OUT/latency timeout 240 python3 bench/latency.py --switch-interval 0.001 --batches 1,64,256 \
  --repeats 2 > $OUT/latency.log 2>&1
echo "latency rc=$?" | tee -a $OUT/all.log
grep -v "it/s" $OUT/latency.log | tail -8 | tee -a $OUT/all.log
MODEL=$(python3 -c "import sys; sys.path.insert(0, 'bench'); from common import config_dir, LLAMA3_8B; print(config_dir(LLAMA3_8B))")
for t in "$(pwd)/.reference:/tmp/site 74a2896" "$(pwd):/tmp/site $NEW"; do set -- $t
  [ $(( $(date +%s) - T0 )) -lt 450 ] || break
  stamp "bridge.py decode --batches 256, $2"
  SWIFTLLM_COMMIT=$2 PYTHONPATH=$1 timeout 110 python3 bench/bridge.py decode --batches 256 --model $MODEL \
    --label $2 --out $OUT/bridge_decode_$2_256.json 2>&1 | grep "^N=" | sed "s/^/$2 /" | tee -a $OUT/all.log
done
[ -f $OUT/bridge_decode_74a2896_256.json ] && [ -f $OUT/bridge_decode_${NEW}_256.json ] && python3 \
  bench/bridge.py compare $OUT/bridge_decode_74a2896_256.json $OUT/bridge_decode_${NEW}_256.json 2>&1 \
  | tee -a $OUT/all.log
rm -f $OUT/*.png $OUT/*/*.png
stamp done
