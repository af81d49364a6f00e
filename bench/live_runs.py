"""Live runs through their control socket, measured side by side (issue "Live runs"):

1. `ctl` round trip: connect, hello, one command and its reply, on a live run (median of 50), and
   the whole `oneshot-tui ctl` command for comparison (its interpreter start-up included).
2. `events` on a flood (20 x `seq 50000` added to a live run while `events` follows it,
   losslessly) against `run --json` on the same load: wall time and lines received (none lost).
3. `attach` to the first frame with 200 tasks in the run, in tmux (a 200x50 window).

    python bench/live_runs.py [--tasks 20] [--lines 50000] [--many 200] [--repeat 3]

Goals: ctl round trip < 50 ms; events within 1.5x of run --json and no line lost; attach's first
frame < 500 ms with 200 tasks. Figures are medians of --repeat runs on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._measure import median  # noqa: E402
from oneshot_tui.control.client import ControlClient  # noqa: E402
from oneshot_tui.control.protocol import socket_path  # noqa: E402

CLI = [sys.executable, "-m", "oneshot_tui"]


def cli(env: dict[str, str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=True, **kw)  # type: ignore[call-overload, no-any-return]


def start_detached(env: dict[str, str], *args: str) -> tuple[str, Path]:
    run_id = cli(env, "run", "--detach", "--max-concurrent", "300", *args).stdout.strip()
    runs = json.loads(cli(env, "ps", "--json").stdout)
    log_dir = Path(next(r["log_dir"] for r in runs if r["run"] == run_id))
    return run_id, log_dir


def stop(env: dict[str, str], run_id: str) -> None:
    subprocess.run([*CLI, "ctl", run_id, "stop"], env=env, capture_output=True, check=False)


def round_trips(socket: Path, count: int) -> list[float]:
    async def measure() -> list[float]:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            async with await ControlClient.connect(socket) as client:
                await client.request("status")
            times.append(time.perf_counter() - start)
        return times

    result: list[float] = anyio.run(measure)
    return result


def part_ctl(env: dict[str, str]) -> None:
    run_id, log_dir = start_detached(env, "-c", "sleep 600")
    try:
        trips = round_trips(socket_path(log_dir), 50)
        whole = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [*CLI, "ctl", run_id, "interrupt", "nosuch"], env=env, capture_output=True
            )
            whole.append(time.perf_counter() - start)
    finally:
        stop(env, run_id)
    print("1. ctl round trip (connect, hello, status, reply), 50 times:")
    print(
        f"   socket round trip   median {median(trips) * 1000:6.1f} ms   max {max(trips) * 1000:6.1f} ms   (goal < 50 ms)"
    )
    print(
        f"   whole `ctl` command median {median(whole) * 1000:6.1f} ms   (an interpreter start-up each)"
    )


def read_flood(stream: IO[bytes], tasks: int) -> int:
    """Read NDJSON events until `tasks` seq tasks exited; how many output events came."""
    received, exited = 0, 0
    for raw in stream:
        if b'"event":"output"' in raw:
            received += 1
        elif b'"event":"exit"' in raw and b'"task":"seq' in raw:
            exited += 1
            if exited == tasks:
                break
    return received


def part_events(env: dict[str, str], tasks: int, lines: int, repeat: int) -> None:
    flood = []
    for _ in range(tasks):
        flood += ["-c", f"seq {lines}"]
    json_times, events_times, counts, json_counts = [], [], [], []
    for _ in range(repeat):
        # Both sides are read the same way, by this process, line by line: the reader's work is
        # part of both figures, and the ratio is the stream's own.
        start = time.perf_counter()
        run = subprocess.Popen([*CLI, "run", "--json", *flood], env=env, stdout=subprocess.PIPE)
        assert run.stdout is not None
        json_counts.append(read_flood(run.stdout, tasks))
        run.stdout.close()
        assert run.wait(30) == 0
        json_times.append(time.perf_counter() - start)
        run_id, _ = start_detached(env, "-c", "true")
        try:
            events = subprocess.Popen([*CLI, "events", run_id], env=env, stdout=subprocess.PIPE)
            assert events.stdout is not None
            while b"snapshot_end" not in events.stdout.readline():
                pass
            start = time.perf_counter()
            cli(env, "add", run_id, *flood)  # (its interpreter start-up is in the figure)
            counts.append(read_flood(events.stdout, tasks))
            events_times.append(time.perf_counter() - start)
        finally:
            stop(env, run_id)
            events.wait(30)
    want = tasks * lines
    j, e = median(json_times), median(events_times)
    print(f"2. events on {tasks} x seq {lines} ({want:,} lines), lossless, median of {repeat}:")
    print(f"   run --json          {j:6.2f} s")
    print(f"   events (live run)   {e:6.2f} s   ratio {e / j:4.2f}x   (goal <= 1.5x)")
    assert min(json_counts) == want, json_counts
    print(
        f"   lines received      {min(counts):,} of {want:,}  {'(none lost)' if min(counts) == want else '(LOST LINES)'}"
    )


def part_attach(env: dict[str, str], many: int, repeat: int) -> None:
    if shutil.which("tmux") is None:
        print("3. attach: tmux not installed")
        return
    args = []
    for _ in range(many):
        args += ["-c", "sleep 600"]
    run_id, _ = start_detached(env, "--idle-threshold", "off", *args)
    socket = f"bench-attach-{os.getpid()}"
    times = []
    try:
        for _ in range(repeat):
            command = " ".join([*CLI, "attach", run_id])
            exports = " ".join(
                f"{k}={v}"
                for k, v in env.items()
                if k in ("ONESHOT_TUI_HOME", "HOME", "PATH", "TERM")
            )
            start = time.perf_counter()
            subprocess.run(
                [
                    "tmux",
                    "-L",
                    socket,
                    "-f",
                    "/dev/null",
                    "new-session",
                    "-d",
                    "-s",
                    "b",
                    "-x",
                    "200",
                    "-y",
                    "50",
                    f"env -u COLUMNS -u LINES {exports} {command}",
                ],
                check=True,
            )
            while True:
                screen = subprocess.run(
                    ["tmux", "-L", socket, "capture-pane", "-p", "-t", "b"],
                    capture_output=True,
                    text=True,
                ).stdout
                if run_id in screen and f"● {many}" in screen:
                    break
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
            time.sleep(0.3)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        stop(env, run_id)
    print(f"3. attach to the first frame with {many} tasks running, median of {repeat}:")
    print(
        f"   {median(times) * 1000:6.0f} ms   (min {min(times) * 1000:.0f}, goal < 500 ms; includes the interpreter and Textual start-up)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--many", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-live-"))
    env = {**os.environ, "ONESHOT_TUI_HOME": str(home / "data"), "TERM": "xterm-256color"}
    try:
        part_ctl(env)
        part_events(env, args.tasks, args.lines, args.repeat)
        part_attach(env, args.many, args.repeat)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
