"""The keys a task file, a config file or a flag may set, with their types and checks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oneshot_tui.core.spec import (
    AGENTS,
    BACKENDS,
    DEPENDENCY_CONDITIONS,
    DEPENDENCY_FAILURE_ACTIONS,
    HANGUP_ACTIONS,
    NOTIFIERS,
    RESTART_POLICIES,
    IdleAction,
)


class FieldError(ValueError):
    """A value of the wrong type or range; the loader adds the file, line and key."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        """The entry at fault inside a table value (a resource name), to point at its line."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_OFF = {"off", "none", "never", "no"}


def seconds(value: Any) -> float:
    """A duration: a number of seconds, or a string like "500ms", "30s", "5m", "2h", "7d"."""
    if isinstance(value, bool):
        raise FieldError(f'expected a duration (seconds, or like "5m"), got {value!r}')
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        number = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise FieldError(f'expected a duration (seconds, or like "5m"), got {value!r}')
    if not math.isfinite(number) or number < 0:
        raise FieldError(f"a duration must be zero or more, got {value!r}")
    return number


def optional_seconds(value: Any) -> float | None:
    """A duration where 0, false or "off" means "no limit"."""
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    number = seconds(value)
    return number or None


def positive_seconds(value: Any) -> float:
    number = seconds(value)
    if number <= 0:
        raise FieldError(f"must be more than zero, got {value!r}")
    return number


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise FieldError(f"expected true or false, got {value!r}")


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def byte_size(minimum: int) -> Callable[[Any], int]:
    """A number of bytes: 4194304, "4M", "4MiB", "512k" (binary units)."""

    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise FieldError(f"expected a size in bytes, got {value!r}")
        text = str(value).strip().lower().removesuffix("ib").removesuffix("b")
        unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
        digits = text[: len(text) - len(unit)].strip()
        if not digits.isdigit():
            raise FieldError(f"expected a size in bytes (like 4MiB), got {value!r}")
        number = int(digits) * _SIZE_UNITS[unit]
        if number < minimum:
            raise FieldError(f"must be at least {minimum} bytes, got {number}")
        return number

    return convert


