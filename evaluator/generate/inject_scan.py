"""Which functions the repository's own tests cover, and the mutations each offers (bug injection).

Coverage is decided statically, by mapping test imports, so it needs nothing but the source (no
coverage tool in the repository's environment): a test file covers a function when it imports the
function's module (or the package the module sits in directly) AND names the function, or for a
method its class, somewhere in its text. That misses private helpers reached only indirectly and
counts some functions no test calls; the trial run decides (a mutation no test notices is dropped).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from evaluator.scoring.hidden_tests import protected
from evaluator.tasks.injection import source_hash
from evaluator.tasks.mutations import KINDS, MutationError, Source, candidates, function_text, functions

SKIP_DIRS = {".git", "node_modules", "build", "dist", "docs", "examples", "__pycache__"}


@dataclass(frozen=True)
class Candidate:
    file: str
    function: str
    kind: str
    occurrence: int
    source_sha256: str
    tests: tuple[str, ...]  # the test files that cover the function

    @property
    def key(self) -> str:
        return f"{self.file}::{self.function}::{self.kind}#{self.occurrence}"


def test_files(root: Path, selection: list[str]) -> list[str]:
    """Test files (test_*.py, *_test.py) under the selected paths, repository-relative, sorted."""
    out: set[str] = set()
    for sel in selection:
        base = root / sel
        found = [base] if base.is_file() else sorted(base.rglob("*.py")) if base.is_dir() else []
        for p in found:
            if p.name.startswith("test_") or p.name.endswith("_test.py"):
                out.add(p.relative_to(root).as_posix())
    return sorted(out)


def _module_name(rel: str) -> str:
    parts = rel[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def source_files(root: Path, packages: set[str], hidden: frozenset[str] = frozenset()) -> list[str]:
    """Python files of the imported top-level packages that are not tests, test configuration or hidden
    tests. A folder without `__init__.py` counts too: scripts imported as a namespace package."""
    out = []
    for top in sorted(packages):
        base = root / top
        if not base.is_dir() or top in SKIP_DIRS:
            continue
        for p in sorted(base.rglob("*.py")):
            rel = p.relative_to(root).as_posix()
            if not (set(rel.split("/")) & SKIP_DIRS) and not protected(rel, set(hidden)):
                out.append(rel)
    return out


def scan(root: Path, tests: list[str], hidden: frozenset[str] = frozenset()) -> list[Candidate]:
    """Every mutation candidate in a function some selected test file covers, in a stable order."""
    texts = {t: (root / t).read_text(encoding="utf-8", errors="replace") for t in tests}
    imports = {t: _imports(x) for t, x in texts.items()}
    tops = {m.split(".")[0] for names in imports.values() for m in names}
    out: list[Candidate] = []
    for rel in source_files(root, tops, hidden):
        module = _module_name(rel)
        package = module.rsplit(".", 1)[0] if not rel.endswith("__init__.py") else module
        users = [t for t in tests if module in imports[t] or package in imports[t]]
        if not users:
            continue
        try:
            src = Source((root / rel).read_text(encoding="utf-8"))
        except (MutationError, UnicodeDecodeError, OSError):
            continue
        for qualname, fn in functions(src):
            anchor = qualname.split(".")[0] if "." in qualname else qualname
            word = re.compile(rf"\b{re.escape(anchor)}\b")
            covering = tuple(t for t in users if word.search(texts[t]))
            if not covering or anchor.startswith("_"):
                continue
            sha = source_hash(function_text(src, fn))[:16]
            for kind in KINDS:
                for i, _ in enumerate(candidates(src, fn, kind)):
                    out.append(Candidate(rel, qualname, kind, i, sha, covering))
    return out
