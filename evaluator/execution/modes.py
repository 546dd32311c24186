"""How a trial works on its task, chosen once per run (`mode_for`): open book (the default: tools
in a sandbox) or closed book (`--closed-book`: one answer from the instruction alone, no tools).
The trial asks its mode; nothing else in the trial branches on the flag."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluator.config.settings import RunConfig
from evaluator.tasks.specs import TaskSpec


class OpenBook:
    closed = False
    uses_sandbox = True

    def max_turns(self, task: TaskSpec) -> int:
        return task.turn_limit

    def finish(self, answer_dir: Path, final_text: str | None) -> None:
        """The model wrote its answer file itself, through the tools."""


class ClosedBook:
    closed = True
    uses_sandbox = False

    def max_turns(self, task: TaskSpec) -> int:
        return 1

    def finish(self, answer_dir: Path, final_text: str | None) -> None:
        """The answer is the JSON object in the model's one reply; the harness writes it where the
        open-book model would have, so both are scored alike."""
        answer = closed_book_answer(final_text)
        if answer is not None:
            target = answer_dir / "eval_artifacts" / "answer.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(answer), encoding="utf-8")


def mode_for(cfg: RunConfig) -> OpenBook | ClosedBook:
    return ClosedBook() if cfg.closed_book else OpenBook()


def closed_book_answer(text: str | None) -> dict[str, Any] | None:
    """The JSON object in a closed-book reply (a bare object or a fenced block), if any."""
    if not text:
        return None
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
