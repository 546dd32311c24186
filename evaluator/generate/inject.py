"""`python -m evaluator.generate --kind change`: change tasks by bug injection (SWE-smith style).

For each candidate (a function the repository's tests cover, a mutation kind, which occurrence; see
inject_scan.py), taken in a seeded order that cycles through the kinds: check out the pinned commit,
apply the mutation, run the covering test files in the sandbox. A candidate is kept when some tests
that pass on the pristine checkout now fail (they become fail_to_pass) and some still pass (the
covering files' other passing tests become pass_to_pass); at most one task per function. The task
file holds the recipe and the node ids only; the instruction is the failing test output (or, for a
removed body, the function to implement from its docstring), never the mutation.
"""
from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from evaluator.generate.inject_scan import Candidate, scan, test_files
import yaml

from evaluator.generate.test_runs import TestRun, TestRunner
from evaluator.tasks.change_spec import Injection
from evaluator.tasks.clone_cache import checkout
from evaluator.tasks.injection import inject_source, write_files
from evaluator.tasks.mutations import KINDS, MutationError

MAX_LISTED = 8


class _BlockDumper(yaml.SafeDumper):
    """Multi-line text (the instruction) as a `|` block, readable in review; no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_BlockDumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))


def dump_task(task: dict[str, Any]) -> str:
    return yaml.dump(task, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)


@dataclass
class Kept:
    candidate: Candidate
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    first_failure: str
    seconds: float


@dataclass
class Outcome:
    kept: list[Kept] = field(default_factory=list)
    tried: Counter = field(default_factory=Counter)  # per kind
    drops: Counter = field(default_factory=Counter)  # per reason


def order(cands: list[Candidate], seed: int) -> list[Candidate]:
    """Seeded shuffle, then one of each kind in turn, so a short run still mixes kinds."""
    shuffled = list(cands)
    random.Random(seed).shuffle(shuffled)
    queues = {k: [c for c in shuffled if c.kind == k] for k in KINDS}
    out: list[Candidate] = []
    while any(queues.values()):
        for k in KINDS:
            if queues[k]:
                out.append(queues[k].pop(0))
    return out


class Generator:
    def __init__(self, runner: TestRunner, mirror: Path, commit: str, root: Path, work: Path,
                 progress: Callable[[str], None], hidden: dict[str, str] | None = None) -> None:
        self.runner, self.mirror, self.commit, self.root, self.work = runner, mirror, commit, root, work
        self.progress = progress
        self.hidden = hidden or {}  # test files of our own, copied in for every run as grading will
        self.baseline: TestRun | None = None

    def _tree(self, files: dict[str, str], name: str = "tree") -> Path:
        tree = self.work / name
        if tree.exists():
            shutil.rmtree(tree)
        checkout(self.mirror, self.commit, tree)
        write_files(tree, {**self.hidden, **files})
        return tree

    def scan_root(self) -> Path:
        """The pinned checkout with the hidden tests in: what the coverage scan reads."""
        return self.root if not self.hidden else self._tree({}, "scan")

    def run(self, tests: list[str], max_tasks: int, max_trials: int, seed: int, scan_root: Path | None = None) -> Outcome:
        out = Outcome()
        self.baseline = self.runner.run(self._tree({}), tests, self.work / "run")
        if self.baseline.note:
            raise MutationError(f"the selected tests do not run on the pristine checkout: {self.baseline.note}")
        passing = self.baseline.passed()
        if not passing:
            raise MutationError("none of the selected tests passes on the pristine checkout (are the repository's "
                                "dependencies on PATH? see --sandbox local)")
        self.progress(f"baseline: {len(passing)} of {len(self.baseline.outcomes)} tests pass "
                      f"({self.baseline.seconds:.1f} s)")
        used: set[str] = set()
        cands = [c for c in order(scan(scan_root or self.root, tests, frozenset(self.hidden)), seed)
                 if any(n.split("::")[0] in c.tests for n in passing)]
        for cand in cands:
            if len(out.kept) >= max_tasks or sum(out.tried.values()) >= max_trials:
                break
            if f"{cand.file}::{cand.function}" in used:
                continue
            out.tried[cand.kind] += 1
            kept, why = self._trial(cand, passing)
            self.progress(f"  {'kept' if kept else 'drop'} {cand.key}" + (f" ({why})" if why else ""))
            if kept is None:
                out.drops[why] += 1
                continue
            used.add(f"{cand.file}::{cand.function}")
            out.kept.append(kept)
        return out

    def _trial(self, cand: Candidate, passing: set[str]) -> tuple[Kept | None, str]:
        recipe = recipe_of(cand)
        original = (self.root / cand.file).read_text(encoding="utf-8")
        try:
            mutated = inject_source(original, recipe)
        except MutationError as exc:
            return None, f"not applicable: {exc}"
        run = self.runner.run(self._tree({cand.file: mutated}), list(cand.tests), self.work / "run")
        if run.note:
            return None, "tests did not finish"
        mine = sorted(n for n in passing if n.split("::")[0] in cand.tests)
        f2p = [n for n in mine if run.outcomes.get(n) in ("failed", "error")]
        p2p = [n for n in mine if run.outcomes.get(n) == "passed"]
        if not f2p:
            return None, "no covered test fails"
        if not p2p:
            return None, "every covered test fails"
        message = run.message(f2p[0]).replace(str(self.work / "tree") + "/", "").replace(str(self.work / "tree"), ".")
        return Kept(cand, f2p, p2p, message, run.seconds), ""


def recipe_of(cand: Candidate) -> Injection:
    return Injection(file=cand.file, function=cand.function, mutation=cand.kind,  # type: ignore[arg-type]
                     occurrence=cand.occurrence, source_sha256=cand.source_sha256)


def instruction(k: Kept, unseen: frozenset[str] = frozenset()) -> str:
    """`unseen`: hidden test files the working copy does not have (the model cannot run them)."""
    c = k.candidate
    if c.kind == "remove_body":
        return (f"`{c.function}` in `{c.file}` is not implemented: it raises NotImplementedError. Implement it as "
                "its docstring describes. The rest of the code and its tests must keep working.\n")
    listed = "".join(f"  - {n}\n" for n in k.fail_to_pass[:MAX_LISTED])
    more = f"  - ... and {len(k.fail_to_pass) - MAX_LISTED} more\n" if len(k.fail_to_pass) > MAX_LISTED else ""
    lines = [ln.rstrip() for ln in (k.first_failure or "(no message)").splitlines()
             if ln.strip() and "Use -v to get more diff" not in ln]  # pytest's hint is about its console
    first = "\n".join("    " + ln for ln in lines[:6])
    head = ("These tests fail. They are not in your working copy; they run when your change is graded:\n"
            if {n.split("::")[0] for n in k.fail_to_pass} <= unseen else "These tests of the repository fail:\n")
    return (head + listed + more +
            f"\nThe first one fails with:\n\n{first}\n\n"
            "Find the cause in the source code and fix it there (the tests are right). "
            "Every other test must keep passing.\n")


def task_dict(task_id: str, repo: str, k: Kept, hidden: dict[str, str] | None = None,
              shown: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`hidden` maps each hidden test's repository path to its file, relative to the task's folder;
    those in `shown` are also placed in the working copy (`visible`)."""
    c = k.candidate
    top = c.file.split("/")[0] + "/" if "/" in c.file else c.file
    recipe = recipe_of(c).model_dump()
    return {
        "id": task_id, "repo": repo, "kind": "change",
        "difficulty": "medium" if c.kind == "remove_body" else "easy",
        "difficulty_reason": "implement a function from its docstring" if c.kind == "remove_body"
        else "a bug found from failing tests",
        "instruction": instruction(k, frozenset(hidden or {}) - shown),
        "command_policy": {"write_paths_allowed": [top, "/tmp/"]},
        "max_commands": 30, "timeout_seconds": 900,
        "change": {**({"hidden_tests": [{"path": p, "source": s, **({"visible": True} if p in shown else {})}
                                        for p, s in sorted(hidden.items())]} if hidden else {}),
                   "inject": recipe, "fail_to_pass": k.fail_to_pass, "pass_to_pass": k.pass_to_pass,
                   "test_timeout_s": max(120, int(k.seconds * 5) + 30)},
        "tags": ["l2", "injected"],
    }


