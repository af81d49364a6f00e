"""Recognising rate and usage limits in what an agent says, whatever its dialect.

A limit is not a generic failure: the task can wait and try again (`retry_on_rate_limit`). The
CLIs report them as an HTTP status (429), an API error text, or their own "usage limit" message.
"""

from __future__ import annotations

import re

_LIMIT = re.compile(
    r"\b429\b|rate[ _-]?limit|usage[ _-]?limit|too many requests|resource[ _-]?exhausted"
    r"|quota (?:exceeded|exhausted)|exceeded your (?:current )?quota|overloaded",
    re.IGNORECASE,
)
_RETRY_AFTER = re.compile(
    r"(?:retry|try again)[^0-9]{0,20}(?:after|in)\s+(\d+(?:\.\d+)?)\s*"
    r"(ms|s|sec|seconds?|m|min|minutes?)?\b",
    re.IGNORECASE,
)


def looks_rate_limited(text: str) -> bool:
    """True if `text` (an error message, a status) speaks of a rate or usage limit."""
    return bool(_LIMIT.search(text))


def retry_after(text: str) -> float | None:
    """Seconds to wait, if the message says ("retry after 30s", "try again in 2 minutes")."""
    match = _RETRY_AFTER.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    unit = (match.group(2) or "s").lower()
    if unit == "ms":
        return value / 1000
    if unit.startswith("m"):
        return value * 60
    return value
