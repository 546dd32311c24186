"""Parametric templates over relations between modules and classes: importers, subclass trees."""
from __future__ import annotations

from evaluator.generate.model import Candidate, DistractorDraft
from evaluator.generate.templates.base import Context, Template, schema
from oracles.python_code import subclass_closure

SKIP = ["configs"]


class ImportUsers(Template):
    name = "python_import_users"

    def candidates(self, ctx: Context) -> list[Candidate]:
        scan = ctx.scan
        out = []
        for module in sorted(scan.modules):
            pkg = module.split(".", 1)[0]
            if pkg not in scan.packages or module == pkg:
                continue
            users = {u for u in scan.importers.get(module, ()) if u.startswith(pkg + "/")}
            if not 2 <= len(users) <= 25:
                continue
            parent, _, last = module.rpartition(".")
            args = {"module": module, "root": pkg, "exclude_dirs": SKIP}
            text = (f"Which .py files under `{pkg}/` (skipping any directory named `configs`) import the module "
                    f"`{module}`? An import counts wherever it appears in the file, inside functions too: `import {module}` "
                    f"(with or without `as`), `from {module} import ...`, and `from {parent} import {last}`; relative "
                    "imports count, resolved from the importing file's package. Importing only a submodule "
                    f"(`import {module}.x`, `from {module}.x import y`) does not count. Give repo-relative paths. "
                    + schema("importers", "[<path>, ...]"))
            drafts = [
                DistractorDraft(fn="python_import_users", args={**args, "include_submodules": True},
                                why="also counted imports of submodules"),
                DistractorDraft(fn="grep_files", args={"pattern": module, "glob": f"{pkg}/**/*.py", "exclude_dirs": SKIP},
                                why="grepped for the dotted name: misses relative imports, adds mentions"),
            ]
            out.append(Candidate(template=self.name, params=args, key="importers", type="list", fn="python_import_users",
                                 args=args, comparator="f1", instruction=text, distractors=drafts,
                                 difficulty="hard" if len(users) > 10 else "medium",
                                 reason="find absolute and relative imports of one module across the package"))
        return out


class Subclasses(Template):
    name = "python_subclasses"

    def candidates(self, ctx: Context) -> list[Candidate]:
        scan = ctx.scan
        out = []
        roots = sorted({b for bs in scan.bases.values() for b in bs if scan.class_count.get(b) == 1})
        for base in roots:
            direct, every = subclass_closure(scan.bases, base, False), subclass_closure(scan.bases, base, True)
            if base in every or not 3 <= len(every) <= 30 or direct == every:
                continue
            for pkg in scan.packages:
                common = {"base": base, "root": pkg, "exclude_dirs": SKIP}
                rule = (f"Consider the classes defined in .py files under `{pkg}/` (skipping any directory named "
                        f"`configs`), identified by their simple names. A class derives directly from `{base}` when one of "
                        f"its bases is written `{base}` or ends in `.{base}` (a subscript such as `{base}[T]` counts). ")
                for transitive in (True, False):
                    args = {**common, "transitive": transitive}
                    what = ("directly or indirectly, through any chain of classes defined there"
                            if transitive else "directly (not through an intermediate class)")
                    out.append(Candidate(
                        template=self.name, params=args, key="subclasses", type="list", fn="python_subclasses", args=args,
                        comparator="f1", difficulty="hard" if transitive else "medium",
                        instruction=rule + f"List every class that derives from `{base}` {what}; do not list `{base}` "
                        "itself. " + schema("subclasses", "[<class name>, ...]"),
                        distractors=[DistractorDraft(fn="python_subclasses", args={**common, "transitive": not transitive},
                                                     optional=False, why="confused direct and transitive subclasses")],
                        reason=("walk the class hierarchy transitively" if transitive else "find direct subclasses only")
                        + f" of {base}"))
        return out
