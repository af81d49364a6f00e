"""`oneshot-tui merge RUN TASK`: a finished worktree task's branch merged back into the branch it
started from, in the user's checkout (or pushed with --push); history records it."""

from __future__ import annotations

import argparse
import sys
import time

from oneshot_tui.cli.common import COMMAND_HELP, PROG
from oneshot_tui.cli.history_common import (
    RUN_HELP,
    add_data_dir,
    data_dir_of,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode

MERGE_EXIT_CODES = """exit codes:
  0    merged (or pushed, or already up to date)
  1    refused, nothing changed: the checkout is not clean or not on the branch the task started
       from (the message says what to do), the merge conflicts (it was aborted), the push failed
  2    usage error, unknown or ambiguous RUN or TASK, a task without a worktree or still running
"""


def add_merge_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merge = sub.add_parser(
        "merge",
        help=COMMAND_HELP["merge"],
        description=paragraph(
            "Merge a finished worktree task's branch into the branch it started from, in your "
            "checkout: a fast-forward where it can, else a merge commit (--squash: one new "
            "commit). Only when your checkout is clean and on that branch; a conflict aborts "
            "the merge and leaves everything as it was. --push REMOTE pushes the branch "
            "instead. History records what was merged."
        ),
        epilog=MERGE_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    merge.add_argument("run", metavar="RUN", help=RUN_HELP)
    merge.add_argument("task", metavar="TASK", help="the task's name")
    merge.add_argument("--squash", action="store_true", help="one new commit of all its changes")
    merge.add_argument(
        "--delete",
        action="store_true",
        help="then remove its worktree and branch (kept if it has uncommitted changes)",
    )
    merge.add_argument("--push", metavar="REMOTE", help="push the branch to REMOTE instead")
    add_data_dir(merge)
    merge.set_defaults(handler=guarded(_cmd_merge))


def _cmd_merge(args: argparse.Namespace) -> int:
    from oneshot_tui.store.history_data import MergeRecord
    from oneshot_tui.store.paths import worktrees_root
    from oneshot_tui.workspace import GitError, WorkspaceError
    from oneshot_tui.workspace.merge import delete_merged, merge_back, push_branch

    if args.push and (args.squash or args.delete):
        return error("--push pushes the branch as it is: it takes no --squash or --delete")
    with open_reader(args) as reader:
        run_id = reader.resolve(args.run)
        tasks = {t.name: t for t in reader.tasks(run_id)}
        task = tasks.get(args.task)
        if task is None:
            names = ", ".join(tasks) or "none"
            return error(f"run {run_id} has no task {args.task!r} (it has: {names})")
        if task.worktree is None:
            return error(f"task {args.task!r} of run {run_id} did not run in a worktree")
        if not task.state.ended and reader.is_live(run_id):
            return error(f"task {args.task!r} is still {task.state}: merge it once it has ended")
        info = task.worktree.info
        try:
            if args.push:
                merged = push_branch(info, args.push)
            else:
                merged = merge_back(info, squash=args.squash, message=_message(run_id, args.task))
        except (WorkspaceError, GitError) as exc:
            print(f"{PROG}: not merged: {exc}", file=sys.stderr)
            return ExitCode.FAILED
        note = merged.note
        if args.delete:
            kept = delete_merged(info, root=str(worktrees_root(data_dir_of(args))))
            if kept:
                note = "; ".join(n for n in (note, kept) if n)
            else:
                reader.mark_worktree_removed(run_id, args.task)
        record = MergeRecord(
            args.task,
            time.time(),
            merged.kind,
            merged.branch,
            merged.into,
            merged.commit,
            merged.commits,
            note,
        )
        reader.record_merge(run_id, args.task, record)
    verb = "pushed" if args.push else "merged"
    print(f"{verb} {merged.text()}")
    if note and note != merged.note:
        print(f"{PROG}: {note}", file=sys.stderr)
    return ExitCode.OK


def _message(run_id: str, task: str) -> str:
    return f"Merge task {task} of oneshot-tui run {run_id}"
