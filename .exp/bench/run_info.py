"""Where results go and what stamps them (date, commit): torch-free, shared by every benchmark."""

from __future__ import annotations

import datetime
import math
import os
import subprocess
from pathlib import Path

RESULTS = Path(os.environ.get("BENCH_OUT") or Path(__file__).parent / "results")


def git_commit() -> str:
    """$SWIFTLLM_COMMIT (a device copy of the tree has no .git), else `git rev-parse`, else "unknown"."""
    commit = os.environ.get("SWIFTLLM_COMMIT")
    if commit:
        return commit
    try:
        return subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"],
            text=True,
            cwd=Path(__file__).parent,
            stderr=subprocess.DEVNULL,
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def none_if_nan(value: object) -> object:
    """A missing figure (NaN) as JSON's null; any other value as it is."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
