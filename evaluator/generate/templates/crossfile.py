"""Parametric templates whose answer needs evidence from several files (issue 16 items 3 and 6):
every call site of a function across a package, the file a re-exported name is defined in, and
a config value after `_base_` inheritance. None is answerable by one shell pipeline: each hit
of a search must be read (is it a call? which import binds it? which base wins?), so every
candidate carries the tag `cross-file` and a reason naming the files a solution must read.
"""
from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from typing import Any

from evaluator.generate.model import Candidate, DistractorDraft
from evaluator.generate.templates.base import Context, Template, schema
from oracles._pyast import parse_file
from oracles.cross_file_configs import inherited_config
from oracles.python_imports import module_of, resolve_from
from evaluator.scoring.oracle_api import OracleError

TAGS = ["cross-file"]
SKIP = ["configs"]
PER_TEMPLATE = 40  # candidates offered per template: the pipeline's quota keeps far fewer
_CALLED = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")


class CallSites(Template):
    name = "python_call_sites"

    def candidates(self, ctx: Context) -> list[Candidate]:
        scan = ctx.scan
        defined = Counter(f.qualname.rsplit(".", 1)[-1] for f in scan.functions)
        # One text pass estimates, per name, how many package files mention `name(`; the oracle decides.
        files_with: dict[tuple[str, str], int] = defaultdict(int)
        for rel in scan.py_files:
            pkg = scan.package_of(rel)
            if pkg is None or scan.is_test(rel) or "/configs/" in f"/{rel}":
                continue
            for name in set(_CALLED.findall((ctx.root / rel).read_bytes())):
                files_with[(pkg, name.decode())] += 1
        picks = [(pkg, f.qualname, f.path) for f in scan.functions for pkg in [scan.package_of(f.path)]
                 if pkg and "." not in f.qualname and defined[f.qualname] == 1 and not f.qualname.startswith("__")
                 and 3 <= files_with[(pkg, f.qualname)] <= 12]
        out = []
        for pkg, name, where in ctx.sampler.ranked(self.name, sorted(set(picks)))[:PER_TEMPLATE]:
            base = {"function": name, "root": pkg, "exclude_dirs": SKIP}
            grep = {"pattern": f"{name}(", "glob": f"{pkg}/**/*.py", "exclude_dirs": SKIP}
            if ctx.fact("grep_files", grep) == ctx.fact("python_call_sites", {**base, "by": "file"}):
                continue  # `grep -rl` already answers it: nothing to read
            rule = (f"A call is an expression that calls a callee written `{name}` or ending in `.{name}` "
                    f"(`{name}(x)`, `obj.{name}(x)`, `@{name}(...)`, also inside an f-string's `{{...}}`); the definition, "
                    f"imports, comments, string text, a bare `@{name}` and passing `{name}` as a value are not calls, nor "
                    f"is a longer name such as `_{name}(x)`. Consider .py files under `{pkg}/`, skipping any directory named `configs`. ")
            naive = DistractorDraft(fn="grep_files", args=grep,
                                    why="grepped for the name: counts the definition, comments and longer names")
            for by in ("file", "line"):
                args = {**base, "by": by}
                ask = ("Which files call" if by == "file" else "On which lines is") + f" the function `{name}` (defined in `{where}`)"
                shape = "[<repo-relative path>, ...]" if by == "file" else '["<path>:<line>", ...]'
                tail = ("? Give repo-relative paths. " if by == "file" else " called? Give `path:line` with the line "
                        f"where the name `{name}` is written, one entry per line however many calls it holds. ")
                out.append(Candidate(
                    template=self.name, params=args, key="call_sites", type="list", fn="python_call_sites", args=args,
                    comparator="f1", instruction=ask + tail + rule + schema("call_sites", shape),
                    distractors=[naive] if by == "file" else [DistractorDraft(
                        fn="python_call_sites", args={**base, "root": "."},
                        why="also counted calls outside the package (tests, tools)")],
                    difficulty="hard" if by == "line" and files_with[(pkg, name)] >= 5 else "medium", tags=TAGS,
                    max_commands=16,
                    reason=f"search {pkg}/ for {name}( and read every hit to keep only real calls"
                    + (", with their lines" if by == "line" else "")))
        return out


