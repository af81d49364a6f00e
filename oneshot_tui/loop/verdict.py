"""The auditor's verdict: DONE, RETRY (with feedback) or IMPOSSIBLE (with a reason).

Parsing is lenient about form (bare JSON, fenced JSON, JSON inside prose, `verdict: X` lines, a
line that starts with the verdict word) and strict about meaning: nothing unclear is ever DONE.
An unparseable or self-contradicting answer counts as RETRY, with feedback that asks the auditor
for the format, and `well_formed` False so the caller can tell.
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


FORMAT_FEEDBACK = (
    "The audit could not be read. Answer with JSON only: "
    '{"verdict": "DONE" | "RETRY" | "IMPOSSIBLE", "feedback": "..."}'
)

_SYNONYMS = {
    "DONE": Verdict.DONE,
    "RETRY": Verdict.RETRY,
    "IMPOSSIBLE": Verdict.IMPOSSIBLE,
    "REITERATE": Verdict.RETRY,  # the original oneshot's word for it
}
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)
_VERDICT_LINE = re.compile(
    r"""^\s*[*_#>\-\s]*["']?verdict[*_"'`]*\s*[:=]\s*[*_"'`]*([A-Za-z]+)[*_"'`]*[\s.,;:!-]*(.*)$""",
    re.IGNORECASE | re.MULTILINE,
)
_LEADING_WORD = re.compile(
    r"^\s*[*_#>`\s]*(DONE|RETRY|IMPOSSIBLE|REITERATE)\b[*_`]*\s*(?:[:.\-–—]\s*(.*))?$",
    re.MULTILINE,
)
_FEEDBACK_KEYS = ("feedback", "reason", "advice", "explanation", "message")


def _from_mapping(obj: dict[str, Any]) -> AuditResult | None:
    raw = next((v for k, v in obj.items() if k.lower() == "verdict"), None)
    if not isinstance(raw, str):
        return None
    verdict = _SYNONYMS.get(raw.strip().upper())
    if verdict is None:
        return None
    feedback = ""
    for key in _FEEDBACK_KEYS:
        value = next((v for k, v in obj.items() if k.lower() == key), None)
        if isinstance(value, str) and value.strip():
            feedback = value.strip()
            break
    return AuditResult(verdict, feedback)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object found in the text: the whole text, fenced blocks, then `{...}` spans."""
    found: list[dict[str, Any]] = []
    candidates = [text, *(m.group(1) for m in _FENCE.finditer(text))]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        stripped = candidate.strip()
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, dict):
            found.append(value)
    if not found:
        index = text.find("{")
        while index != -1:
            try:
                value, end = decoder.raw_decode(text, index)
            except ValueError:
                index = text.find("{", index + 1)
                continue
            if isinstance(value, dict):
                found.append(value)
            index = text.find("{", end)
    return found


def parse_verdict(text: str) -> AuditResult:
    """Read a verdict from the auditor's final answer (see the module docstring)."""
    results = [r for r in map(_from_mapping, _json_objects(text)) if r is not None]
    if not results:
        for match in _VERDICT_LINE.finditer(text):
            verdict = _SYNONYMS.get(match.group(1).upper())
            if verdict is not None:
                results.append(AuditResult(verdict, _rest(text, match.group(2), match.end())))
    if not results:
        for match in _LEADING_WORD.finditer(text):
            verdict = _SYNONYMS[match.group(1).upper()]
            results.append(AuditResult(verdict, _rest(text, match.group(2) or "", match.end())))
    verdicts = {r.verdict for r in results}
    if len(verdicts) != 1:
        # Nothing found, or "DONE" and "RETRY" both claimed: never take that as DONE.
        return AuditResult(Verdict.RETRY, FORMAT_FEEDBACK, well_formed=False)
    return results[0]


def _rest(text: str, same_line: str, end: int) -> str:
    """Feedback: what follows the verdict on its line, else the text after that line."""
    feedback = same_line.strip()
    if not feedback:
        feedback = text[end:].strip()
    return feedback
