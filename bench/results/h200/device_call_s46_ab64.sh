python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>/dev/null
nvidia-smi --query-gpu=name --format=csv,noheader
ROOT=$(pwd)
for t in "$ROOT/.before 3ed978a" "$ROOT 5dcc46e" "$ROOT 5dcc46e" "$ROOT/.before 3ed978a"; do set -- $t
  (cd $1 && PYTHONPATH=.:/tmp/site SWIFTLLM_COMMIT=$2 BENCH_OUT=$OUT/$2_$RANDOM timeout 80 python3 bench/latency.py --temperature 0 --batches 64 2>&1 | grep -E "^N=|^  +64 " | sed "s/^/$2 /")
done
