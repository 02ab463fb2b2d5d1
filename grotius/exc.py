"""One root exception for Grotius, with a few subclasses carrying structured detail.

Everything the library raises on purpose derives from :class:`GrotiusError`. The web
and CLI edges turn these into one pinned error shape (``to_dict``), so a caller never
sees a traceback for bad input.
"""

from __future__ import annotations

from typing import Any


class GrotiusError(Exception):
    """Root of every error Grotius raises on purpose."""

    #: short machine-readable code used in the JSON error shape
    code: str = "error"
    #: HTTP status the web edge answers with
    status: int = 500

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = {k: v for k, v in detail.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "detail": self.detail}

    def __str__(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.detail.items() if k != "errors")
        return f"{self.message} ({where})" if where else self.message


class ConfigError(GrotiusError):
    """A node home or setting is missing or wrong."""

    code = "config_error"
    status = 500


class InvalidInput(GrotiusError):
    """Input that cannot be accepted: names what was wrong and where.

    ``position`` is the index of the object in its input (0-based), ``object_id`` the
    STIX id when known, ``property`` a dotted path inside the object.
    """

    code = "invalid_input"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        object_id: str | None = None,
        property: str | None = None,
        line: int | None = None,
        column: int | None = None,
        **detail: Any,
    ) -> None:
        super().__init__(
            message,
            position=position,
            object_id=object_id,
            property=property,
            line=line,
            column=column,
            **detail,
        )
        self.position = position
        self.object_id = object_id
        self.property = property


class PatternError(InvalidInput):
    """A STIX pattern that does not parse; ``offset`` is the character position."""

    code = "invalid_pattern"


class NotFound(GrotiusError):
    code = "not_found"
    status = 404


class Conflict(GrotiusError):
    code = "conflict"
    status = 409


class AuthError(GrotiusError):
    """Not authenticated (401) or not allowed (403)."""

    code = "unauthorised"
    status = 401


class Forbidden(AuthError):
    code = "forbidden"
    status = 403


class PolicyError(Forbidden):
    """A disclosure that the agreement or the markings do not allow."""

    code = "policy_denied"


class BudgetExceeded(Forbidden):
    code = "budget_exceeded"
    status = 429


class IntegrityError(GrotiusError):
    """Audit chain or signature verification failed."""

    code = "integrity_error"
    status = 409