def write(out_dir: Path, repo: str, kept: list[Kept], hidden: dict[str, str] | None = None,
          shown: frozenset[str] = frozenset()) -> list[Path]:
    """`<repo>_inj_NNN.yaml` per task; earlier generated files of this repo there are replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{repo}_inj_*.yaml"):
        old.unlink()
    paths = []
    for i, k in enumerate(kept, 1):
        task_id = f"{repo}_inj_{i:03d}"
        path = out_dir / f"{task_id}.yaml"
        path.write_text(dump_task(task_dict(task_id, repo, k, hidden, shown)), encoding="utf-8")
        paths.append(path)
    return paths


def generate_change(*, backend: Any, mirror: Path, commit: str, root: Path, repo: str, selection: list[str],
                    out_dir: Path, max_tasks: int, max_trials: int, seed: int, timeout_s: float,
                    env: Any = None, hidden_dir: Path | None = None, shown: frozenset[str] = frozenset()) -> Outcome:
    """`shown`: repository paths of hidden files the working copy starts with, too (a conftest the
    tests need, say); the generator's runs have every hidden file in anyway."""
    hidden = read_hidden(hidden_dir) if hidden_dir else {}
    progress = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="agentgym-inject-") as d:
        gen = Generator(TestRunner(backend, mirror, timeout_s, env=env), mirror, commit, root, Path(d), progress, hidden)
        scan_root = gen.scan_root()
        tests = test_files(scan_root, selection)
        if not tests:
            raise MutationError(f"no test files (test_*.py, *_test.py) under {', '.join(selection)}")
        res = gen.run(tests, max_tasks, max_trials, seed, scan_root)
    res.kept.sort(key=lambda k: k.candidate.key)
    sources = {rel: os.path.relpath(hidden_dir.resolve() / rel, out_dir.resolve()) for rel in hidden} if hidden_dir else {}
    write(out_dir, repo, res.kept, sources, shown)
    return res


def read_hidden(folder: Path) -> dict[str, str]:
    """Every file under `folder` by its repository path (the folder mirrors the repository's layout)."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise MutationError(f"--hidden-tests {folder}: not a folder")
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() or "__pycache__" in p.parts or not p.is_file():
            continue
        try:
            out[p.relative_to(folder).as_posix()] = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MutationError(f"--hidden-tests: {p} is not readable UTF-8 text ({exc})") from None
    if not out:
        raise MutationError(f"--hidden-tests {folder}: the folder holds no file")
    return out