class CallingTests(Template):
    """Which test files exercise a package function (call it directly)."""

    name = "python_calling_tests"

    def candidates(self, ctx: Context) -> list[Candidate]:
        scan = ctx.scan
        tests = sorted({rel.split("/", 1)[0] for rel in scan.py_files if "/" in rel and scan.is_test(rel)})
        if "tests" not in tests:
            return []
        defined = Counter(f.qualname.rsplit(".", 1)[-1] for f in scan.functions)
        names = sorted({(f.qualname, f.path) for f in scan.functions if "." not in f.qualname
                        and defined[f.qualname] == 1 and not f.qualname.startswith("_")})
        out = []
        for name, where in ctx.sampler.ranked(self.name, names)[: PER_TEMPLATE * 3]:
            args = {"function": name, "root": "tests", "by": "file"}
            truth = ctx.fact("python_call_sites", args)
            naive = {"pattern": name, "glob": "tests/**/*.py"}
            if not truth or not 2 <= len(truth) <= 15 or ctx.fact("grep_files", naive) == truth:
                continue  # nothing to find, too much to list, or a grep already answers it
            if any(not path.rsplit("/", 1)[-1].startswith("test") for path in truth):
                continue  # a fixture or helper module calls it: "which tests" would be ambiguous
            out.append(Candidate(
                template=self.name, params=args, key="test_files", type="list", fn="python_call_sites", args=args,
                comparator="f1", tags=TAGS, difficulty="hard" if len(truth) > 4 else "medium", max_commands=16,
                instruction=(f"Which .py files under `tests/` exercise the function `{name}` (defined in `{where}`) by "
                             f"calling it? A file counts when it holds a call whose callee is written `{name}` or ends in "
                             f"`.{name}` (also inside an f-string's `{{...}}`); importing it, mentioning it in a comment or "
                             f"string, passing it as a value, or calling a longer name such as `_{name}(x)` does not count. "
                             "Give repo-relative paths. " + schema("test_files", "[<repo-relative path>, ...]")),
                distractors=[DistractorDraft(fn="grep_files", args=naive,
                                             why="grepped for the name: also files that only import or mention it")],
                reason=f"search tests/ for {name} and read each hit to keep files that call it"))
            if len(out) >= PER_TEMPLATE:
                break
        return out


def _reexports(ctx: Context) -> list[tuple[str, str, bool]]:
    """(package module, name, through a star import) for names a package `__init__.py` takes from
    a subpackage's `__init__.py`: following them needs at least three files."""
    found: set[tuple[str, str, bool]] = set()
    inits = [r for r in ctx.scan.py_files if r.endswith("/__init__.py") and ctx.scan.package_of(r)
             and "/configs/" not in f"/{r}" and not ctx.scan.is_test(r)]
    explicit: dict[str, list[str]] = {}
    for rel in inits:
        tree = parse_file(ctx.root / rel)
        module, _ = module_of(rel)
        explicit[module] = [] if tree is None else [
            a.asname or a.name for s in tree.body if isinstance(s, ast.ImportFrom) and s.level > 0
            for a in s.names if a.name != "*" and not (a.asname or a.name).startswith("_")]
    for rel in inits:
        tree = parse_file(ctx.root / rel)
        module, _ = module_of(rel)
        for stmt in tree.body if tree else []:
            if not isinstance(stmt, ast.ImportFrom) or stmt.level == 0:
                continue
            target = resolve_from(stmt, module, True)
            if target not in explicit:  # only hops through another package's __init__.py
                continue
            for alias in stmt.names:
                if alias.name == "*":
                    found.update((module, n, True) for n in explicit[target])
                elif alias.name in explicit[target] and not alias.name.startswith("_"):
                    found.add((module, alias.asname or alias.name, False))
    return sorted(found)


