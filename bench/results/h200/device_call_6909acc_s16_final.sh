#!/bin/bash
# Session 16, call 5 at $1 (.after, the session's last commit of swiftllm/): the device's shared memory a
# block and the mixed tiles chosen; check_kernels on the model; offline longest-first at temperatures 0 and
# 1; all 200 requests at once over HTTP (first come first served).
C=$1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
cd .after
export PYTHONUNBUFFERED=1 PYTHONPATH=.:/tmp/site
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/all.log; }
{ nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader; nproc; } | tee -a $OUT/all.log
python3 -c "
import torch
from swiftllm.kernels.decode_attention import mixed_tiles
p = torch.cuda.get_device_properties(0)
print('shared_memory_per_block_optin', getattr(p, 'shared_memory_per_block_optin', None), 'mixed tiles', mixed_tiles(torch.device('cuda', 0)))
" 2>&1 | tail -2 | tee -a $OUT/all.log
mkdir -p /tmp/r/lf
stamp "check_kernels --quick --model-only at $C"
timeout 130 python3 bench/check_kernels.py --quick --model-only > /tmp/r/check.log 2>&1
grep -v capturing /tmp/r/check.log | grep -v "Loading\|Writing" | tail -8 | tee -a $OUT/all.log
stamp "throughput longest-first at temperatures 0 and 1 at $C"
SWIFTLLM_COMMIT=$C BENCH_OUT=/tmp/r/lf timeout 150 python3 bench/throughput.py --schedule-policy longest-first > /tmp/r/lf.log 2>&1
grep -v capturing /tmp/r/lf.log | tail -16 | tee -a $OUT/all.log
cp /tmp/r/lf/*.json $OUT/throughput_lf_$C.json 2>/dev/null
python3 bench/make_dummy_model.py --out /tmp/llama3-8b-dummy > /dev/null
stamp "serving all at once at $C"
LAUNCH="python3 -m swiftllm.launch.cli launch --model /tmp/llama3-8b-dummy --load-format dummy --max-num-batched-tokens 16384 --port 8000"
SWIFTLLM_COMMIT=$C timeout 150 python3 bench/serving.py --num-requests 200 --request-rates inf --seed 0 --label H200 --launch "$LAUNCH" --out $OUT/serving_H200_inf_${C}.json > /tmp/r_sv.log 2>&1
tail -14 /tmp/r_sv.log | tee -a $OUT/all.log
stamp done
