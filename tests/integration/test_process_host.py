"""The process host the ray backend runs on each node, here on its own (no Ray): real children."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio

from oneshot_tui.runner.descendants import marked_processes
from oneshot_tui.runner.process import ProcessSpec
from oneshot_tui.runner.process_host import (
    ProcessHost,
    Status,
    from_wire,
    save_status,
    status_file,
    sweep,
    take_status,
    to_wire,
)
from tests.fakes import fake
from tests.helpers import pid_alive, py


async def drain(host: ProcessHost) -> tuple[list[tuple[str, bytes]], Status]:
    chunks: list[tuple[str, bytes]] = []
    with anyio.fail_after(60):
        while True:
            got, status = await host.read()
            chunks += got
            if status is not None:
                return chunks, status


def test_a_task_environment_is_sent_exactly_and_applied_over_the_hosts() -> None:
    # The task set KEEP and SAME on purpose; SAME equals the caller's value and must still go
    # (the node's may differ). PATH and HOME are the caller's own: the node keeps its own.
    task = {"PATH": "/caller/bin", "HOME": "/home/me", "KEEP": "2", "SAME": "x", "GIT_DIR": ""}
    own = {"KEEP": "2", "SAME": "x"}
    spec = ProcessSpec(
        "true", cwd="/work/t", env=task, env_own=own, env_unset=("GIT_DIR",), marker="m"
    )
    wire = to_wire(spec, forward={"FWD": "f", "KEEP": "driver"})
    assert wire["env_set"] == {"FWD": "f", "KEEP": "2", "SAME": "x"}
    node = {"PATH": "/node/bin", "HOME": "/home/node", "SAME": "y", "GIT_DIR": "/r", "PWD": "/"}
    got = from_wire(wire, node)
    assert got.env == {
        "PATH": "/node/bin",
        "HOME": "/home/node",
        "SAME": "x",
        "KEEP": "2",
        "FWD": "f",
        "PWD": "/work/t",
    }
    assert got.argv == ["/bin/sh", "-c", "true"] and got.marker == "m"
    # A spec without `env_own` (built by hand) sends the whole of `env` as its own.
    assert to_wire(ProcessSpec("true", env={"A": "1"}))["env_set"] == {"A": "1"}


async def test_output_comes_back_whole_and_in_order_with_a_small_buffer() -> None:
    host = ProcessHost(buffer_limit=64 * 1024)
    wire = to_wire(ProcessSpec("seq 200000; echo done >&2; exit 4"))
    started = await host.start(wire)
    assert "pid" in started
    await host.follow(grace=1)
    # Nobody reads for a while: the process must wait on the full buffer, not fill memory.
    await anyio.sleep(0.3)
    assert host._buffered <= 64 * 1024 + 65536
    chunks, status = await drain(host)
    await host.close()
    out = b"".join(data for stream, data in chunks if stream == "stdout")
    assert out == "".join(f"{n}\n" for n in range(1, 200001)).encode()
    assert [data for stream, data in chunks if stream == "stderr"] == [b"done\n"]
    assert status == (4, None)


async def test_both_streams_waiting_on_a_full_buffer_both_go_on() -> None:
    # stdout and stderr flood at once, nobody reads: each stream's pump ends up waiting for
    # room. One read must let both go on (a pump left waiting would hold the process forever).
    host = ProcessHost(buffer_limit=16 * 1024)
    script = "import sys\nfor i in range(400):\n    sys.stdout.write('o' * 999 + '\\n')\n"
    script += "    sys.stderr.write('e' * 999 + '\\n')\n"
    await host.start(to_wire(ProcessSpec((sys.executable, "-c", script))))
    await host.follow(grace=1)
    await anyio.sleep(0.3)
    chunks, status = await drain(host)
    await host.close()
    for stream, letter in (("stdout", b"o"), ("stderr", b"e")):
        assert b"".join(d for s, d in chunks if s == stream) == (letter * 999 + b"\n") * 400
    assert status == (0, None)


async def test_reads_in_flight_are_served_in_turn_and_never_take_another_process_s_output() -> None:
    host = ProcessHost()
    started = await host.start(to_wire(ProcessSpec("seq 30000; exit 5")))
    serial = started["serial"]
    got: list[bytes] = []
    status = None
    async with anyio.create_task_group() as tg:
        results: dict[int, tuple[list[tuple[str, bytes]], Status | None]] = {}
        done: dict[int, anyio.Event] = {}

        def ask(turn: int) -> None:
            done[turn] = anyio.Event()

            async def one() -> None:
                follow = 1.0 if turn == 0 else None
                results[turn] = await host.read(
                    4096, follow=follow, close=True, serial=serial, turn=turn
                )
                done[turn].set()

            tg.start_soon(one)

        # Turn 2 is asked first: it must still wait for 0 and 1.
        for turn in (2, 0, 1):
            ask(turn)
        turn, after = 0, 3
        with anyio.fail_after(30):
            while status is None:
                await done[turn].wait()
                chunks, status = results.pop(turn)
                got += [data for _, data in chunks]
                turn += 1
                if status is None:
                    ask(after)
                    after += 1
            for left in range(turn, after):  # asked after the last: they answer with nothing
                await done[left].wait()
                assert results.pop(left) == ([], None)
    assert b"".join(got) == "".join(f"{n}\n" for n in range(1, 30001)).encode()
    assert status == (5, None)
    # The host serves its next process: a read naming the last one gets none of its output.
    second = await host.start(to_wire(ProcessSpec("echo second")))
    assert second["serial"] == serial + 1
    with anyio.fail_after(5):
        assert await host.read(serial=serial, turn=0) == ([], None)
    await host.close()
    # A read waiting for output answers at once when the process is closed.
    waiting = await host.start(to_wire(ProcessSpec("sleep 30")))
    async with anyio.create_task_group() as tg:
        answer: list[object] = []

        async def wait_for_output() -> None:
            answer.append(await host.read(follow=1.0, serial=waiting["serial"], turn=0))

        tg.start_soon(wait_for_output)
        await anyio.sleep(0.2)
        with anyio.fail_after(10):
            await host.close()
            while not answer:
                await anyio.sleep(0.01)
    assert answer == [([], None)]


async def test_start_errors_come_back_as_data() -> None:
    host = ProcessHost()
    missing = await host.start(to_wire(ProcessSpec(("no-such-program-xyz",))))
    assert missing.get("not_found") is True
    assert "command not found" in missing.get("error", "")
    nowhere = await host.start(to_wire(ProcessSpec("true", cwd="/no/such/dir")))
    assert nowhere.get("not_found") is False
    assert "working directory does not exist" in nowhere.get("error", "")


async def test_stop_is_the_ladder_over_the_group_here() -> None:
    host = ProcessHost()
    started = await host.start(to_wire(ProcessSpec(py(fake("stubborn.py")))))
    await host.follow(grace=0.5)
    seen = b""
    with anyio.fail_after(30):
        while b"grandchild" not in seen or b"\nchild" not in b"\n" + seen:
            got, _ = await host.read()
            seen += b"".join(data for _, data in got)
    grandchild = int(seen.split(b"grandchild ")[1].split()[0])
    assert await host.alive()
    await host.stop(0.5)
    _, status = await drain(host)
    await host.close()
    assert status == (None, 9)  # SIGINT and SIGTERM are ignored: SIGKILL ended it
    assert not pid_alive(started["pid"]) and not pid_alive(grandchild)


async def test_sweep_kills_what_carries_the_marker() -> None:
    marker = f"test/{uuid.uuid4()}/1"
    host = ProcessHost()
    started = await host.start(to_wire(ProcessSpec("exec sleep 60", marker=marker)))
    assert marked_processes(marker) == [started["pid"]]
    assert sweep(marker) == 1
    with anyio.fail_after(10):
        while pid_alive(started["pid"]):
            await anyio.sleep(0.02)
    await host.follow(grace=0)
    _, status = await drain(host)
    await host.close()
    assert status == (None, 9)


BACKGROUND = "sleep 300 & echo bg $!; setsid sleep 300 & echo setsid $!; echo ready; wait"
"""A task leaving a group member and an escapee (its own session) running."""

HOST_SCRIPT = """
import sys, anyio
from oneshot_tui.runner.process import ProcessSpec
from oneshot_tui.runner.process_host import ProcessHost, to_wire

