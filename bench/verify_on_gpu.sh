#!/bin/bash
# One device call that verifies a tree and times issue 16's scenarios, ~6 minutes on a warm H200:
#   check_kernels --quick --model-only; latency.py at every N of the issue's table; offline longest-first at
#   temperatures 0 and 1; all 200 requests at once over HTTP; where a decode step's time goes (profile_step.py
#   without PDL at 1, 8 and 128 sequences) and the offline run's mean mixed step; nvidia-smi every 250 ms.
#
#   bash bench/verify_on_gpu.sh TREE COMMIT OUTDIR
#
# TREE holds swiftllm/ and bench/ (on the developer machine: git archive COMMIT swiftllm bench | tar -x -C TREE
# --exclude=bench/results && mkdir -p TREE/bench/results); COMMIT labels the figures (a device copy has no
# .git); OUTDIR gets at most 8 files (the device tool brings back no more): all.log, smi.csv, latency.json,
# throughput.json, serving.json, serving.png, profile_decode.json, profile_mixed.json. Wheels the device lacks
# (pyzmq, gguf) are installed from .whl/ when it exists. The table of each step is printed as it ends, so a call cut short still says what it measured.
set -u
TREE=$(cd "${1:?TREE}" && pwd)
C=${2:?COMMIT}
OUTDIR=$(mkdir -p "${3:?OUTDIR}" && cd "$3" && pwd)
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$TREE:/tmp/site SWIFTLLM_COMMIT=$C
LOG=$OUTDIR/all.log
T0=$(date +%s)
stamp() { echo "[$(($(date +%s) - T0)) s] $*" | tee -a "$LOG"; }
work=$(mktemp -d)
cd "$TREE" || exit 1
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader | tee -a "$LOG"
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 \
  >"$OUTDIR/smi.csv" 2>&1 &
smi=$!

stamp "check_kernels --quick --model-only at $C"
timeout 130 python3 bench/check_kernels.py --quick --model-only 2>&1 \
  | grep -i "model \|by phase\|ALL OK\|FAIL\|Error" | tee -a "$LOG"

stamp "latency.py --temperature 0 at $C"
BENCH_OUT=$work/lat timeout 200 python3 bench/latency.py --temperature 0 --batches 1,8,32,64,128,256 \
  >"$work/lat.log" 2>&1
grep -v capturing "$work/lat.log" | tail -9 | tee -a "$LOG"
cp "$(ls "$work"/lat/*.json 2>/dev/null | head -1)" "$OUTDIR/latency.json" 2>/dev/null

stamp "throughput.py --schedule-policy longest-first --temperatures 0,1 at $C"
BENCH_OUT=$work/tp timeout 200 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0,1 \
  >"$work/tp.log" 2>&1
grep -v capturing "$work/tp.log" | tail -16 | tee -a "$LOG"
cp "$(ls "$work"/tp/*.json 2>/dev/null | head -1)" "$OUTDIR/throughput.json" 2>/dev/null

stamp "serving.py: all 200 requests at once at $C"
python3 bench/make_dummy_model.py --out "$work/llama3-8b-dummy" >/dev/null
launch="python3 -m swiftllm.launch.cli launch --model $work/llama3-8b-dummy --load-format dummy"
launch="$launch --max-num-batched-tokens 16384 --port 8000"
timeout 120 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 \
  --launch "$launch" --out "$work/serving.json" >"$work/sv.log" 2>&1
tail -14 "$work/sv.log" | tee -a "$LOG"
cp "$work/serving.json" "$OUTDIR/serving.json" 2>/dev/null
cp "$work/serving.png" "$OUTDIR/serving.png" 2>/dev/null

stamp "profile_step.py --batches 1,8,128 --no-pdl at $C (each kernel's own time)"
BENCH_OUT=$work/pd timeout 90 python3 bench/profile_step.py --batches 1,8,128 --no-pdl 2>&1 | grep -v capturing \
  | tee -a "$LOG"
cp "$(ls "$work"/pd/*.json 2>/dev/null | head -1)" "$OUTDIR/profile_decode.json" 2>/dev/null
stamp "profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 at $C (offline's mean mixed step)"
BENCH_OUT=$work/pm timeout 50 python3 bench/profile_step.py --batches 127 --context 438 --prefill-chunks 1x129 \
  2>&1 | grep -v capturing | tee -a "$LOG"
cp "$(ls "$work"/pm/*.json 2>/dev/null | head -1)" "$OUTDIR/profile_mixed.json" 2>/dev/null

stamp done
kill $smi
rm -rf "$work"
