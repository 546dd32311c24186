"""The original answer checkers (`type: oracle_bool`), each with the solver builtin/oracle uses."""
from __future__ import annotations

import re
from pathlib import Path

from evaluator.scoring.oracle_api import answer_checker
from evaluator.readback import safe_fs
from evaluator.tasks.specs import ReadLimits
from oracles.original import has_license_file, top_level_entry_count

_KV = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*:\s*(.*?)\s*$")
_LICENSES = ["LICENSE", "LICENSE.md"]


def read_answer_file(answer_dir: Path, path: str) -> str | None:
    """The text of a file the model wrote, or None: read through safe_fs, so no symlink is
    followed, only a regular file is read, and never more than the default answer cap."""
    try:
        data = safe_fs.read_file(answer_dir, path, ReadLimits().answer_max_bytes)
    except (safe_fs.UnsafePath, OSError):
        return None
    return data.decode("utf-8", errors="replace")


def parse_kv(text: str) -> dict[str, str]:
    """`key: value` lines, keys lower-cased; blank lines and `#` headings ignored."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        m = _KV.match(line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v in ("true", "yes", "y", "1") else False if v in ("false", "no", "n", "0") else None


def _solve_contains(*, repo_root: Path, path: str, must_contain: list[str]) -> dict[str, str]:
    return {path: "\n".join(must_contain) + "\n"}


@answer_checker(solve=_solve_contains)
def answer_md_contains(*, repo_root: Path, answer_dir: Path, path: str, must_contain: list[str]) -> bool:
    """The file at `path` contains every string in `must_contain`."""
    text = read_answer_file(answer_dir, path)
    return text is not None and all(s in text for s in must_contain)


def _kv_expected(repo_root: Path, exclude_top_level: list[str], exclude_hidden: bool) -> tuple[int, bool]:
    top = top_level_entry_count(repo_root=repo_root, exclude=exclude_top_level, exclude_hidden=exclude_hidden)
    return top, has_license_file(repo_root=repo_root, paths=_LICENSES)


def _solve_kv(
    *, repo_root: Path, path: str, repo_id: str, exclude_top_level: list[str], exclude_hidden: bool = True
) -> dict[str, str]:
    top, lic = _kv_expected(repo_root, exclude_top_level, exclude_hidden)
    return {path: f"repo_id: {repo_id}\ntop_level_entries: {top}\nhas_license: {str(lic).lower()}\n"}


@answer_checker(solve=_solve_kv)
def answer_md_kv_matches(
    *,
    repo_root: Path,
    answer_dir: Path,
    path: str,
    repo_id: str,
    exclude_top_level: list[str],
    exclude_hidden: bool = True,
) -> bool:
    """`path` holds `repo_id`, `top_level_entries` and `has_license` lines, all correct."""
    text = read_answer_file(answer_dir, path)
    if text is None:
        return False
    kv = parse_kv(text)
    top, lic = _kv_expected(repo_root, exclude_top_level, exclude_hidden)
    try:
        top_ok = int(kv.get("top_level_entries", "")) == top
    except ValueError:
        return False
    return kv.get("repo_id") == repo_id and top_ok and _parse_bool(kv.get("has_license", "")) == lic
