"""Second derivations (see derivations/__init__.py): import users and import cycles.

The oracles (oracles/python_imports.py) read import statements from `ast` trees and find cycles
with their own Tarjan. Here the users come from the bytecode CPython compiles (every
IMPORT_NAME instruction, with its level and from-list, in the module and all nested code), and
the cycles from import statements read off the token stream, with `networkx` finding the
strongly connected components.
"""
from __future__ import annotations

import dis
import types
import warnings
from pathlib import Path
from typing import Iterator

import networkx as nx

from derivations.source_lines import Stmt, compiles, inside, py_files, source, split_top, statements
from evaluator.scoring.oracle_api import OracleError, second_derivation


def _dotted_name(rel: str) -> tuple[list[str], bool]:
    """`a/b/c.py` -> (["a", "b", "c"], False); `a/b/__init__.py` -> (["a", "b"], True)."""
    parts = rel.removesuffix(".py").split("/")
    return (parts[:-1], True) if parts[-1] == "__init__" else (parts, False)


def _absolute(rel: str, level: int, name: str) -> str | None:
    """The module `from <level dots><name> import` names in file `rel`; None above the top."""
    if level == 0:
        return name
    parts, is_package = _dotted_name(rel)
    package = parts if is_package else parts[:-1]
    if level - 1 > len(package):
        return None
    kept = package[: len(package) - level + 1]
    return ".".join(kept + (name.split(".") if name else []))


def _import_instructions(code: types.CodeType) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(level, module, from-list) of every IMPORT_NAME in `code` and the code nested in it: the
    two constants pushed just before it are the level and the from-list."""
    ins = list(dis.get_instructions(code))
    for i, op in enumerate(ins):
        if op.opname == "IMPORT_NAME" and i >= 2:
            level, fromlist = ins[i - 2].argval, ins[i - 1].argval
            yield int(level or 0), op.argval, tuple(fromlist or ())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _import_instructions(const)


@second_derivation("python_import_users", method="bytecode: the IMPORT_NAME instructions (level, module, from-list) of each compiled file, read with dis")
def import_users(*, repo_root: Path, module: str, root: str = ".", exclude_dirs: list[str] | None = None,
                 include_submodules: bool = False) -> list[str]:
    def wanted(name: str) -> bool:
        return name == module or (include_submodules and name.startswith(module + "."))

    last = module.rsplit(".", 1)[-1]
    out = []
    for rel in py_files(repo_root, root, exclude_dirs):
        text = source(repo_root / rel)
        if text is None or (last not in text and "from ." not in text):  # an import names the module, or is relative
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = compile(text, rel, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            continue
        for level, name, fromlist in _import_instructions(code):
            target = _absolute(rel, level, name)
            if target is not None and any(wanted(c) for c in [target] + [
                    f"{target}.{n}" if target else n for n in fromlist if n != "*"]):
                out.append(rel)
                break
    return sorted(out)


def _runs_on_import(st: Stmt) -> bool:
    """Not inside a function, nor in the body of `if TYPE_CHECKING:` (its `else` runs)."""
    return not any(b.kind == "def" or (b.kind in ("if", "elif") and b.header[1:] in (
        ["TYPE_CHECKING"], ["typing", ".", "TYPE_CHECKING"])) for b in st.blocks)


def _imports(st: Stmt, rel: str) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for an import statement."""
    words = st.words
    if words[0] == "import":
        named = [[t.string for t in part] for part in split_top(st.toks[1:], ",") if part]
        return [("".join(words[: words.index("as")] if "as" in words else words), []) for words in named]
    if words[0] != "from" or "import" not in words:
        return []
    cut = words.index("import")
    lead = next((i for i in range(1, cut) if set(words[i]) != {"."}), cut)  # the dots before the name
    target = _absolute(rel, sum(len(w) for w in words[1:lead]), "".join(words[lead:cut]))
    names = [item.split()[0] for item in " ".join(w for w in words[cut + 1:] if w not in "()").split(",") if item.split()]
    return [] if target is None else [(target, [n for n in names if n != "*"])]


@second_derivation("python_import_cycles", method="networkx: strongly connected components of the import graph read from the token stream (tokenize)")
def import_cycles(*, repo_root: Path, package: str, root: str = ".", exclude_dirs: list[str] | None = None
                  ) -> list[list[str]]:
    base = inside(repo_root, root, want_dir=True)
    pkg_rel = (base / package.replace(".", "/")).relative_to(repo_root).as_posix()
    inside(repo_root, pkg_rel, want_dir=True)
    prefix = base.relative_to(repo_root).as_posix()
    modules: dict[str, tuple[str, list[Stmt]]] = {}
    for rel in py_files(repo_root, pkg_rel, exclude_dirs):
        text = source(repo_root / rel)
        stmts = statements(text) if text is not None else None
        if stmts is not None and compiles(text, rel):  # type: ignore[arg-type]
            own = rel if prefix == "." else rel[len(prefix) + 1:]  # named relative to `root`
            parts, _ = _dotted_name(own)
            modules[".".join(parts)] = (own, stmts)
    if not modules:
        raise OracleError(f"package {package!r} has no parseable modules under {root!r}")
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, (own, stmts) in modules.items():
        for st in stmts:
            if st.block is None and st.words[0] in ("import", "from") and _runs_on_import(st):
                for target, names in _imports(st, own):
                    for dep in [f"{target}.{n}" if f"{target}.{n}" in modules else target for n in names] or [target]:
                        if dep in modules and dep != name:
                            graph.add_edge(name, dep)
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)

