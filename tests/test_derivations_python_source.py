"""The second derivations of the Python-source oracles (derivations/python_source.py and
derivations/import_graph.py): on a small package with answers worked out by hand, each derivation
gives the hand answer, and so does its oracle."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from evaluator.scoring import oracle_registry as oracles

FILES = {
    "pkg/__init__.py": """
        '''The package.'''
        from .reg import HOOKS, FUNCS
        from .hooks import Hook, LoggerHook as Logger
        from . import util
        from typing import Any
        import os
        try:
            from .extra import Extra
        except ImportError:
            Extra = None

        def lazy():
            from .late import Late  # inside a function: binds nothing at module level
            return Late

        __all__ = ['Hook', 'Logger']
        __all__ += ('Extra',)
        __all__.extend(['lazy'])
        __all__.append('util')
        if False:
            __all__ = ['nested, so not the module-level list']
    """,
    "pkg/reg.py": """
        from mm import Registry
        HOOKS = Registry('hook')
        FUNCS = Registry('func')
    """,
    "pkg/hooks.py": """
        import torch
        import torch.nn as nn
        from typing import Generic, TypeVar
        from pkg.reg import HOOKS, FUNCS

        T = TypeVar('T')
        key = lambda x: x
        squares = [i * i for i in range(3)]


        class Hook:
            priority = 'NORMAL'

            def before_run(self, runner): pass

            async def after_run(self, runner): pass

            if True:
                def before_epoch(self): pass

            def helper(self):
                def inner(): pass

                class Local: pass

            @property
            def name(self): return 'hook'

            def before_run(self, runner): pass  # defined again: listed once, at its first place


        @HOOKS.register_module()
        class LoggerHook(Hook):
            priority: str = 'LOW'
            priority = 'VERY_LOW'


        @HOOKS.register_module(name=['ckpt', 'Checkpoint'], force=True)
        class CheckpointHook(LoggerHook):
            pass


        @HOOKS.register_module
        class TimerHook(nn.Module, Hook):
            @torch.no_grad()
            def stats(self): ...

            @no_grad
            def other(self): ...

            class Inner(Generic[T]):
                priority = 42


        class Unregistered(TimerHook):
            '''@HOOKS.register_module() in a docstring decorates nothing.'''
            priority = {'a': (1, 2)}


        # @HOOKS.register_module()
        class Commented(Hook):
            priority = Priority.HIGH


        class Other:
            priority = None


        HOOKS.register_module(module=nn.Identity)
        HOOKS.register_module('sum', module=torch.sum)
        if True:
            HOOKS.register_module(name='ext')(Extra)


        def setup():
            HOOKS.register_module(module=NotCounted)  # in a function: not a module-level registration


        @FUNCS.register_module('first-capital')
        def first_capital(text): ...


        @FUNCS.register_module()
        async def plain(): ...


        def outer():
            @FUNCS.register_module(name=['a', 'b'])
            def nested(): ...
    """,
    "pkg/zz.py": """
        class Hook:
            priority = 'LATER_FILE'
    """,
    "pkg/broken.py": """
        @HOOKS.register_module()
        class Broken(:
            priority = 'never read'
    """,
    "pkg/a.py": "from . import b\n",
    "pkg/b.py": "import pkg.c\n",
    "pkg/c.py": "from .a import thing\n",
    "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import e\n",
    "pkg/e.py": "import pkg.d\n",
    "pkg/f.py": "def g():\n    from pkg import a\n",
    "pkg/util.py": "from pkg import Hook\n",
}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


def both(name: str, repo: Path, **args: Any) -> tuple[Any, Any]:
    """(oracle's answer, second derivation's answer)."""
    oracle = oracles.resolve(name)
    derivation = oracles.derivation_for(oracle)
    assert derivation is not None, f"{name} has no second derivation"
    return oracle.fn(repo_root=repo, **args), derivation.fn(repo_root=repo, **args)


def agree(name: str, repo: Path, want: Any, **args: Any) -> None:
    oracle, second = both(name, repo, **args)
    assert second == want, f"second derivation of {name}({args})"
    assert oracle == want, f"oracle {name}({args})"


def test_registered_classes(repo: Path) -> None:
    agree("python_registered_classes", repo, ["CheckpointHook", "Extra", "Identity", "LoggerHook", "TimerHook", "sum"],
          registry="HOOKS", root="pkg")
    agree("python_registered_classes", repo, ["Checkpoint", "Identity", "LoggerHook", "TimerHook", "ckpt", "ext", "sum"],
          registry="HOOKS", root="pkg", names="registered")


def test_registered_functions(repo: Path) -> None:
    agree("python_registered_functions", repo, ["first_capital", "nested", "plain"], registry="FUNCS")
    agree("python_registered_functions", repo, ["a", "b", "first-capital", "plain"], registry="FUNCS", names="registered")


def test_decorated_functions(repo: Path) -> None:
    agree("python_decorated_functions", repo, ["pkg/hooks.py:TimerHook.stats"], decorator="torch.no_grad")
    agree("python_decorated_functions", repo, ["pkg/hooks.py:first_capital", "pkg/hooks.py:outer.nested",
                                               "pkg/hooks.py:plain"], decorator="FUNCS.register_module", root="pkg")
    agree("python_decorated_functions", repo, ["pkg/hooks.py:Hook.name"], decorator="property")


def test_class_attribute_map(repo: Path) -> None:
    want = {"Commented": "Priority.HIGH", "Hook": "NORMAL", "Inner": 42, "LoggerHook": "VERY_LOW", "Other": None,
            "Unregistered": {"a": [1, 2]}}
    agree("python_class_attribute_map", repo, want, attr="priority", root="pkg")


def test_class_methods(repo: Path) -> None:
    agree("python_class_methods", repo, ["before_run", "after_run", "before_epoch", "helper", "name"],
          path="pkg/hooks.py", class_name="Hook")
    agree("python_class_methods", repo, ["before_run", "before_epoch"], path="pkg/hooks.py", class_name="Hook",
          prefix="before_")
    agree("python_class_methods", repo, ["stats", "other"], path="pkg/hooks.py", class_name="TimerHook")


def test_subclasses(repo: Path) -> None:
    agree("python_subclasses", repo, ["CheckpointHook", "Commented", "LoggerHook", "TimerHook", "Unregistered"], base="Hook")
    agree("python_subclasses", repo, ["Commented", "LoggerHook", "TimerHook"], base="Hook", transitive=False)
    agree("python_subclasses", repo, ["TimerHook", "Unregistered"], base="nn.Module")
    agree("python_subclasses", repo, ["Inner"], base="Generic")
    agree("python_subclasses", repo, [], base="Missing")


def test_definitions_count(repo: Path) -> None:
    # classes: Hook, Local, LoggerHook, CheckpointHook, TimerHook, Inner, Unregistered, Commented, Other, zz's Hook
    agree("python_definitions_count", repo, 10, root="pkg")
    # functions (the lambda and the comprehension are not): Hook's before_run twice, after_run, before_epoch,
    # helper, inner, name; stats, other, setup, first_capital, plain, outer, nested, __init__'s lazy, f's g
    agree("python_definitions_count", repo, 16, kind="function")
    agree("python_definitions_count", repo, 3, kind="function", name_regex="before_.*")


def test_all_exports(repo: Path) -> None:
    agree("python_all_exports", repo, ["Extra", "Hook", "Logger", "lazy", "util"], path="pkg/__init__.py")
    (repo / "pkg" / "computed.py").write_text("from .a import names\n__all__ = names + ['x']\n")
    for path in ("pkg/reg.py", "pkg/computed.py"):  # no __all__; one that is not a literal
        oracle = oracles.resolve("python_all_exports")
        for fn in (oracle.fn, oracles.derivation_for(oracle).fn):  # type: ignore[union-attr]
            with pytest.raises(oracles.OracleError):
                fn(repo_root=repo, path=path)


def test_imported_names(repo: Path) -> None:
    agree("python_imported_names", repo, ["Any", "Extra", "FUNCS", "HOOKS", "Hook", "Logger", "util"],
          path="pkg/__init__.py")
    agree("python_imported_names", repo, ["Extra", "FUNCS", "HOOKS", "Hook", "Logger", "util"],
          path="pkg/__init__.py", relative_only=True)


def test_import_users(repo: Path) -> None:
    agree("python_import_users", repo, ["pkg/c.py", "pkg/f.py"], module="pkg.a")
    agree("python_import_users", repo, ["pkg/__init__.py", "pkg/a.py", "pkg/d.py", "pkg/f.py", "pkg/util.py"], module="pkg")
    agree("python_import_users", repo, ["pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/d.py", "pkg/e.py",
                                        "pkg/f.py", "pkg/hooks.py", "pkg/util.py"], module="pkg", include_submodules=True)


def test_import_cycles(repo: Path) -> None:
    # a -> b -> c -> a; the package and util import each other; d imports e only for type checkers
    agree("python_import_cycles", repo, [["pkg", "pkg.util"], ["pkg.a", "pkg.b", "pkg.c"]], package="pkg")
    (repo / "pkg" / "util.py").write_text("def late():\n    from pkg import Hook\n")  # no longer at import time
    agree("python_import_cycles", repo, [["pkg.a", "pkg.b", "pkg.c"]], package="pkg")
