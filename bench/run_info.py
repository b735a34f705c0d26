"""Where results go and what stamps them (date, commit): torch-free, shared by every benchmark."""

from __future__ import annotations

import datetime
import math
import os
import subprocess
from pathlib import Path

RESULTS = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")


def git_commit() -> str:
    """$SWIFTLLM_COMMIT (a device copy of the tree has no .git), else `git rev-parse` with "-dirty" when a
    tracked file of swiftllm/ or bench/ differs from it, else "unknown". Git answers only for the checkout
    whose top holds this bench/: a tree unpacked inside another checkout (`git archive` into an ignored
    folder, as device calls do) would otherwise be stamped with the outer checkout's commit."""
    commit = os.environ.get("SWIFTLLM_COMMIT")
    if commit:
        return commit
    root = Path(__file__).resolve().parent.parent
    try:
        top = _git(root, "rev-parse", "--show-toplevel")
        if Path(top).resolve() != root:
            return "unknown"
        changed = _git(
            root, "status", "--porcelain", "--untracked-files=no", "--", "swiftllm", "bench"
        )
        dirty = "-dirty" if changed else ""
        return _git(root, "rev-parse", "--short", "HEAD") + dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _git(root: Path, *args: str) -> str:
    return subprocess.check_output(
        ["git", *args], text=True, cwd=root, stderr=subprocess.DEVNULL
    ).strip()


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def none_if_nan(value: object) -> object:
    """A missing figure (NaN) as JSON's null; any other value as it is."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
