"""The ray backend's overhead: 50 short tasks through the engine, on Ray against local.

    python bench/ray_overhead.py [--tasks 50] [--max-concurrent 8] [--repeat 3] [--address HOST:PORT]

Without --address it starts a private cluster on loopback, as the tests do (a head on 127.0.0.1
and a worker node on 127.0.0.2, each with half the tasks' CPUs, so a run spreads over both;
`--nodes 1` for the head alone), and stops it afterwards. Each side runs the same tasks (`seq LINES`) through the same orchestrator, logs on
disk, every line counted; only the backend differs. Prints both wall times (median of the
repeats), the ratio and the overhead per task, and the first run on its own: the cold one, which
boots every host (a Ray worker each) and is what each `oneshot-tui run` pays; connecting to the
cluster is timed on its own too, since a run pays it once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Keep a private cluster on loopback: Ray otherwise swaps 127.0.0.1 for the machine's address.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.pop("PYTHONUNBUFFERED", None)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import median


def _start(argv: list[str], temp: str, groups: list[int]) -> None:
    """`ray start` in a session of its own (its daemons share the group), until it returned."""
    proc = subprocess.Popen(
        [*argv, f"--temp-dir={temp}", "--object-store-memory=100000000", "--disable-usage-stats"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    groups.append(proc.pid)
    if proc.wait(timeout=120) != 0:
        raise SystemExit(f"ray start failed: {argv}")


@contextmanager
def private_cluster(cpus: int, nodes: int = 2) -> Iterator[str]:
    """A cluster on loopback: a head on 127.0.0.1 and, with `nodes=2`, a worker node on
    127.0.0.2 (how it joins: tests/ray/start_worker_node.py), `cpus` CPUs each."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temps = [tempfile.mkdtemp(prefix="otr-bench-") for _ in range(nodes)]
    groups: list[int] = []
    address = f"127.0.0.1:{port}"
    try:
        head = [str(Path(sys.executable).parent / "ray"), "start", "--head"]
        _start(
            [
                *head,
                "--node-ip-address=127.0.0.1",
                f"--port={port}",
                f"--num-cpus={cpus}",
                "--include-dashboard=false",
            ],
            temps[0],
            groups,
        )
        if nodes == 2:
            joins = Path(__file__).resolve().parents[1] / "tests" / "ray" / "start_worker_node.py"
            _start(
                [
                    sys.executable,
                    str(joins),
                    "start",
                    f"--address={address}",
                    "--node-ip-address=127.0.0.2",
                    f"--num-cpus={cpus}",
                ],
                temps[1],
                groups,
            )
        yield address
    finally:
        # Each node's daemons share the group its `ray start` led; stop those, nothing else.
        for group in reversed(groups):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(group, sig)
                except ProcessLookupError:
                    break
                time.sleep(3)
        for temp in temps:
            shutil.rmtree(temp, ignore_errors=True)


async def run_tasks(
    tasks: int, lines: int, concurrent: int, backend: object, data_dir: Path
) -> tuple[float, int]:
    import anyio

    from oneshot_tui.core.bus import EventBus
    from oneshot_tui.core.events import Output
    from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
    from oneshot_tui.orchestrator import Orchestrator

    bus = EventBus()
    policy = TaskPolicy(num_cpus=1)
    specs = [TaskSpec(f"t{i}", ("seq", str(lines)), policy=policy) for i in range(tasks)]
    orch = Orchestrator(
        specs,
        RunSettings(max_concurrent=concurrent),
        data_dir=data_dir,
        bus=bus,
        backend=backend,  # type: ignore[arg-type]
    )
    sub = bus.subscribe("counter", lossless=True)
    total = 0

    async def count() -> None:
        nonlocal total
        async for event in sub:
            if isinstance(event, Output):
                total += event.lines

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(count)
        result = await orch.run()
        bus.close()
    wall = time.perf_counter() - start
    assert result.exit_code == 0, [r.reason for r in result.results if r.reason]
    return wall, total


async def measure(args: argparse.Namespace, address: str) -> dict[str, list[float]]:
    from oneshot_tui.runner.backend import LocalBackend
    from oneshot_tui.runner.ray_backend import RayBackend

    ray = RayBackend(address)
    start = time.perf_counter()
    await ray.start()
    times: dict[str, list[float]] = {"connect": [time.perf_counter() - start]}
    try:
        for _ in range(args.repeat):
            for name, backend in (("local", LocalBackend()), ("ray", ray)):
                with tempfile.TemporaryDirectory() as tmp:
                    wall, got = await run_tasks(
                        args.tasks, args.lines, args.max_concurrent, backend, Path(tmp)
                    )
                assert got == args.tasks * args.lines, (name, got)
                times.setdefault(name, []).append(wall)
    finally:
        await ray.aclose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--max-concurrent", type=int, default=8, help="tasks at once (default: the run default, 8)"
    )
    parser.add_argument("--address", help="an existing cluster (default: a private one)")
    parser.add_argument(
        "--nodes", type=int, choices=(1, 2), default=2, help="nodes of the private cluster"
    )
    args = parser.parse_args()
    import anyio

    if args.address:
        times = anyio.run(measure, args, args.address)
    else:
        # Each node takes half of the tasks at once: a run of 8 spreads over both nodes.
        cpus = max(args.max_concurrent // args.nodes, 1)
        with private_cluster(cpus=cpus, nodes=args.nodes) as address:
            times = anyio.run(measure, args, address)
    local, ray = median(times["local"]), median(times["ray"])
    where = args.address or f"a private cluster of {args.nodes} node(s) on loopback"
    print(
        f"{args.tasks} tasks x `seq {args.lines}`, {args.max_concurrent} at once, "
        f"median of {args.repeat}, {os.cpu_count()} CPUs, on {where}"
    )
    print(f"{'backend':<8} {'wall s':>8}")
    print(f"{'local':<8} {local:>8.3f}")
    print(f"{'ray':<8} {ray:>8.3f}")
    per_task = (ray - local) / args.tasks * 1000
    print(f"ratio ray/local: {ray / local:.1f}x; overhead per task: {per_task:.0f} ms")
    cold_local, cold_ray = times["local"][0], times["ray"][0]
    print(
        f"first run (cold, new hosts): local {cold_local:.3f} s, ray {cold_ray:.3f} s,"
        f" ratio {cold_ray / cold_local:.1f}x"
    )
    print(f"connecting to the cluster (once per run): {times['connect'][0]:.2f} s")
    print(json.dumps({k: [round(v, 3) for v in vs] for k, vs in times.items()}))


if __name__ == "__main__":
    main()
