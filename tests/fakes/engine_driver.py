"""Runs the real orchestrator in a fresh process and prints a JSON report, peak RSS included.

Usage: engine_driver.py DATA_DIR SPECS_JSON, where SPECS_JSON is a list of {name, command}.
A subscriber that reads everything (lossy, like the UI) is attached, so the bus is exercised.
"""

import json
import sys
from pathlib import Path

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.events import Output
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator import Orchestrator


def peak_rss_kb() -> int:
    # VmHWM, not getrusage: ru_maxrss survives exec and would report the parent's peak.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


async def main() -> None:
    data_dir, raw = Path(sys.argv[1]), json.loads(sys.argv[2])
    specs = [TaskSpec(s["name"], tuple(s["command"])) for s in raw]
    bus = EventBus()
    orch = Orchestrator(specs, RunSettings(max_concurrent=len(specs)), data_dir=data_dir, bus=bus)
    sub = bus.subscribe("reader")
    seen = {"lines": 0, "missed": 0}

    async def read() -> None:
        async for event in sub:
            if isinstance(event, Output):
                seen["lines"] += event.lines
                seen["missed"] += event.missed

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        result = await orch.run()
        bus.close()
    report = {
        "exit_code": result.exit_code,
        "logs": {r.task_id: r.log_path for r in result.results},
        "states": {r.task_id: str(r.state) for r in result.results},
        "max_rss_kb": peak_rss_kb(),
        **seen,
    }
    print(json.dumps(report))


anyio.run(main)
