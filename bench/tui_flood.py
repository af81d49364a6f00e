"""The TUI under an output flood: 20 tasks x 50,000 lines at 200x50, side by side with mprocs;
and keys while 200 tasks start at once.

    python bench/tui_flood.py [--repeat 3] [--tasks 20] [--lines 50000] [--mprocs PATH]
                              [--install-mprocs] [--skip-terminal] [--many 200] [--only-many]

Two parts, each run in fresh processes:

1. In-process (Textual headless, `run_test(size=(200, 50))`): the real app on `seq LINES` per
   task, and again on 80-column lines. Reports the wall time until every task's last line is in
   its pane, the time a key takes to be handled while the flood is on (a `j`/`k` posted every
   20 ms; from posting to the action running), the process's peak RSS, and how many panes showed
   a gap at the end (the bus drops lines for a UI that falls behind; a pane shows the gap, and
   a task that ended gets its true last lines back from the engine).
2. In a real terminal (tmux, 200x50): `oneshot-tui run --exit-on-finish` against
   `mprocs --on-all-finished '{c: quit}'` with the same scrollback, wall time from launch to exit
   and the peak RSS of the app (VmHWM, sampled every 20 ms; for oneshot-tui the TUI and its run's
   server process summed, since the TUI is a client of the run's control socket). mprocs comes from --mprocs,
   PATH, a node_modules folder under /tmp or the project, or --install-mprocs (npm, into a temp
   dir). Targets (issue 4): faster than mprocs, lower RSS at equal scrollback, keys < 100 ms.
3. Many tasks at once (in-process, headless Textual, 200x50): `--many N` tasks (200 by default)
   start together, each printing a line every 0.1 s for 3 s; keys are posted every 20 ms from the
   first frame until every task has ended. Reports the key latency (target, issue 9: < 100 ms),
   the time until all ended and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import median, peak_rss_kb

ROOT = Path(__file__).resolve().parent.parent
SIZE = (200, 50)
WIDE_PREFIX = "x" * 70  # with " N" this makes lines of about 76 columns


# -- part 1: the app in this process, headless ----------------------------------------------------


async def inner(tasks: int, lines: int, scrollback: int, wide: bool) -> dict[str, Any]:
    from textual import events

    from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
    from oneshot_tui.ui.app import make_app
    from oneshot_tui.ui.screens.main import MainScreen

    handled: list[float] = []
    move = MainScreen.action_move

    def timed_move(self: MainScreen, delta: int) -> None:
        handled.append(time.perf_counter())
        move(self, delta)

    MainScreen.action_move = timed_move  # type: ignore[method-assign]

    if wide:
        command: tuple[str, ...] = (
            sys.executable,
            str(ROOT / "tests" / "fakes" / "lines.py"),
            WIDE_PREFIX,
            str(lines),
        )
        last = f"{WIDE_PREFIX} {lines}"
    else:
        command, last = ("seq", str(lines)), str(lines)
    policy = TaskPolicy(scrollback=scrollback, pty=os.environ.get("BENCH_PTY") == "1")
    specs = [TaskSpec(f"t{i:02d}", command, policy=policy) for i in range(tasks)]
    data_dir = Path(tempfile.mkdtemp(prefix="oneshot-bench-"))
    start = time.perf_counter()
    app = make_app(specs, RunSettings(max_concurrent=tasks), data_dir=data_dir)
    sent: list[float] = []

    def all_shown() -> bool:
        for info in app.model.tasks.values():
            buffer = info.buffer
            tail = range(max(buffer.start, buffer.end - 3), buffer.end)
            if not any(buffer.marker(n) is None and buffer.line(n) == last for n in tail):
                return False
        return True

    async with app.run_test(size=SIZE) as pilot:
        while not all_shown():
            key = "j" if len(sent) % 2 == 0 else "k"
            sent.append(time.perf_counter())
            app.post_message(events.Key(key, key))
            await asyncio.sleep(0.02)
        shown = time.perf_counter() - start
        await pilot.pause(0.1)
        gaps = sum(1 for info in app.model.tasks.values() if info.buffer.markers)
        app.command("stop", reason="bench over")
        while app.result is None:
            await pilot.pause(0.02)
    latencies = [(h - s) * 1000 for s, h in zip(sent, handled, strict=False)]
    return {
        "shown": shown,
        "keys": len(latencies),
        "key_median_ms": statistics.median(latencies) if latencies else None,
        "key_p95_ms": sorted(latencies)[int(len(latencies) * 0.95)] if latencies else None,
        "key_max_ms": max(latencies) if latencies else None,
        "rss_kb": peak_rss_kb(),
        "gaps": gaps,
    }


async def inner_many(tasks: int) -> dict[str, Any]:
    from textual import events

    from oneshot_tui.core.spec import RunSettings, TaskSpec
    from oneshot_tui.ui.app import make_app
    from oneshot_tui.ui.screens.main import MainScreen

    handled: list[float] = []
    move = MainScreen.action_move

    def timed_move(self: MainScreen, delta: int) -> None:
        handled.append(time.perf_counter())
        move(self, delta)

    MainScreen.action_move = timed_move  # type: ignore[method-assign]
    ticker = str(ROOT / "tests" / "fakes" / "ticker.py")
    specs = [
        TaskSpec(f"t{i:03d}", (sys.executable, ticker, "tick", "0.1", "30")) for i in range(tasks)
    ]
    data_dir = Path(tempfile.mkdtemp(prefix="oneshot-bench-"))
    start = time.perf_counter()
    app = make_app(specs, RunSettings(max_concurrent=tasks), data_dir=data_dir)
    sent: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        while app.model.finished is None:
            key = "j" if len(sent) % 2 == 0 else "k"
            sent.append(time.perf_counter())
            app.post_message(events.Key(key, key))
            await asyncio.sleep(0.02)
        ended = time.perf_counter() - start
        while len(handled) < len(sent):
            await pilot.pause(0.02)
        exit_code = app.model.finished.exit_code
        app.exit()
    latencies = sorted((h - s) * 1000 for s, h in zip(sent, handled, strict=True))
    return {
        "ended": ended,
        "exit_code": exit_code,
        "keys": len(latencies),
        "key_median_ms": statistics.median(latencies) if latencies else None,
        "key_p95_ms": latencies[int(len(latencies) * 0.95)] if latencies else None,
        "key_max_ms": latencies[-1] if latencies else None,
        "rss_kb": peak_rss_kb(),
    }


def run_inner_many(tasks: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--inner-many", str(tasks)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def report_many(tasks: int, repeat: int) -> None:
    print(
        f"\n3. {tasks} tasks at once (headless Textual, {SIZE[0]}x{SIZE[1]}): each prints a line"
        " every 0.1 s for 3 s; keys posted every 20 ms until all have ended"
    )
    header = "   {:<34} {:>10} {:>10} {:>10} {:>10} {:>9}"
    print(header.format("case", "all ended", "key p50", "key p95", "key max", "peak RSS"))
    runs = [run_inner_many(tasks) for _ in range(repeat)]
    assert all(r["exit_code"] == 0 for r in runs), runs
    print(
        header.format(
            f"{tasks} tasks, {median([r['keys'] for r in runs]):.0f} keys per run",
            f"{median([r['ended'] for r in runs]):.2f} s",
            fmt_ms(median([r["key_median_ms"] or 0 for r in runs])),
            fmt_ms(median([r["key_p95_ms"] or 0 for r in runs])),
            fmt_ms(max(r["key_max_ms"] or 0 for r in runs)),
            f"{median([r['rss_kb'] for r in runs]) / 1024:.0f} MB",
        )
    )


def run_inner(tasks: int, lines: int, scrollback: int, wide: bool) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--inner", str(tasks), str(lines), str(scrollback)]
    if wide:
        argv.append("--wide")
    proc = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- part 2: a real terminal (tmux) ---------------------------------------------------------------


def find_mprocs(explicit: str | None, install: bool) -> str | None:
    if explicit:
        return explicit
    found = shutil.which("mprocs")
    candidates = [*Path("/tmp").glob("*/node_modules/mprocs"), *ROOT.glob("**/node_modules/mprocs")]
    if found is None and not candidates and install and shutil.which("npm"):
        where = Path(tempfile.mkdtemp(prefix="mprocs-npm-"))
        subprocess.run(["npm", "install", "--silent", "mprocs"], cwd=where, check=True)
        candidates = [where / "node_modules" / "mprocs"]
    for package in candidates:
        # The npm package's bin is a node wrapper; measure the native binary it starts.
        for binary in package.glob("mprocs-*-linux-x86_64*/mprocs"):
            return str(binary)
    return found


def vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def same_exe_children(pid: int) -> list[int]:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = []
    for child in map(int, children):
        try:
            if os.readlink(f"/proc/{child}/exe") == exe:
                found.append(child)
        except OSError:
            continue
    return found


def in_tmux(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds from launch to exit, and the process's peak RSS (kB), in a 200x50 tmux."""
    socket = f"oneshot-bench-{os.getpid()}-{time.monotonic_ns()}"  # a fresh server each run
    pidfile = cwd / "pid"
    pidfile.unlink(missing_ok=True)
    script = f"echo $$ > {shlex.quote(str(pidfile))}; exec {shlex.join(command)}"
    shell = f"sh -c {shlex.quote(script)}; sleep 30"
    width, height = SIZE
    start = time.perf_counter()
    subprocess.run(
        [
            *("tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "b"),
            *("-x", str(width), "-y", str(height), "-c", str(cwd), shell),
        ],
        check=True,
    )
    try:
        while not pidfile.exists() or not pidfile.read_text().strip():
            time.sleep(0.005)
        pid = int(pidfile.read_text().strip())
        status = Path(f"/proc/{pid}/status")
        peaks: dict[int, int] = {}
        """Peak RSS per process of the app: its own, and (oneshot-tui) its run's server, a
        forked child of the same executable; a task (another executable) is not the app."""
        while True:
            try:
                text = status.read_text()
            except OSError:
                break
            if "State:\tZ" in text:
                break
            for proc in (pid, *same_exe_children(pid)):
                peaks[proc] = max(peaks.get(proc, 0), vm_hwm(proc))
            time.sleep(0.02)
        return time.perf_counter() - start, sum(peaks.values())
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False, capture_output=True)
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / socket).unlink(missing_ok=True)  # kill-server leaves it behind


