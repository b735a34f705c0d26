"""bench/detokenize.py at a small size: both paths stream the same text (the script asserts it), and the
standalone path takes the tokens it should."""

from __future__ import annotations

import pytest
from bench_scripts import load_script

from swiftllm.models.gguf_import import ensure_default_model

detokenize = load_script("detokenize")


def test_both_paths_time_the_same_tokens() -> None:
    data = detokenize.measure(str(ensure_default_model()), num_streams=4, num_tokens=60, seed=1)
    rows = {(row["tokens"], row["path"]): row for row in data["rows"]}
    assert set(rows) == {
        (tokens, path) for tokens in ("random ids", "text") for path in ("standalone", "window")
    }
    # random byte-level ids are nearly all whole characters; the window path never takes one
    assert rows["random ids", "standalone"]["standalone_share"] > 0.9
    assert rows["random ids", "window"]["standalone_share"] == 0
    assert all(row["warm_us"] > 0 and row["cold_us"] > 0 for row in data["rows"])


def test_the_window_path_holds_no_token() -> None:
    ids = detokenize.NoStandalone()
    ids.add(5)
    assert 5 not in ids and len(ids) == 0


def test_a_different_stream_text_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The script's own check: were the standalone path to drop a token's text, measure refuses."""
    real = detokenize.Detokenizer.add

    def lossy(self, token: int) -> str:  # noqa: ANN001
        text = real(self, token)
        standalone = token in self.tokenizer.standalone_ids
        return "" if standalone and token % 7 == 0 else text

    monkeypatch.setattr(detokenize.Detokenizer, "add", lossy)
    with pytest.raises(AssertionError):
        detokenize.measure(str(ensure_default_model()), num_streams=4, num_tokens=60, seed=1)
