"""Set-up for AgentGym's hidden tests of InternLM's scripts (AgentGym's code, not InternLM's).

Why placeholder modules: InternLM's Python files are stand-alone scripts whose top-level imports
pull in torch, transformers, datasets, lagent, lmdeploy, streamlit and magic_doc: GPU stacks of
several gigabytes that cannot be installed within the two-minute environment budget, and that the
functions under test (MATH answer normalisation and comparison, the PAL runtime, chat prompt
building, config conversion) never use. They are only imported at the top of the file, used as
decorators (`@torch.inference_mode()`, `@st.cache_resource`), as type annotations, or called once at
import (`st.set_page_config(...)`). So before any test module is collected, this conftest puts an
import finder first on `sys.meta_path` that answers exactly those top-level names (and their
submodules) with inert placeholder modules. While test modules are being imported, a placeholder
survives what a module does at import time: attribute access, `from x import A, B`, calls (a call
with a single function or class returns it unchanged, so decorators keep the real function), use
as a base class or in `typing` annotations. Once collection has finished, any real use (a call,
iteration, arithmetic, truth value, ...) raises `PlaceholderUsed` naming the object, so no test can
pass by silently running on a fake, and a bug that reaches one of these libraries fails loudly.

Everything else is real: the module under test is never replaced, and sympy, numpy, jsonlines,
pebble, tqdm, einops and openai come from the repository environment. Tests that exercise code
reading streamlit's session state or a model config replace that one attribute of the module under
test with a small fake through `monkeypatch`, as a unit test would.

The repository root (two folders up from this file) is put on `sys.path`, so InternLM's
folders import as namespace packages (`import agent.streaming_inference`). String parameters get
test ids without whitespace, because AgentGym's task files list node ids, which may not contain any.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import re
import sys
import types
from pathlib import Path

HEAVY = frozenset({"torch", "transformers", "datasets", "lagent", "lmdeploy", "streamlit", "magic_doc"})
_state = {"strict": False}  # False while test modules import; True once collection is done


class PlaceholderUsed(RuntimeError):
    """A placeholder for a library that is not installed was really used by the code under test."""


def _refuse(name: str, what: str):
    raise PlaceholderUsed(f"{name} is a placeholder ({name.split('.')[0]} is not installed for these "
                          f"tests) and cannot be {what}")


class Placeholder:
    """An attribute of a placeholder module: inert at import time, an error when really used."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # keeps copy, pickle, inspect and typing from guessing
        return Placeholder(f"{self._name}.{attr}")

    def __setattr__(self, attr, value):
        _refuse(self._name, "modified")

    def __call__(self, *args, **kwargs):
        if _state["strict"]:
            _refuse(self._name, "called")
        if len(args) == 1 and not kwargs and (inspect.isfunction(args[0]) or inspect.isclass(args[0])):
            return args[0]  # a decorator: the real function stays
        return Placeholder(f"{self._name}()")

    def __mro_entries__(self, bases):
        name = self._name

        def __init__(self, *args, **kwargs):
            _refuse(name, "instantiated")

        return (type(name.rsplit(".", 1)[-1], (), {"__init__": __init__}),)

    def __repr__(self) -> str:
        return f"<placeholder {self._name}>"

    def _used(self, *args, **kwargs):
        _refuse(self._name, "used as a value")

    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = __setitem__ = _used
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _used
    __lt__ = __le__ = __gt__ = __ge__ = __enter__ = __exit__ = __int__ = __float__ = __index__ = _used


class PlaceholderModule(types.ModuleType):
    """A module for one of HEAVY (or a submodule): every public attribute is a Placeholder."""

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return Placeholder(f"{self.__name__}.{attr}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] not in HEAVY:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = PlaceholderModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module) -> None:
        return None


def _install() -> None:
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


_install()


def pytest_collection_finish(session) -> None:
    _state["strict"] = True


def pytest_make_parametrize_id(config, val, argname):
    if isinstance(val, str) and val.strip():
        return re.sub(r"\s", "_", val)
    return None
