"""`oneshot-tui worktrees` (list worktree tasks' worktrees) and `worktrees clean` (remove them).

Removing a worktree also deletes its branch, so `clean` removes only what loses nothing: a
worktree whose branch is merged into the branch it started from (or that has no commits) and that
holds no uncommitted changes. Anything else needs `--force`. A worktree of a live run is never
removed: an agent may be working in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oneshot_tui.cli.common import COMMAND_HELP
from oneshot_tui.cli.history_common import (
    add_data_dir,
    data_dir_of,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode
from oneshot_tui.core.printable import one_line

if TYPE_CHECKING:
    from oneshot_tui.store.history import History
    from oneshot_tui.store.history_data import TaskRecord
    from oneshot_tui.workspace import Review

WORKTREES_EXIT_CODES = """exit codes:
  0    done (clean: every chosen worktree was removed, or there was none)
  1    clean: some worktrees were kept (unmerged commits or uncommitted changes without
       --force, a live run, or git refused)
  2    usage error, unknown or ambiguous RUN, or an unreadable history
"""


def add_worktrees_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worktrees = sub.add_parser(
        "worktrees",
        help=COMMAND_HELP["worktrees"],
        description=paragraph(
            "List the git worktrees of tasks run with worktree = true, newest run first: run, "
            "task, branch, state, what changed against the base commit (uncommitted changes "
            "too) and age. States: live (its run is going), unmerged (commits not in the base "
            "branch), dirty (uncommitted changes), merged, unchanged, missing (the directory "
            "is gone), orphaned (the repository is gone)."
        ),
        epilog=WORKTREES_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worktrees.add_argument("--json", action="store_true", help="a JSON array on stdout")
    worktrees.add_argument(
        "--all", action="store_true", help="also the ones 'worktrees clean' removed"
    )
    add_data_dir(worktrees)
    worktrees.set_defaults(handler=guarded(_cmd_list))
    actions = worktrees.add_subparsers(dest="action", metavar="{clean}")
    clean = actions.add_parser(
        "clean",
        help="remove worktrees and their branches",
        description=paragraph(
            "Remove worktrees (git worktree remove) and delete their branches. Only those "
            "that lose nothing are removed: the branch merged into the branch the task started "
            "from (or no commits), and no uncommitted changes. --force removes the others too. "
            "A worktree of a live run is never removed."
        ),
        epilog=WORKTREES_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    clean.add_argument("run", metavar="RUN", nargs="?", help="only this run's (id, prefix, last)")
    clean.add_argument("--merged", action="store_true", help="only those whose branch is merged")
    clean.add_argument(
        "--older-than", metavar="AGE", help='only those made over AGE ago: "7d", "12h", "30m"'
    )
    clean.add_argument(
        "--force", action="store_true", help="also unmerged ones and uncommitted changes"
    )
    clean.add_argument(
        "-n", "--dry-run", action="store_true", help="say what would be removed; remove nothing"
    )
    clean.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,  # else `worktrees --data-dir X clean` would lose X
        help="where runs and logs are kept (default: $ONESHOT_TUI_HOME or the user data dir)",
    )
    clean.set_defaults(handler=guarded(_cmd_clean))


@dataclass(frozen=True, slots=True)
class Entry:
    task: TaskRecord
    review: Review


def _review_all(reader: History, tasks: list[TaskRecord]) -> list[Entry]:
    from oneshot_tui.workspace import review

    live: dict[str, bool] = {}
    entries = []
    for task in tasks:
        assert task.worktree is not None
        if task.run_id not in live:
            live[task.run_id] = reader.is_live(task.run_id)
        entries.append(Entry(task, review(task.worktree.info, live=live[task.run_id])))
    return entries


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def changes_text(entry: Entry) -> str:
    summary = entry.review.summary
    if summary is None:  # gone: say what was last recorded
        assert entry.task.worktree is not None
        summary = entry.task.worktree.summary
        return f"({summary.changes_text()})" if summary is not None else "-"
    return summary.changes_text()


def entry_json(entry: Entry, now: float) -> dict[str, Any]:
    record = entry.task.worktree
    assert record is not None
    summary = entry.review.summary
    return {
        "run": entry.task.run_id,
        "task": entry.task.name,
        **asdict(record.info),
        "state": entry.review.state,
        "created": record.created,
        "age": None if record.created is None else round(now - record.created, 3),
        "removed": record.removed,
        "unmerged_commits": entry.review.unmerged,
        "commits": summary.commits if summary else None,
        "final_commit": summary.final_commit if summary else record.final_commit,
        "committed": asdict(summary.committed) if summary else None,
        "uncommitted": asdict(summary.uncommitted) if summary else None,
        "total": asdict(summary.total) if summary else None,
        "blockers": entry.review.blockers(),
    }


def _cmd_list(args: argparse.Namespace) -> int:
    from oneshot_tui.core.report import render_table

    with open_reader(args) as reader:
        entries = _review_all(reader, reader.worktree_tasks(removed=args.all))
    now = time.time()
    if args.json:
        print(json.dumps([entry_json(e, now) for e in entries], ensure_ascii=False, indent=1))
        return ExitCode.OK
    if not entries:
        print("no worktrees recorded", file=sys.stderr)
        return ExitCode.OK
    rows = []
    for e in entries:
        record = e.task.worktree
        assert record is not None
        state = "removed" if record.removed is not None else e.review.state
        age = None if record.created is None else now - record.created
        rows.append(
            (
                e.task.run_id,
                e.task.name,
                record.info.branch,
                state,
                changes_text(e),
                age_text(age),
                record.info.path,
            )
        )
    headers = ("RUN", "TASK", "BRANCH", "STATE", "CHANGES", "AGE", "PATH")
    print("\n".join(render_table(headers, rows)))
    return ExitCode.OK


def _cmd_clean(args: argparse.Namespace) -> int:
    from oneshot_tui.config.fields import FieldError, seconds
    from oneshot_tui.store.paths import worktrees_root
    from oneshot_tui.workspace import State

    older_than = None
    if args.older_than is not None:
        try:
            older_than = seconds(args.older_than)
        except FieldError as exc:
            return error(f"--older-than: {exc}")
    now = time.time()
    root = worktrees_root(data_dir_of(args))
    with open_reader(args) as reader:
        tasks = reader.worktree_tasks()
        if args.run is not None:
            run_id = reader.resolve(args.run)
            tasks = [t for t in tasks if t.run_id == run_id]
        if older_than is not None:
            tasks = [t for t in tasks if _age(t, now) >= older_than]
        entries = _review_all(reader, tasks)
        if args.merged:
            chosen = {State.MERGED, State.UNCHANGED, State.DIRTY, State.MISSING}
            entries = [e for e in entries if e.review.state in chosen and not e.review.unmerged]
        if not entries:
            print("no worktrees to clean")
            return ExitCode.OK
        kept = 0
        for entry in entries:
            kept += not _clean_one(reader, entry, root, force=args.force, dry_run=args.dry_run)
    return ExitCode.FAILED if kept else ExitCode.OK


def _age(task: TaskRecord, now: float) -> float:
    """Seconds since the worktree was made (0 if history does not know: never "old")."""
    created = task.worktree.created if task.worktree is not None else None
    return 0.0 if created is None else now - created


def _clean_one(reader: History, entry: Entry, root: Path, *, force: bool, dry_run: bool) -> bool:
    """Remove one worktree and its branch if allowed; False if it was kept."""
    from oneshot_tui.workspace import State, WorkspaceError, remove_worktree

    task, review = entry.task, entry.review
    name = f"{task.run_id} {one_line(task.name)} ({review.info.branch})"
    blockers = review.blockers()
    if review.state == State.LIVE:
        print(f"kept {name}: its run is still live")
        return False
    if blockers and not force:
        print(f"kept {name}: {'; '.join(blockers)} (--force removes it)")
        return False
    if dry_run:
        print(f"would remove {name}: {review.info.path}")
        return True
    try:
        note = remove_worktree(review.info, force=force, root=str(root))
    except WorkspaceError as exc:
        print(f"kept {name}: {exc}")
        return False
    reader.mark_worktree_removed(task.run_id, task.name)
    print(f"removed {name}: {review.info.path}")
    if note:
        print(f"  {note}")
    run_dir = root / task.run_id
    if run_dir.is_dir() and not any(run_dir.iterdir()):
        os.rmdir(run_dir)
    return True
