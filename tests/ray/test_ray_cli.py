"""The headless acceptance run with `--backend ray`: the real console script, the real cluster."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oneshot_tui.core.procfs import MARKER_VAR
from oneshot_tui.runner.descendants import marked_processes
from tests.helpers import cli_argv, pid_alive
from tests.ray.conftest import Cluster, ray_or_skip

LINES = 100_000
"""Per `seq` task: about 590 KB, so output crosses many reads and the host's buffer."""


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        input=stdin,
        timeout=300,
        check=False,
    )


def test_headless_run_on_ray_is_lossless_ordered_and_honest_about_exit_codes(
    ray_cluster: Cluster, tmp_path: Path
) -> None:
    seqs = "".join(f'\n[[task]]\nname = "seq{i}"\ncommand = "seq {LINES}"\n' for i in range(4))
    task_file = tmp_path / "tasks.toml"
    task_file.write_text(
        textwrap.dedent(
            f"""
            [run]
            backend = "ray"
            ray_address = "{ray_cluster.address}"
            num_cpus = 0.25
            grace = "2s"

            [[task]]
            name = "mixed"
            command = "echo out; echo err >&2; exit 3"
            separate_stderr = true

            [[task]]
            name = "signalled"
            command = "echo bye; kill -9 $$"
            """
        )
        + seqs
    )
    proc = run_cli("run", str(task_file), "--json")
    assert proc.returncode == 1, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    expected = [str(n) for n in range(1, LINES + 1)]
    for i in range(4):
        lines = [e["line"] for e in events if e["event"] == "output" and e["task"] == f"seq{i}"]
        assert lines == expected
    exits = {e["task"]: e for e in events if e["event"] == "exit"}
    assert exits["mixed"]["exit_code"] == 3 and exits["mixed"]["state"] == "failed"
    assert exits["signalled"]["signal"] == 9 and exits["signalled"]["exit_code"] is None
    assert all(exits[f"seq{i}"]["exit_code"] == 0 for i in range(4))
    streams = {
        (e["line"], e["stream"]) for e in events if e["event"] == "output" and e["task"] == "mixed"
    }
    assert {("out", "stdout"), ("err", "stderr")} <= streams
    processes = [e for e in events if e["event"] == "process"]
    assert len(processes) == 6 and {p["node"] for p in processes} == {"127.0.0.1"}
    final = events[-1]
    assert final["event"] == "run_finished" and final["exit_code"] == 1
    logs = {r["task"]: Path(r["log"]) for r in final["results"]}
    reference = "".join(f"{n}\n" for n in range(1, LINES + 1)).encode()
    assert all(logs[f"seq{i}"].read_bytes() == reference for i in range(4))
    assert logs["mixed"].read_bytes() in (b"out\nerr\n", b"err\nout\n")


