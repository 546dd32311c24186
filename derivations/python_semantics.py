"""Second derivations (see derivations/__init__.py): Python values - defaults, parameters,
constants, configs, docstrings, pytest parameters.

The oracles read these from the AST. Here the code is *run*: the piece that holds the answer (a
signature, a class, top-level statements, a config file) is found with the tokenizer and executed
in a child process with every import and free name replaced by a stub that remembers its source
text (derivations/_stub_worker.py); Python itself then computes the defaults, `inspect.signature`
and `dataclasses.fields` read them, real `argparse` turns `add_argument` arguments into dests and
defaults, and real `pytest --collect-only` counts test items.
"""
from __future__ import annotations

import re
import tokenize
from pathlib import Path
from typing import Any

from derivations._pytokens import (call_texts, definitions, find_definition, read_source, segment, significant,
                                   top_level_statements)
from derivations._pyvalues import docstring, follow, holds, integers, select_files
from derivations._stubrun import pytest_items, stub_run
from evaluator.scoring.oracle_api import OracleError, second_derivation

_IMPORT = ("import", "from")


def _function_source(repo_root: Path, path: str, qualname: str) -> tuple[str, str, bool]:
    """(`def ...: pass` header alone, function name, is a method) for `qualname`; a class means
    the `__init__` written in its own body."""
    source = read_source(repo_root, path)
    try:
        d = find_definition(source, qualname)
        if d.kind == "class":
            inits = [x for x in definitions(source) if x.qualname == d.qualname + ".__init__" and x.kind == "def"]
            if not inits:
                raise OracleError(f"class {qualname!r} defines no __init__ of its own")
            d, method = inits[-1], True
        else:
            method = d.parent_kind == "class"
    except OracleError as exc:
        raise OracleError(f"{path}: {exc}") from None
    header = segment(source.splitlines(keepends=True), d.start, d.header_end)
    return header + " pass\n", d.qualname.rsplit(".", 1)[-1], method


def _signature(repo_root: Path, path: str, qualname: str) -> tuple[list[list[Any]], bool]:
    src, name, method = _function_source(repo_root, path, qualname)
    return stub_run({"op": "signature", "src": src, "name": name})["params"], method


@second_derivation("python_function_defaults", method="the def header found with the tokenizer and compiled "
                   "alone in a child process (names stubbed); inspect.signature reads the defaults")
def function_defaults(*, repo_root: Path, path: str, qualname: str) -> dict[str, Any]:
    params, _ = _signature(repo_root, path, qualname)
    return {name: default for name, _, has, default in params if has}


@second_derivation("python_function_params", method="the def header found with the tokenizer and compiled "
                   "alone in a child process (names stubbed); inspect.signature lists the parameters")
