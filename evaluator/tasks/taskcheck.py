"""One validation pass over task files: every problem of every file, with file, line and a
did-you-mean, so a user fixes them all at once and `--dry-run` catches what `validate`
catches without running oracles.

Checks: YAML syntax; the schema (all errors, not the first); unknown keys, comparator,
type and difficulty names against the known ones; oracle names against the registry;
oracle arguments against the oracle function's signature; custom oracle modules that do
not import (with a PYTHONPATH hint).
"""
from __future__ import annotations

import difflib
import inspect
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evaluator.scoring import comparators
from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks.specs import TaskSpec

Loc = tuple[Any, ...]


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _lines(node: yaml.Node | None, loc: Loc = ()) -> dict[Loc, int]:
    """1-based line of every key and list item, by location."""
    out: dict[Loc, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*loc, key.value)
            out[here] = key.start_mark.line + 1
            out.update(_lines(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*loc, i)] = item.start_mark.line + 1
            out.update(_lines(item, (*loc, i)))
    return out


def _line(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return 1 if lines else None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The spec model that holds the field at `loc` (for did-you-mean on unknown keys)."""
    model: type[BaseModel] | None = TaskSpec
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _inner_model(field.annotation) if field else None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found:
            return found
    return None


def _schema_problem(err: Any) -> str:
    loc: Loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        hint = did_you_mean(str(loc[-1]), model.model_fields) if model else ""
        return f"field `{where}`: unknown key{hint}"
    msg = err["msg"]
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        expected = typing.get_args(_literal_of(loc))
        msg += did_you_mean(err["input"], expected)
    return f"field `{where}`: {msg}"


def _literal_of(loc: Loc) -> Any:
    model = _model_at(loc)
    field = model.model_fields.get(str(loc[-1])) if model else None
    return field.annotation if field else None


def _args_problem(oracle: oracles.Oracle, args: dict[str, Any]) -> str | None:
    """Arguments the oracle function cannot take, found without calling it."""
    try:
        sig = inspect.signature(oracle.fn)
    except (TypeError, ValueError):
        return None
    given = {"repo_root": Path("."), **({"answer_dir": Path(".")} if oracle.kind == "checker" else {}), **args}
    try:
        sig.bind(**given)
    except TypeError as exc:
        names = [p for p in sig.parameters if p not in ("repo_root", "answer_dir")]
        hints = "".join(f"; unknown argument `{a}`{did_you_mean(a, names)}" for a in args if a not in sig.parameters)
        return f"bad arguments for oracle {oracle.name!r}: {exc}{hints} (it takes: {', '.join(names) or 'nothing'})"
    return None


def _oracle_problem(ref: str) -> tuple[oracles.Oracle | None, str | None]:
    try:
        return oracles.resolve(ref), None
    except oracles.OracleError as exc:
        msg = str(exc)
        if ":" not in ref:
            msg += did_you_mean(ref, oracles.registered())
        elif isinstance(exc.__cause__, ImportError):
            module = ref.partition(":")[0]
            msg += (f"; if {module!r} is your own module, put the folder that contains it on PYTHONPATH, "
                    f"e.g. PYTHONPATH=/path/to/that/folder python -m evaluator.run ...")
        return None, msg


def reference_problems(task: TaskSpec) -> list[tuple[Loc, str]]:
    """Oracles, their arguments and comparators of one valid task."""
    found: list[tuple[Loc, str]] = []
    for i, out in enumerate(task.outputs):
        calls = [(("outputs", i, "oracle"), out.oracle)]
        calls += [(("outputs", i, "distractors", j), d) for j, d in enumerate(out.distractors)]
        for loc, call in calls:
            oracle, problem = _oracle_problem(call.fn)
            if problem:
                found.append(((*loc, "fn"), f"output `{out.key}`: {problem}"))
                continue
            assert oracle is not None
            if (oracle.kind == "checker") != (out.type == "oracle_bool") and call is out.oracle:
                want = "an answer checker" if out.type == "oracle_bool" else "a fact oracle"
                found.append(((*loc, "fn"), f"output `{out.key}`: {call.fn!r} is not {want} for type {out.type}"))
            elif (bad := _args_problem(oracle, call.args)) is not None:
                unknown = [a for a in call.args if a not in inspect.signature(oracle.fn).parameters]
                at = (*loc, "args", *unknown[:1])  # the line of the first misspelt argument
                found.append((at, f"output `{out.key}`: {bad}"))
        if out.comparator not in comparators.COMPARATORS:
            hint = did_you_mean(out.comparator, comparators.COMPARATORS)
            found.append((("outputs", i, "comparator"), f"output `{out.key}`: unknown comparator {out.comparator!r}{hint}"))
    return found


def load_task_file(path: Path) -> tuple[TaskSpec | None, list[str], dict[Loc, int]]:
    """The task, or None with every schema problem as `path:line: message`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot read: {exc}"], {}
    try:
        lines = _lines(yaml.compose(text, Loader=yaml.SafeLoader))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        return None, [f"{path}{at}: invalid YAML: {getattr(exc, 'problem', None) or exc}"], {}
    if not isinstance(data, dict):
        return None, [f"{path}: expected a mapping at the top level, got {type(data).__name__}"], lines
    try:
        return TaskSpec.model_validate(data), [], lines
    except ValidationError as exc:
        problems = [where(path, lines, tuple(e["loc"]), _schema_problem(e)) for e in exc.errors()]
        return None, problems + _raw_oracle_names(path, lines, data), lines


def _raw_oracle_names(path: Path, lines: dict[Loc, int], data: dict[str, Any]) -> list[str]:
    """Unknown oracle names of a file that failed the schema, so they come out in the same pass."""
    found = []
    outputs = data.get("outputs")
    for i, out in enumerate(outputs if isinstance(outputs, list) else []):
        oracle = out.get("oracle") if isinstance(out, dict) else None
        fn = oracle.get("fn") if isinstance(oracle, dict) else None
        if isinstance(fn, str) and (problem := _oracle_problem(fn)[1]):
            found.append(where(path, lines, ("outputs", i, "oracle", "fn"), f"output `{out.get('key')}`: {problem}"))
    return found


def where(path: Path, lines: dict[Loc, int], loc: Loc, message: str) -> str:
    line = _line(lines, loc)
    return f"{path}{f':{line}' if line else ''}: {message}"


def summary(problems: list[str]) -> str:
    """One sentence for one problem; a count and the list for more."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems in task files:\n  " + "\n  ".join(problems)
