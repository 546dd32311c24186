"""The original AgentGym's fact oracles, with their argument names and meanings."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import fact_oracle

_BRACE = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> list[str]:
    """`**/*.{yml,yaml}` -> [`**/*.yml`, `**/*.yaml`]; nested and repeated braces expand too."""
    m = _BRACE.search(pattern)
    if not m:
        return [pattern]
    head, tail = pattern[: m.start()], pattern[m.end() :]
    out: list[str] = []
    for option in m.group(1).split(","):
        out.extend(expand_braces(head + option + tail))
    return out


def walk_files(repo_root: Path, exclude_dirs: list[str] | None = None) -> Iterator[Path]:
    """Every regular file below `repo_root`, pruning directories named in `exclude_dirs`."""
    skip = set(exclude_dirs or [])
    for root, dirs, files in os.walk(repo_root):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                yield path


def _visible(names: list[str], exclude: list[str], exclude_hidden: bool) -> list[str]:
    return [n for n in names if n not in exclude and not (exclude_hidden and n.startswith("."))]


@fact_oracle()
def top_level_entry_count(*, repo_root: Path, exclude: list[str] | None = None, exclude_hidden: bool = True) -> int:
    """Entries directly in the repo root, minus `exclude` and (optionally) dot-entries."""
    return len(_visible(os.listdir(repo_root), exclude or [], exclude_hidden))


@fact_oracle()
def dir_top_entry_count(*, repo_root: Path, path: str, exclude_hidden: bool = True) -> int:
    """Entries directly in `path`; 0 when it is not a directory."""
    target = repo_root / path
    return len(_visible(os.listdir(target), [], exclude_hidden)) if target.is_dir() else 0


@fact_oracle()
def readme_first_nonempty_line(*, repo_root: Path, path: str = "README.md") -> str:
    """The first line of `path` that is not blank, without its line ending."""
    text = (repo_root / path).read_text(encoding="utf-8", errors="replace")
    return next((line for line in text.splitlines() if line.strip()), "")


@fact_oracle()
def glob_count(*, repo_root: Path, glob: str, exclude_dirs: list[str] | None = None) -> int:
    """Files matching a pathlib glob (brace alternatives allowed), skipping `exclude_dirs` components."""
    skip = set(exclude_dirs or [])
    found: set[Path] = set()
    for pattern in expand_braces(glob):
        for p in repo_root.glob(pattern):
            if p.is_file() and not skip.intersection(p.relative_to(repo_root).parts):
                found.add(p)
    return len(found)


def _sizes(repo_root: Path, exclude_dirs: list[str] | None) -> dict[str, int]:
    return {p.relative_to(repo_root).as_posix(): p.stat().st_size for p in walk_files(repo_root, exclude_dirs)}


def _largest_file_ties(*, repo_root: Path, exclude_dirs: list[str] | None = None) -> list[dict[str, Any]]:
    """Every `largest_file` answer: one per file of the largest size (a tie when more than one)."""
    sizes = _sizes(repo_root, exclude_dirs)
    top = max(sizes.values(), default=0)
    return [{"path": p, "size": s} for p, s in sorted(sizes.items()) if s == top] or [{"path": "", "size": 0}]


@fact_oracle(ties=_largest_file_ties)
def largest_file(*, repo_root: Path, exclude_dirs: list[str] | None = None) -> dict[str, Any]:
    """`{"path", "size"}` of the largest file; ties go to the first path in sorted walk order
    (a tie-break: `validate` reports a task whose answer depends on it, see `largest_files`)."""
    best: tuple[int, str] = (-1, "")
    for p in walk_files(repo_root, exclude_dirs):
        size = p.stat().st_size
        if size > best[0]:
            best = (size, p.relative_to(repo_root).as_posix())
    return {"path": best[1], "size": max(best[0], 0)}


@fact_oracle()
def largest_files(*, repo_root: Path, exclude_dirs: list[str] | None = None) -> dict[str, Any]:
    """`{"paths": [...], "size"}`: every file of the largest size (sorted repo-relative posix
    paths), so a tie needs no tie-break. Symbolic links do not count."""
    tied = _largest_file_ties(repo_root=repo_root, exclude_dirs=exclude_dirs)
    return {"paths": [t["path"] for t in tied if t["path"]], "size": tied[0]["size"]}


@fact_oracle()
def repo_token_count(
    *,
    repo_root: Path,
    token: str,
    case_insensitive: bool = False,
    exclude_dirs: list[str] | None = None,
    max_bytes: int | None = 1_000_000,
) -> int:
    """Occurrences of `token` in files up to `max_bytes`, skipping files with a NUL byte."""
    needle = token.lower() if case_insensitive else token
    total = 0
    for p in walk_files(repo_root, exclude_dirs):
        if max_bytes and p.stat().st_size > max_bytes:
            continue
        data = p.read_bytes()
        if b"\x00" in data:
            continue
        text = data.decode("utf-8", errors="ignore")
        total += (text.lower() if case_insensitive else text).count(needle)
    return total


@fact_oracle()
def has_license_file(*, repo_root: Path, paths: list[str]) -> bool:
    """Whether any of `paths` is a regular file."""
    return any((repo_root / p).is_file() for p in paths)
