"""Naive text facts (grep counts, numbers quoted in docstrings). Tasks use them as the
plausible-but-wrong answers a model gets by grepping instead of reading the code."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Callable, Iterator

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import glob_matcher, iter_files, relpath
from oracles._pyast import load_module, require_def


def _line_test(pattern: str, regex: bool) -> Callable[[str], bool]:
    if not regex:
        return lambda line: pattern in line
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise OracleError(f"bad regex {pattern!r}: {exc}") from exc
    return lambda line: compiled.search(line) is not None


def _grep(
    repo_root: Path, pattern: str, glob: str, regex: bool, exclude_dirs: list[str] | None
) -> Iterator[tuple[str, int]]:
    """(path, matching line count) for each text file matching `glob` (relative to repo_root)."""
    test = _line_test(pattern, regex)
    matches = glob_matcher(glob)
    for path in iter_files(repo_root, ".", exclude_dirs):
        rel = relpath(repo_root, path)
        if not matches(rel):
            continue
        data = path.read_bytes()
        if b"\x00" in data:
            continue  # binary, as grep -I
        lines = data.decode("utf-8", errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the text after a final newline is not a line
        yield rel, sum(1 for line in lines if test(line.rstrip("\r")))


@fact_oracle()
def grep_count(
    *, repo_root: Path, pattern: str, glob: str = "**/*.py", regex: bool = False, exclude_dirs: list[str] | None = None
) -> int:
    """Lines containing `pattern` (a plain substring, or a Python `re` pattern searched within
    the line when `regex`) across files whose repo-relative path matches `glob` (`**/`
    spans directories, `{a,b}` alternatives allowed) - like `grep -rI | wc -l`. Files with
    NUL bytes are skipped; text is read as UTF-8 with replacement; `.git` is skipped."""
    return sum(n for _, n in _grep(repo_root, pattern, glob, regex, exclude_dirs))


@fact_oracle()
def grep_files(
    *, repo_root: Path, pattern: str, glob: str = "**/*.py", regex: bool = False, exclude_dirs: list[str] | None = None
) -> list[str]:
    """Repo-relative paths of the files `grep_count` finds at least one matching line in. Sorted."""
    return sorted(rel for rel, n in _grep(repo_root, pattern, glob, regex, exclude_dirs) if n)


# An integer not glued to letters, digits or a decimal point; `1,000` is one number and a
# `-` directly before the digits (not after a word character) is a minus sign.
_INTEGER = re.compile(r"(?<![\w.])(-?)(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?!\w|\.\d)")


@fact_oracle()
def docstring_number(*, repo_root: Path, path: str, qualname: str | None = None, index: int = 0) -> int | None:
    """The `index`-th (0-based; negative counts from the end) integer in the docstring of the
    module `path`, or of the class/function `qualname` in it. Integers are digit runs not
    part of a word (`conv2d`, `v3`) or a decimal (`0.5`); `1,000` reads as 1000 and `-1` as
    -1. None when there is no docstring or not enough integers. OracleError when `qualname`
    is not defined in the file."""
    tree = load_module(repo_root, path)
    node: ast.AST = tree if qualname is None else require_def(tree, qualname, path)[-1]
    doc = ast.get_docstring(node, clean=True)  # type: ignore[arg-type]
    if not doc:
        return None
    numbers = [int(sign + digits.replace(",", "")) for sign, digits in _INTEGER.findall(doc)]
    try:
        return numbers[index]
    except IndexError:
        return None
