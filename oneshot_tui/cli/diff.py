"""`oneshot-tui diff RUN [TASK]`: what a worktree task changed, against its base commit."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from oneshot_tui.cli.common import COMMAND_HELP
from oneshot_tui.cli.history_common import (
    RUN_HELP,
    add_data_dir,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode
from oneshot_tui.core.printable import one_line

if TYPE_CHECKING:
    from oneshot_tui.store.history_data import TaskRecord

DIFF_EXIT_CODES = """exit codes:
  0    the diff was printed (it may be empty: the task changed nothing)
  1    there is nothing to show it from any more (the worktree and its commits are gone)
  2    usage error, unknown or ambiguous RUN, a task without a worktree, an unreadable history
"""


def add_diff_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser(
        "diff",
        help=COMMAND_HELP["diff"],
        description=paragraph(
            "Print the diff of a task that ran in a git worktree, against the commit its "
            "worktree started from: its commits and whatever it left uncommitted (untracked "
            "files too, not ignored ones). Coloured on a terminal. Without TASK, every worktree "
            "task of the run, each after a '==> TASK (BRANCH) <==' header. A removed worktree "
            "is shown from its last recorded commit while the repository still has it."
        ),
        epilog=DIFF_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("run", metavar="RUN", help=RUN_HELP)
    diff.add_argument("task", metavar="TASK", nargs="?", help="the task's name")
    scope = diff.add_mutually_exclusive_group()
    scope.add_argument(
        "--committed", action="store_true", help="only the branch's commits (what a merge brings)"
    )
    scope.add_argument(
        "--uncommitted", action="store_true", help="only the changes left uncommitted"
    )
    diff.add_argument("--stat", action="store_true", help="a diffstat instead of the diff")
    diff.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the diff (auto: on a terminal, unless NO_COLOR is set)",
    )
    add_data_dir(diff)
    diff.set_defaults(handler=guarded(_cmd_diff))


def wants_colour(choice: str) -> bool:
    if choice == "auto":
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return choice == "always"


def _cmd_diff(args: argparse.Namespace) -> int:
    from oneshot_tui.workspace import GitError, Scope, WorkspaceError, diff_text

    with open_reader(args) as reader:
        run_id = reader.resolve(args.run)
        tasks = reader.tasks(run_id)
    chosen: list[TaskRecord]
    if args.task is not None:
        chosen = [t for t in tasks if t.name == args.task]
        if not chosen:
            names = ", ".join(one_line(t.name) for t in tasks) or "none"
            return error(f"run {run_id} has no task {args.task!r} (it has: {names})")
        if chosen[0].worktree is None:
            return error(f"task {args.task!r} of run {run_id} did not run in a worktree")
    else:
        chosen = [t for t in tasks if t.worktree is not None]
        if not chosen:
            return error(f"no task of run {run_id} ran in a worktree")
    scope = (
        Scope.COMMITTED if args.committed else Scope.UNCOMMITTED if args.uncommitted else Scope.ALL
    )
    colour = wants_colour(args.color)
    out = sys.stdout.buffer
    failed = 0
    for task in chosen:
        record = task.worktree
        assert record is not None
        if len(chosen) > 1:
            out.write(f"==> {one_line(task.name)} ({record.info.branch}) <==\n".encode())
        try:
            text = diff_text(
                record.info,
                colour=colour,
                scope=scope,
                stat=args.stat,
                final_commit=record.final_commit,
            )
        except (WorkspaceError, GitError) as exc:
            print(f"oneshot-tui: {one_line(task.name)}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if not os.path.isdir(record.info.path):
            print(
                f"oneshot-tui: {one_line(task.name)}: its worktree was removed;"
                " showing its last commit",
                file=sys.stderr,
            )
        out.write(text.encode("utf-8", "surrogateescape"))
        out.flush()
    return ExitCode.FAILED if failed else ExitCode.OK
