"""The naive shell pipeline for each fixed question: what a hurried reader types first.

A fixed-question template (one question, the same in every repository) is not worth asking
in a repository where this pipeline, run for real in the checkout, already prints the exact
answer: `grep -rio pytest . | wc -l` counting `pytest` is no test of reading. The pipelines
apply the folders the question itself excludes, nothing more careful than that.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

TIMEOUT_S = 120
_PRUNE = "-path ./.git -prune -o -path ./eval_artifacts -prune -o"


def _int(out: str) -> Any:
    return int(out.strip())


def _line(out: str) -> Any:
    return out.rstrip("\n")


def _bool(out: str) -> Any:
    return out.strip() == "true"


def _largest(out: str) -> Any:
    size, _, path = out.rstrip("\n").partition(" ")
    return {"paths": [path], "size": int(size)}


@dataclass(frozen=True)
class Naive:
    command: str
    parse: Callable[[str], Any]


NAIVE: dict[str, Naive] = {
    "top_level_entry_count": Naive("ls -1 | grep -vx eval_artifacts | wc -l", _int),
    "readme_first_nonempty_line": Naive("grep -m1 . README.md", _line),
    "glob_count_md": Naive(f"find . {_PRUNE} -type f -name '*.md' -print | wc -l", _int),
    "glob_count_py": Naive(f"find . {_PRUNE} -type f -name '*.py' -print | wc -l", _int),
    "glob_count_yaml": Naive(f"find . {_PRUNE} -type f -name '*.yaml' -print | wc -l", _int),
    "largest_file": Naive("find . -path ./.git -prune -o -type f -printf '%s %P\\n' | sort -nr | head -1", _largest),
    "repo_token_count": Naive("grep -rio --exclude-dir=.git --exclude-dir=eval_artifacts pytest . | wc -l", _int),
    "has_license_file": Naive("if test -e LICENSE -o -e LICENSE.md; then echo true; else echo false; fi", _bool),
    "dir_top_entry_count_docs": Naive("ls -1 docs | wc -l", _int),
}


def run(template: str, root: Path) -> tuple[str, Any] | None:
    """(command, parsed output) of the template's naive pipeline in `root`, or None when it has
    none or the pipeline fails (a pipeline that cannot run answers nothing)."""
    naive = NAIVE.get(template)
    if naive is None:
        return None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    try:
        proc = subprocess.run(["bash", "-c", naive.command], cwd=root, env=env,
                              capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        return naive.command, naive.parse(proc.stdout)
    except ValueError:
        return None
