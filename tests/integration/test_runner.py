"""The runner on real child processes: groups, PTYs, leftovers and the stop ladder."""

from __future__ import annotations

import os
import signal
import sys
import time

import anyio
import pytest

from oneshot_tui.runner.process import ChildProcess, ProcessSpec, SpawnError
from oneshot_tui.runner.supervise import supervise
from tests.fakes import fake
from tests.helpers import group_members, pid_alive


class Collect:
    def __init__(self) -> None:
        self.chunks: list[tuple[str, bytes]] = []

    async def __call__(self, stream: str, data: bytes) -> None:
        self.chunks.append((stream, data))

    def data(self, stream: str | None = None) -> bytes:
        return b"".join(d for s, d in self.chunks if stream is None or s == stream)


async def run(spec: ProcessSpec, grace: float = 2.0) -> tuple[ChildProcess, Collect, int | None]:
    child = await ChildProcess.spawn(spec)
    sink = Collect()
    try:
        status = await supervise(child, sink, grace=grace)
    finally:
        await child.aclose()
    return child, sink, status.exit_code


async def test_a_child_runs_in_its_own_group_with_stdin_closed_and_both_streams_read() -> None:
    code = (
        "import os, sys; print(os.getpgid(0) == os.getpid(), os.getsid(0) == os.getpid());"
        "print(repr(sys.stdin.read()));"
        "print('oops', file=sys.stderr); sys.exit(4)"
    )
    _, sink, exit_code = await run(ProcessSpec((sys.executable, "-c", code)))
    assert exit_code == 4
    assert sink.data("stdout") == b"True True\n''\n"
    assert sink.data("stderr") == b"oops\n"


async def test_cwd_and_env_come_from_the_spec(tmp_path: object) -> None:
    code = "import os; print(os.getcwd()); print(os.environ['ONESHOT_X'])"
    env = dict(os.environ, ONESHOT_X="it's $(here)")
    _, sink, _ = await run(ProcessSpec((sys.executable, "-c", code), cwd=str(tmp_path), env=env))
    assert sink.data() == f"{tmp_path}\nit's $(here)\n".encode()


async def test_a_pty_child_sees_a_terminal_of_the_given_size_and_eio_ends_the_read() -> None:
    code = "import os, sys; print(sys.stdout.isatty(), os.get_terminal_size())"
    spec = ProcessSpec((sys.executable, "-c", code), pty=True, pty_size=(33, 111))
    _, sink, exit_code = await run(spec)
    assert exit_code == 0
    assert sink.data("pty") == b"True os.terminal_size(columns=111, lines=33)\r\n"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ProcessSpec(("no-such-program-xyz",)), "command not found: no-such-program-xyz"),
        (
            ProcessSpec(("true",), cwd="/no/such/dir"),
            "working directory does not exist: /no/such/dir",
        ),
        (ProcessSpec(("/etc/passwd",)), "not executable: /etc/passwd"),
        (ProcessSpec(("",)), "empty command"),
    ],
)
async def test_spawn_failures_have_clear_reasons(spec: ProcessSpec, message: str) -> None:
    with pytest.raises(SpawnError, match=message):
        await ChildProcess.spawn(spec)


async def test_a_background_grandchild_holding_the_pipe_does_not_hang_the_task() -> None:
    start = time.monotonic()
    child, sink, exit_code = await run(ProcessSpec("echo a; sleep 30 & exit 0"))
    assert exit_code == 0
    assert sink.data() == b"a\n"
    assert time.monotonic() - start < 10  # far below the sleep's 30 s
    assert group_members(child.pgid) == []


async def test_the_ladder_kills_a_group_that_ignores_sigint_and_sigterm() -> None:
    child = await ChildProcess.spawn(ProcessSpec((sys.executable, fake("stubborn.py"))))
    sink = Collect()
    grace = 1.0
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: supervise(child, sink, grace=grace))
        with anyio.fail_after(10):
            while sink.data().count(b"child") < 2:
                await anyio.sleep(0.01)
        pids = [int(line.split()[1]) for line in sink.data().splitlines()]
        start = time.monotonic()
        with anyio.CancelScope(shield=True):
            await child.stop(grace)
        took = time.monotonic() - start
    await child.aclose()
    assert not any(pid_alive(pid) for pid in pids)
    assert group_members(child.pgid) == []
    assert grace * 0.9 <= took < grace + 3
    assert child.returncode == -signal.SIGKILL
