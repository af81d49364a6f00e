"""No two things share a file: every (task name, attempt) pair of a run has a log of its own
(attempt 2 of `x` is not task `x.2`), and every run has a directory of its own, made atomically,
even when runs start in the same second with the same random bits."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.names import UniqueNames
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.store.paths import log_file_name, safe_file_stem
from tests.helpers import Watcher


async def test_attempt_2_of_x_and_task_x_2_write_different_logs(data_dir: Path) -> None:
    specs = [TaskSpec("x", "echo from x"), TaskSpec("x.2", "echo from x.2")]
    orch = Orchestrator(specs, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        # Both, in whichever order they end (one cursor: waiting for each in turn could miss one).
        await watcher.wait_until(
            lambda _: all(orch.tasks[t].state is S.COMPLETED for t in ("x", "x.2"))
        )
        watcher.skip_past()  # only what comes after the restart
        assert orch.restart("x")
        again = await watcher.wait_state("x", S.COMPLETED)
        assert again.attempt == 2
        orch.shutdown()
    x_logs = orch.tasks["x"].log_paths
    [other] = orch.tasks["x.2"].log_paths
    assert len(x_logs) == 2 and len({*x_logs, other}) == 3
    for path in x_logs:
        assert path.read_bytes() == b"from x\n"
    assert other.read_bytes() == b"from x.2\n"


def test_no_two_names_and_attempts_share_a_log_name() -> None:
    parts = ["x", ".", "2", "3", "_", "-", "log", "a"]
    names = ["".join(p) for n in range(1, 4) for p in itertools.product(parts, repeat=n)]
    stems = UniqueNames()
    files: dict[str, tuple[str, int]] = {}
    for name in names:
        stem = stems.take(safe_file_stem(name))
        for attempt in (1, 2, 3, 10):
            file = log_file_name(stem, attempt)
            assert file not in files, (name, attempt, files.get(file))
            files[file] = (name, attempt)


def test_runs_started_in_the_same_second_never_share_a_directory(data_dir: Path) -> None:
    """A thousand runs in one (frozen) second: with 16 random bits, ids collide almost surely
    (1 - e^(-1000²/2¹⁷) > 99.9%); each run must still get a directory it made itself."""
    clock = FakeClock()
    first = Orchestrator([], data_dir=data_dir, clock=clock)
    (first.log_dir / "mine").write_text("the first run's file")
    runs = [first, *(Orchestrator([], data_dir=data_dir, clock=clock) for _ in range(999))]
    assert len({run.run_id for run in runs}) == 1000
    assert len({run.log_dir for run in runs}) == 1000
    assert all(run.log_dir.name == run.run_id for run in runs)
    assert sum(1 for run in runs if any(run.log_dir.iterdir())) == 1
    stamps = {run.run_id.rsplit("-", 1)[0] for run in runs}
    assert len(stamps) == 1  # the same second, told apart by the random part alone
