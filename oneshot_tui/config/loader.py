"""Reading task files and config files into a `RunConfig`."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from oneshot_tui.config.command_names import name_from_command, split_named
from oneshot_tui.config.errors import ConfigError
from oneshot_tui.config.fields import (
    AGENT_FIELDS,
    AGENT_KEYS,
    BEST_OF_FIELDS,
    DEPENDENCY_FIELDS,
    LOOP_FIELDS,
    POLICY_FIELDS,
    RUN_FIELDS,
    TASK_BASE_KEYS,
    Field,
    FieldError,
    text,
)
from oneshot_tui.config.locate import KeyLocator, Where
from oneshot_tui.core.names import UniqueNames
from oneshot_tui.core.spec import (
    AGENTS,
    AgentSettings,
    Budget,
    IdleAction,
    JudgeSettings,
    LoopSettings,
    RunSettings,
    TaskPolicy,
    TaskSpec,
)

PROJECT_CONFIG_NAME = "oneshot-tui.toml"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def user_config_path() -> Path:
    from oneshot_tui.core.userdirs import user_dir

    return user_dir("config") / PROJECT_CONFIG_NAME


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, from its files and flags."""

    settings: RunSettings
    specs: tuple[TaskSpec, ...]
    task_file: Path | None = None
    task_file_text: str | None = None
    sources: tuple[Path, ...] = field(default_factory=tuple)
    """The config files that were read, lowest precedence first."""
    policy: TaskPolicy = field(default_factory=TaskPolicy)
    """The run-level task policy (what a task without its own keys gets)."""


