"""Engine throughput: 20 tasks x 50,000 lines through the orchestrator, logs on disk, against a
bare asyncio subprocess loop doing the same reads and log writes.

    python bench/engine_throughput.py [--tasks 20] [--lines 50000] [--repeat 5]

Each side runs in its own fresh interpreter so its peak RSS is its own. Prints wall time, lines/s
and peak RSS per side (median of the repeats) and the ratio engine/bare. Target: ratio <= 1.3.
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
    from oneshot_tui.orchestrator import Orchestrator

    bus = EventBus()
    specs = [TaskSpec(f"t{i}", ("seq", str(lines))) for i in range(tasks)]
    orch = Orchestrator(specs, RunSettings(max_concurrent=tasks), data_dir=data_dir, bus=bus)
    sub = bus.subscribe("counter", lossless=True)
    total = 0

    async def count() -> None:
        nonlocal total
        async for event in sub:
            if isinstance(event, Output):
                total += event.lines

    async with anyio.create_task_group() as tg:
        tg.start_soon(count)
        result = await orch.run()
        bus.close()
    assert result.exit_code == 0
    return total


def side(mode: str, tasks: int, lines: int) -> None:
    if mode == "engine":  # imports are start-up cost, not throughput: pay them before the clock
        import anyio

        import oneshot_tui.orchestrator  # noqa: F401

        anyio.run(anyio.sleep, 0)  # anyio imports its asyncio backend on first use (~35 ms)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if mode == "bare":
            got = asyncio.run(bare(tasks, lines, Path(tmp)))
        else:
            got = asyncio.run(engine(tasks, lines, Path(tmp)))
        wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "lines": got, "rss_kb": peak_rss_kb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--side", choices=["bare", "engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side(args.side, args.tasks, args.lines)
        return
    expected = args.tasks * args.lines
    rows = {}
    for mode in ("bare", "engine"):
        runs = [
            run_json(
                [
                    python(),
                    __file__,
                    "--side",
                    mode,
                    "--tasks",
                    str(args.tasks),
                    "--lines",
                    str(args.lines),
                ]
            )
            for _ in range(args.repeat)
        ]
        assert all(r["lines"] == expected for r in runs), (mode, [r["lines"] for r in runs])
        rows[mode] = (median([r["wall"] for r in runs]), median([r["rss_kb"] for r in runs]))
    print(f"{args.tasks} tasks x {args.lines} lines = {expected:,} lines, median of {args.repeat}")
    print(f"{'side':<8} {'wall s':>8} {'lines/s':>12} {'peak RSS MB':>12}")
    for mode, (wall, rss) in rows.items():
        print(f"{mode:<8} {wall:>8.3f} {expected / wall:>12,.0f} {rss / 1024:>12.1f}")
    ratio = rows["engine"][0] / rows["bare"][0]
    print(
        f"ratio engine/bare: wall {ratio:.2f}x (target <= 1.3x), "
        f"RSS {rows['engine'][1] / rows['bare'][1]:.2f}x"
    )


if __name__ == "__main__":
    main()