def integer(minimum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise FieldError(f"expected a whole number, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise FieldError(f"expected a whole number, got {value!r}") from None
        if number < minimum:
            raise FieldError(f"must be at least {minimum}, got {number}")
        return number

    return convert


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise FieldError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return convert


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"expected a string, got {value!r}")
    return value


def non_empty_text(value: Any) -> str:
    if not text(value).strip():
        raise FieldError("must not be empty")
    return str(value)


def number(value: Any) -> float:
    """A number, zero or more (a cost in US dollars)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise FieldError(f"must be zero or more, got {value!r}")
    return float(value)


def agent_limits(value: Any) -> dict[str, int]:
    """A table of agent name = how many may run at once."""
    if not isinstance(value, dict):
        raise FieldError(f"expected a table of agent = count, like {{ claude = 3 }}, got {value!r}")
    out: dict[str, int] = {}
    for name, count in value.items():
        if name not in AGENTS:
            raise FieldError(f'"{name}": expected one of {", ".join(AGENTS)}', key=name)
        try:
            out[name] = integer(1)(count)
        except FieldError as exc:
            raise FieldError(f'"{name}": {exc}', key=name) from None
    return out


def prices(value: Any) -> dict[str, tuple[float, float]]:
    """A table of model pattern = [input, output] US dollars per million tokens."""
    if not isinstance(value, dict):
        raise FieldError(f"expected a table of model = [input, output], got {value!r}")
    out: dict[str, tuple[float, float]] = {}
    for pattern, pair in value.items():
        if isinstance(pair, dict) and set(pair) == {"input", "output"}:
            pair = [pair["input"], pair["output"]]
        if not isinstance(pair, list) or len(pair) != 2:
            raise FieldError(
                f'"{pattern}": expected [input, output] in $ per million tokens', key=pattern
            )
        try:
            out[pattern] = (number(pair[0]), number(pair[1]))
        except FieldError as exc:
            raise FieldError(f'"{pattern}": {exc}', key=pattern) from None
    return out


def agent_names(value: Any) -> tuple[str, ...]:
    """A list of agent names (a fallback order)."""
    names = strings(value)
    for name in names:
        if name not in AGENTS:
            raise FieldError(f"expected agents among {', '.join(AGENTS)}, got {name!r}")
    return names


def notifiers(value: Any) -> tuple[str, ...]:
    """Notifiers by name: a list, or a comma-separated string (`--notify bell,osc`); "none" or
    an empty list: none at all."""
    names = (
        tuple(n.strip() for n in value.split(",") if n.strip())
        if isinstance(value, str)
        else strings(value)
    )
    if names == ("none",):
        return ()
    for name in names:
        if name not in NOTIFIERS:
            raise FieldError(
                f"expected notifiers among {', '.join(NOTIFIERS)} (or none), got {name!r}"
            )
    return names


def per_agent_text(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise FieldError(f"expected a table of agent = text, got {value!r}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if name not in AGENTS:
            raise FieldError(f'"{name}": expected one of {", ".join(AGENTS)}', key=name)
        out[name] = non_empty_text(item)
    return out


def per_agent_strings(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise FieldError(f"expected a table of agent = [flags], got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    for name, item in value.items():
        if name not in AGENTS:
            raise FieldError(f'"{name}": expected one of {", ".join(AGENTS)}', key=name)
        out[name] = strings(item)
    return out


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(f"expected a list of strings, got {value!r}")
    return tuple(value)


_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def variable_names(value: Any) -> tuple[str, ...]:
    """A list of environment variable names."""
    names = strings(value)
    for name in names:
        if not _VARIABLE_NAME.match(name):
            raise FieldError(f"expected environment variable names, got {name!r}")
    return names


def quantity(value: Any) -> float:
    """An amount of a cluster resource. Ray accepts fractions below 1 and whole numbers above."""
    amount = number(value)
    if amount > 1 and not amount.is_integer():
        raise FieldError(f"a fraction must be below 1 (above 1, whole numbers only), got {value!r}")
    return amount


SPECIAL_RESOURCES = {"CPU": "num_cpus"}
"""Ray resources with a key of their own: naming them under `resources` is a mistake."""


def resources(value: Any) -> dict[str, float]:
    """A table of custom resource name = amount."""
    if not isinstance(value, dict):
        raise FieldError(f"expected a table of name = amount, like {{ box = 1 }}, got {value!r}")
    out: dict[str, float] = {}
    for name, amount in value.items():
        if not name.strip():
            raise FieldError("a resource name is empty")
        if name in SPECIAL_RESOURCES:
            own = SPECIAL_RESOURCES[name]
            raise FieldError(f'"{name}" has a key of its own: set "{own}"', key=name)
        try:
            out[name] = quantity(amount)
        except FieldError as exc:
            raise FieldError(f'"{name}": {exc}', key=name) from None
    return out


def dependencies(value: Any) -> dict[str, str]:
    """`["build"]` (each must complete) or `{ build = "completed", db = "ready" }`."""
    if isinstance(value, list):
        return dict.fromkeys(strings(value), "completed")
    if not isinstance(value, dict):
        raise FieldError(
            f"expected a list of task names or a table of name = condition, got {value!r}"
        )
    out: dict[str, str] = {}
    for name, condition in value.items():
        if condition not in DEPENDENCY_CONDITIONS:
            hint = f"expected one of {', '.join(DEPENDENCY_CONDITIONS)}, got {condition!r}"
            raise FieldError(f'"{name}": {hint}', key=name)
        out[name] = condition
    return out


def relative_paths(value: Any) -> tuple[str, ...]:
    """Paths inside a checkout: relative, never out of it through `..`."""
    import posixpath

    paths = strings(value)
    for path in paths:
        normal = posixpath.normpath(path)
        if not path.strip() or path.startswith("/") or normal == ".." or normal.startswith("../"):
            raise FieldError(f"expected paths inside the checkout (relative, no ..), got {path!r}")
    return paths


def regex(value: Any) -> str:
    """A regular expression (Python's syntax), checked now rather than at the first line."""
    pattern = non_empty_text(value)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise FieldError(f"not a valid regular expression: {exc}") from None
    return pattern


DEFAULT_RATE_LIMIT_RETRIES = 3
DEFAULT_NODE_LOST_RESTARTS = 3


def retries(value: Any, default: int = DEFAULT_RATE_LIMIT_RETRIES) -> int:
    """true (a few retries), false (none) or how many."""
    if value is True:
        return default
    if value is False:
        return 0
    return integer(0)(value)


def node_lost_restarts(value: Any) -> int:
    return retries(value, DEFAULT_NODE_LOST_RESTARTS)


@dataclass(frozen=True)
class Field:
    """A configurable key: its name, how its value is checked and converted, and its help."""

    name: str
    convert: Callable[[Any], Any]
    help: str
    metavar: str = "S"


POLICY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("idle_threshold", optional_seconds, "seconds without output before a task is idle"),
        Field(
            "idle_action",
            choice(tuple(a.value for a in IdleAction)),
            "what to do with a task idle for --idle-timeout: none, interrupt or restart",
            "ACTION",
        ),
        Field("idle_timeout", seconds, "seconds a task may stay idle before the idle action"),
        Field("timeout", optional_seconds, "wall-time limit of each attempt (0: none)"),
        Field("grace", seconds, "seconds from SIGINT to SIGKILL when stopping a task"),
        Field("scrollback", integer(0), "lines of output kept in memory per task", "N"),
        Field(
            "scrollback_bytes",
            byte_size(64 * 1024),
            "bytes of memory those lines may take per task (4MiB; K, M, G suffixes)",
            "SIZE",
        ),
        Field("pty", boolean, "run tasks under a pseudo-terminal instead of pipes", ""),
        Field(
            "separate_stderr",
            boolean,
            "read stderr apart from stdout (tagged; their order between them is lost)",
            "",
        ),
        Field(
            "worktree",
            boolean,
            "run each task in a git worktree of its own, on a branch oneshot/RUN/TASK",
            "",
        ),
        Field(
            "worktree_base",
            non_empty_text,
            "the branch, tag or commit a new worktree starts from (default: HEAD)",
            "REF",
        ),
        Field(
            "worktree_copy",
            relative_paths,
            "files copied from your checkout into a new worktree (.env, local config)",
            "LIST",
        ),
        Field(
            "worktree_setup",
            non_empty_text,
            "a command run in a new worktree before the task (npm ci); failing fails the task",
            "CMD",
        ),
        Field("num_cpus", quantity, "ray: CPUs each task reserves on its node", "N"),
        Field("resources", resources, "ray: custom resources each task reserves", "TABLE"),
        Field(
            "restart_on_node_lost",
            node_lost_restarts,
            "ray: times a task whose node or worker died is started again (true = 3)",
            "N",
        ),
        Field(
            "restart",
            choice(RESTART_POLICIES),
            "start a task again when it ends by itself: no, on-failure or always",
            "POLICY",
        ),
        Field("max_restarts", integer(0), "how many times the restart policy may restart", "N"),
        Field("restart_backoff", seconds, "the longest wait before a restart (1s, 2s, 4s, ...)"),
        Field(
            "on_dependency_failure",
            choice(DEPENDENCY_FAILURE_ACTIONS),
            "when a dependency fails first: fail the task without starting it, or run it",
            "ACTION",
        ),
    )
}

