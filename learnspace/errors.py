"""Domain exceptions: each carries a message a teacher can act on and the HTTP status it maps to (see error_pages)."""
from __future__ import annotations


class LearnSpaceError(Exception):
    """An error with a message a teacher can act on."""

    status_code = 400

    def __init__(self, message: str, *, details: list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationError(LearnSpaceError):
    status_code = 400


class NotFound(LearnSpaceError):
    status_code = 404


class PermissionDenied(LearnSpaceError):
    status_code = 403


class Conflict(LearnSpaceError):
    status_code = 409


class RateLimited(LearnSpaceError):
    status_code = 429


class ServiceUnavailable(LearnSpaceError):
    status_code = 503
