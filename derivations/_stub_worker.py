"""Runs repository code for the python_semantics derivations, in its own process only.

Started by `derivations/_stubrun.py` as `python -I _stub_worker.py`, a JSON request on stdin and a
JSON reply on stdout. The code it runs comes from an untrusted checkout, so this file is never
imported by the evaluator: it executes snippets in a namespace where every free name (and every
import) is a `Stub`, an object that remembers the source text that produced it. Standard library
only; nothing from `oracles` or `evaluator`.
"""
from __future__ import annotations

import argparse
import builtins
import dataclasses
import itertools
import inspect
import json
import signal
import sys
import typing
from typing import Any


class Stub:
    """A name the snippet did not define: attribute access, calls, subscripts and operators give
    new stubs whose `text` is the expression as written (`torch.float32`, `dict(type='SGD')`)."""

    __slots__ = ("text", "callee", "imported", "serial")
    made = itertools.count()

    def __init__(self, text: str, callee: str | None = None, imported: bool = False) -> None:
        for k, v in (("text", text), ("callee", callee), ("imported", imported), ("serial", next(Stub.made))):
            object.__setattr__(self, k, v)

    def __getattr__(self, name: str) -> "Stub":
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # keep Python's protocols (copy, pickle, ...) away from stubs
        return Stub(f"{self.text}.{name}", imported=self.imported)

    def __setattr__(self, name: str, value: Any) -> None:
        pass  # `mod.attr = x` on a stubbed module changes nothing we read

    def __call__(self, *args: Any, **kwargs: Any) -> "Stub":
        try:
            parts = [render(a) for a in args] + [f"{k}={render(v)}" for k, v in kwargs.items()]
        except Unrenderable:  # an argument with no source form (a generator): the call has none either
            return Stub(OPAQUE, self.text)
        return Stub(f"{self.text}({', '.join(parts)})", self.text)

    def __getitem__(self, key: Any) -> "Stub":
        inner = ", ".join(render(k) for k in key) if isinstance(key, tuple) and key else render(key)
        return Stub(f"{self.text}[{inner}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (object,)  # `class A(nn.Module)` with a stubbed base: a plain class

    # Strict (configs, signatures): iterating or formatting an unknown fails the statement, so
    # no made-up value is reported. Lenient (top-level statements): an unknown iterates as empty
    # and formats as its text, so `X = f(sum([v for v in locals()], []))` still records the call.
    lenient = False

    def __iter__(self) -> Any:
        if Stub.lenient:
            return iter(())
        raise TypeError(f"cannot iterate the unknown {self.text}")

    def __str__(self) -> str:
        if Stub.lenient:
            return self.text
        raise TypeError(f"the unknown {self.text} has no text value")  # f-strings of unknowns fail

    def __format__(self, spec: str) -> str:
        return str(self)

    def __index__(self) -> int:
        raise TypeError(f"the unknown {self.text} is not a number")

    __int__ = __float__ = __len__ = __index__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<stub {self.text}>"

    def __bool__(self) -> bool:
        return False  # an unknown feature test (`torch.cuda.is_available()`) says no

    def __enter__(self) -> "Stub":
        return self  # `with read_base():` in a config

    def __exit__(self, *exc: Any) -> bool:
        return False

    def __neg__(self) -> "Stub":
        return Stub(f"-{self.text}")

    def __pos__(self) -> "Stub":
        return Stub(f"+{self.text}")


def _binop(symbol: str, reflected: bool = False) -> Any:
    def op(self: Stub, other: Any) -> Stub:
        left, right = (render(other), self.text) if reflected else (self.text, render(other))
        return Stub(f"{left} {symbol} {right}")
    return op


for _name, _sym in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("floordiv", "//"), ("mod", "%"),
                    ("pow", "**"), ("or", "|"), ("and", "&"), ("matmul", "@")):
    setattr(Stub, f"__{_name}__", _binop(_sym))
    setattr(Stub, f"__r{_name}__", _binop(_sym, reflected=True))


class Unrenderable(Exception):
    pass


OPAQUE = "\0"  # the text of a stub whose source form is unknown


