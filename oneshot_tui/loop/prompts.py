"""The prompts of the loop: worker, reworker (worker after a RETRY) and auditor.

Each prompt starts with a header line (`oneshot <id> worker #<n>` by default) so agent session
lists show readable titles, then XML-tagged sections. Templates use `string.Template` ($name)
because prompts are full of braces (JSON examples) that `str.format` would trip on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template

TRUNCATION_MARKER = "\n… [TRUNCATED: {dropped} characters omitted] …\n"

DEFAULT_HEADERS = {
    "worker": "oneshot $oneshot_id worker #$n",
    "reworker": "oneshot $oneshot_id reworker #$n",
    "auditor": "oneshot $oneshot_id audit #$n",
}

WORKER_TEMPLATE = """$header

<instruction>
$instruction
</instruction>

Do the task above completely, in the current working directory. Check your work (run the tests
or the code) before you finish. End with a short summary of what you did and how you verified it.
"""

REWORKER_TEMPLATE = """$header

<instruction>
$instruction
</instruction>

<auditor-feedback>
$feedback
</auditor-feedback>

An earlier attempt at the instruction above was reviewed and judged not done. Consider only the
instruction and the auditor's feedback. Fix what the feedback says, re-run your checks, and end
with a short summary of what you changed and how you verified it.
"""

AUDITOR_TEMPLATE = """$header

<what-was-requested>
$instruction
</what-was-requested>

<worker-result>
$result
</worker-result>

You are the auditor. Judge whether the request was fully done, from the worker's result and, where
you can, by inspecting the working directory yourself. Answer with JSON only:
{"verdict": "DONE" | "RETRY" | "IMPOSSIBLE", "feedback": "what is missing, or why it cannot be"}
Use RETRY when more work can finish it, IMPOSSIBLE only when it cannot be done at all.
"""


@dataclass(frozen=True)
class PromptSet:
    """Templates and headers; any of them can be overridden from config or flags."""

    worker: str = WORKER_TEMPLATE
    reworker: str = REWORKER_TEMPLATE
    auditor: str = AUDITOR_TEMPLATE
    headers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HEADERS))
    max_result_chars: int = 20_000
    max_prompt_chars: int = 100_000


def truncate(text: str, limit: int) -> str:
    """Keep the start and the end (where results and conclusions usually are)."""
    if len(text) <= limit:
        return text
    marker_room = len(TRUNCATION_MARKER) + 12
    keep = max(limit - marker_room, 0)
    head, tail = keep // 3, keep - keep // 3
    dropped = len(text) - head - tail
    return text[:head] + TRUNCATION_MARKER.format(dropped=dropped) + text[len(text) - tail :]


def _header(prompts: PromptSet, role: str, oneshot_id: str, n: int) -> str:
    return Template(prompts.headers.get(role, DEFAULT_HEADERS[role])).safe_substitute(
        oneshot_id=oneshot_id, n=n
    )


def worker_prompt(
    prompts: PromptSet, oneshot_id: str, n: int, instruction: str, feedback: str | None = None
) -> str:
    """The worker's prompt for iteration `n`; with feedback it is the reworker prompt."""
    role = "worker" if feedback is None else "reworker"
    template = prompts.worker if feedback is None else prompts.reworker
    text = Template(template).safe_substitute(
        header=_header(prompts, role, oneshot_id, n),
        instruction=instruction.strip(),
        feedback=(feedback or "").strip(),
        oneshot_id=oneshot_id,
        n=n,
    )
    return truncate(text, prompts.max_prompt_chars)


def auditor_prompt(
    prompts: PromptSet, oneshot_id: str, n: int, instruction: str, result: str
) -> str:
    text = Template(prompts.auditor).safe_substitute(
        header=_header(prompts, "auditor", oneshot_id, n),
        instruction=instruction.strip(),
        result=truncate(result.strip(), prompts.max_result_chars) or "(the worker gave no result)",
        oneshot_id=oneshot_id,
        n=n,
    )
    return truncate(text, prompts.max_prompt_chars)
