"""Single-flight lazy values: built once per key, however many threads ask at the same moment.

A server answers requests on many threads, and the first requests after a start arrive
while the start-up warm-up is still building the same structures (snap grids, facility
indexes, labels, cluster unions). ``functools.lru_cache`` and a dictionary filled on a miss
let every thread that misses build its own copy at the same time — wasted work at best, and
a crash when the builds share an object that is not thread-safe (a prepared GEOS geometry).
The helpers here build each value once: the first thread to miss builds it under a lock of
that key, the others wait on that lock and then take its result. Once a value exists,
reading it takes no lock at all (check, then lock, then check again).

* :class:`OnceMap` -- a keyed cache (optionally with a validity test, for values that carry
  a version);
* :func:`once_per_object` -- a decorator for ``f(obj, *args)``: one value per object and
  arguments, kept on the object itself, so it lives exactly as long as the object;
* :class:`once_property` -- a ``cached_property`` whose computation runs once per instance;
* :func:`freeze_arrays` -- make a built value's numpy arrays read-only before it is shared,
  so nothing can write to them while other threads read.

A failed build caches nothing: the exception reaches the thread that built, and the next
caller tries again. A build must not ask for its own key (that would wait for itself).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
from collections.abc import Callable, Hashable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import numpy as np

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
Obj = TypeVar("Obj")
P = ParamSpec("P")

_MISSING: Any = object()


class OnceMap(Generic[K, V]):
    """Values built lazily, once per key, safely from many threads.

    ``get(key, build)`` returns the stored value without locking when there is one;
    otherwise it takes the key's own lock (so builds of different keys run in parallel),
    looks again, and calls ``build()`` only if the value is still missing.
    """

    __slots__ = ("_guard", "_locks", "_values")

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: K) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._guard:
                lock = self._locks.get(key)
                if lock is None:
                    lock = self._locks[key] = threading.Lock()
        return lock

    def get(self, key: K, build: Callable[[], V], valid: Callable[[V], bool] | None = None) -> V:
        """The value of ``key``, built by ``build()`` if it is missing (or not ``valid``).

        Parameters
        ----------
        key
            The key.
        build
            Makes the value; called at most once at a time per key, and only when no
            valid value is stored.
        valid
            Whether a stored value may still be used (e.g. its version is current); an
            invalid value is rebuilt, once, by the first thread that finds it so.
        """
        value = self._values.get(key, _MISSING)
        if value is not _MISSING and (valid is None or valid(value)):
            return value
        with self._lock(key):
            value = self._values.get(key, _MISSING)
            if value is _MISSING or (valid is not None and not valid(value)):
                value = build()
                self._values[key] = value
        return value

    def peek(self, key: K) -> V | None:
        """The stored value of ``key``, or None (never builds, never waits)."""
        return self._values.get(key)

    def discard(self, key: K) -> None:
        """Forget the value of ``key``, after any build of it under way has finished."""
        with self._lock(key):
            self._values.pop(key, None)

    def clear(self) -> None:
        """Forget every value (each after its build under way, if any, has finished)."""
        for key in list(self._locks):
            self.discard(key)
        self._values.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)


def _build_into(values: dict[str, Any], name: str, build: Callable[[], T]) -> T:
    """``values[name]``, set to ``build()`` under a lock of that name if it is missing.

    The lock lives in ``values`` while a build is under way and is dropped after it: a
    thread that missed the value and then finds no lock makes a new one, and finds the
    value under it.
    """
    lock_name = f"_once_lock_{name}"
    lock = values.get(lock_name) or values.setdefault(lock_name, threading.Lock())
    with lock:
        value = values.get(name, _MISSING)
        if value is _MISSING:
            value = build()
            values[name] = value
    values.pop(lock_name, None)
    return value  # type: ignore[no-any-return]


def once_per_object(func: Callable[Concatenate[Obj, P], T]) -> Callable[Concatenate[Obj, P], T]:
    """Cache ``func(obj, *args)`` once per object and arguments, built once under a lock.

    The values are kept in the object's ``__dict__`` (as ``functools.cached_property``
    does), so they are freed with the object and a value may refer back to it. The
    arguments after ``obj`` must be hashable and positional. A function of the object
    alone reads its value with one dictionary look-up (about as fast as
    ``functools.lru_cache``). The undecorated function is ``wrapper.__wrapped__``.
    """
    slot = f"_once_{func.__module__.replace('.', '_')}_{func.__qualname__.replace('.', '_')}"
    n_params = len(inspect.signature(func).parameters)

    if n_params == 1:

        @functools.wraps(func)
        def only_object(obj: Obj) -> T:
            values = obj.__dict__  # type: ignore[attr-defined]
            try:
                return values[slot]  # type: ignore[no-any-return]
            except KeyError:
                return _build_into(values, slot, lambda: func(obj))  # type: ignore[call-arg]

        return only_object  # type: ignore[return-value]

    @functools.wraps(func)
    def with_arguments(obj: Obj, *args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs:
            msg = f"{func.__qualname__}: cached arguments must be positional"
            raise TypeError(msg)
        try:
            return obj.__dict__[slot]._values[args]  # type: ignore[attr-defined,no-any-return]
        except KeyError:
            pass
        cache: OnceMap[tuple[Any, ...], T] = obj.__dict__.setdefault(slot, OnceMap())  # type: ignore[attr-defined]
        return cache.get(args, lambda: func(obj, *args, **kwargs))

    return with_arguments


class once_property(Generic[Obj, T]):  # noqa: N801 - named like the cached_property it replaces
    """A ``functools.cached_property`` computed once per instance even under threads.

    The first thread to read the attribute computes it under a lock of that instance and
    attribute; concurrent readers wait for it. Afterwards the value sits in the instance's
    ``__dict__`` and is read without any call (this is a non-data descriptor), exactly
    like ``cached_property``. Works on frozen dataclasses (it writes ``__dict__``).
    """

    def __init__(self, func: Callable[[Obj], T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once_property[Obj, T]: ...

    @overload
    def __get__(self, instance: Obj, owner: type | None = None) -> T: ...

    def __get__(self, instance: Obj | None, owner: type | None = None) -> T | once_property[Obj, T]:
        if instance is None:
            return self
        values = instance.__dict__
        value = values.get(self.attrname, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        return _build_into(values, self.attrname, lambda: self.func(instance))


def freeze_arrays(value: T) -> T:
    """Make every numpy array in ``value`` read-only, in place; return ``value``.

    Looks into tuples, lists, dictionary values and dataclass fields, recursively (not into
    other objects). A shared structure is frozen before it is published, so a stray
    in-place write fails loudly instead of racing with readers.
    """
    seen: set[int] = set()

    def visit(item: object) -> None:
        if id(item) in seen:
            return
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            item.flags.writeable = False
        elif isinstance(item, tuple | list):
            for element in item:
                visit(element)
        elif isinstance(item, dict):
            for element in item.values():
                visit(element)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            for spec in dataclasses.fields(item):
                visit(getattr(item, spec.name))

    visit(value)
    return value


def pure_cache(maxsize: int | None = 65_536) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Memoise a **pure** function of hashable arguments (text normalisers, parsers).

    For values that are cheap, immutable and the same whoever computes them: two threads
    computing one at the same moment both get equal results and nothing shared is built,
    so single-flight is not needed. ``functools.lru_cache`` is thread-safe for exactly this
    use; it is wrapped here so that every cache in the code base is one of this module's
    (structures that are expensive or shared must use :class:`OnceMap`, :func:`once_per_object`
    or :class:`once_property` instead).
    """
    return functools.lru_cache(maxsize=maxsize)  # type: ignore[return-value]
