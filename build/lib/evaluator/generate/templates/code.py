"""Parametric templates over Python definitions: function defaults, registries, argparse, dataclasses."""
from __future__ import annotations

from evaluator.generate.model import Candidate, DistractorDraft
from evaluator.generate.scan import FuncInfo
from evaluator.generate.templates.base import Context, Template, schema

JSON_VALUES = "as JSON values (tuples as lists, None as null)"


def _neighbour(items: list[FuncInfo], me: FuncInfo) -> FuncInfo | None:
    """The next definition in the same file (wrapping) whose defaults differ: a plausible mix-up."""
    same = [f for f in items if f.path == me.path and f.n_defaults and f.literal]
    if me not in same:
        return None
    i = same.index(me)
    for other in same[i + 1:] + same[:i]:
        if other.signature != me.signature:
            return other
    return None


class FunctionDefaults(Template):
    name = "python_function_defaults"

    def candidates(self, ctx: Context) -> list[Candidate]:
        funcs = [f for f in ctx.scan.functions if f.literal and 2 <= f.n_defaults <= 10]
        out = []
        for f in funcs:
            kind = "method" if "." in f.qualname else "function"
            nb = _neighbour(ctx.scan.functions, f)
            drafts = [DistractorDraft(fn="python_function_defaults", args={"path": nb.path, "qualname": nb.qualname},
                                      why=f"gave the defaults of the neighbouring {nb.qualname}", optional=False)] if nb else []
            text = (f"In `{f.path}`, what are the default values of the parameters of the {kind} `{f.qualname}`? "
                    f"Map every parameter that has a default (positional or keyword-only) to its default, {JSON_VALUES}; "
                    "leave out parameters without a default, and do not follow inherited or wrapped signatures. "
                    + schema("defaults", "{<parameter>: <default>, ...}"))
            hard = f.n_defaults > 6 or f.qualname.count(".") >= 2
            out.append(Candidate(template=self.name, params={"path": f.path, "qualname": f.qualname}, key="defaults",
                                 type="json", fn="python_function_defaults", args={"path": f.path, "qualname": f.qualname},
                                 instruction=text, distractors=drafts, difficulty="hard" if hard else "medium",
                                 reason=f"find {f.qualname} in one file and read {f.n_defaults} defaults exactly"))
        return out


class RegisteredClasses(Template):
    name = "python_registered_classes"

    def candidates(self, ctx: Context) -> list[Candidate]:
        scan = ctx.scan
        defined: dict[str, list[str]] = {}
        for var, path in scan.registries:
            defined.setdefault(var, []).append(path)
        out = []
        for var, paths in sorted(defined.items()):
            pkg = scan.package_of(paths[0])
            if pkg is None or not 2 <= len(scan.registered.get(var, ())) <= 40:
                continue
            base = {"registry": var, "root": pkg, "exclude_dirs": ["configs"]}
            where = ", ".join(f"`{p}`" for p in paths)
            rule = (f"The registry variable `{var}` is created in {where} (`{var} = Registry(...)`). Consider .py files "
                    f"under `{pkg}/`, skipping any directory named `configs`. A class is registered in `{var}` when it "
                    f"is decorated with `@{var}.register_module` (called or not, with any arguments) or passed to a "
                    f"module-level `{var}.register_module(module=...)` call; the receiver must be written exactly "
                    f"`{var}` (an alias or another registry does not count). ")
            others = [v for v in sorted(defined) if v != var and len(scan.registered.get(v, ())) >= 2]
            wrong = [DistractorDraft(fn="python_registered_classes", args={**base, "registry": others[0], "names": "class"},
                                     why=f"listed the {others[0]} registry instead")] if others else []
            classes = {**base, "names": "class"}
            out.append(Candidate(
                template=self.name, params=classes, key="registered_classes", type="list", fn="python_registered_classes",
                args=classes, comparator="f1", distractors=wrong, difficulty="medium",
                instruction=rule + "List the class names (for `module=pkg.Cls`, the last part `Cls`), each once. "
                + schema("registered_classes", "[<class name>, ...]"),
                reason=f"find every @{var}.register_module site across the package, not just one file"))
            names = {**base, "names": "registered"}
            if ctx.fact("python_registered_classes", names) != ctx.fact("python_registered_classes", classes):
                out.append(Candidate(
                    template=self.name, params=names, key="registered_names", type="list", fn="python_registered_classes",
                    args=names, comparator="f1", difficulty="hard",
                    distractors=[DistractorDraft(fn="python_registered_classes", args=classes, optional=False,
                                                 why="gave class names, ignoring name= aliases")],
                    instruction=rule + "List the names they are registered under, i.e. what a config writes as "
                    "type='...': each string of the `name=` argument (or first positional argument; a list gives several "
                    "names), else the class name. Each name once. " + schema("registered_names", "[<name>, ...]"),
                    reason=f"find every {var} registration and resolve name= aliases"))
        return out


class ArgparseDefaults(Template):
    name = "python_argparse_defaults"

    def candidates(self, ctx: Context) -> list[Candidate]:
        files = {p: v for p, v in ctx.scan.argparse.items() if v[0] >= 2 and v[1] and not ctx.scan.is_test(p)}
        ordered = sorted(files)
        out = []
        for i, path in enumerate(ordered):
            calls, _, sig = files[path]
            nb = next((o for o in ordered[i + 1:] + ordered[:i] if files[o][2] != sig), None)
            text = (f"Give the default value of every command-line argument added with `.add_argument(...)` in `{path}` "
                    "(all parsers and subparsers in the file), keyed by the attribute name argparse stores it under: an "
                    "explicit dest=, else a positional's name as written, else the first --long option (else the first "
                    "option) without leading dashes and with - replaced by _. Values as JSON; an argument without "
                    "default= is null, except action='store_true' (false) and action='store_false' (true). When several "
                    "calls share a dest the first one wins; ignore set_defaults(). "
                    + schema("argparse_defaults", "{<dest>: <default>, ...}"))
            out.append(Candidate(
                template=self.name, params={"path": path}, key="argparse_defaults", type="json",
                fn="python_argparse_defaults", args={"path": path}, instruction=text, difficulty="hard" if calls > 8 else "medium",
                distractors=[DistractorDraft(fn="python_argparse_defaults", args={"path": nb}, why=f"read {nb} instead")] if nb else [],
                reason=f"derive dest names and implicit defaults of {calls} add_argument calls"))
        return out


class DataclassDefaults(Template):
    name = "dataclass_defaults"

    def candidates(self, ctx: Context) -> list[Candidate]:
        out = []
        for d in ctx.scan.dataclasses:
            if not d.literal or d.n_defaults < 2:
                continue
            nb = _neighbour(ctx.scan.dataclasses, d)
            text = (f"For the dataclass `{d.qualname}` in `{d.path}`, give the default of each field declared in its own "
                    f"class body that has one, {JSON_VALUES}; leave out fields without a default, ClassVar fields and "
                    "inherited fields. " + schema("field_defaults", "{<field>: <default>, ...}"))
            out.append(Candidate(
                template=self.name, params={"path": d.path, "class_name": d.qualname}, key="field_defaults", type="json",
                fn="dataclass_defaults", args={"path": d.path, "class_name": d.qualname}, instruction=text,
                difficulty="medium", reason=f"read {d.n_defaults} field defaults of one dataclass",
                distractors=[DistractorDraft(fn="dataclass_defaults", args={"path": nb.path, "class_name": nb.qualname},
                                             why=f"read the neighbouring dataclass {nb.qualname}", optional=False)] if nb else []))
        return out
