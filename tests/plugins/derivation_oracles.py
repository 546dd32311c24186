"""Dotted-path oracles for the second-derivation tests of `validate` (tests/test_derivations_files.py):
requirement names from `requirements.txt`, derived a second way that agrees, one that disagrees
(the oracle drops `-e ...#egg=` lines, the bug of issue 16), and one with no second derivation."""
from __future__ import annotations

import re
from pathlib import Path

from evaluator.scoring.oracle_api import second_derivation

HERE = "tests.plugins.derivation_oracles"


def _lines(repo_root: Path) -> list[str]:
    return (repo_root / "requirements.txt").read_text().splitlines()


def requirement_names(*, repo_root: Path) -> list[str]:
    """Names of the plain requirement lines (no options); sorted."""
    return sorted(re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0] for line in _lines(repo_root)
                  if line.strip() and not line.lstrip().startswith(("#", "-")))


def requirement_names_dropping_editables(*, repo_root: Path) -> list[str]:
    """What pip installs, by this oracle's docstring: `-e URL#egg=name` included. It forgets them."""
    return requirement_names(repo_root=repo_root)


def requirement_count(*, repo_root: Path) -> int:
    """Plain requirement lines; no second derivation registered."""
    return len(requirement_names(repo_root=repo_root))


@second_derivation(f"{HERE}:requirement_names", method="packaging-style scan: a name is the leading [A-Za-z0-9._-] run")
def _names_again(*, repo_root: Path) -> list[str]:
    out = []
    for line in _lines(repo_root):
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if m and not line.strip().startswith("#"):
            out.append(m.group(1))
    return sorted(out)


@second_derivation(f"{HERE}:requirement_names_dropping_editables", method="scan with the `#egg=` name of `-e` lines")
def _names_with_editables(*, repo_root: Path) -> list[str]:
    out = _names_again(repo_root=repo_root)
    out += [m.group(1) for line in _lines(repo_root) if (m := re.search(r"^-e .*#egg=([\w.-]+)", line.strip()))]
    return sorted(out)
