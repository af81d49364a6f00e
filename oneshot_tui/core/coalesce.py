"""Fewer, bigger events for a reader that takes them in batches (a UI, a socket client): runs of
one task's `Output` merged into one, everything else as it was, each task's order kept."""

from __future__ import annotations

from dataclasses import replace

from oneshot_tui.core.events import Event, Output


def coalesce(events: list[Event]) -> list[Event]:
    """Merge runs of `Output` of one task and attempt, keeping each task's order of events.

    Output of task A may be merged across events of task B (their relative order does not
    matter), but never across an event of task A itself, nor across a gap (`missed`).
    """
    out: list[Event] = []
    open_output: dict[str, int] = {}
    """task id -> index in `out` of the Output still accepting lines."""
    pieces: dict[int, list[str]] = {}
    for event in events:
        task_id: str | None = getattr(event, "task_id", None)
        if type(event) is Output:
            at = open_output.get(event.task_id)
            if at is not None and not event.missed and event.lines:
                first = out[at]
                assert type(first) is Output
                if first.attempt == event.attempt and first.stream == event.stream:
                    pieces.setdefault(at, [first.text]).append(event.text)
                    out[at] = replace(first, lines=first.lines + event.lines, ts=event.ts)
                    continue
            open_output[event.task_id] = len(out)
            out.append(event)
        else:
            if task_id is not None:
                open_output.pop(task_id, None)
            out.append(event)
    for at, texts in pieces.items():
        merged = out[at]
        assert type(merged) is Output
        out[at] = replace(merged, text="\n".join(texts))
    return out