def oneshot_command(workdir: Path, tasks: int, lines: int, scrollback: int) -> list[str]:
    taskfile = workdir / f"flood-{scrollback}.toml"
    body = [f"[run]\nmax_concurrent = {tasks}\nscrollback = {scrollback}\n"]
    body += [f'[[task]]\nname = "t{i:02d}"\ncommand = "seq {lines}"\n' for i in range(tasks)]
    taskfile.write_text("\n".join(body))
    exe = Path(sys.executable).parent / "oneshot-tui"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "oneshot_tui"]
    return [*base, "run", "--exit-on-finish", "--data-dir", str(workdir / "data"), str(taskfile)]


def mprocs_command(
    workdir: Path, binary: str, tasks: int, lines: int, scrollback: int
) -> list[str]:
    config = workdir / f"mprocs-{scrollback}.yaml"
    procs = "\n".join(f'  t{i:02d}: {{shell: "seq {lines}"}}' for i in range(tasks))
    config.write_text(f"scrollback: {scrollback}\nprocs:\n{procs}\n")
    return [binary, "-c", str(config), "--on-all-finished", "{c: quit}"]


# -- the report -----------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--mprocs", help="path to the mprocs binary")
    parser.add_argument("--install-mprocs", action="store_true", help="npm install it if missing")
    parser.add_argument("--skip-terminal", action="store_true", help="only the in-process part")
    parser.add_argument("--many", type=int, default=200, help="tasks at once for part 3 (0: skip)")
    parser.add_argument("--only-many", action="store_true", help="only part 3")
    parser.add_argument(
        "--pty", action="store_true", help="part 1 with pty = true: through the terminal emulator"
    )
    args = parser.parse_args()
    if args.pty:
        os.environ["BENCH_PTY"] = "1"  # read by part 1's fresh processes
    n, lines = args.tasks, args.lines
    if args.only_many:
        report_many(args.many, args.repeat)
        return

    print(f"{n} tasks x {lines:,} lines, {SIZE[0]}x{SIZE[1]}, median of {args.repeat} runs\n")
    print(
        "1. In-process (headless Textual): the real app, keys posted every 20 ms during the flood"
    )
    header = "   {:<34} {:>10} {:>10} {:>10} {:>10} {:>9} {:>5}"
    print(header.format("case", "all shown", "key p50", "key p95", "key max", "peak RSS", "gaps"))
    for wide in (False, True):
        for scrollback in (1000, 10_000):
            runs = [run_inner(n, lines, scrollback, wide) for _ in range(args.repeat)]
            label = f"{'80-column lines' if wide else 'seq'}, scrollback {scrollback:,}"
            print(
                header.format(
                    label,
                    f"{median([r['shown'] for r in runs]):.2f} s",
                    fmt_ms(median([r["key_median_ms"] or 0 for r in runs])),
                    fmt_ms(median([r["key_p95_ms"] or 0 for r in runs])),
                    fmt_ms(max(r["key_max_ms"] or 0 for r in runs)),
                    f"{median([r['rss_kb'] for r in runs]) / 1024:.0f} MB",
                    max(r["gaps"] for r in runs),
                )
            )

    if args.many:
        report_many(args.many, args.repeat)
    if args.skip_terminal:
        return
    if shutil.which("tmux") is None:
        print("\n2. Terminal: skipped (tmux is not installed)")
        return
    mprocs = find_mprocs(args.mprocs, args.install_mprocs)
    print(f"\n2. Real terminal (tmux {SIZE[0]}x{SIZE[1]}): launch to exit, peak RSS of the app")
    row = "   {:<40} {:>10} {:>10}"
    print(row.format("", "wall", "peak RSS"))
    with tempfile.TemporaryDirectory(prefix="oneshot-bench-") as tmp:
        workdir = Path(tmp)
        for scrollback in (1000, 10_000):
            cases = [("oneshot-tui", oneshot_command(workdir, n, lines, scrollback))]
            if mprocs:
                cases.append(("mprocs", mprocs_command(workdir, mprocs, n, lines, scrollback)))
            for name, command in cases:
                measured = [in_tmux(command, workdir) for _ in range(args.repeat)]
                walls = sorted(w for w, _ in measured)
                print(
                    row.format(
                        f"{name}, scrollback {scrollback:,}",
                        f"{median(walls):.2f} s",
                        f"{median([float(r) for _, r in measured]) / 1024:.0f} MB",
                    )
                )
        if not mprocs:
            print("   mprocs: not found (give --mprocs PATH or --install-mprocs)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner-many":
        print(json.dumps(asyncio.run(inner_many(int(sys.argv[2])))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--inner":
        tasks, lines, scrollback = (int(v) for v in sys.argv[2:5])
        report = asyncio.run(inner(tasks, lines, scrollback, "--wide" in sys.argv))
        print(json.dumps(report))
    else:
        main()
