"""Validation for image tasks (tag `image`): the answer must be in the picture only.

Every distinctive atom of the answer (a string of 3+ characters, a number of 3+ digits) is
looked for, as a whole word, in every text file of the checkout; finding one means a model
could read the answer instead of looking, and the task is reported invalid. Short atoms
(a bar count of 11) are too common to search for and are left to the task's author.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

IMAGE_TAG = "image"
MAX_TEXT_BYTES = 2_000_000


def atoms(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from atoms(v)
    elif isinstance(value, list):
        for v in value:
            yield from atoms(v)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        text = str(value)
        if len(text.lstrip("-").replace(".", "")) >= 3:
            yield text
    elif isinstance(value, str) and len(value.strip()) >= 3:
        yield value.strip()


def _text_files(root: Path) -> Iterator[tuple[str, str]]:
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_TEXT_BYTES:
                continue
            data = path.read_bytes()
            if b"\0" not in data[:8192]:
                yield path.relative_to(root).as_posix(), data.decode("utf-8", errors="replace")


def answer_in_text(root: Path, truth: Any) -> tuple[str, str] | None:
    """(atom, file) for the first answer atom written in a text file; None when there is none."""
    wanted = {a: re.compile(rf"(?<![\w.-]){re.escape(a)}(?![\w-])", re.I) for a in atoms(truth)}
    if not wanted:
        return None
    for rel, text in _text_files(root):
        for atom, pattern in wanted.items():
            if pattern.search(text):
                return atom, rel
    return None
