"""Many short tasks: N x `true` at most 64 at a time, headless, beside GNU parallel and a bare
asyncio loop; and what one task's lifecycle costs.

    python bench/many_tasks.py [--sizes 500,1000,2000] [--jobs 64] [--repeat 3] [--no-compile]

1. Whole commands, run in turn (A B C A B C ...) at each size: `oneshot-tui run --no-ui` on a task
   file of N tasks (history recorded, as a user's run is), `parallel -j 64 true ::: 1..N` (if
   installed), and the bare loop below (the least an asyncio program does: spawn, wait, reap).
   Prints the median wall and CPU time per task, so a cost that grows with N shows as a number
   that grows down the column. Targets: flat from 500 to 2,000, at or below parallel's.
2. In this process: one lifecycle per task for N tasks all alive, as python-statemachine's
   `StateMachine` (the chart, core/lifecycle_chart.py) and as the run-time `TaskLifecycle` driven
   from its compiled table: microseconds and garbage-collected objects per task, created and
   driven through start and finish.

On a shared machine, absolute times move with its load: compare the columns of one run.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import compile_bytecode, interleaved, median, python, time_command, venv_script

BARE = """\
import asyncio, sys

async def main(n: int, jobs: int) -> None:
    limit = asyncio.Semaphore(jobs)
    failed = 0

    async def one() -> None:
        nonlocal failed
        async with limit:
            proc = await asyncio.create_subprocess_exec(
                "true",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await proc.communicate()
            failed += proc.returncode != 0

    await asyncio.gather(*(one() for _ in range(n)))
    sys.exit(1 if failed else 0)

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def task_file(workdir: Path, n: int, jobs: int) -> Path:
    path = workdir / f"many-{n}.toml"
    body = [f"[run]\nmax_concurrent = {jobs}\n"]
    body += [f'[[task]]\nname = "t{i:05d}"\ncommand = "true"\n' for i in range(n)]
    path.write_text("\n".join(body))
    return path


def commands(sizes: list[int], jobs: int, repeat: int, workdir: Path) -> None:
    cli = venv_script("oneshot-tui")
    env = {**os.environ, "ONESHOT_TUI_HOME": str(workdir / "data")}
    bare = workdir / "bare.py"
    bare.write_text(BARE)
    parallel = shutil.which("parallel")
    print(f"\n1. N x `true`, at most {jobs} at a time: per task, median of {repeat} runs")
    names = ["oneshot-tui run --no-ui", "GNU parallel", "bare asyncio loop"]
    row = "   {:>6} " + " ".join(["{:>24}"] * len(names))
    print(row.format("N", *names))
    print(row.format("", *["wall / cpu ms per task"] * len(names)))
    for n in sizes:
        file = task_file(workdir, n, jobs)
        sides: dict[str, Any] = {
            names[0]: lambda file=file: time_command([*cli, "run", "--no-ui", str(file)], env),
            names[2]: lambda n=n: time_command([python(), str(bare), str(n), str(jobs)], env),
        }
        if parallel:
            argv = [parallel, "-j", str(jobs), "true", ":::", *map(str, range(n))]
            sides[names[1]] = lambda argv=argv: time_command(argv, env)
        runs = interleaved(sides, repeat, warmup=0)
        cells = []
        for name in names:
            if name not in runs:
                cells.append("not installed")
                continue
            wall, cpu = median(runs[name]["wall"]), median(runs[name]["cpu"])
            cells.append(f"{wall / n * 1000:.2f} / {cpu / n * 1000:.2f}")
        print(row.format(n, *cells))


def lifecycles(n: int) -> None:
    from oneshot_tui.core.clock import FakeClock
    from oneshot_tui.core.lifecycle import TaskLifecycle
    from oneshot_tui.core.lifecycle_chart import TaskLifecycleChart

    print(f"\n2. One lifecycle per task, {n:,} alive at once: created, started, finished")
    row = "   {:<44} {:>12} {:>14}"
    print(row.format("", "us per task", "GC objects"))
    for name, cls in (
        ("python-statemachine StateMachine per task", TaskLifecycleChart),
        ("TaskLifecycle from the compiled table", TaskLifecycle),
    ):
        best = float("inf")
        objects = 0
        for _ in range(3):
            clock = FakeClock()
            sink: list[object] = []
            gc.collect()
            before = len(gc.get_objects())
            start = time.perf_counter()
            alive = []
            for i in range(n):
                machine = cls(f"t{i}", clock, sink.append)
                machine.send("start", reason="pid 1")
                machine.send("finish", reason="exit 0")
                alive.append(machine)
            best = min(best, time.perf_counter() - start)
            sink.clear()
            objects = len(gc.get_objects()) - before
            del alive
        print(row.format(name, f"{best / n * 1e6:.1f}", f"{objects / n:.0f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,1000,2000")
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="do not compile bytecode first")
    args = parser.parse_args()
    print("on a shared machine, absolute times move with its load: compare the columns")
    if not args.no_compile:
        print(compile_bytecode())
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="oneshot-bench-") as tmp:
        commands(sizes, args.jobs, args.repeat, Path(tmp))
    lifecycles(max(sizes))


if __name__ == "__main__":
    main()
