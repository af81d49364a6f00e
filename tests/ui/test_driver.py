"""The terminal driver leaves without waiting out its input thread's select timeout, and its copy
of Textual's input loop is looked at again whenever Textual's changes."""

from __future__ import annotations

import hashlib
import inspect
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from textual.drivers.linux_driver import LinuxDriver

TEXTUAL_INPUT_LOOP = "d796af6d69db337d"
"""sha256 (16 hex digits) of Textual 8.2's LinuxDriver.run_input_thread, which
oneshot_tui/ui/driver.py copies: when this test fails, compare the two, update the copy, then
this digest."""


def test_the_copied_input_loop_is_textuals() -> None:
    source = inspect.getsource(LinuxDriver.run_input_thread)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert digest == TEXTUAL_INPUT_LOOP, (
        "Textual's input loop changed: see oneshot_tui/ui/driver.py"
    )


APP = textwrap.dedent(
    """
    import sys, time
    from textual.app import App
    from textual.drivers.linux_driver import LinuxDriver
    from oneshot_tui.ui.driver import QuickExitDriver

    driver = QuickExitDriver if sys.argv[1] == "quick" else LinuxDriver
    took = []

    class Timed(driver):
        def disable_input(self) -> None:
            start = time.perf_counter()
            super().disable_input()
            took.append(time.perf_counter() - start)

    class Bare(App[None]):
        def on_mount(self) -> None:
            self.set_timer(0.2, self.exit)  # the input thread is in its select by then

    Bare(driver_class=Timed).run()
    with open(sys.argv[2], "w") as out:
        out.write(str(max(took)))
    """
)


def stop_input_seconds(kind: str, tmp_path: Path) -> float:
    """How long leaving took to stop the input thread, for an app on a pseudo-terminal."""
    result = tmp_path / f"{kind}.txt"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, kind, str(result)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    os.read(master, 65536)  # keep the terminal drained
                except OSError:
                    break
        proc.wait(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 0
    return float(result.read_text())


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux driver")
def test_leaving_does_not_wait_for_the_input_threads_timeout(tmp_path: Path) -> None:
    # Textual's driver sleeps at least 0.1 s here by construction (its last select has nothing
    # to wait for); ours wakes its input thread through a pipe.
    assert stop_input_seconds("stock", tmp_path) >= 0.1
    assert stop_input_seconds("quick", tmp_path) < 0.09
