"""The loop as a pure state machine: which step comes next, and what a step's outcome means.

No I/O and no agents here: the orchestrator runs the steps and feeds their outcomes back, and the
session file stores this state after every completed step so a crashed loop resumes where it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from oneshot_tui.loop.prompts import PromptSet, auditor_prompt, worker_prompt
from oneshot_tui.loop.verdict import AuditResult, Verdict

MAX_REMINDERS = 2
"""Times an auditor whose answer could not be read is asked again before the loop fails."""


class Role(StrEnum):
    WORKER = "worker"
    AUDITOR = "auditor"


class LoopStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Step:
    role: Role
    iteration: int
    prompt: str
    reminder: int = 0
    """An auditor step asked again after an unreadable answer (1, 2): the format reminder."""

    @property
    def label(self) -> str:
        again = f" (asked again {self.reminder})" if self.reminder else ""
        return f"{self.role} #{self.iteration}{again}"

    @property
    def key(self) -> str:
        """The step's name in `LoopState.sessions`: "worker#2", "auditor#1"."""
        return f"{self.role}#{self.iteration}"


@dataclass
class VerdictRecord:
    iteration: int
    verdict: Verdict
    feedback: str
    well_formed: bool
    answer: str = ""
    """The auditor's own words, when they could not be read as a verdict."""


@dataclass
class LoopState:
    """Everything needed to continue a loop; serialisable to JSON."""

    oneshot_id: str
    instruction: str
    max_iterations: int
    iteration: int = 1
    worker_result: str | None = None
    """The current iteration's worker result, once that step has completed."""
    feedback: str | None = None
    """The feedback of the last RETRY, given to the next worker."""
    verdicts: list[VerdictRecord] = field(default_factory=list)
    status: LoopStatus = LoopStatus.RUNNING
    reason: str = ""
    sessions: dict[str, str] = field(default_factory=dict)
    """Agent session ids by step ("worker#2"), so a CLI that can resume its own session is."""
    agents: dict[str, str] = field(default_factory=dict)
    """The agent each step ran on (a session belongs to it), by step."""
    reminders: int = 0
    """Times the current audit was asked again after an unreadable answer."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["verdicts"] = [{**asdict(v), "verdict": str(v.verdict)} for v in self.verdicts]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopState:
        verdicts = [
            VerdictRecord(
                v["iteration"],
                Verdict(v["verdict"]),
                v["feedback"],
                v["well_formed"],
                v.get("answer", ""),
            )
            for v in data.get("verdicts", [])
        ]
        return cls(
            oneshot_id=data["oneshot_id"],
            instruction=data["instruction"],
            max_iterations=int(data["max_iterations"]),
            iteration=int(data.get("iteration", 1)),
            worker_result=data.get("worker_result"),
            feedback=data.get("feedback"),
            verdicts=verdicts,
            status=LoopStatus(data.get("status", "running")),
            reason=data.get("reason", ""),
            sessions=dict(data.get("sessions", {})),
            agents=dict(data.get("agents", {})),
            reminders=int(data.get("reminders", 0)),
        )

    @property
    def ended(self) -> bool:
        return self.status is not LoopStatus.RUNNING


def next_step(state: LoopState, prompts: PromptSet) -> Step | None:
    """The step to run now, or None when the loop has ended."""
    if state.ended:
        return None
    if state.worker_result is None:
        prompt = worker_prompt(
            prompts, state.oneshot_id, state.iteration, state.instruction, state.feedback
        )
        return Step(Role.WORKER, state.iteration, prompt)
    prompt = auditor_prompt(
        prompts, state.oneshot_id, state.iteration, state.instruction, state.worker_result
    )
    return Step(Role.AUDITOR, state.iteration, prompt, state.reminders)


def worker_finished(state: LoopState, result: str | None, error: str | None = None) -> None:
    """Record the worker's final result; a worker that crashed or reported an error fails the
    loop (there is nothing for the auditor to judge)."""
    if error is not None or result is None:
        state.status = LoopStatus.FAILED
        state.reason = f"worker #{state.iteration} failed: {error or 'no result'}"
        return
    state.worker_result = result


def auditor_finished(
    state: LoopState, audit: AuditResult | None, error: str | None = None, answer: str = ""
) -> None:
    """Apply a verdict: DONE completes, IMPOSSIBLE fails, RETRY runs the worker again with the
    feedback until `max_iterations` worker runs have been judged. An unreadable answer (`answer`
    is its text) asks the auditor again, up to MAX_REMINDERS times, then fails the loop: only a
    real RETRY spends a worker iteration."""
    if audit is None:
        state.status = LoopStatus.FAILED
        state.reason = f"auditor #{state.iteration} failed: {error or 'no result'}"
        return
    state.verdicts.append(
        VerdictRecord(
            state.iteration,
            audit.verdict,
            audit.feedback,
            audit.well_formed,
            "" if audit.well_formed else answer,
        )
    )
    if not audit.well_formed:
        if state.reminders < MAX_REMINDERS:
            state.reminders += 1
            return
        state.status = LoopStatus.FAILED
        state.reason = (
            f"auditor #{state.iteration} gave no readable verdict in {state.reminders + 1} answers"
        )
        return
    state.reminders = 0
    if audit.verdict is Verdict.DONE:
        state.status = LoopStatus.COMPLETED
        n = state.iteration
        state.reason = f"DONE after {n} iteration{'s' if n != 1 else ''}"
    elif audit.verdict is Verdict.IMPOSSIBLE:
        state.status = LoopStatus.FAILED
        state.reason = f"IMPOSSIBLE: {audit.feedback}" if audit.feedback else "IMPOSSIBLE"
    elif state.iteration >= state.max_iterations:
        state.status = LoopStatus.FAILED
        m = state.max_iterations
        many = "s" if m != 1 else ""
        state.reason = f"no DONE after {m} iteration{many}; last: {audit.feedback}"
    else:
        state.iteration += 1
        state.worker_result = None
        state.feedback = audit.feedback


def instruct(state: LoopState, message: str) -> None:
    """A message from the user to the worker: the next worker run has it as its feedback (and
    the auditor judges that run against the instruction as usual). A worker whose result is in
    goes again in a new iteration; one still to run gets it in this one."""
    said = f"The user says:\n{message.strip()}"
    if state.worker_result is not None or any(
        v.iteration == state.iteration for v in state.verdicts
    ):
        state.iteration += 1
        state.worker_result = None
        state.reminders = 0
    state.feedback = said if not state.feedback else f"{state.feedback}\n\n{said}"
    state.max_iterations = max(state.max_iterations, state.iteration)
    state.status = LoopStatus.RUNNING
    state.reason = ""
