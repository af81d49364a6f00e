"""Headless throughput against peers: 20 x `seq 50000` (1,000,000 lines) into a file.

    python bench/headless_vs_peers.py [--repeat 3] [--tasks 20] [--lines 50000]

Runs oneshot-tui (`run --no-ui`), GNU parallel (`--lb --tagstring`) and concurrently (npm) when they
are installed, one after another, with stdout to a file. For each: median wall time, peak RSS of
the largest process (GNU time's %M), lines received, and lines lost or split (checked against the
per-task sequence), then the wall-time ratio to GNU parallel. Target: oneshot-tui <= 0.6x parallel.
oneshot-tui runs twice, in text mode and with `--json` (NDJSON, one object a line); target:
`--json` within 2.5x of text mode.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import median

ROOT = Path(__file__).resolve().parent.parent
GNU_TIME = "/usr/bin/time"


def oneshot_cmd(tasks: int, lines: int, *flags: str) -> list[str]:
    exe = Path(sys.executable).parent / "oneshot-tui"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "oneshot_tui"]
    commands = [a for _ in range(tasks) for a in ("-c", f"seq {lines}")]
    return [*base, "run", "--no-ui", *flags, *commands]


def json_output(line: str) -> tuple[str, str] | None:
    """(task, line) of an `output` object of `--json`."""
    if '"event":"output"' not in line:
        return None
    obj = json.loads(line)
    return (str(obj["task"]), str(obj["line"])) if obj.get("event") == "output" else None


def parallel_cmd(tasks: int, lines: int) -> list[str]:
    return [
        "sh",
        "-c",
        f"seq {tasks} | parallel -j{tasks} -N0 --lb --tagstring 'job{{#}}' seq {lines}",
    ]


def concurrently_cmd(tasks: int, lines: int) -> list[str] | None:
    exe = shutil.which("concurrently") or next(
        (str(p) for p in ROOT.glob("**/node_modules/.bin/concurrently")), None
    )
    return [exe, *[f"seq {lines}"] * tasks] if exe else None


PARSERS: dict[str, Callable[[str], tuple[str, str] | None]] = {
    "oneshot-tui": lambda line: (
        tuple(p.strip() for p in line.split(" | ", 1)) if " | " in line else None
    ),  # type: ignore[misc]
    "oneshot-tui --json": json_output,
    "parallel": lambda line: tuple(line.split("\t", 1)) if "\t" in line else None,  # type: ignore[misc]
    "concurrently": lambda line: (
        (m.group(1), m.group(2)) if (m := re.match(r"^\[(\d+)\] (.*)$", line)) else None
    ),
}


def check(tool: str, path: Path, tasks: int, lines: int) -> tuple[int, int]:
    """(lines received, lines lost or split) against `tasks` sequences 1..lines."""
    parse = PARSERS[tool]
    per_task: dict[str, list[str]] = {}
    received = 0
    with path.open(errors="replace") as f:
        for raw in f:
            received += 1
            parsed = parse(raw.rstrip("\n"))
            if parsed is not None:
                per_task.setdefault(parsed[0], []).append(parsed[1])
    # A value that never arrives whole is lost or split. A split line shows as two wrong pieces
    # ("31", "889" for "31889"), which only cost the one value, not the rest of the sequence.
    wanted = {str(i) for i in range(1, lines + 1)}
    good = sum(len(wanted & set(values)) for values in per_task.values())
    return received, tasks * lines - min(good, tasks * lines)


def measure(tool: str, argv: list[str], tasks: int, lines: int, repeat: int) -> dict[str, float]:
    walls, rsses, lost, received = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            out = Path(tmp) / "out.txt"
            timed = [GNU_TIME, "-f", "%M", *argv] if Path(GNU_TIME).exists() else argv
            env_home = {"ONESHOT_TUI_HOME": str(Path(tmp) / "home")}
            with out.open("wb") as f, open(Path(tmp) / "err.txt", "wb") as err:
                start = time.perf_counter()
                subprocess.run(
                    timed,
                    stdout=f,
                    stderr=err,
                    check=False,
                    env={**__import__("os").environ, **env_home},
                )
                walls.append(time.perf_counter() - start)
            tail = (Path(tmp) / "err.txt").read_text(errors="replace").strip().splitlines()
            rsses.append(float(tail[-1]) / 1024 if tail and tail[-1].isdigit() else float("nan"))
            received, lost_now = check(tool, out, tasks, lines)
            lost = max(lost, lost_now)
    return {"wall": median(walls), "rss": median(rsses), "received": received, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tools: dict[str, list[str] | None] = {
        "oneshot-tui": oneshot_cmd(args.tasks, args.lines),
        "oneshot-tui --json": oneshot_cmd(args.tasks, args.lines, "--json"),
        "parallel": parallel_cmd(args.tasks, args.lines) if shutil.which("parallel") else None,
        "concurrently": concurrently_cmd(args.tasks, args.lines),
    }
    rows = {}
    for tool, argv in tools.items():
        if argv is None:
            print(f"{tool}: not installed, skipped")
            continue
        rows[tool] = measure(tool, argv, args.tasks, args.lines, args.repeat)
    total = args.tasks * args.lines
    print(f"{args.tasks} x seq {args.lines} = {total:,} lines to a file, median of {args.repeat}")
    print(
        f"{'tool':<18} {'wall s':>8} {'peak RSS MB':>12} {'lines':>10} {'lost/split':>11} {'vs parallel':>12}"
    )
    base = rows.get("parallel", {}).get("wall")
    for tool, r in rows.items():
        ratio = f"{r['wall'] / base:.2f}x" if base else "-"
        print(
            f"{tool:<18} {r['wall']:>8.3f} {r['rss']:>12.1f} {r['received']:>10,.0f} "
            f"{r['lost']:>11,.0f} {ratio:>12}"
        )
    if base and "oneshot-tui" in rows:
        print(
            f"target: oneshot-tui <= 0.6x parallel; measured {rows['oneshot-tui']['wall'] / base:.2f}x"
        )

    if "oneshot-tui --json" in rows:
        ratio = rows["oneshot-tui --json"]["wall"] / rows["oneshot-tui"]["wall"]
        print(f"target: --json <= 2.5x text mode; measured {ratio:.2f}x")


if __name__ == "__main__":
    main()
