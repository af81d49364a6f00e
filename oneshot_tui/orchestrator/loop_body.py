"""The body of a worker/auditor loop task: the pure policy in `oneshot_tui.loop`, run with real
agents through the attempt (so idle detection, budgets and the interrupt ladder apply to every
step), with its state saved after each completed step for `--resume`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oneshot_tui.agents import Executor, executor
from oneshot_tui.core.activity import ACTIVITY_STREAM, AgentEvent, SessionStarted, one_line, to_data
from oneshot_tui.core.events import LoopPhase, LoopVerdict
from oneshot_tui.core.spec import AgentSettings, LoopSettings, TaskSpec
from oneshot_tui.core.worktree import WorktreeInfo
from oneshot_tui.loop.policy import (
    LoopState,
    LoopStatus,
    Role,
    Step,
    auditor_finished,
    next_step,
    worker_finished,
)
from oneshot_tui.loop.prompts import DEFAULT_HEADERS, PromptSet
from oneshot_tui.loop.session import LoopSession, find_session, new_oneshot_id, reopen
from oneshot_tui.loop.verdict import AuditResult, parse_verdict
from oneshot_tui.orchestrator.agent_body import AgentRun, Meter, request_for, run_with_retries
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome

RESUMED_NOTE = (
    "(This session was interrupted and is being resumed: continue where you left off.)\n\n"
)


def prompt_set(loop: LoopSettings) -> PromptSet:
    defaults = PromptSet()
    return PromptSet(
        worker=loop.templates.get("worker", defaults.worker),
        reworker=loop.templates.get("reworker", defaults.reworker),
        auditor=loop.templates.get("auditor", defaults.auditor),
        headers={**DEFAULT_HEADERS, **loop.headers},
    )


def loop_settings_record(spec: TaskSpec, worktree: WorktreeInfo | None = None) -> dict[str, Any]:
    """What `oneshot --resume` needs to run the loop again without the original flags (and in
    the same worktree, where the worker's changes are)."""
    assert spec.agent is not None and spec.loop is not None
    worker, auditor = spec.agent, spec.loop.auditor
    record = {
        "task": spec.name,
        "cwd": spec.cwd,
        "worker": {"agent": worker.agent, "model": worker.model, "args": list(worker.args)},
        "auditor": {"agent": auditor.agent, "model": auditor.model, "args": list(auditor.args)},
        "headers": dict(spec.loop.headers),
    }
    if worktree is not None:
        record["worktree"] = {"path": worktree.path, "branch": worktree.branch, "cwd": worktree.cwd}
    return record


class LoopBody:
    """Worker, auditor, verdict; RETRY runs the worker again with the feedback."""

    def __init__(self, spec: TaskSpec) -> None:
        if spec.agent is None or spec.loop is None:
            raise ValueError(f"task {spec.name!r} is not a loop task")
        self.spec = spec
        self.worker: AgentSettings = spec.agent
        self.loop: LoopSettings = spec.loop
        self.prompts = prompt_set(spec.loop)
        self.record: dict[str, Any] = loop_settings_record(spec)
        """What is saved beside the loop's state (with its worktree, once the attempt has one)."""

    def _open(self, data_dir: Path, record: dict[str, Any]) -> tuple[LoopSession, LoopState]:
        if self.loop.oneshot_id is not None:
            session = find_session(data_dir, self.loop.oneshot_id)
            state = session.load()
            reopen(state, self.loop.force)
        else:
            state = LoopState(new_oneshot_id(), self.worker.prompt, self.loop.max_iterations)
            session = LoopSession.create(data_dir, state)
        session.save(state, settings=record)
        return session, state

    async def run(self, attempt: Attempt) -> Outcome:
        if attempt.data_dir is None:
            raise RuntimeError("a loop task needs the run's data dir to keep its session")
        self.record = record = loop_settings_record(self.spec, attempt.worktree)
        session, state = self._open(attempt.data_dir, record)
        for earlier in state.verdicts:  # a resumed loop: its history shows every verdict
            self._publish_verdict(
                attempt,
                state,
                earlier.iteration,
                str(earlier.verdict),
                earlier.feedback,
                earlier.well_formed,
            )
        meter = Meter(attempt, self.worker.budget)  # one budget across every step
        agents = {
            Role.WORKER: executor(self.worker.agent),
            Role.AUDITOR: executor(self.loop.auditor.agent),
        }
        settings = {Role.WORKER: self.worker, Role.AUDITOR: self.loop.auditor}
        while not attempt.stopping and (step := next_step(state, self.prompts)) is not None:
            self._announce(attempt, state, step)
            run = await self._run_step(
                attempt, session, state, step, agents[step.role], settings[step.role], meter
            )
            if attempt.stopping:
                break
            if step.role is Role.WORKER:
                text = run.result.text if run.result is not None else None
                worker_finished(state, text if run.ok else None, None if run.ok else run.reason)
            else:
                audit = parse_verdict(run.result.text) if run.ok and run.result else None
                auditor_finished(state, audit, None if run.ok else run.reason)
                if audit is not None:
                    self._verdict(attempt, session, state, step, audit)
            session.save(state, settings=record)
        if attempt.stopping:
            stop = attempt.task.stop
            state.status = LoopStatus.INTERRUPTED
            state.reason = stop.reason if stop is not None else "interrupted"
            session.save(state, settings=record)
            return Outcome(False, state.reason)
        if state.status is LoopStatus.COMPLETED:
            attempt.show(ACTIVITY_STREAM, f"✔ {state.reason} (oneshot {state.oneshot_id})", 1)
        return Outcome(state.status is LoopStatus.COMPLETED, state.reason)

    async def _run_step(
        self,
        attempt: Attempt,
        session: LoopSession,
        state: LoopState,
        step: Step,
        agent: Executor,
        settings: AgentSettings,
        meter: Meter,
    ) -> AgentRun:
        key = f"{step.role}#{step.iteration}"
        resume = state.sessions.get(key) if agent.can_resume else None
        prompt = RESUMED_NOTE + step.prompt if resume else step.prompt

        def on_event(event: AgentEvent) -> None:
            sid = event.session_id if isinstance(event, SessionStarted) else ""
            if sid and state.sessions.get(key) != sid:
                # Saved at once: a crash mid-step can then resume the agent's own session.
                state.sessions[key] = sid
                session.save(state, settings=self.record)
            session.log_activity(state, str(step.role), to_data(event))

        request = request_for(settings, prompt, resume_session=resume)
        return await run_with_retries(
            attempt, agent, request, settings, meter, label=step.label, on_event=on_event
        )

    def _announce(self, attempt: Attempt, state: LoopState, step: Step) -> None:
        task = attempt.task
        attempt.bus.publish(
            LoopPhase(
                task.id,
                task.attempt,
                attempt.clock.time(),
                state.oneshot_id,
                str(step.role),
                step.iteration,
                state.max_iterations,
            )
        )
        line = f"── {step.role} #{step.iteration} of {state.max_iterations} ──"
        attempt.show(ACTIVITY_STREAM, line, 1)

    @staticmethod
    def _publish_verdict(
        attempt: Attempt,
        state: LoopState,
        iteration: int,
        verdict: str,
        feedback: str,
        well_formed: bool,
    ) -> None:
        task = attempt.task
        attempt.bus.publish(
            LoopVerdict(
                task.id,
                task.attempt,
                attempt.clock.time(),
                state.oneshot_id,
                iteration,
                verdict,
                feedback,
                well_formed,
            )
        )

    def _verdict(
        self,
        attempt: Attempt,
        session: LoopSession,
        state: LoopState,
        step: Step,
        audit: AuditResult,
    ) -> None:
        self._publish_verdict(
            attempt, state, step.iteration, str(audit.verdict), audit.feedback, audit.well_formed
        )
        feedback = f": {one_line(audit.feedback)}" if audit.feedback else ""
        unread = "" if audit.well_formed else " (unreadable answer)"
        attempt.show(ACTIVITY_STREAM, f"⚖ {audit.verdict}{unread}{feedback}", 1)
        session.log_activity(
            state,
            str(Role.AUDITOR),
            {
                "type": "verdict",
                "verdict": str(audit.verdict),
                "feedback": audit.feedback,
                "well_formed": audit.well_formed,
            },
        )
