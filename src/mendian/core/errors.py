"""The one error type every context raises for a rule that refuses an action.

The API maps it to ``{"error": {"code", "message", "details"}}`` with ``status``; services raise
subclasses that carry data (``InsufficientStock(lines)``), never HTTP objects.
"""

from __future__ import annotations

from typing import Any


class MendianError(Exception):
    status = 422
    code = "invalid"

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details if details is not None else {}


class NotFound(MendianError):
    """Not found."""

    status = 404
    code = "not_found"


class PermissionDenied(MendianError):
    """You may not do this."""

    status = 403
    code = "forbidden"


class Conflict(MendianError):
    """The document is in a state that does not allow this."""

    status = 409
    code = "conflict"


class InvalidInput(MendianError):
    """The request is not valid."""

    status = 422
    code = "invalid"


def unknown_code(field: str, value: str) -> InvalidInput:
    """An unknown business code in a request body: 422 naming the field."""
    return InvalidInput(f"unknown {field}: {value!r}", code="unknown_code", details={"field": field, "value": value})
