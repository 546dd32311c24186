"""`python _pytest_stubbed.py [--no-stubs] <pytest args>`: pytest in this (child) process, where a
module that cannot be imported (torch, lmdeploy, ... not installed) is replaced by a stub module
instead of failing the collection (unless `--no-stubs`: plain pytest, as `python -m pytest`).
Started by derivations/_stubrun.py; never imported by the evaluator.

A stub module's attributes are stub classes: they can be subclassed (`class Net(nn.Module)`),
called, used as decorators (`@torch.no_grad()` hands back the function), and tested for truth
(`torch.cuda.is_available()` is false). Standard library and pytest only.
"""
from __future__ import annotations

import abc
import importlib.abc
import importlib.util
import inspect
import sys
import types
from typing import Any


class StubMeta(abc.ABCMeta):  # an ABCMeta: `class M(nn.Module, metaclass=ABCMeta)` has no conflict
    def __getattr__(cls, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return stub_class(f"{cls.__qualname__}.{attr}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if "_stub" not in cls.__dict__:  # the repository's own subclass of a stub: a real class
            return super().__call__(*args, **kwargs)
        if len(args) == 1 and not kwargs and (inspect.isfunction(args[0]) or inspect.isclass(args[0])):
            return args[0]  # used as a decorator
        return super().__call__()

    def __bool__(cls) -> bool:
        return True

    def __iter__(cls) -> Any:
        return iter(())

    def __getitem__(cls, key: Any) -> Any:
        return cls

    def __or__(cls, other: Any) -> Any:
        return cls

    __ror__ = __or__


class StubBase(metaclass=StubMeta):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return stub_class(attr)()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and (inspect.isfunction(args[0]) or inspect.isclass(args[0])):
            return args[0]
        return StubBase()

    def __bool__(self) -> bool:
        return False  # an unknown feature test says no

    def __iter__(self) -> Any:
        return iter(())

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


def stub_class(name: str) -> type:
    return StubMeta(name.rsplit(".", 1)[-1], (StubBase,), {"__qualname__": name, "__module__": "stub", "_stub": True})


class MissingModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Consulted after every real finder: what nothing else can import becomes a stub package."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.util.spec_from_loader(name, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        class StubbedModule(types.ModuleType):
            def __getattr__(self, attr: str) -> Any:
                if attr.startswith("__") and attr.endswith("__"):
                    raise AttributeError(attr)
                return stub_class(f"{self.__name__}.{attr}")
        module = StubbedModule(spec.name)
        module.__path__, module.__all__ = [], []  # a package: submodules import too; `*` binds nothing
        module.__version__ = "2.0.0"  # version checks at import time see a recent release
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


if __name__ == "__main__":
    from _stub_values import limit_memory

    limit_memory()
    sys.path[0] = "."  # the repository root, as for `python -m pytest` there, instead of this folder
    args = sys.argv[1:]
    if args[:1] == ["--no-stubs"]:
        args = args[1:]
    else:
        sys.meta_path.append(MissingModules())
    import pytest

    sys.exit(int(pytest.main(args)))
