"""`@record`: a frozen, slotted dataclass, made at a third of the cost.

`@record` on a class gives what `@dataclass(frozen=True, slots=True)` gives: a real dataclass
(`dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work on it, and type checkers treat
it as a frozen dataclass) with the same `__init__`, `__repr__`, `__eq__`, `__hash__`, match args,
immutability (`dataclasses.FrozenInstanceError`), copying and pickling.

Why: Python 3.11's `dataclass` writes the source of six methods for a frozen class and compiles
each one, at every start of the program. With the engine's fifty-odd records that was a fifth of a
headless run's start-up. Here only `__init__` is compiled (it must have the class's signature, and
it is the one method called often); the others are shared functions that read the class's field
names. Supported: fields with defaults and default factories, `field(repr=False)`,
`field(compare=False)`, `field(hash=...)`. Not supported (refused): `init=False` or `kw_only`
fields, `InitVar`, `__post_init__`; use `dataclass` there.
"""

from __future__ import annotations

import dataclasses
import reprlib
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

_MISSING = dataclasses.MISSING


class _Factory:
    """The default of a field with a default factory, as dataclasses shows it in a signature."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """Make `cls` a frozen, slotted dataclass (see the module's docstring)."""
    if "__post_init__" in cls.__dict__:
        raise TypeError(f"@record {cls.__qualname__}: __post_init__ needs @dataclass")
    made: Any = dataclasses.dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    fields = dataclasses.fields(made)
    for f in fields:
        if not f.init or f.kw_only is True:
            where = f"@record {cls.__qualname__}.{f.name}"
            raise TypeError(f"{where}: init=False and kw_only fields need @dataclass")
    made.__init__ = _init_for(made, fields)
    made._record_repr = tuple(f.name for f in fields if f.repr)
    made._record_compare = tuple(f.name for f in fields if f.compare)
    made._record_hash = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    made.__repr__ = _repr
    made.__eq__ = _eq
    made.__hash__ = _hash
    made.__setattr__ = _setattr
    made.__delattr__ = _delattr
    made.__getstate__ = _getstate
    made.__setstate__ = _setstate
    result: type[T] = made
    return result


def _init_for(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Any:
    """The `__init__` dataclasses would write for a frozen class, compiled once."""
    names: dict[str, Any] = {"__setattr": object.__setattr__, "__factory": _FACTORY}
    params = []
    body = []
    for f in fields:
        value = f.name
        if f.default is not _MISSING:
            names[f"__default_{f.name}"] = f.default
            params.append(f"{f.name}=__default_{f.name}")
        elif f.default_factory is not _MISSING:
            names[f"__factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=__factory")
            value = f"__factory_{f.name}() if {f.name} is __factory else {f.name}"
        else:
            params.append(f.name)
        body.append(f"    __setattr(self, {f.name!r}, {value})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {**{f.name: f.type for f in fields}, "return": None}
    return init


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names: tuple[str, ...] = getattr(self, "_record_compare")  # noqa: B009
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, n) for n in self._record_hash))


def _setattr(self: Any, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):
        object.__setattr__(self, f.name, value)
