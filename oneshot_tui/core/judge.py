"""Best of N: the judge's prompt over the replicas' results and diffs, and its answer read
strictly (one JSON object naming a candidate). Pure text work, like the auditor's verdict."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

JUDGE_PROMPT = """You are judging {count} attempts at the same request, each made by an agent in a
git worktree of its own. Compare what each did (its final answer and its diff against the base)
and decide which one best does what was asked: correct, complete, and no larger than needed.

<request>
{request}
</request>

<candidates>
{candidates}
</candidates>

Answer with exactly one JSON object and nothing else:
{{"winner": "<the candidate's name>", "reasons": "<why it is the best, and what the others lack>"}}
"""

CANDIDATE = """<candidate name="{name}">
<result>
{{{{ tasks.{name}.result }}}}
</result>
<diff>
{{{{ tasks.{name}.diff }}}}
</diff>
</candidate>"""


def judge_prompt(request: str, candidates: Sequence[str]) -> str:
    """The judge's prompt, as a template over the candidates' results and diffs (filled in from
    its dependencies when it starts)."""
    blocks = "\n".join(CANDIDATE.format(name=name) for name in candidates)
    return JUDGE_PROMPT.format(count=len(candidates), request=request, candidates=blocks)


_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)


def parse_judgement(text: str, candidates: Sequence[str]) -> tuple[str, str] | None:
    """(winner, reasons) from the judge's answer: one JSON object (a code fence around it is
    allowed) whose `winner` is one of `candidates`; None for anything else."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    winner, reasons = data.get("winner"), data.get("reasons", "")
    if not isinstance(winner, str) or winner not in candidates or not isinstance(reasons, str):
        return None
    return winner, reasons.strip()
