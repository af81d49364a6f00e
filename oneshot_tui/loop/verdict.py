"""The auditor's verdict: DONE, RETRY (with feedback) or IMPOSSIBLE (with a reason).

Read strictly: the answer must be exactly one JSON verdict object, alone (a code fence around it
is allowed), as the CLIs that can enforce a schema give it (`VERDICT_SCHEMA`). Prose is never
read for a verdict, since prose that names DONE may mean the opposite ("DONE is not justified
here", `I would say {"verdict": "DONE"} only if the tests passed`). Anything else is unreadable
(`well_formed` False): the loop asks the auditor again with `REMINDER`, and never takes it as
DONE.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    DONE = "DONE"
    RETRY = "RETRY"
    IMPOSSIBLE = "IMPOSSIBLE"


@dataclass(frozen=True, slots=True)
class AuditResult:
    verdict: Verdict
    feedback: str
    well_formed: bool = True


VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["DONE", "RETRY", "IMPOSSIBLE"]},
        "feedback": {"type": "string"},
    },
    "required": ["verdict", "feedback"],
    "additionalProperties": False,
}
"""What a CLI with a JSON-schema flag is asked to answer in."""

FORMAT_FEEDBACK = (
    "The audit could not be read. Answer with JSON only: "
    '{"verdict": "DONE" | "RETRY" | "IMPOSSIBLE", "feedback": "..."}'
)

REMINDER = (
    "Your answer could not be read as a verdict. Answer again with exactly one JSON object and "
    'nothing else, no prose around it: {"verdict": "DONE" | "RETRY" | "IMPOSSIBLE", '
    '"feedback": "what is missing, or why it cannot be done"}'
)
"""Sent to an auditor whose answer was unreadable (it contains "could not be read")."""

_SYNONYMS = {
    "DONE": Verdict.DONE,
    "RETRY": Verdict.RETRY,
    "IMPOSSIBLE": Verdict.IMPOSSIBLE,
    "REITERATE": Verdict.RETRY,  # the original oneshot's word for it
}
_FENCED = re.compile(r"\A```[A-Za-z]*[ \t]*\n(.*?)\n?```\Z", re.DOTALL)
_FEEDBACK_KEYS = ("feedback", "reason", "advice", "explanation", "message")


def _from_mapping(obj: dict[str, Any]) -> AuditResult | None:
    raw = obj.get("verdict")
    if not isinstance(raw, str):
        return None
    verdict = _SYNONYMS.get(raw.strip().upper())
    if verdict is None:
        return None
    feedback = ""
    for key in _FEEDBACK_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            feedback = value.strip()
            break
    return AuditResult(verdict, feedback)


def unreadable() -> AuditResult:
    return AuditResult(Verdict.RETRY, FORMAT_FEEDBACK, well_formed=False)


def parse_verdict(text: str) -> AuditResult:
    """The verdict in the auditor's final answer, or an unreadable one (see the module)."""
    body = text.strip()
    fenced = _FENCED.match(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    if not body.startswith("{"):
        return unreadable()
    try:
        value = json.loads(body)
    except ValueError:
        return unreadable()
    if not isinstance(value, dict):
        return unreadable()
    return _from_mapping(value) or unreadable()
