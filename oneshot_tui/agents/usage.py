"""What an agent run has used so far, live: the CLI's own figures where its stream carries them,
estimates for the rest, so a budget stops a runaway while it runs rather than after it ends.

Where a stream reports usage per message (claude, qwen, opencode, cline) those figures count as
they come; where it reports only at the end (codex's `turn.completed`, gemini's `result`) the
tokens are estimated from what it does carry: each model turn (a tool call) re-reads the
conversation so far, and writes its own text and call; about four characters make a token. Cost
comes from the CLI when it says (claude's `total_cost_usd`, opencode's and cline's per-step
cost), else from the tokens and a price table per model that the user can extend (`[run]
prices`), as claude works out its own. Tokens not reported yet are estimates, and totals holding
any are marked so (`AgentTotals.estimated`); the CLI's final figures replace them.
Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from oneshot_tui.core.activity import (
    AgentEvent,
    AgentTotals,
    AssistantText,
    FinalResult,
    TextDelta,
    Thinking,
    ToolCall,
    ToolDenied,
    ToolResult,
    Usage,
)

CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


PRICES: tuple[tuple[str, Price], ...] = (
    # Patterns (fnmatch, case-insensitive) over the model name, the first match wins. Public list
    # prices; a user's own entries (`[run] prices`) come before these.
    ("claude-opus-4-[5-9]*", Price(5.0, 25.0)),
    ("claude-opus-4*", Price(15.0, 75.0)),
    ("*opus*", Price(5.0, 25.0)),
    ("*sonnet*", Price(3.0, 15.0)),
    ("claude-haiku-4*", Price(1.0, 5.0)),
    ("*haiku*", Price(0.8, 4.0)),
    ("gpt-5*mini*", Price(0.25, 2.0)),
    ("gpt-5*nano*", Price(0.05, 0.4)),
    ("gpt-5*", Price(1.25, 10.0)),
    ("gpt-4.1*", Price(2.0, 8.0)),
    ("gpt-4o*", Price(2.5, 10.0)),
    ("o3*", Price(2.0, 8.0)),
    ("o4-mini*", Price(1.1, 4.4)),
    ("gemini-*pro*", Price(1.25, 10.0)),
    ("gemini-*flash-lite*", Price(0.1, 0.4)),
    ("gemini-*flash*", Price(0.3, 2.5)),
    ("qwen3-coder-plus*", Price(1.0, 5.0)),
    ("qwen*", Price(0.4, 1.2)),
)


def parse_prices(table: Mapping[str, object]) -> dict[str, Price]:
    """A `[run] prices` table, `{"my-model*" = [input, output]}` or `{... = {input=, output=}}`,
    in dollars per million tokens; ValueError names a bad entry."""
    out: dict[str, Price] = {}
    for pattern, value in table.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            pair = value
        elif isinstance(value, Mapping) and set(value) == {"input", "output"}:
            pair = (value["input"], value["output"])
        else:
            raise ValueError(f'"{pattern}": expected [input, output] in $ per million tokens')
        numbers = [p for p in pair if isinstance(p, int | float) and not isinstance(p, bool)]
        if len(numbers) != 2 or any(n < 0 for n in numbers):
            raise ValueError(f'"{pattern}": prices must be numbers, zero or more')
        out[pattern] = Price(float(numbers[0]), float(numbers[1]))
    return out


class PriceTable:
    """The user's prices first, then the built-in ones."""

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self._entries = [*(overrides or {}).items(), *PRICES]

    def price(self, model: str) -> Price | None:
        name = model.lower().split("/")[-1].split("[")[0]
        full = model.lower()
        for pattern, price in self._entries:
            p = pattern.lower()
            if fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(name, p):
                return price
        return None


def tokens_of(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


class LiveUsage:
    """One run's totals as its stream goes by (see the module docstring)."""

    def __init__(self, prompt: str, price: Price | None) -> None:
        self.price = price
        self._context = tokens_of(prompt)
        """Tokens of the conversation so far (the prompt, what was said and what tools gave)."""
        self._reported = (0, 0)
        self._reported_cost: float | None = None
        self._estimate = (0, 0)
        """Tokens used since the last reported figures."""
        self._streamed = 0
        """Characters of text streamed since the last whole text (not counted twice)."""
        self.tool_calls = 0
        self.denials = 0
        self.final = False

    def see(self, event: AgentEvent) -> bool:
        """Take in one event; True if the totals changed."""
        if isinstance(event, TextDelta):
            self._streamed += len(event.text)
            self._add(0, tokens_of(event.text))
            return True
        if isinstance(event, AssistantText | Thinking):
            unseen = max(len(event.text) - self._streamed, 0)
            self._streamed = 0
            self._context += tokens_of(event.text)
            if unseen:
                self._add(0, (unseen + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)
                return True
            return False
        if isinstance(event, ToolCall):
            # A model turn that ended in a call: it read the conversation and wrote the call.
            self.tool_calls += 1
            written = tokens_of(event.summary) + 8
            self._add(self._context, written)
            self._context += written
            return True
        if isinstance(event, ToolResult):
            self._context += tokens_of(event.output)
            return False
        if isinstance(event, ToolDenied):
            self.denials += 1
            return True
        if isinstance(event, Usage):
            self._reported = (event.input_tokens, event.output_tokens)
            if event.cost_usd is not None:
                self._reported_cost = event.cost_usd
            self._estimate = (0, 0)
            return True
        if isinstance(event, FinalResult):
            self.final = True
            return False
        return False

    def _add(self, sent: int, got: int) -> None:
        self._estimate = (self._estimate[0] + sent, self._estimate[1] + got)

    def totals(self) -> AgentTotals:
        sent = self._reported[0] + self._estimate[0]
        got = self._reported[1] + self._estimate[1]
        guessed = self._estimate != (0, 0)
        cost: float | None
        if self._reported_cost is not None:
            cost = self._reported_cost
            if guessed and self.price is not None:
                cost += self.price.cost(*self._estimate)
        elif self.price is not None:
            cost = self.price.cost(sent, got)  # as claude's own figure is: tokens x list price
        else:
            cost = None
        return AgentTotals(sent, got, cost, self.tool_calls, guessed, self.denials)
