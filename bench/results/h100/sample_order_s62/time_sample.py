"""Session 62: the inverse-CDF sampling kernel of this tree against 893945c's (the same SASS instructions in
another order, bench/results/cpu/sass_diff_s62.log), timed on one GPU in one process each, alternated.
    python3 time_sample.py TREE_ROOT  -> one JSON line: median us of a draw over [256, 128256] bf16 logits,
    and the copy bandwidth measured in the same process (the floor: the kernel reads the logits twice)."""

import json
import sys

sys.path.insert(0, sys.argv[1])  # the tree whose kernel is timed, before any other swiftllm
import torch  # noqa: E402

from swiftllm.kernels import sample  # noqa: E402

rows, vocab = 256, 128256
logits = torch.randn(rows, vocab, device="cuda", dtype=torch.bfloat16)
ids = torch.arange(rows, device="cuda", dtype=torch.int64)
temperature = torch.ones(rows, device="cuda")
u = torch.rand(rows, device="cuda")


def median_us(fn, reps=200):
    for _ in range(20):
        fn()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1000)
    return sorted(times)[len(times) // 2]


source = torch.empty(1 << 28, dtype=torch.uint8, device="cuda")
target = torch.empty_like(source)
copy_us = median_us(lambda: target.copy_(source), 50)
copy_tb_s = 2 * source.numel() / copy_us / 1e6
draw_us = median_us(lambda: sample.inverse_cdf_sample(logits, ids, temperature, u))
floor_us = 2 * logits.numel() * 2 / (copy_tb_s * 1e6)
print(
    json.dumps(
        {
            "tree": sample.__file__,
            "draw_us": draw_us,
            "copy_tb_s": copy_tb_s,
            "floor_us": floor_us,
            "ratio_to_floor": draw_us / floor_us,
        }
    )
)
