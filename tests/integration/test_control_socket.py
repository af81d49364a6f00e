"""A live run's control socket, with a real run, real processes and a real Unix socket: the state
first, then live events; commands and their replies; hostile clients never stall the run."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from oneshot_tui.control.client import ControlClient, Refused
from oneshot_tui.control.protocol import VERSION, reachable, socket_path
from oneshot_tui.core.events import Event, Output, OutputTail, RunFinished, StateChanged, TaskAdded
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import RunResult
from oneshot_tui.orchestrator.session import RunSession
from tests.fakes import fake

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)
POLICY = TaskPolicy(grace=2.0, idle_threshold=None)


def quiet(marker: str) -> str:
    return f"{sys.executable} {fake('quiet.py')} {marker}"


class Served:
    def __init__(self, session: RunSession) -> None:
        self.session = session
        self.result: RunResult | None = None
        self.ready = anyio.Event()

    @property
    def socket(self) -> Path:
        return socket_path(self.session.orchestrator.log_dir)

    async def run(self, stay_open: bool) -> None:
        self.result = await self.session.run(serve=True, stay_open=stay_open, ready=self.ready.set)


@asynccontextmanager
async def served(
    specs: list[TaskSpec], data_dir: Path, *, stay_open: bool = False
) -> AsyncIterator[Served]:
    run = Served(RunSession(specs, FAST, data_dir=data_dir))
    async with anyio.create_task_group() as tg:
        tg.start_soon(run.run, stay_open)
        with anyio.fail_after(30):
            await run.ready.wait()
        yield run
        run.session.orchestrator.shutdown("test over")


async def events_until(client: ControlClient, done: object, timeout: float = 30) -> list[Event]:
    seen: list[Event] = []
    with anyio.fail_after(timeout):
        while not callable(done) or not done(seen):
            try:
                seen.extend(await client.receive_batch())
            except anyio.EndOfStream:
                break
    return seen


async def test_a_client_gets_the_state_first_then_live_events(data_dir: Path) -> None:
    specs = [
        TaskSpec("done", "echo first; echo second", policy=POLICY),
        TaskSpec("waits", quiet("waiting-here"), policy=POLICY),
    ]
    async with served(specs, data_dir) as run:
        orch = run.session.orchestrator
        while orch.tasks["done"].state is not S.COMPLETED or not orch.tasks["waits"].view.lines():
            await anyio.sleep(0.02)
        assert oct(run.socket.stat().st_mode & 0o777) == "0o600"
        async with await ControlClient.connect(run.socket) as client:
            assert client.hello["version"] == VERSION and client.run_id == orch.run_id
            await client.subscribe()
            state = await events_until(
                client,
                lambda seen: any(isinstance(e, OutputTail) and e.task_id == "waits" for e in seen),
            )
            names = [(type(e).__name__, getattr(e, "task_id", "")) for e in state]
            assert names[0] == ("RunStarted", "")
            assert ("TaskAdded", "done") in names and ("TaskExited", "done") in names
            tails = {e.task_id: e.lines for e in state if isinstance(e, OutputTail)}
            assert tails == {"done": ("first", "second"), "waits": ("waiting-here",)}
            assert client.request is not None
            reply = await client.request("interrupt", tasks=["waits"])
            assert reply["done"] == ["waits"]
            live = await events_until(
                client, lambda seen: any(isinstance(e, RunFinished) for e in seen)
            )
            ends = [e for e in live if isinstance(e, StateChanged) and e.task_id == "waits"]
            assert ends[-1].target is S.INTERRUPTED
    assert run.result is not None and run.result.exit_code == 1
    assert not run.socket.exists()  # removed when the run ended


async def test_commands_are_answered_and_refused_with_reasons(data_dir: Path) -> None:
    async with served([TaskSpec("t", "true", policy=POLICY)], data_dir, stay_open=True) as run:
        orch = run.session.orchestrator
        async with await ControlClient.connect(run.socket) as client:
            while orch.tasks["t"].state is not S.COMPLETED:
                await anyio.sleep(0.02)
            refused = await client.ask("interrupt", tasks=["t"])
            assert refused["ok"] is False and refused["refused"] == {"t": "t is completed"}
            unknown = await client.ask("kill", tasks=["nope"])
            assert unknown["ok"] is False and unknown["unknown"] == ["nope"]
            assert (await client.ask("frobnicate"))["error"] == "unknown command 'frobnicate'"
            status = await client.request("status")
            assert status["counts"] == {"completed": 1} and status["clients"] == 1
            added = await client.request(
                "add", tasks=[{"command": "echo added"}], cwd=str(data_dir)
            )
            assert added["added"] == ["echo-added"]  # named from its words, as `run -c` does
            while orch.tasks["echo-added"].state is not S.COMPLETED:
                await anyio.sleep(0.02)
            with pytest.raises(Refused, match=r'<add>: .*"colour"'):
                await client.request("add", tasks=[{"command": "true", "colour": 1}])
            with pytest.raises(Refused, match="duplicate task name"):
                await client.request("add", tasks=[{"name": "t", "command": "true"}])
            toml = '[[task]]\nname = "from-file"\ncommand = "echo from a file"\n'
            assert (await client.request("add", toml=toml, source="extra.toml"))["added"] == [
                "from-file"
            ]
            restarted = await client.request("restart", tasks=["t"])
            assert restarted["done"] == ["t"]
            await client.request("stop")
    assert run.result is not None
    assert {r.task_id for r in run.result.results} == {"t", "echo-added", "from-file"}


async def test_hostile_clients_get_errors_or_are_dropped_and_the_run_goes_on(
    data_dir: Path,
) -> None:
    spec = TaskSpec("ticker", f"{sys.executable} {fake('ticker.py')} t 0.05 400", policy=POLICY)
    async with served([spec], data_dir) as run:
        orch = run.session.orchestrator
        with reachable(run.socket) as address:
            mute = socket.socket(socket.AF_UNIX)  # subscribes losslessly and never reads
            mute.connect(address)
            garbage = socket.socket(socket.AF_UNIX)
            garbage.connect(address)
            huge = socket.socket(socket.AF_UNIX)
            huge.connect(address)
        try:
            mute.sendall(b'{"cmd": "subscribe", "id": 1, "mode": "lossless"}\n')

            def talk_garbage() -> list[dict[str, object]]:
                garbage.sendall(b"this is not json\n[1, 2]\n")
                reader = garbage.makefile("rb")
                return [json.loads(reader.readline()) for _ in range(3)]

            hello, not_json, not_object = await anyio.to_thread.run_sync(talk_garbage)
            assert hello["hello"] == "oneshot-tui"
            assert "not JSON" in str(not_json["error"]) and not_json["ok"] is False
            assert not_object["error"] == "not a JSON object"

            def talk_huge() -> tuple[bytes, bytes, bytes]:
                with contextlib.suppress(OSError):  # dropped mid-send: what we expect
                    huge.sendall(b"x" * (3 << 20))  # no newline: 3 MiB in one "line"
                reader = huge.makefile("rb")
                return reader.readline(), reader.readline(), reader.readline()

            _, error, end = await anyio.to_thread.run_sync(talk_huge)
            assert "longer than" in json.loads(error)["error"]
            assert end == b""  # and dropped
            async with await ControlClient.connect(run.socket) as client:
                await client.subscribe()
                seen = await events_until(
                    client, lambda s: sum(1 for e in s if isinstance(e, Output)) >= 5
                )
                assert seen
            ticks = orch.tasks["ticker"].view.total_lines
            await anyio.sleep(0.5)
            assert orch.tasks["ticker"].view.total_lines > ticks  # the mute client stalls nothing
        finally:
            for sock in (mute, garbage, huge):
                sock.close()


async def test_a_peer_of_another_user_is_refused(data_dir: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to connect as another uid")
    async with served([TaskSpec("t", quiet("x"), policy=POLICY)], data_dir) as run:
        path = run.socket
        # The socket is 0600 in a 0700 directory, so nobody else can even reach it. Open the
        # way on purpose to see the second wall: SO_PEERCRED refuses another uid before hello.
        opened = [p for p in (path, *path.parents) if p != Path("/")]
        modes = {p: p.stat().st_mode for p in opened}
        try:
            for p in opened:
                p.chmod(modes[p] | 0o777 if p == path else modes[p] | 0o711)

            def as_nobody() -> int:
                pid = os.fork()
                if pid == 0:  # the child: become nobody, connect, say what it read
                    code = 3
                    try:
                        os.setgid(65534)
                        os.setuid(65534)
                        with reachable(path) as address:
                            sock = socket.socket(socket.AF_UNIX)
                            sock.connect(address)
                            code = 1 if sock.recv(100) else 0
                    except OSError:
                        code = 2
                    os._exit(code)
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status)

            assert await anyio.to_thread.run_sync(as_nobody) == 0  # connected, closed, no hello
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


async def test_a_long_data_dir_path_still_gets_a_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    async with served([TaskSpec("t", "echo hi", policy=POLICY)], deep) as run:
        assert len(str(run.socket)) > 108
        async with await ControlClient.connect(run.socket) as client:
            assert (await client.request("status"))["run"] == run.session.run_id


async def test_task_added_says_the_scrollback(data_dir: Path) -> None:
    spec = TaskSpec("t", "echo hi", policy=TaskPolicy(scrollback=77))
    async with (
        served([spec], data_dir, stay_open=True) as run,
        await ControlClient.connect(run.socket) as client,
    ):
        await client.subscribe()
        seen = await events_until(client, lambda s: any(isinstance(e, TaskAdded) for e in s))
        added = next(e for e in seen if isinstance(e, TaskAdded))
        assert added.scrollback == 77
        await client.request("stop")


async def test_a_lossy_client_that_fell_behind_gets_each_tasks_true_ending(data_dir: Path) -> None:
    spec = TaskSpec("flood", "seq 1000000", policy=POLICY)
    async with served([TaskSpec("first", "true", policy=POLICY)], data_dir, stay_open=True) as run:
        with reachable(run.socket) as address:
            slow = socket.socket(socket.AF_UNIX)
            slow.connect(address)
        try:
            slow.sendall(b'{"cmd": "subscribe", "id": 1, "mode": "lossy", "batch": true}\n')
            orch = run.session.orchestrator
            while not any(s.name == "client 1" for s in orch.bus._subs):  # subscribed
                await anyio.sleep(0.01)
            orch.add(spec)
            while orch.tasks["flood"].state is not S.COMPLETED:  # it floods while we do not read
                await anyio.sleep(0.05)

            def read_all() -> list[dict[str, object]]:
                reader = slow.makefile("rb")
                objs: list[dict[str, object]] = []
                while not any(
                    o.get("event") == "output_tail" and o["task"] == "flood" for o in objs
                ):
                    objs.append(json.loads(reader.readline()))
                return objs

            objs = await anyio.to_thread.run_sync(read_all)
        finally:
            slow.close()
        missed = sum(int(str(o.get("missed", 0))) for o in objs if o.get("event") == "output")
        assert missed > 0  # it fell behind, and was told how far
        flood = [o["event"] for o in objs if o.get("task") == "flood"]
        assert flood.index("exit") < flood.index("output_tail")
        tail = next(o for o in objs if o.get("event") == "output_tail" and o["task"] == "flood")
        lines = tail["lines"]
        assert isinstance(lines, list) and lines[-1] == "1000000"
        assert len(lines) == spec.policy.scrollback


async def test_a_run_that_closes_before_its_reply_is_one_run_gone_and_not_listed(
    tmp_path: Path,
) -> None:
    # A run ending just as a client asks: hello, then the connection closes with no reply.
    from oneshot_tui.cli.live_runs import _status
    from oneshot_tui.control.client import RunGone

    path = tmp_path / "control.sock"
    hello = {"hello": "oneshot-tui", "version": VERSION, "run": "r1", "pid": os.getpid()}
    hello |= {"log_dir": str(tmp_path), "data_dir": str(tmp_path)}

    async def serve(stream: anyio.abc.SocketStream) -> None:
        # (`_status` first knocks and leaves: that connection gets a broken pipe)
        gone = (anyio.BrokenResourceError, anyio.EndOfStream)
        async with stream:
            with contextlib.suppress(*gone):
                await stream.send((json.dumps(hello) + "\n").encode())
                await stream.receive()  # the request: closed without an answer

    async with await anyio.create_unix_listener(path) as listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        with anyio.fail_after(10):
            with pytest.raises(RunGone):  # itself, not in a group: callers catch it plainly
                async with await ControlClient.connect(path) as client:
                    await client.request("status")
            assert await _status(path) is None  # ending: left alone, never a crash
        tg.cancel_scope.cancel()
