"""Recognising rate and usage limits in what an agent says, whatever its dialect.

A limit is not a generic failure: the task can wait and try again (`retry_on_rate_limit`), or go
on with another agent. The CLIs report them as an HTTP status (429), an API error text, or their
own "usage limit" message, often with how long to wait ("try again in 2 hours").
"""

from __future__ import annotations

import re

_LIMIT = re.compile(
    r"\b429\b|rate[ _-]?limit|usage[ _-]?limit|too many requests|resource[ _-]?exhausted"
    r"|quota (?:exceeded|exhausted)|exceeded your (?:current )?quota|overloaded",
    re.IGNORECASE,
)
_UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
}
_UNIT = (
    r"(ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)"
)
_AMOUNT = r"(\d+(?:\.\d+)?)\s*" + _UNIT + r"\b"
_RETRY_AFTER = re.compile(
    r"(?:retry|try again|wait|resets?|available again)[^0-9]{0,24}?(?:after|in|for)\s+"
    r"((?:\d+(?:\.\d+)?\s*[a-z]+\b[\s,and]*){1,4})",
    re.IGNORECASE,
)
_BARE_SECONDS = re.compile(
    r"(?:retry|try again)[^0-9]{0,20}(?:after|in)\s+(\d+(?:\.\d+)?)(?!\s*[a-z0-9.])", re.IGNORECASE
)
_HMS = re.compile(r"(?:retry|try again)[^0-9]{0,20}(?:after|in)\s+(\d+):(\d\d)(?::(\d\d))?\b")


def looks_rate_limited(text: str) -> bool:
    """True if `text` (an error message, a status) speaks of a rate or usage limit."""
    return bool(_LIMIT.search(text))


def duration(text: str) -> float | None:
    """Seconds in "2 hours", "1h 30m", "4 days", "90s", "500 ms"; None if it names no unit."""
    total = 0.0
    found = False
    for amount, unit in re.findall(_AMOUNT, text, re.IGNORECASE):
        unit = unit.lower()
        key = unit if unit in _UNITS else unit.rstrip("s")
        if key not in _UNITS:
            continue
        total += float(amount) * _UNITS[key]
        found = True
    return total if found else None


def retry_after(text: str) -> float | None:
    """Seconds to wait, if the message says ("retry after 30s", "try again in 2 hours",
    "resets in 1h 20m", "retry in 0:05:00"); a bare number is seconds."""
    match = _RETRY_AFTER.search(text)
    if match is not None:
        seconds = duration(match.group(1))
        if seconds is not None:
            return seconds
    hms = _HMS.search(text)
    if hms is not None:
        a, b, c = hms.group(1), hms.group(2), hms.group(3)
        return float(int(a) * 3600 + int(b) * 60 + int(c) if c else int(a) * 60 + int(b))
    bare = _BARE_SECONDS.search(text)
    if bare is not None:
        return float(bare.group(1))
    return None


def header_seconds(value: str | None) -> float | None:
    """A Retry-After header's delay in seconds (a number; an HTTP date is not parsed)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def format_wait(seconds: float) -> str:
    """90 -> "1m30s", 7200 -> "2h", 345600 -> "4d"."""
    if seconds < 60:
        return f"{seconds:g}s"
    parts = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts[:2])