def test_text_mode_on_ray_prefixes_whole_lines_and_records_history(
    ray_cluster: Cluster, tmp_path: Path
) -> None:
    proc = run_cli(
        "run",
        "--no-ui",
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "-c",
        "seq=seq 3",
        "-c",
        "printf=printf 'no newline'",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("seq ")] == [
        "seq    | 1",
        "seq    | 2",
        "seq    | 3",
    ]
    assert [line for line in lines if line.startswith("printf ")] == ["printf | no newline"]
    assert len(lines) == 4
    assert "seq: created -> running (pid " in proc.stderr
    assert " on node 127.0.0.1)" in proc.stderr
    # The test cluster has Ray's token authentication off: the run says so once, on stderr.
    assert proc.stderr.count("runs without authentication") == 1
    shown = run_cli("show", "last", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"completed"' in shown.stdout


def test_a_task_gets_its_own_env_exactly_and_only_the_forwarded_variables_of_ours(
    ray_cluster: Cluster, tmp_path: Path
) -> None:
    stderr = check_env_exactness(ray_cluster.address, tmp_path)
    assert ran_on(stderr) == {"env": "127.0.0.1", "here": "127.0.0.1"}


def ran_on(stderr: str) -> dict[str, str]:
    """Per task, the node the text mode's state line says it started on."""
    found = re.findall(r"^(\S+): created -> running \(pid \d+ on node (\S+)\)$", stderr, re.M)
    return dict(found)


def check_env_exactness(address: str, tmp_path: Path, placement: str = "") -> str:
    """A run of two tasks on the cluster at `address`, each placed by `placement` (a line of
    TOML for a task): one gets its own env exactly and only the forwarded variables of ours, the
    other our working directory; the CLI's stderr (which says where each task ran)."""
    # The node was started without these; the driver (the CLI) has them. SAME equals the task's
    # own value on the driver: a diff against the driver's environment used to drop it.
    secret = "fwd-secret-0123456789"
    driver_env = {**os.environ, "SAME": "x", "FWD_VALUE": secret, "NOT_FORWARDED": "leak"}
    assert "SAME" not in os.environ and "NOT_FORWARDED" not in os.environ
    out = tmp_path / "seen"
    work = tmp_path / "work"
    work.mkdir()
    task_file = tmp_path / "tasks.toml"
    task_file.write_text(
        textwrap.dedent(
            f"""
            [run]
            backend = "ray"
            ray_address = "{address}"
            num_cpus = 0.25
            forward_env = ["FWD_VALUE", "UNSET_ON_THE_DRIVER"]

            [[task]]
            name = "env"
            cwd = "{work}"
            env = {{ SAME = "x" }}
            {placement}
            command = \'\'\'
            printf '%s|%s|%s|%s|%s' "$SAME" "$FWD_VALUE" "${{NOT_FORWARDED-unset}}" \\
              "${{UNSET_ON_THE_DRIVER-unset}}" "$PWD" > {out}
            echo "forwarded: $FWD_VALUE"
            \'\'\'

            [[task]]
            name = "here"
            {placement}
            command = "echo $PWD"
            """
        )
    )
    proc = run_cli("run", str(task_file), "--no-ui", env=driver_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == f"x|{secret}|unset|unset|{work}"
    # The forwarded value is a secret: redacted in the output, the log and the history.
    assert "env  | forwarded: [REDACTED]" in proc.stdout.splitlines()
    assert f"here | {tmp_path}" in proc.stdout.splitlines()
    assert secret not in proc.stdout + proc.stderr
    shown = run_cli("show", "last", "--json", env=driver_env)
    logs = [Path(t["log"]) for t in json.loads(shown.stdout)["tasks"]]
    assert logs and all(secret not in log.read_text() for log in logs)
    return proc.stderr


def test_a_lost_worker_keeps_stdout_data_only_and_fails_its_task(ray_cluster: Cluster) -> None:
    # The task kills its own host (`$PPID`): Ray then reports a dead worker to the driver, and
    # that report must not land among the NDJSON events.
    proc = run_cli(
        "run",
        "--json",
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "-c",
        "kill=kill -9 $PPID; sleep 30",
        "-c",
        "sleep=sleep 2; echo fine",
    )
    assert proc.returncode == 1, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is an event
    exits = {e["task"]: e for e in events if e["event"] == "exit"}
    assert exits["kill"]["state"] == "failed"
    assert exits["kill"]["reason"].startswith("node lost (its Ray worker on 127.0.0.1 died")
    assert exits["sleep"]["state"] == "completed"
    # Its `sleep 30` lost its host and was swept from the node by the task's marker.
    assert marked_processes(f"{events[0]['run']}/kill/1") == []


def start_one_remote_sleeper(cluster: Cluster) -> tuple[subprocess.Popen[str], int]:
    """`oneshot-tui run --json` of one remote `sleep`, once its output has arrived; its pid."""
    proc = subprocess.Popen(
        [
            *cli_argv(),
            "run",
            "--json",
            "--backend",
            "ray",
            "--ray-address",
            cluster.address,
            "-c",
            "echo started; exec sleep 300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    pid = None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "process":
            pid = event["pid"]
        if event["event"] == "output":
            break
    assert pid is not None and pid_alive(pid)
    return proc, pid


def wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)


def test_sigint_stops_the_remote_processes_and_exits_130(ray_cluster: Cluster) -> None:
    proc, pid = start_one_remote_sleeper(ray_cluster)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    assert proc.stdout is not None
    events = [json.loads(line) for line in proc.stdout]
    proc.stdout.close()
    assert not pid_alive(pid)  # gone before oneshot-tui exits
    assert events[-1]["event"] == "run_finished" and events[-1]["exit_code"] == 130


def test_if_oneshot_tui_is_killed_its_remote_processes_end_too(ray_cluster: Cluster) -> None:
    proc, pid = start_one_remote_sleeper(ray_cluster)
    proc.kill()
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    # Ray ends the actors of a driver that died; each host stops its process on the way out.
    wait_gone(pid)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_cleanup_reaches_the_node_of_a_killed_run_and_stops_what_survived_there(
    ray_cluster: Cluster,
) -> None:
    proc, pid = start_one_remote_sleeper(ray_cluster)

    def recorded() -> list[dict[str, Any]]:
        shown = run_cli("show", "last", "--json")
        return list(json.loads(shown.stdout)["processes"]) if shown.returncode == 0 else []

    wait_for(lambda: len(recorded()) == 1, "the remote process in the history")
    (process,) = recorded()
    assert process["node"] == "127.0.0.1" and process["pid"] == pid
    run = json.loads(run_cli("show", "last", "--json").stdout)["run"]
    assert run["ray_address"] == ray_cluster.address
    proc.kill()  # SIGKILL: oneshot-tui cannot stop its task or finish its history
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    wait_gone(pid)  # Ray ends the dead driver's actors; each host's guard stops its process
    # What the guard could miss (it never does here): a process of the attempt, found on the
    # node by nothing but its marker. The node is this machine, so it is started right here.
    marker = f"{run['id']}/{process['task']}/{process['attempt']}"
    survivor = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, MARKER_VAR: marker}, start_new_session=True
    )
    try:
        nudged = run_cli("run", "--no-ui", "-c", "true")  # a local run says what may be left
        assert nudged.returncode == 0, nudged.stderr
        assert f"run {run['id']} was lost (its process died)" in nudged.stderr
        assert f"1 task(s) of lost run(s) {run['id']} ran on Ray cluster nodes" in nudged.stderr
        listed = run_cli("cleanup", stdin="n\n")
        assert listed.returncode == 1, listed.stdout + listed.stderr
        assert f"on the nodes of the Ray cluster at {ray_cluster.address}:" in listed.stdout
        assert f"task {process['task']} (attempt 1) on node 127.0.0.1" in listed.stdout
        assert survivor.poll() is None  # you said no: nothing was touched

        done = run_cli("cleanup", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        stopped = f"node 127.0.0.1: task {process['task']} (attempt 1) of run {run['id']}"
        assert f"{stopped}: stopped 1 process(es)" in done.stdout
        assert survivor.wait(timeout=30) == -signal.SIGKILL
        again = run_cli("cleanup")
        assert again.returncode == 0 and "nothing to clean up" in again.stdout
    finally:
        if survivor.poll() is None:
            survivor.kill()
            survivor.wait()


def _lost_remote_run(address: str) -> str:
    """A lost run in the history whose one attempt is open on node 10.0.0.9 of `address`."""
    from oneshot_tui.store.db import connect
    from oneshot_tui.store.paths import default_data_dir, history_db_path
    from oneshot_tui.store.procinfo import host_name
    from oneshot_tui.store.schema import migrate

    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    conn = connect(history_db_path(data_dir))
    migrate(conn)
    conn.execute(
        "INSERT INTO runs (id, started, status, host, pid, ray_address) VALUES"
        " ('20260101-000000-beef', 1.0, 'lost', ?, 1, ?)",
        (host_name(), address),
    )
    conn.execute(
        "INSERT INTO processes (run_id, task, attempt, pid, started, node) VALUES"
        " ('20260101-000000-beef', 'far', 1, 4242, 1.5, '10.0.0.9')"
    )
    conn.close()
    return "20260101-000000-beef"


def test_cleanup_names_an_unreachable_cluster_and_keeps_its_tasks_for_next_time() -> None:
    ray_or_skip()
    run = _lost_remote_run("127.0.0.1:1")
    for _ in range(2):  # left open: the next cleanup tries again
        proc = run_cli("cleanup", "--yes")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"run {run}, task far (attempt 1) on node 10.0.0.9" in proc.stdout
        assert "the Ray cluster at 127.0.0.1:1 cannot be reached" in proc.stdout
        assert "1 task(s) on cluster nodes could not be reached" in proc.stdout


def test_cleanup_says_which_nodes_left_the_cluster_and_closes_their_tasks(
    ray_cluster: Cluster,
) -> None:
    run = _lost_remote_run(ray_cluster.address)  # on 10.0.0.9, which is no node of it
    proc = run_cli("cleanup", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    left = f"node 10.0.0.9 left the cluster: task far (attempt 1) of run {run} ended with it"
    assert left in proc.stdout
    assert "stopped 0 process(es)" in proc.stdout
    again = run_cli("cleanup")
    assert again.returncode == 0 and "nothing to clean up" in again.stdout


def test_cleanup_without_ray_installed_says_so_and_leaves_the_tasks() -> None:
    _lost_remote_run("10.0.0.1:6379")
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ray"] = None  # as if it were not installed: importing it raises
        from oneshot_tui.cli import main
        sys.exit(main(["cleanup", "--yes"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot reach the Ray cluster at 10.0.0.1:6379" in proc.stdout
    assert "pip install 'oneshot-tui[ray]'" in proc.stdout


def test_an_unreachable_cluster_is_a_usage_error_and_nothing_starts(tmp_path: Path) -> None:
    ray_or_skip()
    marker = tmp_path / "ran"
    proc = run_cli(
        "run",
        "--no-ui",
        "--backend",
        "ray",
        "--ray-address",
        "127.0.0.1:1",
        "-c",
        f"touch {marker}",
    )
    assert proc.returncode == 2
    assert "cannot connect to the Ray cluster at 127.0.0.1:1" in proc.stderr
    assert not marker.exists()


def test_without_ray_installed_the_ray_backend_says_how_to_get_it() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ray"] = None  # as if it were not installed: importing it raises
        from oneshot_tui.cli import main
        sys.exit(main(["run", "--no-ui", "--backend", "ray", "-c", "true"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'oneshot-tui[ray]'" in proc.stderr


REPORT_PEAK = """
import atexit, sys

def report(path: str = sys.argv[1]) -> None:
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])

atexit.register(report)  # the first registered runs last: after the CLI let go of Ray
from oneshot_tui.cli import main
sys.exit(main(sys.argv[2:]))
"""
BIG = "head -c 37500000 /dev/urandom | base64"
"""About 50 MB of output (50,657,895 bytes: base64 lines of 76 characters)."""
PEAK_MARGIN_MB = 30
"""How much more than a tiny task's a 50 MB task may raise the driver's peak memory on Ray:
it costs about 8 MB. Replies of the host too large to come inline, kept in Ray's object store,
made it 40-70 MB (the store's pages the driver maps count in its RSS; see READ_LIMIT)."""


def peak_rss_mb(tmp_path: Path, *args: str) -> float:
    """The peak RSS of `oneshot-tui ARGS` (its own VmHWM as it exits), in MB; it must exit 0."""
    report = tmp_path / "peak"
    proc = subprocess.run(
        [sys.executable, "-c", REPORT_PEAK, str(report), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return int(report.read_text()) / 1024


def test_the_driver_s_peak_memory_does_not_grow_with_a_task_s_output(
    ray_cluster: Cluster, tmp_path: Path
) -> None:
    ray = ["run", "--no-ui", "--backend", "ray", "--ray-address", ray_cluster.address]
    tiny = peak_rss_mb(tmp_path, *ray, "-c", "seq 10")
    big = peak_rss_mb(tmp_path, *ray, "-c", f"big={BIG}")
    shown = json.loads(run_cli("show", "last", "--json").stdout)
    [log] = [Path(t["log"]) for t in shown["tasks"]]
    assert log.stat().st_size == 50_657_895  # all of it came through
    assert big - tiny < PEAK_MARGIN_MB, f"peak RSS {big:.0f} MB against {tiny:.0f} MB"
