"""The kinds of job the product knows, and how each is retried.

A module defines a kind with the ``job`` decorator::

    from surveys import jobs

    @jobs.job("sms.send", max_attempts=8, backoff=jobs.Backoff(first=30, cap=3600))
    def send_text(ctx: jobs.Context, message_id: int) -> dict:
        ...

and adds its own import path to ``MODULES`` so that every worker (and the web app, which
only enqueues) knows the kind. Parameters are plain JSON (ids, never answer text).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

#: Modules that define job kinds; the worker imports every one at start.
MODULES: list[str] = [
    "surveys.notify.alerts",
    "surveys.services.themes",
    "surveys.notify.sms",
    "surveys.services.assessing",
    "sms.jobs",
    "bot.jobs",
]


@dataclass(frozen=True)
class Backoff:
    """Wait ``first`` seconds after the first failure, doubling each time, at most ``cap``."""

    first: float = 10.0
    cap: float = 600.0
    factor: float = 2.0

    def after(self, attempts: int) -> timedelta:
        """Return the wait after the ``attempts``-th failure."""
        exp = max(0, min(attempts - 1, 30))
        return timedelta(seconds=min(self.first * self.factor**exp, self.cap))


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its handler and how it is retried."""

    name: str
    handler: Callable[..., Any]
    label: str
    max_attempts: int | None = 5  # None: until it succeeds (safeguarding alerts)
    backoff: Backoff = field(default_factory=Backoff)
    #: Run every ``every`` (a worker's sweep enqueues one job per period, once across workers).
    every: timedelta | None = None


KINDS: dict[str, JobKind] = {}


class UnknownJobKind(LookupError):
    """No job kind has this name (its module is not in ``MODULES``?)."""


def job(
    name: str,
    *,
    label: str | None = None,
    max_attempts: int | None = 5,
    backoff: Backoff | None = None,
    every: timedelta | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a handler ``handler(ctx, **params)`` as the job kind ``name``.

    The handler must be idempotent: a job runs at least once, and again after a worker is
    killed mid-way. Return a small JSON-able dict (ids, counts) to keep as the job's result;
    raise ``Retry`` or ``Defer`` to run again later; any other exception is a failure, retried
    with the back-off until ``max_attempts`` (then the job is *failed* and waits for the lead's
    retry button).
    """
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1, or None")

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        existing = KINDS.get(name)
        if existing is not None and existing.handler.__qualname__ != handler.__qualname__:
            raise ValueError(f"two job kinds are named {name!r}")
        KINDS[name] = JobKind(
            name=name,
            handler=handler,
            label=label or name,
            max_attempts=max_attempts,
            backoff=backoff or Backoff(),
            every=every,
        )
        return handler

    return register


def load_kinds() -> dict[str, JobKind]:
    """Import every module in ``MODULES`` (registering their kinds) and return the kinds."""
    for module in MODULES:
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> JobKind:
    """Return the kind called ``name`` (loading the modules once if needed)."""
    if name not in KINDS:
        load_kinds()
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownJobKind(name) from None


def label_of(name: str) -> str:
    """Return a kind's label for people, or its name when the kind is unknown here."""
    try:
        return get_kind(name).label
    except UnknownJobKind:
        return name


# --------------------------------------------------------------------------- resources

_resources: dict[str, Any] = {}
_factories: dict[str, tuple[Callable[[], Any], bool]] = {}


def resource(name: str, *, warm: bool = False) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Declare something costly to build once per worker process (a model, a client).

    ``@resource("safeguarding-net", warm=True)`` over a factory returns a function that builds
    it on first call and returns the same object after; ``warm=True`` builds it when a worker
    starts, so the first job does not wait for it.
    """

    def register(factory: Callable[[], Any]) -> Callable[[], Any]:
        _factories[name] = (factory, warm)

        def get() -> Any:
            if name not in _resources:
                _resources[name] = factory()
            return _resources[name]

        get.__name__ = factory.__name__
        get.__doc__ = factory.__doc__
        return get

    return register


def warm_resources() -> list[str]:
    """Build every resource declared ``warm=True``; return their names (worker start-up)."""
    built = []
    for name, (factory, warm) in list(_factories.items()):
        if warm and name not in _resources:
            _resources[name] = factory()
            built.append(name)
    return built
