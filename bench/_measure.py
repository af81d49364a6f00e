"""Shared helpers for the benchmarks: peak RSS, timing whole commands, interleaved comparisons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


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


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def python() -> str:
    return sys.executable


def venv_script(name: str) -> list[str]:
    """The console script `name` next to this interpreter (the same venv)."""
    exe = Path(sys.executable).parent / name
    if not exe.exists():
        raise SystemExit(f"{exe} not found: install the project into this venv (pip install -e .)")
    return [str(exe)]


def compile_bytecode() -> str:
    """Write the bytecode of the project and of this venv's packages, so that a start-up figure is
    not a compile figure (PYTHONDONTWRITEBYTECODE=1 otherwise makes every start compile them)."""
    paths = [str(ROOT / "oneshot_tui"), sysconfig.get_paths()["purelib"]]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *paths],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return "bytecode compiled first (python -m compileall -q the project and site-packages)"


def time_command(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    terminal: bool = False,
) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one run of `argv`: its output discarded, or with
    `terminal` on this process's own stdin, stdout and stderr (a terminal, for a TUI)."""
    quiet = None if terminal else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=quiet,
        stdout=quiet,
        stderr=quiet,
        env=dict(env) if env is not None else None,
        cwd=cwd,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


Measure = Callable[[], tuple[float, float]]


def interleaved(sides: Mapping[str, Measure], repeat: int, warmup: int = 1) -> dict[str, Any]:
    """Run each side `repeat` times in turn (A B A B ...), after `warmup` uncounted rounds, so a
    drift in the machine's speed hits every side alike. Returns per side the wall and CPU lists."""
    for _ in range(warmup):
        for measure in sides.values():
            measure()
    out: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in sides}
    for _ in range(repeat):
        for name, measure in sides.items():
            wall, cpu = measure()
            out[name]["wall"].append(wall)
            out[name]["cpu"].append(cpu)
    return out


def ratio_row(runs: Mapping[str, Mapping[str, list[float]]], a: str, b: str, key: str) -> float:
    """The median of the pairwise ratios a/b (pairs measured next to each other)."""
    return median([x / y for x, y in zip(runs[a][key], runs[b][key], strict=True)])
