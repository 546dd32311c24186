"""Second derivations (see derivations/__init__.py): python_source.

The oracles (oracles/python_code.py, oracles/repo_facts.py) walk `ast` trees. Here the same
answers come from the token stream (`tokenize`, through `source_lines`), from `symtable` (the
compiler's own scope tables) and from `pyclbr` (the stdlib class browser), with `networkx` for the
class hierarchy. Import graphs are in `import_graph.py`.
"""
from __future__ import annotations

import re
import symtable
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

import networkx as nx
import pyclbr

from derivations.source_lines import (
    Stmt, Tok, call_parts, compiles, dotted, inside, literal, literal_or_text, py_files, source, source_text, split_top,
    statements)
from evaluator.scoring.oracle_api import OracleError, second_derivation


def _modules(repo_root: Path, root: str, exclude_dirs: list[str] | None, needle: str | None = None
             ) -> Iterator[tuple[str, list[Stmt]]]:
    """(path, statements) of each compiling .py file under `root` whose text has `needle`."""
    for rel in py_files(repo_root, root, exclude_dirs):
        text = source(repo_root / rel)
        if text is None or (needle is not None and needle not in text):
            continue
        stmts = statements(text)
        if stmts is not None and compiles(text, rel):
            yield rel, stmts


def _decorated(st: Stmt, name: str) -> list[tuple[list[list[Tok]], dict[str, list[Tok]]] | None]:
    """For each decorator `@name` / `@name(...)` of `st`: None when bare, else its arguments."""
    out = []
    for dec in st.decorators:
        parts = call_parts(dec)
        if parts is not None and parts[0] == name and not parts[3]:
            out.append((parts[1], parts[2]) if any(t.string == "(" for t in dec) else None)
    return out


def _registered_as(call: tuple[list[list[Tok]], dict[str, list[Tok]]] | None, own: str) -> list[str]:
    """The names a `register_module(...)` call registers `own` under: `name=` or the first
    positional argument (a string or a list of strings), else `own`; other values as source."""
    arg = None if call is None else call[1].get("name", call[0][0] if call[0] else None)
    if arg is None:
        return [own]
    ok, value = literal(arg)
    if ok and value is None:
        return [own]
    if ok and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return [value] if ok and isinstance(value, str) else [source_text(arg)]


@second_derivation("python_registered_classes", method="tokenize: @REG.register_module decorators and module-level REG.register_module calls read from the token stream")
def registered_classes(*, repo_root: Path, registry: str, root: str = ".", exclude_dirs: list[str] | None = None,
                       names: str = "class") -> list[str]:
    if names not in ("class", "registered"):
        raise OracleError(f"names must be 'class' or 'registered', not {names!r}")
    target, found = f"{registry}.register_module", set()
    for _, stmts in _modules(repo_root, root, exclude_dirs, "register_module"):
        for st in stmts:
            if st.block is not None and st.block.kind == "class":
                for call in _decorated(st, target):
                    found.update([st.block.name] if names == "class" else _registered_as(call, st.block.name))
            elif st.block is None and all(b.owner in ("if", "try", "with") for b in st.blocks):
                parts = call_parts(st.toks)
                if parts is None or parts[0] != target or not any(t.string == "(" for t in st.toks):
                    continue
                _, args, kwargs, rest = parts
                if not rest:  # REG.register_module(..., module=Cls)
                    cls = dotted(kwargs.get("module", args[2] if len(args) > 2 else []))
                elif rest[0].string == "(" and rest[-1].string == ")":  # REG.register_module(...)(Cls)
                    inner = [p for p in split_top(rest[1:-1], ",") if p and not (len(p) > 1 and p[1].string == "=")]
                    cls = dotted(inner[0]) if len(inner) == 1 else None
                else:
                    continue
                if cls:
                    own = cls.rsplit(".", 1)[-1]
                    found.update([own] if names == "class" else _registered_as((args, kwargs), own))
    return sorted(found)


@second_derivation("python_registered_functions", method="tokenize: def statements preceded by an @REG.register_module decorator line in the token stream")
def registered_functions(*, repo_root: Path, registry: str, root: str = ".", exclude_dirs: list[str] | None = None,
                         names: str = "function") -> list[str]:
    if names not in ("function", "registered"):
        raise OracleError(f"names must be 'function' or 'registered', not {names!r}")
    found: set[str] = set()
    for _, stmts in _modules(repo_root, root, exclude_dirs, "register_module"):
        for st in stmts:
            if st.block is not None and st.block.kind == "def":
                for call in _decorated(st, f"{registry}.register_module"):
                    found.update([st.block.name] if names == "function" else _registered_as(call, st.block.name))
    return sorted(found)


