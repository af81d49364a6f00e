"""`oneshot-tui stats`: what the runs of a window cost and how they went, from the history."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from oneshot_tui.cli.common import COMMAND_HELP
from oneshot_tui.cli.history_common import (
    HISTORY_EXIT_CODES,
    add_data_dir,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode

BY = ("day", "agent", "model", "run", "task")
"""The groupings of `--by` (store/stats.py GROUPINGS has their SQL)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DATES = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def add_stats_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser(
        "stats",
        help=COMMAND_HELP["stats"],
        description=paragraph(
            "What the runs started in a window cost and how they went: runs, tasks per state, "
            "success rate, restarts and retries, wall and CPU time, and for agents tokens in "
            "and out, cost (as the agents reported it, and estimated where they did not), "
            "tool calls, loop iterations and verdicts; and the burn rate over the window."
        ),
        epilog=HISTORY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument(
        "--since",
        default="7d",
        metavar="AGE|DATE",
        help="the window: an age (90m, 24h, 7d, 2w), a local date or time (2026-12-01, "
        "2026-12-01T09:30), or 'all' (default: 7d)",
    )
    stats.add_argument(
        "--by", choices=BY, help="also the figures per day, agent, model, run or task"
    )
    stats.add_argument("--json", action="store_true", help="a JSON object on stdout")
    add_data_dir(stats)
    stats.set_defaults(handler=guarded(_cmd_stats))


def parse_since(text: str, now: float) -> float | None:
    """The window's start as a time, None for 'all'; ValueError if `text` is neither."""
    text = text.strip()
    if text == "all":
        return None
    if match := _AGE.fullmatch(text):
        return now - float(match[1]) * _UNITS[match[2]]
    for fmt in _DATES:
        try:
            return time.mktime(time.strptime(text, fmt))
        except ValueError:
            continue
    raise ValueError(f"--since {text!r}: not an age like 7d or 24h, a date, or 'all'")


def _cmd_stats(args: argparse.Namespace) -> int:
    now = time.time()
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:
        return error(str(exc))
    from oneshot_tui.store.stats_report import stats_json, stats_lines

    with open_reader(args) as reader:
        stats = reader.stats(since=since, until=now, by=args.by)
    if args.json:
        print(json.dumps(stats_json(stats), ensure_ascii=False, indent=1))
    else:
        print("\n".join(stats_lines(stats)))
    if not stats.total.runs:
        print("no runs in this window", file=sys.stderr)
    return ExitCode.OK
