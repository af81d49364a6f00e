"""`@record` makes what `@dataclass(frozen=True, slots=True)` makes, method for method."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from oneshot_tui.core.record import record


@record
class Rec:
    """A record."""

    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    secret: str | None = field(default=None, repr=False)
    note: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Std:
    """The same, as a dataclass."""

    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    secret: str | None = field(default=None, repr=False)
    note: str = field(default="", compare=False)


@record
class Point:
    """Hashable."""

    x: int
    y: int
    label: str = field(default="", hash=False)


@dataclass(frozen=True, slots=True)
class StdPoint:
    """Hashable, as a dataclass."""

    x: int
    y: int
    label: str = field(default="", hash=False)


@record
class Empty:
    """No fields."""


def both(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return Rec(*args, **kwargs), Std(*args, **kwargs)


def test_init_defaults_and_factories_are_the_dataclasses() -> None:
    rec, std = both("a", tags=("x",), secret="s")
    assert [getattr(rec, f.name) for f in dataclasses.fields(rec)] == [
        getattr(std, f.name) for f in dataclasses.fields(std)
    ]
    assert Rec("a").data is not Rec("a").data  # a fresh dict each time
    assert str(inspect.signature(Rec)).replace("Rec", "X") == str(inspect.signature(Std)).replace(
        "Std", "X"
    )
    with pytest.raises(TypeError):
        Rec()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Rec("a", 1, (), {}, None, "", "extra")  # type: ignore[call-arg]


def test_repr_eq_and_hash_are_the_dataclasses() -> None:
    rec, std = both("a", 2, ("t",), secret="hidden", note="n")
    assert repr(rec) == repr(std).replace("Std(", "Rec(")
    assert "hidden" not in repr(rec)
    assert rec == Rec("a", 2, ("t",), secret="hidden", note="other")  # note is not compared
    assert rec != Rec("b", 2, ("t",))
    assert rec != std  # another class
    assert rec.__eq__(std) is NotImplemented
    assert hash(Point(1, 2)) == hash(StdPoint(1, 2))
    assert {Point(1, 2), Point(1, 2), Point(2, 1)} == {Point(1, 2), Point(2, 1)}
    assert Empty() == Empty()
    assert repr(Empty()) == "Empty()"


def test_it_is_frozen_and_slotted() -> None:
    rec = Rec("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del rec.name
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError)):
        rec.other = 1  # type: ignore[attr-defined]
    assert not hasattr(rec, "__dict__")
    assert getattr(Rec, "__slots__", None) == getattr(Std, "__slots__", None)
    assert Rec.__match_args__ == Std.__match_args__


def test_dataclass_functions_copies_and_pickles_work() -> None:
    rec = Rec("a", 1, data={"k": 1})
    assert dataclasses.is_dataclass(rec)
    assert [f.name for f in dataclasses.fields(rec)] == [f.name for f in dataclasses.fields(Std)]
    assert dataclasses.replace(rec, count=5) == Rec("a", 5, data={"k": 1})
    assert dataclasses.asdict(rec) == dataclasses.asdict(Std("a", 1, data={"k": 1}))
    assert copy.copy(rec) == rec
    assert copy.deepcopy(rec) == rec
    assert pickle.loads(pickle.dumps(rec)) == rec
    match rec:
        case Rec(name, count):
            assert (name, count) == ("a", 1)


def test_what_it_cannot_do_is_refused() -> None:
    with pytest.raises(TypeError):

        @record
        class Later:
            x: int = field(init=False, default=0)

    with pytest.raises(TypeError):

        @record
        class Post:
            x: int

            def __post_init__(self) -> None:
                pass
