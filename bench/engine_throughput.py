"""Engine throughput: 20 tasks x 50,000 lines and 200 x 5,000 through a run session, logs on disk,
against a bare asyncio subprocess loop doing the same reads and log writes.

    python bench/engine_throughput.py [--loads 20x50000,200x5000] [--repeat 7]

Each side runs in its own fresh interpreter so its peak RSS is its own, the two in turn. Prints
wall time, lines/s and peak RSS per side (median of the repeats) and the ratio engine/bare (the
median of neighbouring pairs' ratios) at each load. Target: ratio <= 1.3 at every load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import median, peak_rss_kb, python, run_json


async def bare(tasks: int, lines: int, log_dir: Path) -> int:
    """The baseline: what any asyncio program must do at the least (read, log, count lines)."""

    async def one(i: int) -> int:
        proc = await asyncio.create_subprocess_exec(
            "seq", str(lines), stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
        )
        assert proc.stdout is not None
        count = 0
        fd = os.open(log_dir / f"t{i}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while chunk := await proc.stdout.read(65536):
                os.write(fd, chunk)
                count += chunk.count(b"\n")
        finally:
            os.close(fd)
        await proc.wait()
        return count

    return sum(await asyncio.gather(*(one(i) for i in range(tasks))))


async def engine(tasks: int, lines: int, data_dir: Path) -> int:
    import anyio

    from oneshot_tui.core.bus import EventBus
    from oneshot_tui.core.events import Output
    from oneshot_tui.core.spec import RunSettings, TaskSpec
    from oneshot_tui.orchestrator.session import RunSession

    bus = EventBus()
    specs = [TaskSpec(f"t{i}", ("seq", str(lines))) for i in range(tasks)]
    session = RunSession(specs, RunSettings(max_concurrent=tasks), data_dir=data_dir, bus=bus)
    sub = bus.subscribe("counter", lossless=True)
    total = 0

    async def count() -> None:
        nonlocal total
        async for event in sub:
            if isinstance(event, Output):
                total += event.lines

    async with anyio.create_task_group() as tg:
        tg.start_soon(count)
        result = await session.run()
        bus.close()
    assert result.exit_code == 0
    return total


def side(mode: str, tasks: int, lines: int) -> None:
    if mode == "engine":  # start-up is not throughput (bench/startup.py measures it): a run of
        # one short task first pays for every import, the lazy ones too, before the clock
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(engine(1, 1, Path(tmp)))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if mode == "bare":
            got = asyncio.run(bare(tasks, lines, Path(tmp)))
        else:
            got = asyncio.run(engine(tasks, lines, Path(tmp)))
        wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "lines": got, "rss_kb": peak_rss_kb()}))


def side_argv(mode: str, tasks: int, lines: int) -> list[str]:
    return [python(), __file__, "--side", mode, "--tasks", str(tasks), "--lines", str(lines)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", default="20x50000,200x5000", help="TASKSxLINES, comma-separated")
    parser.add_argument("--tasks", type=int, help="one load: this many tasks (with --lines)")
    parser.add_argument("--lines", type=int, help="one load: this many lines per task")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--side", choices=["bare", "engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side(args.side, args.tasks, args.lines)
        return
    if args.tasks or args.lines:
        loads = [(args.tasks or 20, args.lines or 50_000)]
    else:
        loads = [tuple(int(n) for n in load.split("x")) for load in args.loads.split(",")]
    print(
        f"each side in a fresh interpreter, bare and engine in turn, median of {args.repeat};"
        " on a shared machine compare the ratios (medians of neighbouring pairs)"
    )
    print(f"{'load':<20} {'side':<8} {'wall s':>8} {'lines/s':>12} {'peak RSS MB':>12}")
    for tasks, lines in loads:
        expected = tasks * lines
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "engine": []}
        run_json(side_argv("engine", tasks, lines))  # a warm-up, not counted
        for _ in range(args.repeat):
            for mode in ("bare", "engine"):
                runs[mode].append(run_json(side_argv(mode, tasks, lines)))
        for mode, reports in runs.items():
            got = [r["lines"] for r in reports]
            assert all(n == expected for n in got), (mode, got)
            wall = median([r["wall"] for r in reports])
            rss = median([r["rss_kb"] for r in reports])
            print(
                f"{f'{tasks} x {lines:,}':<20} {mode:<8} {wall:>8.3f} {expected / wall:>12,.0f}"
                f" {rss / 1024:>12.1f}"
            )
        ratio = median(
            [e["wall"] / b["wall"] for b, e in zip(runs["bare"], runs["engine"], strict=True)]
        )
        rss_ratio = median([r["rss_kb"] for r in runs["engine"]]) / median(
            [r["rss_kb"] for r in runs["bare"]]
        )
        print(
            f"{'':<20} ratio engine/bare: wall {ratio:.2f}x (target <= 1.3x), RSS {rss_ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