@second_derivation("python_decorated_functions", method="tokenize: decorator lines and def statements, qualnames from the INDENT/DEDENT nesting of def and class blocks")
def decorated_functions(*, repo_root: Path, decorator: str, root: str = ".",
                        exclude_dirs: list[str] | None = None) -> list[str]:
    out = set()
    for rel, stmts in _modules(repo_root, root, exclude_dirs, decorator.rsplit(".", 1)[-1]):
        for st in stmts:
            if st.block is not None and st.block.kind == "def" and _decorated(st, decorator):
                outer = [b.name for b in st.blocks if b.kind in ("def", "class")]
                out.add(f"{rel}:{'.'.join(outer + [st.block.name])}")
    return sorted(out)


def _assigned(toks: list[Tok], name: str) -> list[Tok] | None:
    """The value tokens when the statement is `name = v` (also chained) or `name: T = v`."""
    parts = split_top(toks, "=")
    if len(parts) < 2:
        return None
    targets = parts[:-1]
    annotated = len(targets) == 1 and len(targets[0]) > 2 and targets[0][1].string == ":"
    if (annotated and targets[0][0].string == name) or any([t.string for t in p] == [name] for p in targets):
        return parts[-1]
    return None


@second_derivation("python_class_attribute_map", method="tokenize: `attr = value` statements whose innermost enclosing block is a class, values evaluated as literals with no names in scope")
def class_attribute_map(*, repo_root: Path, attr: str, root: str = ".", exclude_dirs: list[str] | None = None
                        ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, stmts in _modules(repo_root, root, exclude_dirs, attr):
        classes, values = [], {}
        for st in stmts:
            if st.block is not None and st.block.kind == "class":
                classes.append(st.block)
            elif st.block is None and st.blocks and st.blocks[-1].kind == "class":
                value = _assigned(st.toks, attr)
                if value:
                    values[st.blocks[-1]] = literal_or_text(value)
        for cls in classes:  # a name defined twice: the first class (in path, then source order) wins
            if cls in values:
                out.setdefault(cls.name, values[cls])
    return dict(sorted(out.items()))


@second_derivation("python_all_exports", method="tokenize: the top-level __all__ statements, each value evaluated as a literal with no names in scope")
def all_exports(*, repo_root: Path, path: str) -> list[str]:
    text = source(inside(repo_root, path, want_dir=False))
    stmts = statements(text) if text is not None and compiles(text, path) else None
    if stmts is None:
        raise OracleError(f"{path}: not parseable as Python")
    names: list[str] | None = None
    for st in (s for s in stmts if not s.blocks and s.block is None and s.words[0] == "__all__"):
        value, reset = _assigned(st.toks, "__all__"), True
        if value is None and st.words[1:2] == ["+="]:
            value, reset = st.toks[2:], False
        elif value is None:
            parts = call_parts(st.toks)
            if not parts or parts[0] not in ("__all__.extend", "__all__.append") or parts[3] or len(parts[1]) != 1:
                continue
            value, reset = parts[1][0], False
        ok, items = literal(value)
        if ok and st.words[2:3] == ["append"]:
            items = [items]
        if (names is None and not reset) or not ok or not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise OracleError(f"{path}: __all__ is not a literal list of strings (line {st.toks[0].start[0]})")
        names = list(items) if reset else names + items  # type: ignore[operator]
    if names is None:
        raise OracleError(f"{path}: no top-level __all__")
    return sorted(set(names))


@second_derivation("python_imported_names", method="tokenize: `from ... import` statements outside def and class blocks, names and aliases read from the tokens")
def imported_names(*, repo_root: Path, path: str, relative_only: bool = False) -> list[str]:
    text = source(inside(repo_root, path, want_dir=False))
    stmts = statements(text) if text is not None and compiles(text, path) else None
    if stmts is None:
        raise OracleError(f"{path}: not parseable as Python")
    out: set[str] = set()
    for st in stmts:
        if st.block is None and st.words[0] == "from" and not any(b.kind in ("def", "class") for b in st.blocks):
            words = st.words
            if relative_only and not words[1].startswith("."):
                continue
            listed = [w for w in words[words.index("import") + 1:] if w not in "()"]
            for item in " ".join(listed).split(","):
                bound = item.split()[-1] if item.split() else ""
                if bound and bound != "*":
                    out.add(bound)
    return sorted(out)


def _counted(table: symtable.SymbolTable, kind: str, pattern: re.Pattern[str] | None) -> int:
    n = 0
    for child in table.get_children():
        t = str(child.get_type())
        # lambdas and comprehensions are function scopes too: a lambda is named "lambda", and a
        # comprehension's only parameter is the hidden ".0" iterator
        if kind == "class":
            hit = t == "class"
        else:
            hit = t == "function" and child.get_name() != "lambda" and ".0" not in child.get_parameters()  # type: ignore[attr-defined]
        n += int(hit and (pattern is None or pattern.fullmatch(child.get_name()) is not None)) + _counted(child, kind, pattern)
    return n


@second_derivation("python_definitions_count", method="symtable: the class and function scopes the compiler's symbol table builds for each file")
def definitions_count(*, repo_root: Path, root: str = ".", kind: str = "class", exclude_dirs: list[str] | None = None,
                      name_regex: str | None = None) -> int:
    if kind not in ("class", "function"):
        raise OracleError(f"kind must be 'class' or 'function', not {kind!r}")
    pattern = re.compile(name_regex) if name_regex is not None else None
    total = 0
    for rel in py_files(repo_root, root, exclude_dirs):
        text = source(repo_root / rel)
        if text is None or ("class" if kind == "class" else "def") not in text:
            continue
        try:
            total += _counted(symtable.symtable(text, rel, "exec"), kind, pattern)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the oracle skips what does not parse
    return total


def _bases(header: list[Tok]) -> list[str]:
    """Dotted base names in a `class Name(...)` header; `Generic[T]` counts as `Generic`."""
    parts = call_parts(header[1:])
    out = []
    for arg in parts[1] if parts else []:
        cut = next((i for i, t in enumerate(arg) if t.string == "["), len(arg))
        name = dotted(arg[:cut]) if cut == len(arg) or arg[-1].string == "]" else None
        if name:
            out.append(name)
    return out


@second_derivation("python_subclasses", method="tokenize reads each class header's bases; networkx finds the classes that reach the base in that graph")
def subclasses(*, repo_root: Path, base: str, root: str = ".", transitive: bool = True,
               exclude_dirs: list[str] | None = None) -> list[str]:
    graph = nx.DiGraph()  # class name -> each base's dotted text and last part
    classes: set[str] = set()
    for _, stmts in _modules(repo_root, root, exclude_dirs, "class"):
        for st in stmts:
            if st.block is not None and st.block.kind == "class":
                classes.add(st.block.name)
                for name in _bases(st.toks):
                    graph.add_edges_from([(st.block.name, name), (st.block.name, name.rsplit(".", 1)[-1])])
    if base not in graph:
        return []
    direct = set(graph.predecessors(base))
    found = (nx.ancestors(graph, base) | direct) if transitive else direct
    if transitive and any(nx.has_path(graph, s, base) for s in graph.successors(base)):
        found.add(base)  # `base` itself derives from a class that derives from it
    return sorted(found & classes)


def _without_imports(text: str, stmts: list[Stmt]) -> str:
    """`text` with each import statement at column 0 turned into `pass`: pyclbr would otherwise
    go and read the imported modules (the stdlib's, the repo's, whatever sys.path has)."""
    lines = text.splitlines(keepends=True)
    for st in stmts:
        if st.words[0] in ("import", "from") and st.toks[0].start[1] == 0:
            (r0, c0), (r1, c1) = st.toks[0].start, st.toks[-1].end
            for r in range(r0, r1 + 1):
                line = lines[r - 1]
                lo, hi = (c0 if r == r0 else 0), (c1 if r == r1 else len(line.rstrip("\r\n")))
                lines[r - 1] = line[:lo] + ("pass" if r == r0 else "").ljust(hi - lo) + line[hi:]
    return "".join(lines)


@second_derivation("python_class_methods", method="pyclbr: the stdlib class browser's method table of the class, read from a private copy of the file")
def class_methods(*, repo_root: Path, path: str, class_name: str, prefix: str | None = None) -> list[str]:
    text = source(inside(repo_root, path, want_dir=False))
    stmts = statements(text) if text is not None and compiles(text, path) else None
    if stmts is None:
        raise OracleError(f"{path}: not parseable as Python")
    # pyclbr finds a module by name and caches it by name: a fresh name keeps files apart
    module = f"_agentgym_probe_{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as d:
        Path(d, f"{module}.py").write_text(_without_imports(text, stmts), encoding="utf-8")
        tree = pyclbr.readmodule_ex(module, path=[d])
    cls = tree.get(class_name)
    if not isinstance(cls, pyclbr.Class) or cls.module != module or cls.parent is not None:
        raise OracleError(f"{path}: no top-level class {class_name!r}")
    return [m for m in cls.methods if prefix is None or m.startswith(prefix)]
