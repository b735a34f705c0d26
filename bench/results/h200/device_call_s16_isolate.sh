#!/bin/bash
# Session 16, call 4: the two changes of call 3 apart. .before = d715674, .lt = ae0c44a (cuBLASLt preferred
# only), .fold = be8f7ed (the split reduce folded into decode attention only). latency.py at N = 1, 8 for
# the three, interleaved; offline longest-first greedy for .lt and .before.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
lat() {  # tree, commit
  stamp "latency.py --temperature 0 --batches 1,8 at $2"
  mkdir -p /tmp/r/lat_$2
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lat_$2 PYTHONPATH=.:/tmp/site timeout 120 python3 bench/latency.py --temperature 0 --batches 1,8 > /tmp/r/lat_$2.log 2>&1)
  grep -v capturing /tmp/r/lat_$2.log | grep -v Warning | tail -7 | tee -a $OUT/all.log
  for f in /tmp/r/lat_$2/*.json; do cp $f $OUT/$(basename $f .json)_N1-8_$2.json; done
}
thr() {  # tree, commit
  stamp "throughput longest-first greedy at $2"
  mkdir -p /tmp/r/lf_$2
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lf_$2 PYTHONPATH=.:/tmp/site timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/lf_$2.log 2>&1)
  grep -v capturing /tmp/r/lf_$2.log | grep -v Warning | tail -11 | tee -a $OUT/all.log
  cp /tmp/r/lf_$2/*.json $OUT/throughput_lf_$2_s16c4.json 2>/dev/null
}
lat .fold be8f7ed
lat .lt ae0c44a
lat .before d715674
thr .lt ae0c44a
thr .before d715674
stamp done