@dataclass
class _TomlFile:
    """A TOML file as read: its text and data, and where its keys are (for errors)."""

    path: Path
    text: str
    data: dict[str, Any]
    _locator: KeyLocator | None = None
    label: str | None = None
    """What errors name instead of `path` (tables given as data have no file)."""

    @property
    def locator(self) -> KeyLocator:
        """Built on first use: line numbers are needed only to report an error."""
        if self._locator is None:
            self._locator = KeyLocator(self.text)
        return self._locator

    @classmethod
    def read(cls, path: Path) -> _TomlFile:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError("no such file", path=path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", path=path) from None
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_line = raw[: exc.start].count(b"\n") + 1
            raise ConfigError("not valid UTF-8", path=path, line=bad_line) from None
        return cls.parse(path, body)

    @classmethod
    def parse(cls, path: Path, body: str) -> _TomlFile:
        import tomllib  # only when there is a file to read (~2 ms of a start)

        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as exc:
            where: int | None = getattr(exc, "lineno", None) or _line_from_message(str(exc))
            message = getattr(exc, "msg", None) or re.sub(r"\s*\(at line.*\)$", "", str(exc))
            raise ConfigError(f"invalid TOML: {message}", path=path, line=where) from None
        return cls(path, body, data)

    def error(self, message: str, table: Where, key: str | None = None) -> ConfigError:
        line = self.locator.line_of(table, key)
        return ConfigError(message, path=self.label or self.path, line=line)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def _unknown(key: str, known: Sequence[str], what: str) -> str:
    import difflib  # only on the error path: it is slow to import

    close = difflib.get_close_matches(key, known, n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'unknown key "{key}" in {what}{hint}'


def _convert(f: Field, value: Any, file: _TomlFile, table: Where) -> Any:
    try:
        return f.convert(value)
    except FieldError as exc:
        message = f'"{f.name}": {exc}'
        if exc.key is not None:
            # The bad entry of a table value: its own line in a [task.resources] sub-table.
            line = file.locator.line_of((f"{table[0]}.{f.name}", table[1]), exc.key)
            if line is not None:
                raise ConfigError(message, path=file.path, line=line) from None
        raise file.error(message, table, f.name) from None


def _run_table(file: _TomlFile, allowed_top: Sequence[str]) -> dict[str, Any]:
    for key in file.data:
        if key not in allowed_top:
            raise file.error(_unknown(key, allowed_top, "the file"), ("", None), key)
    run = file.data.get("run", {})
    if not isinstance(run, dict):
        raise file.error('"run" must be a table: [run]', ("", None), "run")
    values: dict[str, Any] = {}
    for key, value in run.items():
        f = RUN_FIELDS.get(key)
        if f is None:
            raise file.error(_unknown(key, list(RUN_FIELDS), "[run]"), ("run", None), key)
        values[key] = _convert(f, value, file, ("run", None))
    return values


def convert_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    """Values given on the command line, checked like file values."""
    values: dict[str, Any] = {}
    for key, value in flags.items():
        if value is None:
            continue
        try:
            values[key] = RUN_FIELDS[key].convert(value)
        except FieldError as exc:
            raise ConfigError(f"--{key.replace('_', '-')}: {exc}") from None
    return values


def _policy(values: Mapping[str, Any]) -> TaskPolicy:
    defaults = TaskPolicy()
    kwargs = {name: values.get(name, getattr(defaults, name)) for name in POLICY_FIELDS}
    kwargs["idle_action"] = IdleAction(kwargs["idle_action"])
    return TaskPolicy(**kwargs)


def _words_name(command: str | Sequence[str]) -> str:
    return name_from_command(command if isinstance(command, str) else shlex.join(command))


def command_name(command: str | Sequence[str]) -> str:
    """A task name from a command: its first word, without a directory."""
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
    else:
        words = list(command)
    first = words[0] if words else "task"
    return os.path.basename(first.rstrip("/")) or first or "task"


def _command(value: Any, file: _TomlFile, table: Where) -> str | tuple[str, ...]:
    # A NUL byte cannot be passed to a process (argv and `sh -c` strings end at one): refused
    # here, at its line, rather than as an internal error when the task starts.
    if isinstance(value, str):
        if not value.strip():
            raise file.error('"command" is empty', table, "command")
        if "\x00" in value:
            raise file.error('"command" contains a NUL byte', table, "command")
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if not value[0]:
            raise file.error('"command": the program (first element) is empty', table, "command")
        for position, part in enumerate(value, 1):
            if "\x00" in part:
                message = f'"command": element {position} contains a NUL byte'
                raise file.error(message, table, "command")
        return tuple(value)
    raise file.error(
        '"command" must be a string (run by the shell) or a non-empty list of strings (an argv)',
        table,
        "command",
    )


def check_env(env: Mapping[str, Any], fail: Any) -> dict[str, str]:
    """Environment variables as strings; `fail(message, key)` raises the located error."""
    out: dict[str, str] = {}
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            fail(f'invalid environment variable name "{name}"', name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            fail(f'environment variable "{name}" must be a string, got {value!r}', name)
        value = str(value)
        if "\x00" in value:
            fail(f'environment variable "{name}" contains a NUL byte', name)
        out[name] = value
    return out


def _task(
    entry: Any, index: int, file: _TomlFile, run_values: Mapping[str, Any], taken: UniqueNames
) -> TaskSpec:
    table: Where = ("task", index)
    if not isinstance(entry, dict):
        raise file.error("each [[task]] must be a table", table)
    known = [
        *TASK_BASE_KEYS,
        *DEPENDENCY_FIELDS,
        *BEST_OF_FIELDS,
        *POLICY_FIELDS,
        *AGENT_KEYS,
        *AGENT_FIELDS,
        *LOOP_FIELDS,
    ]
    for key in entry:
        if key not in known:
            raise file.error(_unknown(key, known, f"task #{index + 1}"), table, key)
    label = f'"{entry["name"]}"' if isinstance(entry.get("name"), str) else f"#{index + 1}"
    agent = _agent(entry, label, file, table)
    loop = _loop(entry, agent, label, file, table)
    if agent is not None:
        command: str | tuple[str, ...] = agent_command(agent)
    elif "command" not in entry:
        raise file.error(f'task {label} has no "command" (or "agent" and "prompt")', table)
    else:
        for key in AGENT_FIELDS:
            if key in entry:
                raise file.error(
                    f'"{key}" is for agent tasks: task {label} has a "command"', table, key
                )
        command = _command(entry["command"], file, table)
    if "name" in entry:
        try:
            name = text(entry["name"])
        except FieldError as exc:
            raise file.error(f'"name": {exc}', table, "name") from None
        if not name.strip():
            raise file.error('"name" is empty', table, "name")
        if name in taken:
            raise file.error(f'duplicate task name "{name}"', table, "name")
        taken.reserve(name)
    else:
        # Tables given as data (`add -c`, the MCP server) are named as `run -c` names its
        # commands, from their words; a task file's unnamed task by its program, as before.
        named = _words_name if file.label is not None else command_name
        name = taken.take(agent.agent if agent else named(command))
    cwd = entry.get("cwd")
    if cwd is not None:
        if not isinstance(cwd, str) or not cwd:
            raise file.error('"cwd" must be a non-empty string', table, "cwd")
        if "\x00" in cwd:
            raise file.error('"cwd" contains a NUL byte', table, "cwd")
        resolved = (file.path.parent / os.path.expanduser(cwd)).resolve()
        if resolved.exists() and not resolved.is_dir():
            raise file.error(f'"cwd" is not a directory: {resolved}', table, "cwd")
        cwd = str(resolved)
    env_raw = entry.get("env", {})
    if not isinstance(env_raw, dict):
        raise file.error('"env" must be a table of NAME = "value"', table, "env")

    def fail(message: str, key: str) -> None:
        env_table: Where = ("task.env", index)
        line = file.locator.line_of(env_table, key) or file.locator.line_of(table, "env")
        raise ConfigError(message, path=file.path, line=line)

    env = check_env(env_raw, fail)
    overrides = {
        key: _convert(POLICY_FIELDS[key], value, file, table)
        for key, value in entry.items()
        if key in POLICY_FIELDS
    }
    pipeline = {
        key: _convert(f, entry[key], file, table)
        for key, f in DEPENDENCY_FIELDS.items()
        if key in entry
    }
    return TaskSpec(
        name=name,
        command=command,
        cwd=cwd,
        env=env,
        policy=_policy({**run_values, **overrides}),
        kind="loop" if loop else "agent" if agent else "command",
        agent=agent,
        loop=loop,
        depends_on=pipeline.get("depends_on", {}),
        ready_line=pipeline.get("ready_line"),
        ready_after=pipeline.get("ready_after"),
    )


def _replicated(
    spec: TaskSpec, entry: dict[str, Any], index: int, file: _TomlFile, taken: UniqueNames
) -> list[TaskSpec]:
    """An agent task with `replicas = N`: N copies (`NAME#1`...), each in a worktree of its own,
    and with a `judge` the task NAME itself, which compares them and names the winner."""
    table: Where = ("task", index)
    best = {k: _convert(f, entry[k], file, table) for k, f in BEST_OF_FIELDS.items() if k in entry}
    if not best:
        return [spec]
    first = next(iter(best))
    if "replicas" not in best:
        message = f'"{first}" is for best of N: give task "{spec.name}" "replicas"'
        raise file.error(message, table, first)
    if spec.agent is None or spec.loop is not None:
        raise file.error('"replicas" is for agent tasks (not commands or loops)', table, "replicas")
    from dataclasses import replace

    from oneshot_tui.core.judge import judge_prompt

    names = [f"{spec.name}#{n}" for n in range(1, best["replicas"] + 1)]
    for name in names:
        if name in taken:
            raise file.error(f'the replica name "{name}" is taken', table, "replicas")
        taken.reserve(name)
    in_worktree = replace(spec.policy, worktree=True)  # copies in one checkout would trample
    replicas = [replace(spec, name=n, policy=in_worktree, group=spec.name) for n in names]
    if "judge" not in best:
        return replicas
    judge = agent_settings(
        best["judge"],
        {"prompt": judge_prompt(spec.agent.prompt, names), "model": best.get("judge_model")},
    )
    policy = replace(spec.policy, worktree=False, restart="no", on_dependency_failure="run")
    return [  # the judge first: it heads its group in the list
        TaskSpec(
            name=spec.name,
            command=agent_command(judge),
            cwd=spec.cwd,
            env=spec.env,
            policy=policy,
            kind="agent",
            agent=judge,
            depends_on=dict.fromkeys(names, "completed"),
            group=spec.name,
            judge=JudgeSettings(tuple(names), bool(best.get("keep_losers", False))),
        ),
        *replicas,
    ]


def _check_dependencies(
    specs: Sequence[TaskSpec],
    file: _TomlFile,
    existing: Iterable[str],
    positions: Mapping[str, int],
) -> None:
    """Every dependency names a task of the run (or of the live run they join), and no task
    waits, however indirectly, for itself: else the error at the `depends_on` at fault."""
    known = {*existing, *(spec.name for spec in specs)}
    index = positions

    def error(message: str, name: str, entry: str | None = None) -> ConfigError:
        table: Where = ("task", index[name])
        if entry is not None:
            line = file.locator.line_of(("task.depends_on", index[name]), entry)
            if line is not None:
                return ConfigError(message, path=file.label or file.path, line=line)
        return file.error(message, table, "depends_on")

    for spec in specs:
        for dependency in spec.depends_on:
            if dependency == spec.name:
                raise error(f'task "{spec.name}" depends on itself', spec.name, dependency)
            if dependency not in known:
                import difflib  # only on the error path: it is slow to import

                close = difflib.get_close_matches(dependency, sorted(known), n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                raise error(
                    f'"depends_on": no task named "{dependency}" in the run{hint}',
                    spec.name,
                    dependency,
                )
    by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        if spec.agent is not None:
            _check_references(spec, by_name, file, index[spec.name])
    # Tasks already in a live run cannot depend on new ones: a cycle is among these specs.
    cycle = find_cycle({spec.name: tuple(spec.depends_on) for spec in specs})
    if cycle:
        raise error(f"dependency cycle: {' -> '.join(cycle)}", cycle[0], cycle[1])


def _has_worktree(spec: TaskSpec, specs: Mapping[str, TaskSpec]) -> bool:
    """It runs in a worktree, or it judges replicas that do (its branch is its winner's)."""
    if spec.policy.worktree:
        return True
    judge = spec.judge
    return judge is not None and all(
        name in specs and specs[name].policy.worktree for name in judge.candidates
    )


def _check_references(
    spec: TaskSpec, specs: Mapping[str, TaskSpec], file: _TomlFile, index: int
) -> None:
    """`{{ tasks.NAME.FIELD }}` in an agent task's prompt names a dependency of the task and a
    field there is (a branch only of a task that runs in a worktree, when the file says)."""
    from oneshot_tui.core.templates import FIELDS, references

    assert spec.agent is not None
    for name, what in references(spec.agent.prompt):
        reference = f"{{{{ tasks.{name}.{what} }}}}"
        if what not in FIELDS:
            message = f'"prompt": {reference}: a task has {", ".join(FIELDS)}'
        elif name not in spec.depends_on:
            message = (
                f'"prompt": {reference}: "{name}" is not a dependency of task "{spec.name}"'
                f' (add it to "depends_on")'
            )
        elif what != "result" and name in specs and not _has_worktree(specs[name], specs):
            message = f'"prompt": {reference}: task "{name}" does not run in a worktree'
        else:
            continue
        raise file.error(message, ("task", index), "prompt")


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in `graph` (name -> the names it depends on) as [a, b, ..., a], else None."""
    done: set[str] = set()
    for root in graph:
        path: list[str] = []
        # Depth first without recursion: (name, its dependencies not yet followed).
        stack: list[tuple[str, list[str]]] = []
        if root in done:
            continue
        stack.append((root, list(graph[root])))
        path.append(root)
        while stack:
            name, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                done.add(name)
                continue
            nxt = todo.pop()
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            if nxt in done or nxt not in graph:
                continue
            stack.append((nxt, list(graph[nxt])))
            path.append(nxt)
    return None


def _loop(
    entry: dict[str, Any], agent: AgentSettings | None, label: str, file: _TomlFile, table: Where
) -> LoopSettings | None:
    """The loop settings of an agent [[task]] with an `auditor`, else None."""
    given = [key for key in LOOP_FIELDS if key in entry]
    if not given:
        return None
    if "auditor" not in entry:
        raise file.error(
            f'"{given[0]}" is for loop tasks: give task {label} an "auditor"', table, given[0]
        )
    if agent is None:
        raise file.error(
            f'loop task {label} needs a worker: "agent" and "prompt"', table, "auditor"
        )
    values = {k: _convert(f, entry[k], file, table) for k, f in LOOP_FIELDS.items() if k in entry}
    return loop_settings(values)


def loop_settings(values: Mapping[str, Any]) -> LoopSettings:
    """Loop settings from checked values (task file keys or `oneshot` flags)."""
    headers = {
        role: values[f"{role}_prompt_header"]
        for role in ("worker", "reworker", "auditor")
        if values.get(f"{role}_prompt_header")
    }
    auditor = AgentSettings(
        agent=values["auditor"],
        prompt="",
        model=values.get("auditor_model"),
        args=values.get("auditor_args", ()),
    )
    return LoopSettings(
        auditor=auditor,
        max_iterations=values.get("max_iterations", LoopSettings(auditor).max_iterations),
        headers=headers,
        templates=dict(values.get("templates", {})),
        oneshot_id=values.get("oneshot_id"),
        force=bool(values.get("force", False)),
        activity_log=values.get("activity_log"),
    )


def agent_command(agent: AgentSettings) -> tuple[str, ...]:
    """What an agent task shows as its command (the executor builds the real argv)."""
    return (agent.agent, agent.prompt)


def _agent(
    entry: dict[str, Any], label: str, file: _TomlFile, table: Where
) -> AgentSettings | None:
    """The agent settings of a [[task]] with `agent` (or `executor`), else None."""
    given = [key for key in AGENT_KEYS if key in entry]
    if not given:
        return None
    if len(given) > 1:
        raise file.error('"agent" and "executor" mean the same: give one', table, given[1])
    key = given[0]
    name = entry[key]
    listed: tuple[str, ...] = ()
    if isinstance(name, list) and name and all(isinstance(n, str) for n in name):
        # agent = ["claude", "codex"]: the first with room, the next when one is out of quota.
        listed = tuple(name[1:])
        name = name[0]
        for other in listed:
            if other not in AGENTS:
                hint = f"expected agents among {', '.join(AGENTS)}, got {other!r}"
                raise file.error(f'"{key}": {hint}', table, key)
    if not isinstance(name, str) or name not in AGENTS:
        hint = f"expected one of {', '.join(AGENTS)} (or a list of them), got {name!r}"
        raise file.error(f'"{key}": {hint}', table, key)
    if "command" in entry:
        raise file.error(f'task {label} has both "{key}" and "command": give one', table, "command")
    if "prompt" not in entry:
        raise file.error(f'agent task {label} has no "prompt"', table)
    values = {k: _convert(f, entry[k], file, table) for k, f in AGENT_FIELDS.items() if k in entry}
    if listed:
        if "fallback" in values:
            raise file.error(
                f'task {label} names a list of agents and a "fallback": give one', table, "fallback"
            )
        values["fallback"] = listed
    if name == "direct" and "model" not in values:
        raise file.error(f'agent task {label}: "direct" needs a "model"', table, key)
    for only_direct in ("base_url", "api_key"):
        if only_direct in values and name != "direct":
            raise file.error(f'"{only_direct}" is for the "direct" agent only', table, only_direct)
    return agent_settings(name, values)


def agent_settings(name: str, values: Mapping[str, Any]) -> AgentSettings:
    defaults = AgentSettings(name, "")
    return AgentSettings(
        agent=name,
        prompt=values["prompt"],
        model=values.get("model"),
        args=values.get("args", ()),
        budget=Budget(
            max_cost_usd=values.get("max_cost_usd"),
            max_tokens=values.get("max_tokens"),
            max_tool_calls=values.get("max_tool_calls"),
        ),
        retry_on_rate_limit=values.get("retry_on_rate_limit", defaults.retry_on_rate_limit),
        rate_limit_backoff=values.get("rate_limit_backoff", defaults.rate_limit_backoff),
        base_url=values.get("base_url"),
        api_key=values.get("api_key"),
        max_rate_limit_wait=values.get("max_rate_limit_wait", defaults.max_rate_limit_wait),
        fallback=tuple(a for a in values.get("fallback", ()) if a != name),
        models=dict(values.get("models", {})),
        agent_args=dict(values.get("agent_args", {})),
    )


def load_run_config(
    task_file: Path | None,
    *,
    commands: Sequence[str] = (),
    agent: AgentSettings | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    user_config: Path | None = None,
    document: Mapping[str, Any] | None = None,
    source: str = "<tasks>",
    task_text: str | None = None,
    existing_names: Iterable[str] = (),
) -> RunConfig:
    """Everything a run needs, from files and flags, or a ConfigError naming file, line and key.

    `document` stands in for a task file that is not on disk (a `[run]` table and `[[task]]`
    tables as Python data, from the public API or a live run's `add`): checked the same way, its
    errors named after `source`, relative `cwd`s taken from `cwd`. `task_text` is the task file's
    text when it was read elsewhere (a live run's `add`). Tasks get names unique among
    `existing_names` too (the tasks of the live run they join)."""
    here = cwd or Path.cwd()
    sources: list[Path] = []
    run_values: dict[str, Any] = {}
    user = user_config if user_config is not None else user_config_path()
    project = here / PROJECT_CONFIG_NAME
    for path in (user, project):
        is_task_file = task_file is not None and path.resolve() == task_file.resolve()
        if path.is_file() and not is_task_file:
            # [oneshot] belongs to the `oneshot` command (config/oneshot.py checks its keys).
            run_values.update(_run_table(_TomlFile.read(path), ("run", "oneshot")))
            sources.append(path)
    file: _TomlFile | None = None
    specs: list[TaskSpec] = []
    taken = UniqueNames(existing_names)
    if task_file is not None:
        read = _TomlFile.read if task_text is None else partial(_TomlFile.parse, body=task_text)
        file = read(task_file)
        sources.append(task_file)
    elif document is not None:
        file = _TomlFile(here / source, "", dict(document), label=source)
    if file is not None:
        run_values.update(_run_table(file, ("run", "task")))
    run_values.update(convert_flags(flags or {}))
    if file is not None:
        entries = file.data.get("task", [])
        if not isinstance(entries, list):
            raise file.error("tasks are written as [[task]] tables", ("", None), "task")
        positions: dict[str, int] = {}
        for i, e in enumerate(entries):
            for spec in _replicated(_task(e, i, file, run_values, taken), e, i, file, taken):
                specs.append(spec)
                positions[spec.name] = i
        _check_dependencies(specs, file, existing_names, positions)
    policy = _policy(run_values)
    for arg in commands:
        given, command = split_named(arg)
        if not command.strip():
            raise ConfigError("-c: the command is empty")
        if given is not None and given in taken:
            raise ConfigError(f'-c: duplicate task name "{given}"')
        if given is not None:
            taken.reserve(given)
        name = given if given is not None else taken.take(name_from_command(command))
        specs.append(TaskSpec(name=name, command=command, cwd=str(here), policy=policy))
    if agent is not None:
        name = taken.take(agent.agent)
        specs.append(
            TaskSpec(
                name=name,
                command=agent_command(agent),
                cwd=str(here),
                policy=policy,
                kind="agent",
                agent=agent,
            )
        )
    defaults = RunSettings()
    settings = RunSettings(
        max_concurrent=run_values.get("max_concurrent", defaults.max_concurrent),
        heartbeat_interval=run_values.get("heartbeat_interval", defaults.heartbeat_interval),
        fail_fast=run_values.get("fail_fast", defaults.fail_fast),
        backend=run_values.get("backend", defaults.backend),
        ray_address=run_values.get("ray_address", defaults.ray_address),
        forward_env=run_values.get("forward_env", defaults.forward_env),
        on_hangup=run_values.get("on_hangup", defaults.on_hangup),
        agent_limits=run_values.get("agent_limits", {}),
        prices=run_values.get("prices", {}),
        notify=run_values.get("notify", defaults.notify),
        notify_command=run_values.get("notify_command", defaults.notify_command),
        otel=run_values.get("otel", defaults.otel),
        otel_capture_output=run_values.get("otel_capture_output", defaults.otel_capture_output),
    )
    return RunConfig(
        settings=settings,
        specs=tuple(specs),
        policy=policy,
        task_file=task_file,
        task_file_text=file.text if file and task_file else None,
        sources=tuple(sources),
    )
