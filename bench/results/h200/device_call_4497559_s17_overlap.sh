#!/bin/bash
# Session 17, call 1: the overlap patch (mixed_overlap_untimed_s16.diff) timed.
# .before = 4497559 (HEAD); .after = HEAD + the patch; .after2 = .after with the side stream at priority -1.
# check_kernels --quick --model-only on .after; offline longest-first greedy: before, after, after2, before, after.
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
mkdir -p /tmp/r
stamp "check_kernels --quick --model-only at 4497559 + overlap"
(cd .after && PYTHONPATH=.:/tmp/site timeout 130 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1)
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -10 | tee -a $OUT/all.log
cp /tmp/r/check.log $OUT/check_overlap.log
thr() {  # tree, label, run
  stamp "throughput longest-first greedy at $2 (run $3)"
  mkdir -p /tmp/r/lf_$2_$3
  (cd $1 && SWIFTLLM_COMMIT=$2 BENCH_OUT=/tmp/r/lf_$2_$3 PYTHONPATH=.:/tmp/site timeout 120 python3 bench/throughput.py --schedule-policy longest-first --temperatures 0 > /tmp/r/lf_$2_$3.log 2>&1)
  grep -v capturing /tmp/r/lf_$2_$3.log | tail -12 | tee -a $OUT/all.log
  cp /tmp/r/lf_$2_$3/*.json $OUT/throughput_lf_$2_r$3_s17.json 2>/dev/null
}
thr .before 4497559 1
thr .after 4497559-overlap 1
thr .after2 4497559-overlap-prio 1
thr .before 4497559 2
thr .after 4497559-overlap 2
stamp done
