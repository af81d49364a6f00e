"""Memory is bounded in bytes, not only in lines: a progress loop that never ends its line
(`\\r` after `\\r`, so every display line is a 64 KiB piece) keeps a run's memory flat. Each
task's recent lines hold at most `scrollback_bytes`, a subscriber that does not read (a stalled
TUI) at most its character budget."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oneshot_tui.config import ConfigError, load_run_config
from oneshot_tui.core.bus import DEFAULT_MAX_PENDING_CHARS
from oneshot_tui.core.events import Output
from oneshot_tui.core.spec import TaskPolicy, TaskSpec
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.runner.output import DEFAULT_LINE_CAP
from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

WRITTEN_MB = 200


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident size so far (VmHWM: its own address space's high-water
    mark, which a fork's shared pages do not inflate the way wait4's ru_maxrss is)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_a_carriage_return_loop_keeps_a_headless_run_under_150_mb(tmp_path: Path) -> None:
    """The peak resident size of the `oneshot-tui run` process, read from the kernel until it
    exits: 200 MB written took about 245 MB before the bound (300 MB: 365 MB)."""
    task = f"{sys.executable} {fake('progress.py')} {WRITTEN_MB}"
    proc = subprocess.Popen(
        [*cli_argv(), "run", "--no-ui", "-c", task],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    peak_mb = 0.0
    with contextlib.suppress(OSError):  # until the process is gone
        while proc.poll() is None:
            peak_mb = max(peak_mb, _peak_rss_mb(proc.pid))
            time.sleep(0.02)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    [log] = Path(os.environ["ONESHOT_TUI_HOME"]).glob("runs/*/*.log")
    assert log.stat().st_size == WRITTEN_MB * 1024 * 1024  # everything written was read
    assert 10 < peak_mb < 150, f"peak RSS {peak_mb:.0f} MB"


def _our_processes(data_dir: Path) -> list[int]:
    """The oneshot-tui processes of a run in `data_dir` (the TUI and its server)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{name}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = f"ONESHOT_TUI_HOME={data_dir}".encode() in environ
        # argv: [python,] .../oneshot-tui, run, ...
        script = next((i for i, a in enumerate(argv[:2]) if a.endswith(b"oneshot-tui")), None)
        if ours and script is not None and argv[script + 1 : script + 2] == [b"run"]:
            pids.append(int(name))
    return pids


@needs_tmux
def test_a_carriage_return_loop_keeps_the_tui_and_its_server_under_150_mb(
    tmux: Tmux, tmp_path: Path
) -> None:
    """The same loop under the TUI, in a real terminal: before the bound, 200 MB written took
    the server to about 370 MB."""
    task = f"{sys.executable} {fake('progress.py')} {WRITTEN_MB}"
    tmux.start(shlex.join([*cli_argv(), "run", "-c", task]), environment(tmp_path))
    peaks: dict[int, float] = {}

    def sample(screen: str) -> bool:
        for pid in _our_processes(tmp_path / "data"):
            with contextlib.suppress(OSError):
                peaks[pid] = max(peaks.get(pid, 0.0), _peak_rss_mb(pid))
        return "completed" in screen

    tmux.wait_for(sample, timeout=120)
    sample("")  # once more, after the last line was drawn
    # The TUI and the run's server (a child between its fork and its exec may be seen too).
    assert sum(1 for peak in peaks.values() if peak > 10) == 2, peaks
    assert all(peak < 150 for peak in peaks.values()), peaks
    [log] = (tmp_path / "data").glob("runs/*/*.log")
    assert log.stat().st_size == WRITTEN_MB * 1024 * 1024


async def test_the_view_and_a_stalled_subscriber_hold_bounded_bytes(data_dir: Path) -> None:
    policy = TaskPolicy(scrollback_bytes=1024 * 1024)
    spec = TaskSpec("progress", (sys.executable, fake("progress.py"), "64"), policy=policy)
    orch = Orchestrator([spec], data_dir=data_dir)
    stalled = orch.bus.subscribe("a TUI that stopped reading")
    await orch.run()
    view = orch.tasks["progress"].view
    assert 0 < view.bytes_held <= 1024 * 1024 + 2 * (DEFAULT_LINE_CAP + 100)
    assert view.total_lines >= 64 * 1024 * 1024 // DEFAULT_LINE_CAP
    queued = [e for e in stalled.receive_nowait(10**9) if isinstance(e, Output)]
    held = sum(len(e.text) for e in queued)
    assert held <= DEFAULT_MAX_PENDING_CHARS
    assert sum(e.missed for e in queued) > 0  # and it is told how much it missed


def test_scrollback_bytes_is_a_setting_with_units_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[run]\nscrollback_bytes = "512KiB"\n[[task]]\ncommand = "true"\n'
        '[[task]]\ncommand = "false"\nscrollback_bytes = 8388608\n'
    )
    config = load_run_config(path)
    assert [s.policy.scrollback_bytes for s in config.specs] == [512 * 1024, 8 * 1024 * 1024]
    path.write_text('[run]\nscrollback_bytes = "lots"\n[[task]]\ncommand = "true"\n')
    with pytest.raises(ConfigError, match=r"t\.toml:2: .*scrollback_bytes.*like 4MiB"):
        load_run_config(path)