def render(v: Any) -> str:
    """Source text of a value built from literals and stubs, written as `ast.unparse` writes it."""
    if isinstance(v, Stub):
        if OPAQUE in v.text:
            raise Unrenderable(f"a value computed from {v.callee or 'an unknown'}")
        return v.text
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(render(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + render(v[0]) + ",)" if len(v) == 1 else "(" + ", ".join(render(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{render(k)}: {render(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (set, frozenset)) and v:
        return "{" + ", ".join(render(x) for x in v) + "}"
    if (inspect.isfunction(v) or inspect.isclass(v)) and v.__name__.isidentifier():
        return v.__name__  # a def/class of the file, referred to by its name
    raise Unrenderable(type(v).__name__)


def has_stub(v: Any) -> bool:
    if isinstance(v, Stub):
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return any(has_stub(x) for x in v)
    if isinstance(v, dict):
        return any(has_stub(k) or has_stub(x) for k, x in v.items())
    return False


def safe_json(v: Any, whole: bool) -> Any:
    """`as_json`, or None for a value with no source form (callers treat it as unknown)."""
    try:
        return as_json(v, whole)
    except Unrenderable:
        return None


def json_key(k: Any) -> str:
    return k if isinstance(k, str) else json.dumps(k)


def as_json(v: Any, whole: bool) -> Any:
    """JSON for a value. `whole`: a container with any unknown in it is its source text (a default
    is a literal or not); otherwise containers convert item by item (config evaluation)."""
    if whole and has_stub(v):
        return render(v)
    if isinstance(v, Stub):
        return render(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [as_json(x, whole) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((as_json(x, whole) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dict):
        return {json_key(k) if k is None or isinstance(k, (str, int, float, bool)) else render(k): as_json(x, whole)
                for k, x in v.items()}
    return render(v)


class Names(dict):
    """A snippet's namespace (its globals too): a name it never bound is a stub of that name, or
    the real object `real` gives for it. `sets` records, per name, the statements that bound it."""

    def __init__(self, real: dict[str, Any] | None = None) -> None:
        super().__init__()
        # class bodies look names up in the builtins after the globals (bypassing __missing__)
        fallback = type("Builtins", (dict,), {"__missing__": lambda _, name: self.__missing__(name)})
        dict.__setitem__(self, "__builtins__", fallback(__import__=stub_import, __build_class__=builtins.__build_class__))
        dict.__setitem__(self, "__name__", "snippet")
        self.real = real or {}
        self.current = -1
        self.sets: dict[str, list[int]] = {}

    def __missing__(self, name: str) -> Any:
        return self.real[name] if name in self.real else Stub(name)

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        # an imported name renders as the name the file uses (`from m import x as y` -> "y")
        return Stub(name) if isinstance(value, Stub) and value.imported else value

    def __setitem__(self, name: str, value: Any) -> None:
        self.sets.setdefault(name, []).append(self.current)
        if name == "_base_" and type(value) is list:
            value = BaseList(value)
        super().__setitem__(name, value)

    def bound(self) -> dict[str, Any]:
        return {k: v for k, v in dict.items(self) if not (k.startswith("__") and k.endswith("__"))}


class BaseList(list):
    """An mmengine config's `_base_` list: `_base_.x` names variable x of a base config, which
    this file alone does not know."""

    def __getattr__(self, name: str) -> Stub:
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(f"_base_.{name}")


class StubModule(Stub):
    __slots__ = ()

    def __getattr__(self, name: str) -> Stub:
        if name == "__all__":
            return []  # type: ignore[return-value] - `from m import *` binds nothing
        return super().__getattr__(name)


def stub_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Stub:
    head = name if fromlist else name.split(".")[0]
    return StubModule(head or ".", imported=True)


def run(src: str, names: Names, index: int = -1) -> str | None:
    """Execute `src` in `names` with every import stubbed; the error, if it raised."""
    names.current = index
    try:
        exec(compile(src, "<snippet>", "exec"), names)
    except BaseException as exc:  # noqa: BLE001 - repository code may raise anything, SystemExit too
        return f"{type(exc).__name__}: {exc}"
    finally:
        for k, v in names.bound().items():  # `import a.b as c`, `from m import x as y`: the file says c, y
            if isinstance(v, Stub) and v.imported and v.text != k:
                dict.__setitem__(names, k, StubModule(k, imported=True))
    return None


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
        signal.alarm(FILE_SECONDS)
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


def plain(v: Any) -> bool:
    """Made of JSON's kinds of value only (no bytes, complex, functions...)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return all(plain(x) for x in v)
    return isinstance(v, dict) and all(plain(k) and plain(x) for k, x in v.items())


def op_config(req: dict[str, Any]) -> Any:
    """Execute config files statement by statement (a failing statement leaves its names unbound);
    each file's top-level values as JSON, and every dict its code made with `dict(...)`."""
    results = []
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
        signal.alarm(FILE_SECONDS)
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
    sys.setrecursionlimit(3000)
    request = json.load(sys.stdin)
    try:
        reply = OPS[request["op"]](request)
    except Unrenderable as exc:
        reply = {"error": f"a value that has no source form: {exc}"}
    json.dump(reply, sys.stdout)
