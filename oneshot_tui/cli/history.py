"""`oneshot-tui history` (recent runs) and `oneshot-tui show RUN` (its tasks and transitions)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from oneshot_tui.cli.common import COMMAND_HELP, count
from oneshot_tui.cli.history_common import (
    HISTORY_EXIT_CODES,
    RUN_HELP,
    add_data_dir,
    clock_time,
    guarded,
    open_reader,
    paragraph,
    when,
)
from oneshot_tui.core.exit_codes import ExitCode

if TYPE_CHECKING:
    from oneshot_tui.store.history_data import (
        RunRecord,
        TaskRecord,
        TransitionRecord,
        WorktreeRecord,
    )

_STATE_ORDER = ("completed", "failed", "interrupted", "running", "idle", "created")


def add_history_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = sub.add_parser(
        "history",
        help=COMMAND_HELP["history"],
        description=paragraph(
            "Recent runs, newest first: id, start, status, exit code, duration, tasks "
            "and how many ended in each state. A run whose process died shows as lost."
        ),
        epilog=HISTORY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument("-n", "--limit", type=count, default=20, metavar="N", help="runs to list")
    history.add_argument("--all", action="store_true", help="list every run")
    history.add_argument("--json", action="store_true", help="a JSON array on stdout")
    add_data_dir(history)
    history.set_defaults(handler=guarded(_cmd_history))

    show = sub.add_parser(
        "show",
        help=COMMAND_HELP["show"],
        description=paragraph(
            "One run: how it was started, its tasks (state, exit, time, attempts, log) "
            "and every state transition in order, with its time and reason."
        ),
        epilog=HISTORY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("run", metavar="RUN", help=RUN_HELP)
    show.add_argument("--json", action="store_true", help="a JSON object on stdout")
    add_data_dir(show)
    show.set_defaults(handler=guarded(_cmd_show))


# -- history ---------------------------------------------------------------------------------------


def states_text(counts: Mapping[str, int]) -> str:
    order = [s for s in _STATE_ORDER if s in counts] + sorted(set(counts) - set(_STATE_ORDER))
    return ", ".join(f"{counts[s]} {s}" for s in order) or "-"


def status_text(run: RunRecord) -> str:
    from oneshot_tui.core.report import exit_text

    if run.status == "finished":
        return exit_text(run.exit_code, run.signal)
    return run.status


def run_json(run: RunRecord, now: float) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started": run.started,
        "ended": run.ended,
        "duration": None if (took := run.duration(now)) is None else round(took, 3),
        "exit_code": run.exit_code,
        "signal": run.signal,
        "tasks": run.task_count,
        "states": dict(run.counts),
        "argv": list(run.argv),
        "cwd": run.cwd,
        "task_file": run.task_file,
        "task_file_sha256": run.task_file_sha256,
        "log_dir": run.log_dir,
        "rerun_of": run.rerun_of,
        "ray_address": run.ray_address,
    }


def _cmd_history(args: argparse.Namespace) -> int:
    from oneshot_tui.core.report import duration, render_table

    with open_reader(args) as reader:
        runs = reader.list_runs(None if args.all else max(args.limit, 0))
    now = time.time()
    if args.json:
        print(json.dumps([run_json(r, now) for r in runs], ensure_ascii=False, indent=1))
        return ExitCode.OK
    if not runs:
        print("no runs recorded yet", file=sys.stderr)
        return ExitCode.OK
    rows = [
        (
            r.id,
            when(r.started, "%Y-%m-%d %H:%M"),
            status_text(r),
            duration(r.duration(now)),
            str(r.task_count),
            states_text(r.counts),
        )
        for r in runs
    ]
    headers = ("RUN", "STARTED", "EXIT", "TIME", "TASKS", "STATES")
    print("\n".join(render_table(headers, rows)))
    return ExitCode.OK


# -- show ------------------------------------------------------------------------------------------


def task_json(task: TaskRecord) -> dict[str, Any]:
    return {
        "name": task.name,
        "kind": task.kind,
        "command": task.command,
        "state": str(task.state),
        "reason": task.reason,
        "exit_code": task.exit_code,
        "signal": task.signal,
        "attempts": task.attempts,
        "started": task.started,
        "ended": task.ended,
        "duration": task.duration,
        "log": task.log_path,
        "agent": asdict(task.agent),
        "worktree": worktree_json(task.worktree),
        "spec": task.spec,
    }


def worktree_json(record: WorktreeRecord | None) -> dict[str, Any] | None:
    """Where a worktree task ran and, once an attempt ended, what it changed there."""
    if record is None:
        return None
    doc: dict[str, Any] = {**asdict(record.info), "created": record.created}
    doc["removed"] = record.removed
    summary = record.summary
    doc["final_commit"] = summary.final_commit if summary else None
    doc["commits"] = summary.commits if summary else None
    for part in ("committed", "uncommitted", "total"):
        doc[part] = asdict(getattr(summary, part)) if summary else None
    doc["error"] = summary.error if summary else ""
    return doc


def transition_json(t: TransitionRecord) -> dict[str, Any]:
    return {
        "ts": t.ts,
        "task": t.task,
        "attempt": t.attempt,
        "from": t.source,
        "to": t.target,
        "event": t.event,
        "reason": t.reason,
    }


def _cmd_show(args: argparse.Namespace) -> int:
    with open_reader(args) as reader:
        run_id = reader.resolve(args.run)
        run = reader.run(run_id)
        tasks = reader.tasks(run_id)
        transitions = reader.transitions(run_id)
        processes = reader.processes(run_id)
        attempts = reader.attempts(run_id)
        merges = reader.merges(run_id)
    now = time.time()
    if args.json:
        doc = {
            "run": run_json(run, now),
            "tasks": [task_json(t) for t in tasks],
            "attempts": [
                {
                    "task": a.task,
                    "attempt": a.attempt,
                    "log": str(a.log_path) if a.log_path else None,
                    "state": a.state,
                    "exit_code": a.exit_code,
                    "signal": a.signal,
                    "duration": a.duration,
                    "reason": a.reason,
                }
                for a in attempts
            ],
            "transitions": [transition_json(t) for t in transitions],
            "merges": [asdict(m) for m in merges],
            "processes": [
                {
                    "task": p.task,
                    "attempt": p.attempt,
                    "pid": p.pid,
                    "node": p.node,
                    "label": p.label,
                    "started": p.started,
                    "ended": p.ended,
                }
                for p in processes
            ],
        }
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return ExitCode.OK
    lines = show_lines(run, tasks, transitions, now)
    if merges:
        lines.append("")
        for m in merges:
            into = f"pushed to {m.into}" if m.kind == "pushed" else f"merged into {m.into}"
            note = f"; {m.note}" if m.note else ""
            lines.append(
                f"{clock_time(m.ts)}  {m.task}: {m.branch} {into} ({m.kind}, {m.commits} commits,"
                f" {m.commit[:10]}){note}"
            )
    print("\n".join(lines))
    return ExitCode.OK


def show_lines(
    run: RunRecord,
    tasks: list[TaskRecord],
    transitions: list[TransitionRecord],
    now: float,
) -> list[str]:
    from oneshot_tui.core.printable import one_line
    from oneshot_tui.core.report import duration, summary_lines

    status = run.status if run.status != "finished" else f"exit {status_text(run)}"
    lines = [
        f"run        {run.id} ({status})",
        f"started    {when(run.started)}, ran {duration(run.duration(now))}",
        f"command    {shlex.join(run.argv) if run.argv else '-'}",
        f"cwd        {run.cwd or '-'}",
    ]
    if run.task_file:
        digest = f" (sha256 {run.task_file_sha256[:12]})" if run.task_file_sha256 else ""
        lines.append(f"task file  {run.task_file}{digest}")
    lines.append(f"logs       {run.log_dir}")
    if run.rerun_of:
        lines.append(f"rerun of   {run.rerun_of}")
    lines.append("")
    lines.extend(summary_lines([t.result() for t in tasks]) if tasks else ["(no tasks)"])
    for task in tasks:
        agent = agent_text(task)
        if agent:
            lines.append(f"  {one_line(task.name)}: {agent}")
    if transitions:
        width = max(len(one_line(t.task)) for t in transitions)
        lines.append("")
        for t in transitions:
            attempt = f" [attempt {t.attempt}]" if t.attempt > 1 else ""
            reason = f"  ({t.reason})" if t.reason else ""
            lines.append(
                f"{clock_time(t.ts)}  {one_line(t.task).ljust(width)}  {t.source} -> {t.target}"
                f"{attempt}{reason}"
            )
    # Whatever a task, a reason or a command line holds, nothing reaches the terminal as
    # a control sequence, and each line stays one line.
    return [one_line(line) for line in lines]


def agent_text(task: TaskRecord) -> str:
    a = task.agent
    parts = [
        f"executor {a.executor}" if a.executor else "",
        f"model {a.model}" if a.model else "",
        f"{a.iterations} iterations" if a.iterations is not None else "",
        f"verdict {a.verdict}" if a.verdict else "",
        f"tokens {a.input_tokens or 0} in / {a.output_tokens or 0} out"
        if a.input_tokens is not None or a.output_tokens is not None
        else "",
        f"${a.cost_usd:.4f}" if a.cost_usd is not None else "",
        f"session {a.agent_session_id}" if a.agent_session_id else "",
    ]
    return ", ".join(p for p in parts if p)