def _definition_counts(ctx: Context) -> Counter[str]:
    """Per name, the .py files with a column-0 `def`/`class`/assignment of it (what a grep finds)."""
    found: Counter[str] = Counter()
    rx = re.compile(rb"^(?:(?:async\s+)?def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]+)?=(?!=)", re.M)
    for rel in ctx.scan.py_files:
        names = {(a or b).decode() for a, b in rx.findall((ctx.root / rel).read_bytes())}
        found.update(names)
    return found


class NameOrigin(Template):
    name = "python_name_origin"

    def candidates(self, ctx: Context) -> list[Candidate]:
        out = []
        defined = _definition_counts(ctx)
        for module, name, star in ctx.sampler.ranked(self.name, _reexports(ctx))[:PER_TEMPLATE]:
            if defined[name] == 1:
                continue  # one `grep -rn "^class {name}"` answers it: nothing to follow
            args = {"module": module, "name": name}
            text = (f"`from {module} import {name}` works, but `{name}` is only re-exported there. In which file is "
                    f"it defined? Follow the import statements (relative ones from the importing file's package, "
                    f"`import *` included) through each `__init__.py` to the file whose top-level `def`, `class` or "
                    f"assignment binds `{name}`; when a package has a submodule named like the imported name, the "
                    f"submodule is what is imported. " + schema("defined_in", "<repo-relative path>"))
            out.append(Candidate(
                template=self.name, params=args, key="defined_in", type="str", fn="python_name_origin", args=args,
                instruction=text, difficulty="hard" if star else "medium", tags=TAGS,
                reason=f"follow {name} through at least three files ({defined[name]} files define that name)"
                + (" including a star import" if star else "") + " to its definition"))
        return out


class InheritedConfigValue(Template):
    name = "python_config_inherited_value"
    sample_files = 60

    def candidates(self, ctx: Context) -> list[Candidate]:
        files = [r for r in ctx.scan.py_files if re.search(rb"^_base_\s*=", (ctx.root / r).read_bytes(), re.M)]
        out: list[Candidate] = []
        for path in ctx.sampler.ranked(self.name, files)[: self.sample_files]:
            try:
                resolved = inherited_config(ctx.root, path)
            except OracleError:
                continue
            for key, value in resolved.items():
                if key.startswith("_") or not key.isidentifier():
                    continue
                own = ctx.fact("python_config_value", {"path": path, "query": key})
                if own == value:
                    continue  # the file alone answers it: no inheritance to follow
                out.append(self._candidate(path, key, own is not None, value))
        return out

    def _candidate(self, path: str, key: str, merged: bool, value: Any) -> Candidate:
        args = {"path": path, "query": key}
        text = (f"What is the effective value of `{key}` in the config `{path}` after mmengine-style `_base_` "
                "inheritance? `_base_` names base configs (paths relative to the file's directory), resolved "
                "recursively; the file's own top-level values are merged over the bases: a dict over a dict merges key "
                "by key, recursively, unless it sets `_delete_=True` (then it replaces, without `_delete_`); anything "
                "else, lists included, replaces. Unquoted `{{_base_.a.b}}` and `_base_.a.b` stand for the merged bases' value at "
                "`a.b`; `{{fileBasename}}` in a string is the name of the file it is written in. Give the value as JSON (tuples as lists; a name or call that is not "
                "a literal, e.g. `type=ResNet`, as its source text). " + schema("value", "<JSON value>"))
        return Candidate(
            template=self.name, params=args, key="value", type="json", fn="python_config_inherited_value", args=args,
            instruction=text, tags=TAGS,
            distractors=[DistractorDraft(fn="python_config_value", args=args, why="read the file without its bases")]
            if merged else [],
            difficulty="hard" if merged and isinstance(value, dict) else "medium",
            reason=f"read {path} and its _base_ chain and merge `{key}`" if merged
            else f"find which base config of {path} defines `{key}`")


CROSS_FILE: list[Template] = [CallSites(), CallingTests(), NameOrigin(), InheritedConfigValue()]
