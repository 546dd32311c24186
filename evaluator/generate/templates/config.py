"""Parametric templates over configuration and tests: YAML/TOML values, Python configs, pytest items."""
from __future__ import annotations

import re
import tomllib
from typing import Any, Iterator

from evaluator.generate.model import Candidate, DistractorDraft
from evaluator.generate.templates.base import Context, Template, schema
from oracles._pyast import parse_file
from oracles.config_files import load_yaml
from oracles.python_configs import config_env

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
PER_FILE = 3


def leaves(data: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any, int]]:
    """(query, scalar, depth) for every leaf reachable through plain keys and list indices."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str) and _KEY.match(k):
                yield from leaves(v, f"{prefix}.{k}" if prefix else k, depth + 1)
    elif isinstance(data, list) and prefix:
        for i, v in enumerate(data[:20]):
            yield from leaves(v, f"{prefix}[{i}]", depth + 1)
    elif prefix and (isinstance(data, (int, float)) and not isinstance(data, bool)
                     or isinstance(data, str) and 0 < len(data) <= 80 and "\n" not in data):
        yield prefix, data, depth


def _value_candidates(ctx: Context, template: str, fn: str, path: str, data: Any, what: str, rules: str,
                      min_depth: int = 2) -> list[Candidate]:
    found = [(q, v) for q, v, d in leaves(data) if d >= min_depth and v not in (0, "")]
    picked = ctx.sampler.ranked(f"{template}:{path}", found)[:PER_FILE]
    out = []
    for query, value in picked:
        other = next((q for q, v in found if q != query and v != value and type(v) is type(value)), None)
        args = {"path": path, "query": query}
        text = (f"In the {what} `{path}`, what is the value at `{query}` (dot-separated keys; `[n]` is a 0-based list "
                f"index)? Give it as a JSON value of the type it has in the file. {rules}"
                + schema("value", "<JSON value>"))
        out.append(Candidate(
            template=template, params=args, key="value", type="json", fn=fn, args=args, instruction=text,
            difficulty="medium" if query.count(".") + query.count("[") >= 3 else "easy",
            reason=f"follow a {query.count('.') + query.count('[') + 1}-step path in one file",
            distractors=[DistractorDraft(fn=fn, args={"path": path, "query": other}, why=f"read {other} instead")] if other else []))
    return out


class YamlValue(Template):
    name = "yaml_query"
    one_pipeline = True  # grep KEY FILE shows the line with the value

    def candidates(self, ctx: Context) -> list[Candidate]:
        out: list[Candidate] = []
        for path in ctx.scan.yaml_files:
            try:
                data = load_yaml(ctx.root, path)
            except Exception:  # noqa: BLE001 - unreadable files simply offer no candidates
                continue
            out += _value_candidates(ctx, self.name, "yaml_query", path, data, "YAML file",
                                     "Read it as YAML 1.2: only true/false are booleans, so yes/no/on/off are strings "
                                     "(and an `on:` key is the string \"on\"). ")
        return out


class TomlValue(Template):
    name = "toml_query"
    one_pipeline = True  # grep KEY FILE shows the line with the value

    def candidates(self, ctx: Context) -> list[Candidate]:
        out: list[Candidate] = []
        for path in ctx.scan.toml_files:
            try:
                data = tomllib.loads((ctx.root / path).read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                continue
            out += _value_candidates(ctx, self.name, "toml_query", path, data, "TOML file", "")
        return out


class PythonConfigValue(Template):
    name = "python_config_value"
    one_pipeline = True  # grep KEY FILE shows the line with the value
    sample_files = 80  # configs can number thousands; parse only a seeded sample

    def candidates(self, ctx: Context) -> list[Candidate]:
        out: list[Candidate] = []
        for path in ctx.sampler.ranked(self.name, ctx.scan.config_files)[: self.sample_files]:
            text = (ctx.root / path).read_text(encoding="utf-8", errors="replace")
            tree = parse_file(ctx.root / path)
            if tree is None:
                continue
            env = config_env(tree)
            # Strings only when written literally in the file: a non-literal value comes back as source text.
            data = {k: v for k, v in env.items() if not k.startswith("_")}
            found = [c for c in _value_candidates(ctx, self.name, "python_config_value", path, data,
                                                  "Python config file", _PYCONFIG_RULES)]
            out += [c for c in found if _literal_in(ctx.fact("python_config_value", c.args), text)]
        return out


_PYCONFIG_RULES = ("The first key is a top-level variable. Evaluate it as the file is written: `dict(...)`/`{...}`, "
                   "lists and variables assigned earlier in the same file are resolved; nothing imported is. ")


def _literal_in(value: Any, text: str) -> bool:
    return not isinstance(value, str) or f"'{value}'" in text or f'"{value}"' in text


class PytestParamCount(Template):
    name = "pytest_param_count"

    def candidates(self, ctx: Context) -> list[Candidate]:
        out: list[Candidate] = []
        rule = ("Count the test items pytest would collect by default: each `test*` function at module level and each "
                "`test*` method of a `Test*` class without `__init__` is one item per combination of its "
                "`@pytest.mark.parametrize` argument values (stacked decorators multiply, class-level ones apply to "
                "every method, an empty list still gives one item). ")
        for path, tests in sorted(ctx.scan.param_tests.items()):
            args = {"path": path}
            out.append(Candidate(
                template=self.name, params=args, key="test_items", type="int", fn="pytest_param_count", args=args,
                instruction=f"How many test items does pytest collect from `{path}`? " + rule + schema("test_items", "<int>"),
                difficulty="medium", reason="sum parametrize products over the tests of one file",
                distractors=[DistractorDraft(fn="grep_count", args={"pattern": r"^\s*(async\s+)?def test", "glob": path,
                                                                    "regex": True}, why="counted test functions")]))
            for i, fn in enumerate(tests):
                other = tests[(i + 1) % len(tests)]
                fargs = {"path": path, "function": fn}
                out.append(Candidate(
                    template=self.name, params=fargs, key="test_items", type="int", fn="pytest_param_count", args=fargs,
                    instruction=f"How many test items does pytest collect from the test `{fn}` in `{path}`? " + rule
                    + schema("test_items", "<int>"), difficulty="easy", reason="multiply the parametrize lists of one test",
                    distractors=[DistractorDraft(fn="pytest_param_count", args={"path": path, "function": other},
                                                 why=f"counted {other} instead")] if other != fn else []))
        return out
