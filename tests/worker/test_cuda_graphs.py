"""cuda_graphs.table_widths: the block-table widths decode graphs are captured at (the graphs themselves need
CUDA: bench/check_kernels.py replays them against HF transformers on the GPU)."""

import torch

from swiftllm.kernels.decode_attention import LONG_CHUNK, decode_params
from swiftllm.worker.cuda_graphs import table_widths


def test_widths_step_by_four_from_long_chunk_to_max_model_len() -> None:
    assert LONG_CHUNK == 2048  # the figures below are in 16-token blocks of it
    assert table_widths(131072, 16) == (128, 512, 2048, 8192)
    assert table_widths(8192, 16) == (128, 512)
    assert table_widths(3000, 16) == (128, 188)
    assert table_widths(2048, 16) == (128,)
    assert table_widths(100, 16) == (7,)
    assert table_widths(4096, 32) == (64, 128)


def test_large_batch_of_short_contexts_gets_one_split() -> None:
    """The point of the widths: at a width of max_model_len, 256 short contexts would launch 64 splits each."""
    cpu = torch.device("cpu")
    splits = [decode_params(256, 8, w * 16, cpu)[0] for w in table_widths(131072, 16)]
    assert splits == [1, 4, 16, 64]
