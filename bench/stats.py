"""`oneshot-tui stats` on a big history: N runs (10,000 by default) written by the real RunWriter
from engine events, then the stats of the whole window read in this process and as the command.

    python bench/stats.py [--runs 10000] [--repeat 5] [--keep DIR]

Each run has three tasks, as a user's run might: a shell command, a claude task (tokens, cost,
tool calls; every seventh one restarted, every eleventh with an estimated cost) and a loop (its
iterations and verdict); runs are spread over 30 days. Prints the time to build the history and
the median time of `History.stats` (whole window, and grouped by each of day, agent, model, run,
task) and of the whole `oneshot-tui stats --since all` command. Target: under 1 s for 10,000 runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import median, time_command, venv_script

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.core.events import (
    Activity,
    Event,
    LoopPhase,
    LoopVerdict,
    ProcessStarted,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
)
from oneshot_tui.core.spec import RunSettings
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.store.db import connect
from oneshot_tui.store.history import History
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.run_origin import RunOrigin
from oneshot_tui.store.run_writer import Batch, RunInfo, RunWriter
from oneshot_tui.store.schema import migrate

DAY = 86400.0
SPEC = {"agent": {"agent": "claude", "model": "sonnet"}}


def run_events(run_id: str, i: int, t0: float) -> list[Event]:
    """The events of one run of three tasks, as the engine publishes them."""
    events: list[Event] = [
        RunStarted(run_id, t0, "/logs", ("build", "fix", "loop"), 4),
        TaskAdded("build", t0, "make", "command"),
        TaskAdded("fix", t0, "claude: fix it", "agent"),
        TaskAdded("loop", t0, "loop: port it", "loop"),
    ]
    failed = i % 5 == 0
    for n, task in enumerate(("build", "fix", "loop")):
        events += [
            StateChanged(task, 1, S.CREATED, S.RUNNING, t0 + 0.1, event="start"),
            ProcessStarted(task, 1, 1000 + n, t0 + 0.1, f"/logs/{task}.log"),
        ]
    events.append(Activity("fix", 1, t0 + 1, "session", "", {"model": "sonnet"}))
    events += [
        LoopPhase("loop", 1, t0 + 2, "os-1", "worker", 1, 3),
        LoopVerdict("loop", 1, t0 + 3, "os-1", 1, "RETRY", "more"),
        LoopPhase("loop", 1, t0 + 4, "os-1", "worker", 2, 3),
        LoopVerdict("loop", 1, t0 + 5, "os-1", 2, "DONE", ""),
    ]
    attempts = 1
    if i % 7 == 0:  # a restart of the agent task
        events.append(StateChanged("fix", 2, S.COMPLETED, S.CREATED, t0 + 6, event="restart"))
        attempts = 2
    totals = AgentTotals(1200 + i % 100, 300, 0.004, 3, estimated=i % 11 == 0)
    for task, state in (
        ("build", S.FAILED if failed else S.COMPLETED),
        ("fix", S.COMPLETED),
        ("loop", S.COMPLETED),
    ):
        events.append(StateChanged(task, 1, S.RUNNING, state, t0 + 9, event="finish"))
        events.append(
            TaskExited(
                task,
                attempts if task == "fix" else 1,
                t0 + 9,
                state,
                1 if state is S.FAILED else 0,
                None,
                9.0,
                totals=totals if task != "build" else None,
                cpu_seconds=0.5,
            )
        )
    events.append(RunFinished(run_id, t0 + 10, 1 if failed else 0, ()))
    return events


def build(data_dir: Path, runs: int, now: float) -> float:
    start = time.perf_counter()
    conn = connect(history_db_path(data_dir))
    migrate(conn)
    for i in range(runs):
        run_id = f"run-{i:06d}"
        t0 = now - 30 * DAY + i * (30 * DAY / runs)
        info = RunInfo(run_id, "/logs", RunSettings(), RunOrigin(("oneshot-tui",)), None, "host")
        specs = {"fix": json.dumps(SPEC), "loop": json.dumps(SPEC), "build": None}
        RunWriter(conn, info).write(Batch(run_events(run_id, i, t0), specs, {}))
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the history in DIR and keep it")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="oneshot-stats-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    try:
        took = build(data_dir, args.runs, now)
        print(f"history of {args.runs} runs ({3 * args.runs} tasks) written in {took:.1f}s")
        for by in (None, "day", "agent", "model", "run", "task"):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                with History.open(data_dir) as reader:
                    stats = reader.stats(since=None, until=now, by=by)
                times.append(time.perf_counter() - start)
            assert stats.total.runs == args.runs, stats.total.runs
            print(f"History.stats(by={by!s:5}): {median(times) * 1000:7.1f} ms median")
        argv = [*venv_script("oneshot-tui"), "stats", "--since", "all", "--data-dir", str(data_dir)]
        for extra in ((), ("--by", "day"), ("--json", "--by", "run")):
            walls = [time_command([*argv, *extra])[0] for _ in range(args.repeat)]
            print(
                f"oneshot-tui stats {' '.join(extra) or '(totals)':14}: {median(walls):.3f}s median"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