RUN_FIELDS: dict[str, Field] = {
    **{
        f.name: f
        for f in (
            Field("max_concurrent", integer(1), "how many tasks may run at once", "N"),
            Field("heartbeat_interval", positive_seconds, "seconds between idle checks"),
            Field("fail_fast", boolean, "stop every task as soon as one fails", ""),
            Field(
                "backend",
                choice(BACKENDS),
                "where task processes run: local, or ray (a Ray cluster)",
                "NAME",
            ),
            Field("ray_address", non_empty_text, "the Ray cluster (HOST:PORT)", "ADDR"),
            Field(
                "forward_env",
                variable_names,
                'ray: variables of ours every task gets on its node, e.g. ["ANTHROPIC_API_KEY"]'
                " (their values are treated as secrets)",
                "LIST",
            ),
            Field(
                "on_hangup",
                choice(HANGUP_ACTIONS),
                "when the terminal of the TUI that started the run goes away: stop the run, or"
                " detach from it (it goes on; `attach` finds it)",
                "ACTION",
            ),
            Field(
                "notify",
                notifiers,
                "how to tell you a task needs you and the run ended: bell, osc (a desktop"
                " notification through the terminal), desktop (notify-send), command; default:"
                " the bell when a task needs you",
                "LIST",
            ),
            Field(
                "notify_command",
                non_empty_text,
                "a shell command run for each notification, the alert as JSON on its stdin",
                "CMD",
            ),
            Field(
                "agent_limits",
                agent_limits,
                "at most this many of each agent at once, e.g. { claude = 3, codex = 2 }",
                "TABLE",
            ),
            Field(
                "prices",
                prices,
                'model prices for live cost estimates, e.g. { "my-model*" = [3, 15] } ($/Mtok)',
                "TABLE",
            ),
            Field(
                "otel",
                boolean,
                "send traces and metrics over OTLP/HTTP (needs oneshot-tui[otel]; OTEL_* vars)",
                "",
            ),
            Field(
                "otel_capture_output",
                boolean,
                "put tasks' output lines and agents' text in the OTel spans (off: counts only)",
                "",
            ),
        )
    },
    **POLICY_FIELDS,
}

