"""The house rules: no import cycles between our modules, no private names imported across
modules, every folder docs/architecture.md names exists, and each package says what it owns."""
from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("evaluator", "oracles", "derivations")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            mods[name] = path
    return mods


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[tuple[str, str]]:
    """(module, imported name or '') for every import of our modules, at any depth of the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {(a.name, "") for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add((sub, "") if sub in modules else (base, a.name))
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[tuple[str, str]]]]:
    modules = _modules()
    graph, names = {}, {}
    for name, path in modules.items():
        imps = _imports(path, name, modules)
        names[name] = imps
        deps = set()
        for mod, _ in imps:
            # importing a.b.c also runs a/__init__ and a/b/__init__, but those are not edges we own here
            target = mod if mod in modules else mod.rpartition(".")[0]
            if target in modules and target != name:
                deps.add(target)
        graph[name] = deps
    # The oracle registry imports the built-in oracle modules by name (importlib): edges too.
    registry = "evaluator.scoring.oracle_registry"
    for node in ast.walk(ast.parse(modules[registry].read_text())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("BUILTIN_MODULES", "DERIVATION_MODULES"):
            graph[registry] |= set(ast.literal_eval(node.value))
    return graph, names


def test_no_import_cycles() -> None:
    graph, _ = _graph()
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_no_private_names_imported_across_modules() -> None:
    _, names = _graph()
    bad = sorted(f"{mod} imports {src}.{n}" for mod, imps in names.items() for src, n in imps
                 if n.startswith("_") and not n.startswith("__") and src != mod)
    assert not bad, "\n".join(bad)


def test_every_folder_named_in_the_architecture_page_exists() -> None:
    for page in (ROOT / "docs" / "architecture.md", ROOT / "docs" / "zh-CN" / "architecture.md"):
        named = set(re.findall(r"`((?:evaluator|oracles|tasks|repos|tools|tests|docs)/[\w/.-]*)`", page.read_text()))
        assert len(named) >= 15, f"{page} names too few folders"
        missing = sorted(n for n in named if not (ROOT / n).exists())
        assert not missing, f"{page.name} names folders that do not exist: {missing}"


def test_every_package_documents_what_it_owns() -> None:
    for init in (ROOT / "evaluator").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(ROOT)} has no docstring saying what the package owns"


def test_every_evaluator_package_is_listed_in_the_architecture_page() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    for pkg in sorted(p.parent for p in (ROOT / "evaluator").glob("*/__init__.py")):
        assert f"`evaluator/{pkg.name}/`" in text, f"docs/architecture.md does not describe evaluator/{pkg.name}/"


def test_second_derivations_share_no_code_with_the_oracles() -> None:
    # Independence is the point of a second derivation: neither side may import the other.
    _, names = _graph()
    crossing = sorted(f"{mod} imports {src}" for mod, imps in names.items() for src, _ in imps
                      if (mod.startswith("derivations") and src.startswith("oracles"))
                      or (mod.startswith("oracles") and src.startswith("derivations")))
    assert not crossing, "\n".join(crossing)
