#!/bin/bash
# Session 16, call 3: .after = 3bee563 (cuBLASLt preferred + the split reduce folded into decode attention)
# against .before = d715674: check_kernels on .after; latency.py at N = 8, 128, 256 (greedy, vLLM's method)
# for both; offline longest-first greedy for both.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "check_kernels --quick --model-only at 3bee563"
(cd .after && PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1)
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -8 | tee -a $OUT/all.log
lat() {  # tree, commit
  stamp "latency.py --temperature 0 --batches 8,128,256 at $2"
  mkdir -p /tmp/r/lat_$2
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lat_$2 PYTHONPATH=.:/tmp/site timeout 150 python3 bench/latency.py --temperature 0 --batches 8,128,256 > /tmp/r/lat_$2.log 2>&1)
  grep -v capturing /tmp/r/lat_$2.log | tail -12 | tee -a $OUT/all.log
  for f in /tmp/r/lat_$2/*.json; do cp $f $OUT/$(basename $f .json)_$2.json; done
}
thr() {  # tree, commit
  stamp "throughput longest-first greedy at $2"
  mkdir -p /tmp/r/lf_$2
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lf_$2 PYTHONPATH=.:/tmp/site timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/lf_$2.log 2>&1)
  grep -v capturing /tmp/r/lf_$2.log | tail -12 | tee -a $OUT/all.log
  cp /tmp/r/lf_$2/*.json $OUT/throughput_lf_$2_s16.json 2>/dev/null
}
lat .after 3bee563
lat .before d715674
thr .after 3bee563
thr .before d715674
stamp done
