"""The body of a worker/auditor loop task: the pure policy in `oneshot_tui.loop`, run with real
agents through the attempt (so idle detection, budgets and the interrupt ladder apply to every
step), with its state saved after each completed step for `--resume` and for continuing the task
(`Orchestrator.continue_task`). The auditor is asked for a JSON verdict through its CLI's schema
flag where it has one; an unreadable answer is asked again, in the auditor's session. A stalled
step (the idle policy's restart) is stopped and run again in its agent's session."""

from __future__ import annotations

import json
import os
from typing import Any

from oneshot_tui.agents import executor
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
    instruct,
    next_step,
    worker_finished,
)
from oneshot_tui.loop.prompts import DEFAULT_HEADERS, PromptSet
from oneshot_tui.loop.session import LoopSession, find_session, new_oneshot_id, reopen
from oneshot_tui.loop.verdict import REMINDER, VERDICT_SCHEMA, AuditResult, parse_verdict
from oneshot_tui.orchestrator.agent_body import AgentRun, Meter, run_step
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome, delivered
from oneshot_tui.orchestrator.messages import joined

RESUMED_NOTE = (
    "(This session was interrupted and is being resumed: continue where you left off.)\n\n"
)
MAX_STALL_RETRIES = 2
"""Times a stalled step is stopped and run again before the loop fails."""


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
        self.owner: dict[str, Any] = {}

    def _open(self, attempt: Attempt, record: dict[str, Any]) -> tuple[LoopSession, LoopState]:
        """The loop this attempt runs: a new one, or the saved one it goes on with (`--resume`,
        a later attempt of the same task, or `continue_task`) from its last completed step."""
        assert attempt.data_dir is not None
        task = attempt.task
        oneshot_id = None if task.fresh_start else (task.oneshot_id or self.loop.oneshot_id)
        force = self.loop.force or task.continuing
        task.fresh_start = task.continuing = False
        if oneshot_id is not None:
            session = find_session(attempt.data_dir, oneshot_id)
            state = session.load()
            reopen(state, force)
        else:
            state = LoopState(new_oneshot_id(), self.worker.prompt, self.loop.max_iterations)
            session = LoopSession.create(attempt.data_dir, state)
        if self.loop.activity_log:
            session.also_log_to(self.loop.activity_log)
        task.oneshot_id = state.oneshot_id
        self._save(session, state)
        return session, state

    def _save(self, session: LoopSession, state: LoopState) -> None:
        """The state, with what `--resume` needs: the settings, and which run runs it now (so a
        resume after a crash can stop what that run left running)."""
        session.save(state, settings=self.record, owner=self.owner)

    async def run(self, attempt: Attempt) -> Outcome:
        if attempt.data_dir is None:
            raise RuntimeError("a loop task needs the run's data dir to keep its session")
        self.record = record = loop_settings_record(self.spec, attempt.worktree)
        task = attempt.task
        self.owner = {"run": attempt.run_id, "task": task.id, "attempt": task.attempt}
        messages = task.inbox.take()
        session, state = self._open(attempt, record)
        if messages:  # the user's words go to the worker, as its next iteration's instruction
            instruct(state, joined(messages))
            self._save(session, state)
            delivered(attempt, messages)
        for earlier in state.verdicts:  # a resumed loop: its history shows every verdict
            self._publish_verdict(
                attempt,
                state,
                earlier.iteration,
                str(earlier.verdict),
                earlier.feedback,
                earlier.well_formed,
                earlier.answer,
            )
        meter = Meter(attempt, self.worker.budget)  # one budget across every step
        settings = {Role.WORKER: self.worker, Role.AUDITOR: self.loop.auditor}
        attention = ""
        while not attempt.stopping and (step := next_step(state, self.prompts)) is not None:
            self._announce(attempt, state, step)
            run = await self._run_step(attempt, session, state, step, settings[step.role], meter)
            if attempt.stopping:
                break
            attention = run.attention or attention
            text = run.result.text if run.result is not None else ""
            if step.role is Role.WORKER:
                worker_finished(state, text if run.ok else None, None if run.ok else run.reason)
                if run.ok and text.strip():
                    attempt.task.answer = text.strip()  # the worker's: what the loop produced
            else:
                audit = parse_verdict(text) if run.ok and run.result else None
                auditor_finished(state, audit, None if run.ok else run.reason, text)
                if audit is not None:
                    self._verdict(attempt, session, state, step, audit, text)
            self._save(session, state)
        if attempt.stopping:
            stop = attempt.task.stop
            state.status = LoopStatus.INTERRUPTED
            state.reason = stop.reason if stop is not None else "interrupted"
            self._save(session, state)
            return Outcome(False, state.reason, attention=attention)
        if state.status is LoopStatus.COMPLETED:
            attempt.show(ACTIVITY_STREAM, f"✔ {state.reason} (oneshot {state.oneshot_id})", 1)
        return Outcome(state.status is LoopStatus.COMPLETED, state.reason, attention=attention)

    async def _run_step(
        self,
        attempt: Attempt,
        session: LoopSession,
        state: LoopState,
        step: Step,
        settings: AgentSettings,
        meter: Meter,
    ) -> AgentRun:
        """Run one step to its end: in the session it had if it is being resumed (or asked
        again), and again, in that session, each time it stalls (up to MAX_STALL_RETRIES)."""
        key = step.key
        task = attempt.task
        stalls = 0

        def on_event(event: AgentEvent) -> None:
            sid = event.session_id if isinstance(event, SessionStarted) else ""
            if sid and state.sessions.get(key) != sid:
                # Saved at once: a crash mid-step can then resume the agent's own session.
                state.sessions[key] = sid
                self._save(session, state)
            session.log_activity(state, str(step.role), to_data(event))

        def on_agent(name: str) -> None:
            if state.agents.get(key) != name:
                state.agents[key] = name
                self._save(session, state)

        schema, schema_file = (None, None)
        if step.role is Role.AUDITOR:
            schema, schema_file = self._schema(session)
        task.on_stall = attempt.stop_process  # the idle policy's restart retries this step
        try:
            while True:
                previous = state.sessions.get(key)
                agent = state.agents.get(key, settings.agent)
                resumable = previous is not None and executor(agent).can_resume
                prompt = self._prompt(step, resumable, stalls > 0)
                run = await run_step(
                    attempt,
                    settings,
                    meter,
                    prompt=prompt,
                    resume=(agent, previous) if resumable and previous else None,
                    label=step.label,
                    on_event=on_event,
                    on_agent=on_agent,
                    output_schema=schema,
                    output_schema_file=schema_file,
                )
                if run.stopped is None or attempt.stopping or stalls >= MAX_STALL_RETRIES:
                    return run
                stalls += 1
                line = f"↻ {step.label} {run.stopped}: run again ({stalls} of {MAX_STALL_RETRIES})"
                attempt.show(ACTIVITY_STREAM, line, 1)
        finally:
            task.on_stall = None

    @staticmethod
    def _prompt(step: Step, resumable: bool, stalled: bool) -> str:
        if step.reminder:
            # The auditor's session holds its audit: the reminder alone is enough there.
            return REMINDER if resumable else f"{step.prompt}\n\n{REMINDER}"
        if resumable or stalled:
            return RESUMED_NOTE + step.prompt
        return step.prompt

    def _schema(self, session: LoopSession) -> tuple[str, str]:
        """The verdict's JSON schema, as text and as a file in the loop's directory (codex takes
        a path)."""
        text = json.dumps(VERDICT_SCHEMA)
        path = session.directory / "verdict.schema.json"
        if not path.exists():
            tmp = path.with_name(f".verdict.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
        return text, str(path)

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
        answer: str = "",
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
                "" if well_formed else answer,
            )
        )

    def _verdict(
        self,
        attempt: Attempt,
        session: LoopSession,
        state: LoopState,
        step: Step,
        audit: AuditResult,
        answer: str,
    ) -> None:
        self._publish_verdict(
            attempt,
            state,
            step.iteration,
            str(audit.verdict),
            audit.feedback,
            audit.well_formed,
            answer,
        )
        if audit.well_formed:
            feedback = f": {one_line(audit.feedback)}" if audit.feedback else ""
            attempt.show(ACTIVITY_STREAM, f"⚖ {audit.verdict}{feedback}", 1)
        elif state.ended:
            attempt.show(ACTIVITY_STREAM, f"⚖ unreadable answer: {one_line(answer)}", 1)
        else:
            line = f"⚖ unreadable answer, the auditor is asked again: {one_line(answer)}"
            attempt.show(ACTIVITY_STREAM, line, 1)
        session.log_activity(
            state,
            str(Role.AUDITOR),
            {
                "type": "verdict",
                "verdict": str(audit.verdict),
                "feedback": audit.feedback,
                "well_formed": audit.well_formed,
                **({} if audit.well_formed else {"answer": answer}),
            },
        )
