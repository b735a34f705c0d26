"""Start `swiftctl launch` as a subprocess for tests, and small HTTP helpers (stdlib only)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Server:
    proc: subprocess.Popen
    url: str

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # fields[1]: the parent's pid
                pids.append(int(stat.parent.name))
        return pids

    def wait_ready(self, timeout_s: float = 240.0) -> Server:
        """Wait for the line saying where it serves, then for /health to answer 200."""
        deadline = time.monotonic() + timeout_s
        while not self.url:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"swiftctl launch did not start (exit code {self.proc.poll()})")
            if select.select([self.proc.stdout], [], [], 1.0)[0]:
                line = self.proc.stdout.readline()
                self.url = line.split(" on ")[-1].strip() if "serving" in line else ""
        while get(self.url + "/health")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the server never became healthy")
            time.sleep(0.2)
        return self

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def launch(*args: str) -> Server:
    """Start `swiftctl launch --port 0 ARGS` (call wait_ready before use: loading takes a while)."""
    cmd = [sys.executable, "-m", "swiftllm.launch.cli", "launch", "--port", "0", *args]
    env = {k: v for k, v in os.environ.items() if k != "SWIFTLLM_API_KEY"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env={**env, "PYTHONUNBUFFERED": "1"}
    )
    return Server(proc, "")


def request(
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> tuple[int, dict | str]:
    """(status, parsed JSON or text); error statuses are returned, not raised."""
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status = response.status
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        status = error.code
        text = error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def get(url: str) -> tuple[int, dict | str]:
    try:
        return request(url, timeout=10)
    except OSError:  # not listening yet
        return 0, ""


def post(url: str, body: object, **kw: object) -> tuple[int, dict | str]:
    return request(url, body if isinstance(body, bytes) else json.dumps(body).encode(), **kw)


def metrics(url: str) -> dict[str, float]:
    """The sample lines of /metrics as {name{labels}: value}."""
    text = request(url + "/metrics")[1]
    return {
        k: float(v)
        for k, v in (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    }
