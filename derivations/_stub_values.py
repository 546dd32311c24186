"""Stubs for running repository snippets (child side only; see derivations/_stub_worker.py).

A `Stub` stands for a name the snippet did not define or an import: attribute access, calls,
subscripts and operators give new stubs whose `text` is the expression as written, so a value
built from unknowns can be reported as its source text, as the oracles do. `Names` is the
namespace that hands them out. Standard library only; imported by the worker as a sibling.
"""
from __future__ import annotations

import builtins
import inspect
import itertools
import json
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

    # Strict (signatures, classes): iterating or formatting an unknown fails the statement, so no
    # made-up value is reported. Lenient (top-level statements): an unknown iterates as empty and
    # formats as its text, so `X = f(sum([v for v in locals()], []))` still records the call.
    # Configs: formatting stays strict, but `for name in imported_list:` runs its body once with
    # an unknown `name`, so the literal dicts written in the loop are made, as mmengine makes them.
    lenient = False
    loop_once = False

    def __iter__(self) -> Any:
        if Stub.lenient:
            return iter(())
        if Stub.loop_once:
            return iter((Stub(OPAQUE),))
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
        return v.text  # item by item: an unknown with no source form stays a marker no answer equals
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


def plain(v: Any) -> bool:
    """Made of JSON's kinds of value only (no bytes, complex, functions...)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return all(plain(x) for x in v)
    return isinstance(v, dict) and all(plain(k) and plain(x) for k, x in v.items())


def limit_memory() -> None:
    """The address-space limit the parent asks for (AGENTGYM_CHILD_MEMORY bytes), set on this process."""
    import os
    import resource

    cap = int(os.environ.get("AGENTGYM_CHILD_MEMORY", "0") or 0)
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