TASK_BASE_KEYS = ("name", "command", "cwd", "env")

DEPENDENCY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("depends_on", dependencies, "tasks to wait for, with a condition each", "LIST"),
        Field("ready_line", regex, "a regex: the task is ready once a line matches", "REGEX"),
        Field("ready_after", seconds, "seconds after its start when the task is ready"),
    )
}
"""Keys of a [[task]] only: how it fits in a pipeline of tasks."""

BEST_OF_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("replicas", integer(2), "best of N: run N copies, each in its own worktree", "N"),
        Field("judge", choice(AGENTS), "best of N: the agent that compares them and picks one"),
        Field("judge_model", non_empty_text, "best of N: the judge's model"),
        Field("keep_losers", boolean, "best of N: keep the losers' worktrees and branches", ""),
    )
}
"""Keys of an agent [[task]] run as several replicas, with a judge."""

AGENT_KEYS = ("agent", "executor")
"""Either names the agent executor of an agent task (the two are synonyms)."""

AGENT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("prompt", non_empty_text, "what to ask the agent"),
        Field("model", non_empty_text, "the model the agent should use"),
        Field("args", strings, "extra command-line flags for the agent CLI"),
        Field("max_cost_usd", number, "stop the agent as a runaway above this cost"),
        Field("max_tokens", integer(0), "stop the agent as a runaway above this many tokens"),
        Field("max_tool_calls", integer(0), "stop the agent as a runaway above this many calls"),
        Field("retry_on_rate_limit", retries, "retries after a rate or usage limit"),
        Field("rate_limit_backoff", seconds, "seconds before the first rate-limit retry"),
        Field(
            "max_rate_limit_wait",
            seconds,
            "the longest rate-limit wait worth waiting (default 1h); longer ends the run",
        ),
        Field("fallback", agent_names, "agents to go on with when one is out of quota", "LIST"),
        Field("models", per_agent_text, "models of the fallback agents, by agent", "TABLE"),
        Field("agent_args", per_agent_strings, "flags of the fallback agents, by agent", "TABLE"),
        Field("base_url", non_empty_text, "direct: the OpenAI-compatible endpoint"),
        Field("api_key", text, "direct: the endpoint's key (never shown)"),
    )
}

LOOP_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("auditor", choice(AGENTS), "the auditor's executor: makes the task a loop"),
        Field("auditor_model", non_empty_text, "the model the auditor should use"),
        Field("auditor_args", strings, "extra command-line flags for the auditor CLI"),
        Field("max_iterations", integer(1), "worker runs to judge before giving up"),
        Field("worker_prompt_header", non_empty_text, "first line of the worker's prompt"),
        Field("reworker_prompt_header", non_empty_text, "first line of a retry's prompt"),
        Field("auditor_prompt_header", non_empty_text, "first line of the auditor's prompt"),
    )
}
"""Keys of a worker/auditor loop task: an agent task (the worker) with an `auditor`."""
