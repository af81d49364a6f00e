"""`oneshot-tui rerun RUN [--failed]`: a new run of a past run's tasks, started the way `run` is."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from oneshot_tui.cli.common import COMMAND_HELP, EXIT_CODES_HELP, PROG
from oneshot_tui.cli.history_common import (
    RUN_HELP,
    add_data_dir,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode
from oneshot_tui.store.paths import prepare_data_dir

if TYPE_CHECKING:
    from oneshot_tui.core.spec import TaskSpec


def add_rerun_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rerun = sub.add_parser(
        "rerun",
        help=COMMAND_HELP["rerun"],
        description=paragraph(
            "Start a new run with the same task specs and run settings as RUN (as they "
            "were recorded, not as the task file says now). --failed takes only the tasks that did "
            "not complete: failed, interrupted, lost or never started."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rerun.add_argument("run", metavar="RUN", help=RUN_HELP)
    rerun.add_argument("--failed", action="store_true", help="only the tasks that did not complete")
    rerun.add_argument("--no-ui", action="store_true", help="run headless even on a terminal")
    rerun.add_argument("--json", action="store_true", help="headless, with NDJSON events on stdout")
    add_data_dir(rerun)
    rerun.set_defaults(handler=guarded(_cmd_rerun))


def without_what_completed(specs: list[TaskSpec]) -> list[TaskSpec]:
    """The specs rerun, waiting only for each other: a dependency left out completed in the
    run rerun (what did not complete is rerun too, and waited for again)."""
    names = {spec.name for spec in specs}
    return [
        replace(spec, depends_on={k: v for k, v in spec.depends_on.items() if k in names})
        if any(name not in names for name in spec.depends_on)
        else spec
        for spec in specs
    ]


def _cmd_rerun(args: argparse.Namespace) -> int:
    from oneshot_tui.cli.run import launch
    from oneshot_tui.config import RunConfig
    from oneshot_tui.core.states import TaskState
    from oneshot_tui.store.run_origin import RunOrigin
    from oneshot_tui.store.specs import MissingSecret, settings_from_json, spec_from_json

    with open_reader(args) as reader:
        run_id = reader.resolve(args.run)
        past = reader.run(run_id)
        tasks = reader.tasks(run_id)
    chosen = [t for t in tasks if not args.failed or t.state is not TaskState.COMPLETED]
    if not chosen:
        print(f"{PROG}: run {run_id}: every task completed; nothing to rerun", file=sys.stderr)
        return ExitCode.OK
    unknown = [t.name for t in chosen if t.spec is None]
    if unknown:
        return error(f"run {run_id}: the specs of {', '.join(unknown)} were not recorded")
    specs = []
    for task in chosen:
        assert task.spec is not None
        try:
            spec = spec_from_json(dict(task.spec))
        except MissingSecret as exc:
            return error(str(exc))
        # A task without its own cwd ran where the run was started, not where we are now.
        specs.append(spec if spec.cwd is not None else replace(spec, cwd=past.cwd or None))
    specs = without_what_completed(specs)
    task_file = Path(past.task_file) if past.task_file else None
    config = RunConfig(settings_from_json(dict(past.settings)), tuple(specs), task_file=task_file)
    origin = replace(
        RunOrigin.of((PROG, *getattr(args, "argv", ())), rerun_of=run_id),
        task_file=past.task_file,
        task_file_sha256=past.task_file_sha256,
    )
    what = f"{len(specs)} of {len(tasks)} tasks" if args.failed else f"{len(specs)} tasks"
    print(f"{PROG}: rerunning {what} of run {run_id}", file=sys.stderr)
    data_dir = prepare_data_dir(args.data_dir)
    return launch(config, data_dir, no_ui=args.no_ui, json_mode=args.json, origin=origin)
