"""One error hierarchy for every entry point.

A ``DomainError`` carries a stable English ``code`` (for machines, tests and
logs) and a Chinese ``message`` (for people).  The web layer maps it once to an
HTTP status and JSON body or a page flash, the CLI to an exit code.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain makes on purpose."""

    http_status = 400
    exit_code = 1
    default_code = "domain_error"

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class ValidationFailed(DomainError):
    http_status = 422
    exit_code = 2
    default_code = "validation_failed"


class NotFound(DomainError):
    http_status = 404
    exit_code = 3
    default_code = "not_found"


class Forbidden(DomainError):
    http_status = 403
    exit_code = 4
    default_code = "forbidden"


class Unauthenticated(DomainError):
    http_status = 401
    exit_code = 4
    default_code = "unauthenticated"


class Conflict(DomainError):
    http_status = 409
    exit_code = 5
    default_code = "conflict"


class InvalidTransition(Conflict):
    default_code = "invalid_transition"


class RateLimited(DomainError):
    http_status = 429
    exit_code = 6
    default_code = "rate_limited"


class ConfigurationError(DomainError):
    http_status = 500
    exit_code = 7
    default_code = "configuration_error"
