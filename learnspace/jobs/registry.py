"""Who runs what: job handlers and periodic tasks, registered at import time by the packages that own them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


class Permanent(Exception):
    """Raised by a handler: the job fails now, with this (Chinese) message, and is not retried."""


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Callable[[dict], None]
    max_attempts: int
    lease_seconds: int


@dataclass(frozen=True)
class Periodic:
    name: str
    run: Callable[[], object]
    every_seconds: float


HANDLERS: dict[str, Handler] = {}
PERIODIC: dict[str, Periodic] = {}


def handler(kind: str, *, max_attempts: int = 5, lease_seconds: int = 300):
    """Register the function that runs jobs of *kind*."""
    if max_attempts < 1 or lease_seconds < 1:
        raise ValueError("max_attempts and lease_seconds must be at least 1")

    def register(fn):
        HANDLERS[kind] = Handler(kind, fn, max_attempts, lease_seconds)
        return fn
    return register


def periodic(name: str, *, every_seconds: float):
    """Register a function every worker calls about every *every_seconds* (in an app context; it commits itself)."""
    def register(fn):
        PERIODIC[name] = Periodic(name, fn, every_seconds)
        return fn
    return register
