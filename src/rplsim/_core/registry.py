"""A named registry of implementations (analyses, analytic methods, boundaries).

A registry maps a name to a frozen record; :meth:`Registry.lookup` raises a clear
:class:`~rplsim.exceptions.InvalidArgumentError` for an unknown name, and
:attr:`Registry.names` is a *live* view of the names, so a scenario's allowed values follow
entries registered later.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

from rplsim.exceptions import InvalidArgumentError

__all__ = ["NameView", "Registry"]

T = TypeVar("T")


class NameView(Sequence[str]):
    """The names of a registry in registration order, always current; prints as a tuple."""

    def __init__(self, items: Mapping[str, object]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return tuple(self._items)[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._items))

    def __contains__(self, value: object) -> bool:
        return value in self._items

    def __repr__(self) -> str:
        return repr(tuple(self._items))


class Registry(Mapping[str, T], Generic[T]):
    """Name -> record, with registration, removal and a checked lookup.

    Parameters
    ----------
    kind : str
        What the names are, as error messages call them (``"analysis"``).

    Examples
    --------
    >>> r: Registry[int] = Registry("colour")
    >>> r.register("red", 1)
    >>> r.lookup("red"), list(r.names)
    (1, ['red'])
    >>> r.lookup("blue")
    Traceback (most recent call last):
    ...
    rplsim.exceptions.InvalidArgumentError: colour == 'blue', must be one of ('red',).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self.names = NameView(self._items)

    def register(self, name: str, item: T, *, replace: bool = False) -> None:
        """Add ``item`` under ``name``; a name already taken needs ``replace=True``."""
        if name in self._items and not replace:
            raise InvalidArgumentError(f"{self.kind} {name!r} is already registered.")
        self._items[name] = item

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return its record."""
        return self._items.pop(self.lookup_name(name))

    def lookup_name(self, name: str) -> str:
        """``name`` if registered, else a clear error listing the registered names."""
        if name not in self._items:
            raise InvalidArgumentError(f"{self.kind} == {name!r}, must be one of {self.names!r}.")
        return name

    def lookup(self, name: str) -> T:
        """The record registered as ``name``, else a clear error listing the registered names."""
        return self._items[self.lookup_name(name)]

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
