"""Runs repository code for the python_semantics derivations, in its own process only.

Started by `derivations/_stubrun.py` as `python -E -s -B _stub_worker.py`: a JSON request on stdin,
a JSON reply on stdout. The code it runs comes from an untrusted checkout, so this file is never
imported by the evaluator: it executes snippets in a namespace where every free name (and every
import) is a stub that remembers the source text that produced it (_stub_values.py, imported as
a sibling). Standard library only; nothing from `oracles` or `evaluator`.
"""
from __future__ import annotations

import argparse
import builtins
import dataclasses
import inspect
import json
import signal
import sys
import typing
from typing import Any

from _stub_values import Names, Stub, Unrenderable, as_json, has_stub, limit_memory, plain, render, run, safe_json


# Builtins a config may use to build its values; everything else (open, exec, ...) is a stub.
CONFIG_BUILTINS = {n: getattr(builtins, n) for n in (
    "range", "len", "list", "tuple", "set", "sum", "zip", "enumerate", "sorted", "reversed", "min", "max", "str", "int",
    "float", "bool", "isinstance", "any", "all", "map", "filter", "abs", "round", "locals", "globals")}


FILE_SECONDS = 10  # one config file's statements; a loop that never ends fails that file only


def _too_long(*_: Any) -> None:
    raise TimeoutError(f"took more than {FILE_SECONDS}s")


# --- operations -------------------------------------------------------------------------------

def op_signature(req: dict[str, Any]) -> Any:
    names = Names()
    err = run("from __future__ import annotations\n" + req["src"], names)
    if err:
        return {"error": err}
    sig = inspect.signature(dict.__getitem__(names, req["name"]))
    params = []
    for p in sig.parameters.values():
        default = None if p.default is inspect.Parameter.empty else as_json(p.default, True)
        params.append([p.name, p.kind.name, p.default is not inspect.Parameter.empty, default])
    return {"params": params}


def op_statements(req: dict[str, Any]) -> Any:
    """Run top-level statements in order; per statement, its error and the names it bound to the
    result of a call written in it (`{name: callee text}`). For `name`: the last statement listed
    in `binders` that bound it, the value right after it, and whether the rest of the module then
    changed that object in place (`x = []` then `x.append(...)`)."""
    names = Names()
    out = []
    Stub.lenient = True
    name, binders = req.get("name", ""), set(req.get("binders", ()))
    signal.signal(signal.SIGALRM, _too_long)
    bound, obj, snapshot = None, None, ""
    for i, src in enumerate(req["statements"]):
        first = next(Stub.made)
        signal.alarm(int(req.get("file_seconds", FILE_SECONDS)))
        err = run(src, names, i)
        signal.alarm(0)
        calls = {k: v.callee for k, v in names.bound().items() if i in names.sets.get(k, ())
                 and isinstance(v, Stub) and v.callee is not None and v.serial > first}
        out.append({"error": err, "calls": calls})
        if i in binders and i in names.sets.get(name, ()):
            bound, obj = i, dict.get(names, name)
            snapshot = json.dumps(safe_json(obj, False), sort_keys=True)
    return {"statements": out, "bound": bound, "value": safe_json(obj, True) if bound is not None else None,
            "stub": has_stub(obj), "plain": plain(obj),
            "modified": bound is not None and json.dumps(safe_json(obj, False), sort_keys=True) != snapshot}


def op_config(req: dict[str, Any]) -> Any:
    """Execute config files statement by statement (a failing statement leaves its names unbound);
    each file's top-level values as JSON, and every dict its code made with `dict(...)`."""
    results = []
    Stub.loop_once = True
    signal.signal(signal.SIGALRM, _too_long)
    for statements in req["files"]:
        try:
            compile("".join(statements), "<config>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            results.append({"skipped": True})  # not Python: not a config
            continue
        made: list[dict] = []

        def record(*args: Any, **kwargs: Any) -> dict:
            made.append(dict(*args, **kwargs))
            return made[-1]
        names = Names({**CONFIG_BUILTINS, "dict": record})
        signal.alarm(int(req.get("file_seconds", FILE_SECONDS)))
        errors = [e for e in (run(src, names, i) for i, src in enumerate(statements)) if e]
        signal.alarm(0)
        values = {}
        for k, v in names.bound().items():
            if isinstance(v, Stub) and not v.imported or not callable(v) and not isinstance(v, type):
                try:
                    values[k] = as_json(v, False)
                except Unrenderable:
                    continue  # no JSON form: as if unbound
        results.append({"errors": errors, "values": values, "made": [safe_json(d, False) for d in made]})
    return {"results": results}


def op_dataclass(req: dict[str, Any]) -> Any:
    real = {"field": dataclasses.field, "dataclasses": dataclasses, "ClassVar": typing.ClassVar,
            "KW_ONLY": dataclasses.KW_ONLY, "typing": typing}
    names = Names(real)
    module = type(sys)("snippet")  # dataclasses looks up ClassVar/KW_ONLY in the class's module
    module.__dict__.update(real)
    sys.modules["snippet"] = module
    err = run(req["src"], names)
    if err:
        return {"error": err}
    cls = dict.__getitem__(names, req["name"])
    try:
        fields = dataclasses.fields(dataclasses.dataclass(kw_only=True)(cls))
    except (TypeError, ValueError):  # a mutable default: dataclasses refuses it; read the class instead
        return {"fallback": True, "fields": {k: as_json(v, True) for k, v in vars(cls).items()
                                             if k in cls.__dict__.get("__annotations__", {})
                                             and not isinstance(v, dataclasses.Field)}}
    out: dict[str, Any] = {}
    for f in fields:
        if f.default is not dataclasses.MISSING:
            out[f.name] = as_json(f.default, True)
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = render(f.default_factory)
    return {"fields": out}


def op_argparse(req: dict[str, Any]) -> Any:
    """Feed each `add_argument(...)` call's arguments to a real `argparse` parser; its action's dest
    and default. A call whose arguments cannot be evaluated is skipped (None)."""
    out = []
    for src in req["calls"]:
        names = Names()
        err = run("__agentgym_args__ = (lambda *a, **k: (a, k))" + src, names)
        if err:
            out.append(None)
            continue
        args, kwargs = dict.__getitem__(names, "__agentgym_args__")
        if not all(isinstance(a, str) for a in args) or not isinstance(kwargs.get("dest", ""), str):
            out.append(None)
            continue
        try:
            action = argparse.ArgumentParser(add_help=False).add_argument(*args, **kwargs)
            dest, default = action.dest, action.default
            if default == argparse.SUPPRESS and "default" not in kwargs:
                default = None  # help/version actions: no default of their own
        except Exception:  # noqa: BLE001 - a custom action or type argparse cannot build with stubs
            parser = argparse.ArgumentParser(add_help=False)
            try:
                found = parser._get_optional_kwargs(*args, **kwargs) if args and args[0][:1] == "-" else \
                    parser._get_positional_kwargs(*args, **kwargs)
            except Exception:  # noqa: BLE001
                out.append(None)
                continue
            dest, default = found["dest"], kwargs.get("default")
        out.append([dest, as_json(default, True)])
    return {"dests": out}


OPS = {"signature": op_signature, "statements": op_statements, "config": op_config, "dataclass": op_dataclass,
       "argparse": op_argparse}

if __name__ == "__main__":
    limit_memory()
    sys.setrecursionlimit(3000)
    request = json.load(sys.stdin)
    try:
        reply = OPS[request["op"]](request)
    except Unrenderable as exc:
        reply = {"error": f"a value that has no source form: {exc}"}
    json.dump(reply, sys.stdout)
