"""What the user sees while the endpoint misbehaves: one line per retry, and which errors are
not worth retrying at preflight (nothing listening, no such host)."""
from __future__ import annotations

import socket

import openai
from tenacity import RetryCallState


def unreachable(exc: BaseException) -> bool:
    """Connection refused or DNS failure: the request never reached a server."""
    if not isinstance(exc, openai.APIConnectionError) or isinstance(exc, openai.APITimeoutError):
        return False
    cause: BaseException | None = exc
    for _ in range(10):  # the SDK wraps its HTTP library's error, which wraps the socket's
        if cause is None:
            return False
        if isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retry_line(base_url: str, state: RetryCallState, max_attempts: int) -> str:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    return (f"retry: {base_url} attempt {state.attempt_number}/{max_attempts} failed ({_reason(exc)}); "
            f"next attempt in {wait:.1f}s")
