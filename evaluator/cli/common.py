"""Shared CLI plumbing: one-sentence errors with exit 2, and signal-safe asyncio entry points."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable

from evaluator.config.errors import ConfigError


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def number(kind: type, low: float, *, above: bool = False, high: float | None = None) -> Callable[[str], Any]:
    """An argparse type: `kind` within [low, high] (or > low when `above`), else one sentence and exit 2."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number, got {text!r}") from None
        if (value <= low) if above else (value < low):
            raise argparse.ArgumentTypeError(f"must be {'greater than' if above else 'at least'} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def check_writable(path: Path) -> None:
    """Create `path` (a run directory) or fail with a clear message before anything is written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to {path}: {exc.strerror or exc}") from None


def run_async(factory: Callable[[], Awaitable[int]], errors: tuple[type[BaseException], ...]) -> int:
    """Run a coroutine; SIGINT/SIGTERM cancel it cleanly (exit 130/143); known errors exit 2."""
    received: list[int] = []

    async def wrapper() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            def on_signal(sig: int = sig) -> None:
                if not received:
                    received.append(sig)
                    task.cancel()
            loop.add_signal_handler(sig, on_signal)
        return await factory()

    try:
        return asyncio.run(wrapper())
    except asyncio.CancelledError:
        return 128 + (received[0] if received else signal.SIGINT)
    except errors as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
