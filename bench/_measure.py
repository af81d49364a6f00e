"""Shared helpers for the benchmarks: peak RSS of this process and of a child run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any


def peak_rss_kb() -> int:
    """VmHWM of this process (getrusage's ru_maxrss would include the parent's peak across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_json(argv: list[str]) -> dict[str, Any]:
    """Run a benchmark side in a fresh interpreter; it prints one JSON object."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    report.setdefault("wall", time.perf_counter() - start)
    return report


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def python() -> str:
    return sys.executable
