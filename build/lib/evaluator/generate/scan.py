"""One AST pass over the checkout: the entities templates sample from.

The scan only proposes; every answer is computed again by the real oracle and validated,
so a scan shortcut can cost a candidate but never make a wrong task.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from oracles._common import iter_files, relpath
from oracles._pyast import decorator_name, dotted, iter_stmts, literal, module_assignments, parse_file, walk_defs
from oracles.python_imports import imports_of, module_of

SKIP_DIRS = [".git", "eval_artifacts", "node_modules", "__pycache__", "build", "dist", ".tox", ".venv"]


@dataclass(frozen=True)
class FuncInfo:
    path: str
    qualname: str
    n_defaults: int
    literal: bool  # every default is a JSON literal, so the expected answer has no source text
    signature: str  # the defaults as written, to pick a neighbour whose answer differs


@dataclass
class RepoScan:
    root: Path
    py_files: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    functions: list[FuncInfo] = field(default_factory=list)
    dataclasses: list[FuncInfo] = field(default_factory=list)
    argparse: dict[str, tuple[int, bool, str]] = field(default_factory=dict)  # path -> (calls, literal, signature)
    registries: list[tuple[str, str]] = field(default_factory=list)  # (variable, defining path)
    registered: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # registry -> classes
    bases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # class -> base names (last part)
    class_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    importers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # module -> files
    modules: set[str] = field(default_factory=set)
    param_tests: dict[str, list[str]] = field(default_factory=dict)  # test file -> parametrized test qualnames
    yaml_files: list[str] = field(default_factory=list)
    toml_files: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)  # mmengine-style Python configs

    def package_of(self, rel: str) -> str | None:
        top = rel.split("/", 1)[0]
        return top if top in self.packages and "/" in rel else None

    @staticmethod
    def is_test(rel: str) -> bool:
        parts = rel.split("/")
        return any(p in ("tests", "test", "autotest") for p in parts[:-1]) or parts[-1].startswith("test_")


def _signature(args: ast.arguments) -> tuple[int, bool, str]:
    defaults = [d for d in args.defaults] + [d for d in args.kw_defaults if d is not None]
    lits = [literal(d) for d in defaults]
    return len(defaults), all(ok for ok, _ in lits), "|".join(ast.unparse(d) for d in defaults)


def _is_dataclass(node: ast.ClassDef) -> bool:
    return any((decorator_name(d) or "").rsplit(".", 1)[-1] == "dataclass" for d in node.decorator_list)


def _scan_defs(scan: RepoScan, rel: str, tree: ast.Module) -> None:
    defs = list(walk_defs(tree.body))
    counts: dict[str, int] = defaultdict(int)
    for qual, _ in defs:
        counts[qual] += 1
    for qual, node in defs:
        if counts[qual] > 1 or "." in qual and isinstance(node, ast.ClassDef):
            continue  # redefined names are ambiguous to a reader; nested classes are rare noise
        if isinstance(node, ast.ClassDef):
            if _is_dataclass(node):
                fields = [s for s in node.body if isinstance(s, ast.AnnAssign) and s.value is not None]
                lits = [literal(s.value) for s in fields if s.value is not None]
                sig = "|".join(ast.unparse(s) for s in fields)
                scan.dataclasses.append(FuncInfo(rel, qual, len(fields), all(ok for ok, _ in lits), sig))
            continue
        n, lit, sig = _signature(node.args)
        scan.functions.append(FuncInfo(rel, qual, n, lit, sig))


def _scan_file(scan: RepoScan, rel: str, tree: ast.Module) -> None:
    in_pkg = scan.package_of(rel) is not None and not scan.is_test(rel)
    name, is_pkg = module_of(rel)
    if in_pkg:
        _scan_defs(scan, rel, tree)
        for bound, value, _ in module_assignments(tree.body):
            if isinstance(value, ast.Call) and (dotted(value.func) or "").rsplit(".", 1)[-1] == "Registry":
                scan.registries.append((bound, rel))
    argparse_calls: list[ast.Call] = []
    for node in iter_stmts(tree.body):
        if isinstance(node, ast.ClassDef):
            scan.class_count[node.name] += 1
            for b in node.bases:
                text = dotted(b.value if isinstance(b, ast.Subscript) else b)
                if text:
                    scan.bases[node.name].add(text.rsplit(".", 1)[-1])
            for dec in node.decorator_list:
                dname = decorator_name(dec) or ""
                if dname.endswith(".register_module"):
                    scan.registered[dname[: -len(".register_module")]].add(node.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            argparse_calls.append(node)
    if argparse_calls:
        kws = [k.value for c in argparse_calls for k in c.keywords if k.arg == "default"]
        scan.argparse[rel] = (len(argparse_calls), all(literal(k)[0] for k in kws),
                              "|".join(ast.unparse(c) for c in argparse_calls))
    if scan.package_of(rel) is not None:
        scan.modules.add(name)
        for target, names in imports_of(iter_stmts(tree.body), name, is_pkg):
            for mod in [target] + [f"{target}.{n}" for n in names]:
                scan.importers[mod].add(rel)
    if scan.is_test(rel):
        tests = [q for q, n in walk_defs(tree.body) if not isinstance(n, ast.ClassDef) and n.name.startswith("test")
                 and any("parametrize" in (decorator_name(d) or "") for d in n.decorator_list)]
        if tests:
            scan.param_tests[rel] = tests


def scan_repo(root: Path) -> RepoScan:
    scan = RepoScan(root=root)
    files = [relpath(root, p) for p in iter_files(root, ".", SKIP_DIRS)]
    scan.py_files = [f for f in files if f.endswith(".py")]
    scan.packages = sorted({f.split("/", 1)[0] for f in scan.py_files if f.count("/") == 1 and f.endswith("/__init__.py")})
    scan.yaml_files = [f for f in files if f.endswith((".yml", ".yaml"))]
    scan.toml_files = [f for f in files if f.endswith(".toml")]
    for rel in scan.py_files:
        if "/configs/" in f"/{rel}" and not scan.is_test(rel):
            scan.config_files.append(rel)
            continue  # configs are many and tiny; only the config template reads them
        tree = parse_file(root / rel)
        if tree is not None:
            _scan_file(scan, rel, tree)
    return scan