def function_params(*, repo_root: Path, path: str, qualname: str) -> list[str]:
    params, method = _signature(repo_root, path, qualname)
    star = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}
    names = [star.get(kind, "") + name for name, kind, _, _ in params]
    if method and params and params[0][1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD") and names[0] in ("self", "cls"):
        names = names[1:]
    return names


@second_derivation("python_argparse_defaults", method="each add_argument(...) call found with the tokenizer, its "
                   "arguments evaluated in a child process (names stubbed) and given to a real argparse parser")
def argparse_defaults(*, repo_root: Path, path: str, function: str | None = None) -> dict[str, Any]:
    source = read_source(repo_root, path)
    rows = None
    if function is not None:
        try:
            d = find_definition(source, function)
        except OracleError as exc:
            raise OracleError(f"{path}: {exc}") from None
        rows = (d.start[0], d.end_row)
    calls = call_texts(source, "add_argument", rows)
    out: dict[str, Any] = {}
    for found in stub_run({"op": "argparse", "calls": calls})["dests"] if calls else []:
        if found is not None and found[0] not in out:
            out[found[0]] = found[1]
    return out


@second_derivation("dataclass_defaults", method="the class found with the tokenizer, executed alone in a child "
                   "process (names stubbed) and passed to the real dataclasses.dataclass; fields() gives the defaults")
def dataclass_field_defaults(*, repo_root: Path, path: str, class_name: str) -> dict[str, Any]:
    source = read_source(repo_root, path)
    try:
        d = find_definition(source, class_name)
    except OracleError as exc:
        raise OracleError(f"{path}: {exc}") from None
    if d.kind != "class" or not any(dec.rsplit(".", 1)[-1] == "dataclass" for dec in d.decorators):
        raise OracleError(f"{path}: {class_name!r} is not a class decorated with @dataclass")
    lines = source.splitlines(keepends=True)[d.start[0] - 1:d.end_row]
    pad = d.column
    body = "".join(ln[pad:] if not pad or ln[:pad].isspace() else ln.lstrip(" \t") if ln.strip() else "\n"
                   for ln in lines)
    return stub_run({"op": "dataclass", "src": body, "name": d.qualname.rsplit(".", 1)[-1]})["fields"]


def _rhs(toks: list[tokenize.TokenInfo]) -> tuple[list[tokenize.TokenInfo], list[tokenize.TokenInfo], str | None]:
    """(targets, value, augmented operator) of an assignment statement, split at its last `=`
    outside brackets."""
    sig = significant(toks)
    depth, split, aug = 0, None, None
    for i, t in enumerate(sig):
        if t.type == tokenize.OP:
            depth += t.string in "([{"
            depth -= t.string in ")]}"
            if depth == 0 and t.string == "=":
                split = i
            elif depth == 0 and t.string.endswith("=") and t.string not in ("=", "==", "<=", ">=", "!=", ":="):
                aug = t.string
    if split is None:
        return [], sig, aug
    return sig[:split], sig[split + 1:], aug


def _written_as_literal(value: list[tokenize.TokenInfo]) -> bool:
    """Only constants, displays and signs: `(1, -2.5, 'a', None)` yes; `60 * 60`, `f'x'`, `a` no."""
    prev = None
    for t in value:
        if t.type == tokenize.STRING and "f" not in t.string.split("'")[0].split('"')[0].lower():
            pass
        elif t.type == tokenize.NUMBER or (t.type == tokenize.NAME and t.string in ("None", "True", "False")):
            pass
        elif t.type == tokenize.OP and t.string in "()[]{},:":
            pass
        elif t.type == tokenize.OP and t.string in "+-" and (prev is None or prev.string in "([{,:+-"):
            pass
        else:
            return False
        prev = t
    return bool(value)


def _simple_statements(repo_root: Path, path: str) -> tuple[list[Any], list[str]]:
    """Top-level statements, and the text to run for each: simple statements only (imports,
    if/try/def/... are left out: their names stay stubs)."""
    stmts = top_level_statements(read_source(repo_root, path))
    run = ["pass\n" if s.compound or significant(s.toks)[0].string in _IMPORT else s.text for s in stmts]
    return stmts, run


def _binds(stmt: Any, name: str) -> bool:
    """Whether an assignment statement's targets (as written) include `name`."""
    targets, _, aug = _rhs(stmt.toks)
    if aug:
        first = significant(stmt.toks)[0]
        return first.type == tokenize.NAME and first.string == name
    return any(t.type == tokenize.NAME and t.string == name for t in targets)


@second_derivation("python_module_constant", method="the module's top-level statements executed in order in a "
                   "child process (imports and free names stubbed); the value a simple statement last bound to the name")
def module_constant(*, repo_root: Path, path: str, name: str) -> Any:
    stmts, run = _simple_statements(repo_root, path)
    # if/for/with/try blocks run too (they may change the value in place) but, as the oracle
    # defines it, do not count as assignments; definitions and imports stay out.
    run = [s.text if s.compound and significant(s.toks)[0].string not in ("def", "class", "async", "@") else r
           for s, r in zip(stmts, run)]
    binders = [i for i, s in enumerate(stmts) if not s.compound and run[i] != "pass\n"]
    reply = stub_run({"op": "statements", "statements": run, "name": name, "binders": binders})
    failed = [i for i in binders if reply["statements"][i]["error"] and _binds(stmts[i], name)]
    last = max(failed + [reply["bound"] if reply["bound"] is not None else -1])
    if last < 0:
        raise OracleError(f"{path}: no top-level assignment to {name!r}")
    _, value, aug = _rhs(stmts[last].toks)
    literal = reply["bound"] == last and not reply["stub"] and reply["plain"] and _written_as_literal(value)
    if aug or reply["statements"][last]["error"] or not literal:
        raise OracleError(f"{path}: {name!r} is not a literal: {stmts[last].text.strip()[:200]}")
    if reply["modified"]:
        raise OracleError(f"{path}: {name!r} is modified after its assignment")
    return reply["value"]


@second_derivation("python_call_assignments", method="the module's top-level simple statements executed in a "
                   "child process with every name a stub; names bound to a call of `callee` made in that statement")
def call_assignments(*, repo_root: Path, path: str, callee: str) -> list[str]:
    stmts, run = _simple_statements(repo_root, path)
    reply = stub_run({"op": "statements", "statements": run})
    out = set()
    for stmt, result in zip(stmts, reply["statements"]):
        _, value, aug = _rhs(stmt.toks)
        whole_call = bool(value) and value[0].type == tokenize.NAME and value[-1].string == ")" and not aug
        for name, text in result["calls"].items():
            dotted = re.fullmatch(r"[^\W\d]\w*(\.[^\W\d]\w*)*", text) is not None  # `a.b(...)`, not `f().b(...)`
            if whole_call and dotted and (text == callee or text.endswith("." + callee)):
                out.add(name)
    return sorted(out)


@second_derivation("docstring_number", method="the docstring read from the compiled code objects (co_consts / "
                   "the stored __doc__) and scanned for integers by a hand-written scanner, not a regex")
def docstring_integer(*, repo_root: Path, path: str, qualname: str | None = None, index: int = 0) -> int | None:
    doc = docstring(read_source(repo_root, path), path, qualname)
    numbers = integers(doc) if doc else []
    return numbers[index] if -len(numbers) <= index < len(numbers) else None


def _config_statements(repo_root: Path, path: str) -> list[str]:
    try:
        return [s.text for s in top_level_statements(read_source(repo_root, path))]
    except OracleError as exc:
        raise OracleError(f"{path}: {exc}") from None


@second_derivation("python_config_value", method="the config file executed statement by statement in a child "
                   "process (imports stubbed, dict() real), then the query followed in its top-level values")
def config_value(*, repo_root: Path, path: str, query: str) -> Any:
    result = stub_run({"op": "config", "files": [_config_statements(repo_root, path)]})["results"][0]
    return follow(result["values"], query, path)


@second_derivation("python_configs_with_value", method="files chosen with Python's glob, each config executed in a "
                   "child process (imports stubbed); its top-level values and every dict() it made searched")
def configs_with_value(*, repo_root: Path, root: str, key: str, value: Any, glob: str = "**/*.py",
                       exclude_dirs: list[str] | None = None) -> list[str]:
    chosen, files = [], []
    for rel in select_files(repo_root, root, glob, exclude_dirs):
        try:
            text = read_source(repo_root, rel)
            if key not in text:
                continue  # the key is not even written in the file
            files.append([st.text for st in top_level_statements(text)])
            chosen.append(rel)
        except OracleError:
            continue  # not Python: not a config
    results = []
    for start in range(0, len(files), _FILES_PER_CHILD):
        results += stub_run({"op": "config", "files": files[start:start + _FILES_PER_CHILD]})["results"]
    found = [r.get("values", {}).values() for r in results]
    return sorted(rel for rel, r, values in zip(chosen, results, found)
                  if not r.get("skipped") and (holds(list(values), key, value) or holds(r["made"], key, value)))


_FILES_PER_CHILD = 300  # config files per child process, each child well inside its timeout


@second_derivation("pytest_param_count", method="real `pytest --collect-only -q` in a child process; when the "
                   "module cannot be imported, again with every missing module replaced by a stub")
def pytest_param_count(*, repo_root: Path, path: str, function: str | None = None) -> int:
    items = pytest_items(repo_root, path, stub_missing=False)
    if isinstance(items, str):
        items = pytest_items(repo_root, path, stub_missing=True)
        if isinstance(items, str):
            raise OracleError(f"{path}: pytest cannot collect it, even with missing modules stubbed: {items}")
    mine = [i.split("[", 1)[0] for i in items if i.split("::", 1)[0].endswith(path.lstrip("./"))]
    if function is None:
        return len(mine)
    want = function.replace(".", "::")
    count = sum(1 for i in mine if i.split("::", 1)[1] == want)
    if not count:
        raise OracleError(f"{path}: pytest collects no test {function!r}")
    return count
