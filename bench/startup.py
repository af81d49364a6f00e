"""Start-up: whole commands from launch to exit, side by side with the floor each one stands on.

    python bench/startup.py [--repeat 21] [--no-tui] [--only-tui] [--no-compile]

1. `oneshot-tui run --no-ui -c true` (history recorded, as a user's run is) against the same
   venv's `python -c 'import asyncio'`: the least any asyncio program pays. Target <= 2x.
2. `oneshot-tui --help` against `python -c pass`. Target <= 2x.
3. In a real terminal (tmux, 200x50): `oneshot-tui run --exit-on-finish -c true` from launch to
   exit, against a bare Textual app that exits as soon as it is mounted, and `import asyncio` as
   a yardstick of the machine's speed. Target < 350 ms where `import asyncio` takes 50 ms (7x).

Each pair runs in turn (A B A B ...) after a warm-up round, so that a machine busy with other work
slows both alike; the ratio is the median of the ratios of neighbouring runs. Quote ratios and
medians: absolute times on a shared machine move with its load. Bytecode is compiled first
(this matters where PYTHONDONTWRITEBYTECODE=1 is set: every start would compile the modules).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import (
    compile_bytecode,
    interleaved,
    median,
    python,
    ratio_row,
    time_command,
    venv_script,
)

SIZE = (200, 50)
BARE_TEXTUAL = """\
from textual.app import App


class Bare(App[None]):
    def on_mount(self) -> None:
        self.exit()


Bare().run()
"""


def report(title: str, runs: dict[str, Any], a: str, b: str, target: str) -> None:
    print(f"\n{title}")
    row = "   {:<44} {:>10} {:>10} {:>10}"
    print(row.format("", "wall p50", "wall min", "cpu p50"))
    for name in runs:
        wall, cpu = runs[name]["wall"], runs[name]["cpu"]
        print(
            row.format(
                name,
                f"{median(wall) * 1000:.0f} ms",
                f"{min(wall) * 1000:.0f} ms",
                f"{median(cpu) * 1000:.0f} ms",
            )
        )
    print(
        f"   ratio A/B (median of neighbouring pairs): wall {ratio_row(runs, a, b, 'wall'):.2f}x,"
        f" cpu {ratio_row(runs, a, b, 'cpu'):.2f}x   ({target})"
    )


def headless_cases(repeat: int, data_dir: Path) -> None:
    cli = venv_script("oneshot-tui")
    env = {**os.environ, "ONESHOT_TUI_HOME": str(data_dir)}
    run_a = "A oneshot-tui run --no-ui -c true"
    run_b = "B python -c 'import asyncio'"
    runs = interleaved(
        {
            run_a: lambda: time_command([*cli, "run", "--no-ui", "-c", "true"], env),
            run_b: lambda: time_command([python(), "-c", "import asyncio"], env),
        },
        repeat,
    )
    report(f"1. A headless run, median of {repeat}", runs, run_a, run_b, "target <= 2x")

    help_a = "A oneshot-tui --help"
    help_b = "B python -c pass"
    runs = interleaved(
        {
            help_a: lambda: time_command([*cli, "--help"], env),
            help_b: lambda: time_command([python(), "-c", "pass"], env),
        },
        repeat,
    )
    report(f"2. --help, median of {repeat}", runs, help_a, help_b, "target <= 2x")


def harness(spec_path: Path) -> None:
    """Inside the tmux pane: run the sides in turn on this terminal and write the figures."""
    spec = json.loads(spec_path.read_text())
    env = {**os.environ, **spec["env"]}
    sides = {
        name: (lambda argv=argv: time_command(argv, env, terminal=True))
        for name, argv in spec["sides"].items()
    }
    runs = interleaved(sides, spec["repeat"])
    Path(spec["out"]).write_text(json.dumps(runs))


def tui_case(repeat: int, data_dir: Path) -> None:
    title = f"3. The TUI in tmux {SIZE[0]}x{SIZE[1]}, launch to exit, median of {repeat}"
    if shutil.which("tmux") is None:
        print(f"\n{title}: skipped (tmux is not installed)")
        return
    bare = data_dir / "bare_textual.py"
    bare.write_text(BARE_TEXTUAL)
    out = data_dir / "tui.json"
    a = "A oneshot-tui run --exit-on-finish -c true"
    b = "B a bare Textual app that exits on mount"
    c = "C python -c 'import asyncio' (a yardstick)"
    spec = {
        "sides": {
            a: [*venv_script("oneshot-tui"), "run", "--exit-on-finish", "-c", "true"],
            b: [python(), str(bare)],
            c: [python(), "-c", "import asyncio"],
        },
        "env": {"ONESHOT_TUI_HOME": str(data_dir)},
        "repeat": repeat,
        "out": str(out),
    }
    spec_path = data_dir / "tui-spec.json"
    spec_path.write_text(json.dumps(spec))
    socket = f"oneshot-bench-{os.getpid()}"
    inner = shlex.join([python(), __file__, "--harness", str(spec_path)])
    width, height = SIZE
    subprocess.run(
        [
            *("tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "b"),
            *(
                "-x",
                str(width),
                "-y",
                str(height),
                f"{inner} 2>{data_dir / 'harness.err'}; sleep 60",
            ),
        ],
        check=True,
    )
    try:
        deadline = time.monotonic() + 30 + repeat * 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not out.exists():
            err = (data_dir / "harness.err").read_text()
            raise SystemExit(f"the tmux harness gave no figures:\n{err}")
        runs = json.loads(out.read_text())
        report(title, runs, a, b, "A < 350 ms on the machine where C took 50 ms")
        print(
            f"   A in units of C (the machine's speed divided out): {ratio_row(runs, a, c, 'wall'):.1f}x"
            " (target < 7x: 350 ms where C took 50 ms)"
        )
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--no-tui", action="store_true", help="skip the TUI in tmux")
    parser.add_argument("--only-tui", action="store_true", help="only the TUI in tmux")
    parser.add_argument("--no-compile", action="store_true", help="do not compile bytecode first")
    parser.add_argument("--harness", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.harness:
        harness(args.harness)
        return
    print("on a shared machine, absolute times move with its load: compare the ratios")
    if not args.no_compile:
        print(compile_bytecode())
    with tempfile.TemporaryDirectory(prefix="oneshot-bench-") as tmp:
        data_dir = Path(tmp)
        if not args.only_tui:
            headless_cases(args.repeat, data_dir)
        if not args.no_tui:
            tui_case(args.repeat, data_dir)


if __name__ == "__main__":
    main()
