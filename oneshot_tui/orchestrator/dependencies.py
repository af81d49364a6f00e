"""Which of a task's dependencies hold, which it still waits for, and which failed: read from the
live tasks (the orchestrator decides what to do with the answer)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.task import Task

MET, WAITING, FAILED = "met", "waiting", "failed"


def condition_status(dependency: Task, condition: str) -> str:
    """MET, WAITING or FAILED: `condition` ("completed", "ready", "started") of `dependency`.

    A dependency that ended otherwise than completed has failed only once nothing will start it
    again (its restart policy may still): until then it is waited for.
    """
    state = dependency.state
    if state is TaskState.COMPLETED:
        return MET  # what completed has started, and is as ready as it will be
    if condition == "started" and dependency.started:
        return MET
    if condition == "ready" and dependency.ready:
        return MET
    if state.ended and not dependency.scheduled:
        return FAILED
    return WAITING


@dataclass(frozen=True)
class Blocked:
    """What stands between a task and its start."""

    waiting: tuple[str, ...] = ()
    """The conditions not yet met, as people read them: "build (completed)"."""
    failed: str | None = None
    """The first dependency that failed before its condition held."""

    @property
    def text(self) -> str:
        return ", ".join(self.waiting)


def blocked(task: Task, tasks: Mapping[str, Task]) -> Blocked:
    """Which of `task`'s dependencies it still waits for, and the first that failed (a task
    with `on_dependency_failure = "run"` takes a failed one as met)."""
    run_anyway = task.spec.policy.on_dependency_failure == "run"
    waiting: list[str] = []
    failed: str | None = None
    for name, condition in task.spec.depends_on.items():
        dependency = tasks.get(name)
        if dependency is None:  # the loader and `add` refuse these; a spec given as data may not
            failed = failed or name
            continue
        status = condition_status(dependency, condition)
        if status == WAITING:
            waiting.append(f"{name} ({condition})")
        elif status == FAILED and not run_anyway:
            failed = failed or name
    return Blocked(tuple(waiting), failed)


RESULT_LINES = 200
"""A command's `result` in a prompt: its last display lines, at most this many."""


def template_values(task: Task, tasks: Mapping[str, Task]) -> dict[tuple[str, str], str]:
    """What `task`'s prompt refers to among its dependencies, except `diff_stat` (git's to
    say: `diff_stats` below): an agent's final answer or a command's last lines, a branch."""
    from oneshot_tui.core.templates import references

    agent = task.spec.agent
    values: dict[tuple[str, str], str] = {}
    for name, what in references(agent.prompt if agent is not None else ""):
        dependency = tasks.get(name)
        if dependency is None:
            continue
        if what == "result":
            if dependency.spec.agent is not None:
                values[name, what] = dependency.answer
            else:
                values[name, what] = "\n".join(dependency.view.lines()[-RESULT_LINES:])
        elif what == "branch":
            owner = worktree_owner(dependency, tasks)
            if owner is not None and owner.worktree is not None:
                values[name, what] = owner.worktree.branch
    return values


def worktree_owner(task: Task, tasks: Mapping[str, Task]) -> Task | None:
    """The task whose worktree stands for `task`'s: itself, or for a best-of-N judge its
    winner (the replica that was kept)."""
    if task.worktree is None and task.winner is not None:
        return tasks.get(task.winner)
    return task


DIFF_CHARS = 50_000
"""The most of a dependency's diff put in a prompt (its start; a note says it was cut)."""


def diff_stats(task: Task, tasks: Mapping[str, Task]) -> dict[tuple[str, str], str]:
    """`git diff --stat` (`diff_stat`) and the diff itself (`diff`) of each worktree dependency
    the prompt names (runs git: call it in a worker thread)."""
    from oneshot_tui.core.templates import references
    from oneshot_tui.workspace.diff import diff_text

    agent = task.spec.agent
    values: dict[tuple[str, str], str] = {}
    for name, what in references(agent.prompt if agent is not None else ""):
        dependency = tasks.get(name)
        if what not in ("diff_stat", "diff") or dependency is None:
            continue
        owner = worktree_owner(dependency, tasks)
        worktree = owner.worktree if owner is not None else None
        if owner is None or worktree is None:
            continue
        summary = owner.worktree_summary
        final = summary.final_commit if summary is not None else None
        try:
            text = diff_text(worktree, stat=what == "diff_stat", final_commit=final)
        except Exception as exc:  # a worktree that is gone: say so in the prompt, go on
            text = f"(no diff: {exc})"
        if len(text) > DIFF_CHARS:
            more = len(text) - DIFF_CHARS
            text = text[:DIFF_CHARS] + f"\n(the diff goes on: {more} more characters)"
        values[name, what] = text
    return values


def line_watcher(pattern: str, on_match: Callable[[str], None]) -> Callable[[str], None]:
    """A function given display text (lines joined by newlines) that calls `on_match` with the
    first line matching `pattern` (a `ready_line`)."""
    search = re.compile(pattern).search

    def watch(text: str) -> None:
        if search(text) is None:  # one search over the whole batch: most batches do not match
            return
        for line in text.split("\n"):
            if search(line):
                on_match(line)
                return

    return watch
