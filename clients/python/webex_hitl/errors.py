"""Errors: the daemon's one error shape, ``{"error": {"code", "message"}}``, as exceptions."""

from __future__ import annotations

from typing import Optional


class HitlError(Exception):
    """Anything this client raises."""


class DaemonUnreachable(HitlError):
    """Nothing answers on the socket (the daemon is not running, or the path is wrong)."""


class ApiError(HitlError):
    """An error answer. ``code`` is what to branch on (see the OpenAPI document's
    ``ErrorBody``); ``retry_after`` (seconds) is set when waiting is the remedy."""

    def __init__(self, status: int, code: str, message: str, retry_after: Optional[float] = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def from_response(status: int, body: object, retry_after: Optional[str]) -> ApiError:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    seconds = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
    return ApiError(status, error.get("code", "unknown"), error.get("message", str(body)), seconds)
