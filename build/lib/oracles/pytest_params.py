"""Fact oracle counting the test items pytest would collect from parametrized tests."""
from __future__ import annotations

import ast
import math
from pathlib import Path

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._pyast import FuncNode, decorator_name, load_module, module_assignments, require_def


def _argvalues_count(call: ast.Call, tree: ast.Module, where: str) -> int:
    node = next((k.value for k in call.keywords if k.arg == "argvalues"), None)
    if node is None and len(call.args) >= 2:
        node = call.args[1]
    if isinstance(node, ast.Name):  # @parametrize("x", CASES) with CASES = [...] at top level
        bound = [v for name, v, _ in module_assignments(tree.body) if name == node.id]
        node = bound[-1] if bound else node
    if not isinstance(node, (ast.List, ast.Tuple)) or any(isinstance(e, ast.Starred) for e in node.elts):
        shown = ast.unparse(node) if node is not None else "<missing>"
        raise OracleError(f"{where}: parametrize argvalues is not a literal list/tuple: {shown}")
    # pytest turns an empty parameter set into one skipped item.
    return max(len(node.elts), 1)


def _is_parametrize(dec: ast.expr) -> bool:
    name = decorator_name(dec) or ""
    return isinstance(dec, ast.Call) and (name == "parametrize" or name.endswith("mark.parametrize"))


def _count(decorators: list[ast.expr], tree: ast.Module, where: str) -> int:
    return math.prod(_argvalues_count(d, tree, where) for d in decorators if _is_parametrize(d))  # type: ignore[arg-type]


def _collected(tree: ast.Module) -> list[tuple[str, FuncNode, list[ast.expr]]]:
    """(qualname, test function, parametrize-bearing decorators incl. its classes') for the
    tests pytest collects by default: `test*` functions at top level and `test*` methods of
    `Test*` classes (nested too) that define no `__init__`; a later same-named def wins."""
    out: dict[str, tuple[str, FuncNode, list[ast.expr]]] = {}  # a redefinition replaces, as at run time

    def visit(body: list[ast.stmt], prefix: str, inherited: list[ast.expr]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith("test"):
                out[prefix + stmt.name] = (prefix + stmt.name, stmt, inherited + stmt.decorator_list)
            elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
                if not any(isinstance(s, ast.FunctionDef) and s.name == "__init__" for s in stmt.body):
                    visit(stmt.body, f"{prefix}{stmt.name}.", inherited + stmt.decorator_list)

    visit(tree.body, "", [])
    return list(out.values())


@fact_oracle()
def pytest_param_count(*, repo_root: Path, path: str, function: str | None = None) -> int:
    """Test items pytest collects from `path`: the sum over test functions (`test*` at top
    level, `test*` methods of `Test*` classes without `__init__`) of the product of the
    argvalues lengths of their stacked `@pytest.mark.parametrize` decorators (class-level
    ones included), 1 for an unparametrized test. With `function` (`test_x` or
    `TestC.test_x`) only that test is counted. argvalues must be a literal list/tuple or a
    name bound to one at top level; an empty list counts 1 (pytest's skipped item).
    Fixture params, `pytest_generate_tests` and inherited tests are not seen. OracleError
    when argvalues is not literal (naming the test) or `function` does not exist."""
    tree = load_module(repo_root, path)
    tests = _collected(tree)
    if function is not None:
        require_def(tree, function, path)
        tests = [t for t in tests if t[0] == function]
        if not tests:
            raise OracleError(f"{path}: {function!r} is not a test pytest would collect")
    return sum(_count(decs, tree, f"{path}:{qual}") for qual, _, decs in tests)