async def main() -> None:
    host = ProcessHost()
    started = await host.start(to_wire(ProcessSpec(sys.argv[1], marker=sys.argv[2])))
    print("leader", started["pid"], "guard", host.guard_pid, flush=True)
    await host.follow(grace=1)
    while True:
        chunks, status = await host.read()
        for _, data in chunks:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        if status is not None:
            break

anyio.run(main)
"""


def words_after(text: str, word: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith(f"{word} ")]


def test_whatever_a_task_started_dies_with_its_host_even_by_sigkill() -> None:
    marker = f"test/{uuid.uuid4()}/1"
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, BACKGROUND, marker],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdout is not None
    seen = ""
    for line in host.stdout:
        seen += line
        if line.startswith("ready"):
            break
    (leader,) = words_after(seen, "leader")
    guard = int(seen.split("guard ")[1].split()[0])
    pids = [leader, *words_after(seen, "bg"), *words_after(seen, "setsid")]
    assert len(pids) == 3 and all(pid_alive(pid) for pid in pids) and pid_alive(guard)
    host.kill()  # no atexit, no finally: only the guard is left to act
    host.wait()
    host.stdout.close()
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in [*pids, guard]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in [*pids, guard] if pid_alive(pid)] == []
    assert marked_processes(marker) == []


def test_a_host_that_exits_in_order_takes_its_process_and_escapees_along_without_a_guard() -> None:
    # Unguarded: only the host's exit handler acts, after the event loop is gone (a Ray worker
    # told to exit). It must reach the group and the escapee, found by the marker.
    marker = f"test/{uuid.uuid4()}/1"
    script = HOST_SCRIPT.replace("ProcessHost()", "ProcessHost(guarded=False)").replace(
        "        if status is not None:", "        if status is not None or b'ready' in data:"
    )
    host = subprocess.Popen(
        [sys.executable, "-c", script, BACKGROUND, marker], stdout=subprocess.PIPE, text=True
    )
    seen, _ = host.communicate(timeout=60)
    pids = [*words_after(seen, "leader"), *words_after(seen, "bg"), *words_after(seen, "setsid")]
    assert len(pids) == 3, seen
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert marked_processes(marker) == []


async def test_one_guard_serves_a_host_and_the_status_is_kept_until_closed(
    tmp_path: Path,
) -> None:
    class Kept(ProcessHost):
        def status_directory(self) -> str:
            return str(tmp_path)

    marker = f"test/{uuid.uuid4()}/1"
    host = Kept()
    await host.start(to_wire(ProcessSpec("exit 3", marker=marker)))
    guard = host.guard_pid
    assert guard is not None and pid_alive(guard)
    await host.follow(grace=0)
    _, status = await drain(host)
    assert status == (3, None)
    kept = status_file(str(tmp_path), marker)
    assert Path(kept).read_text() == "3 -\n"  # there for a caller that lost the host now
    await host.close()
    assert not Path(kept).exists()
    # One guard per host: it serves the host's next process, and nothing it watched is left.
    await host.start(to_wire(ProcessSpec("true", marker=f"{marker}-2")))
    assert host.guard_pid == guard and pid_alive(guard)
    await host.follow(grace=0)
    await drain(host)
    await host.close()
    save_status(kept, (None, 9))
    assert take_status(kept) == (None, 9) and take_status(kept) is None
