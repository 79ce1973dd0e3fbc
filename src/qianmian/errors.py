"""The error tree. Every error Qianmian raises on purpose is a `QianmianError`.

Input errors also subclass `ValueError`, so callers that only know the builtin still catch them.
Messages name the parameter (or field), what was expected and what was received.
One place (`qianmian.api.errors`) maps these classes to HTTP status codes.
"""

from __future__ import annotations


class QianmianError(Exception):
    """Root of every error raised on purpose by Qianmian."""


class InputError(QianmianError, ValueError):
    """A caller passed a value that is not allowed."""

    def __init__(self, field: str, expected: str, received: object) -> None:
        self.field = field
        self.expected = expected
        self.received = received
        super().__init__(f"{field}: expected {expected}, received {received!r}")


class ConfigError(QianmianError, ValueError):
    """A setting or a configuration file is invalid."""


class StoreError(QianmianError):
    """The store could not be reached or is in an unexpected state."""


class SchemaError(StoreError):
    """The store's schema is missing, too new or could not be migrated."""


class NotFoundError(QianmianError, LookupError):
    """A named object (audience, experiment, model, user …) does not exist."""

    def __init__(self, kind: str, name: object, *, hint: str | None = None) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} {name!r} does not exist" + (f": {hint}" if hint else ""))


class ConflictError(QianmianError):
    """The request conflicts with the current state (e.g. a name already taken)."""


class AuthError(QianmianError):
    """Missing or wrong credentials (HTTP 401)."""


class ForbiddenError(QianmianError):
    """Valid credentials without the needed scope (HTTP 403)."""


class OptedOutError(QianmianError):
    """The user opted out of profiling; personalized data may not be produced."""
