"""Fixture-repo tests for oracles.python_code (and the modules it re-exports)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evaluator.scoring.oracle_registry import OracleError, registered
from oracles.python_code import (
    dataclass_defaults,
    docstring_number,
    grep_count,
    grep_files,
    python_all_exports,
    python_argparse_defaults,
    python_decorated_functions,
    python_definitions_count,
    python_function_defaults,
    python_function_params,
    python_import_cycles,
    python_import_users,
    python_module_constant,
    python_registered_classes,
    python_subclasses,
)

FILES = {
    "pkg/__init__.py": """
        from .hooks import CheckpointHook
        from pkg import registry
        __all__ = ['registry', 'CheckpointHook']
        __all__ += ['extra']
    """,
    "pkg/registry.py": """
        HOOKS = Registry('hook')
        MODELS = Registry('model')
    """,
    "pkg/hooks.py": '''
        """Hooks: there are 3 hooks and 20 root registries (v2, 1.5 ratio, 1,000 calls, conv2d, -1 default)."""
        from pkg.registry import HOOKS
        from . import registry


        class Hook:
            priority = 'NORMAL'


        @HOOKS.register_module()
        class CheckpointHook(Hook):
            """Save every 5 epochs."""

            def __init__(self, interval: int = -1, by_epoch=True, save_optimizer=True, out_dir=None, *args,
                         rule=('greater', 'less'), file_client_args=dict(backend='disk'), **kwargs):
                pass

            @master_only
            def save(self):
                pass


        @HOOKS.register_module(name='Logger', force=True)
        class LoggerHook(Hook):
            @staticmethod
            def make(cls_arg, x=1):
                pass


        @HOOKS.register_module(name=['EMA', 'ExpMomentumEMA'])
        class EMAHook(CheckpointHook):
            pass


        class PlainHook(Hook):
            pass
    ''',
    "pkg/models.py": """
        import torch.nn as nn
        from typing import Generic, TypeVar
        from .registry import MODELS, HOOKS

        T = TypeVar('T')


        class Net(nn.Module):
            class Inner:
                @torch.no_grad()
                def method(self, a, b=2.5, *, c='x'):
                    pass


        class Big(Net):
            pass


        class Gen(Generic[T], Big):
            pass


        MODELS.register_module(module=Net)
        MODELS.register_module('Alias', module=nn.Conv2d)
        MODELS.register_module()(Big)


        def later():
            MODELS.register_module(module=Gen)


        def helper(self, y=os.sep):
            pass
    """,
    "pkg/sub/__init__.py": "",
    "pkg/sub/a.py": """
        from .. import models
        from ..registry import HOOKS
    """,
    "pkg/sub/b.py": """
        import pkg.models as m
        from pkg.sub import a


        def g():
            from pkg import hooks
    """,
    "pkg/broken.py": """
        @HOOKS.register_module()
        class Broken(Hook:
            pass
    """,
    "third_party/other.py": """
        @HOOKS.register_module()
        class Vendored:
            pass
    """,
    ".git/hooks.py": """
        @HOOKS.register_module()
        class InGitDir(Hook):
            pass
    """,
}


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("repo"), FILES)


def test_all_oracles_are_registered() -> None:
    names = set(registered())
    assert {"python_registered_classes", "python_import_cycles", "dataclass_defaults", "grep_files"} <= names


def test_registered_classes_decorators_names_and_excludes(repo: Path) -> None:
    # Broken (syntax error) and the .git copy are never seen; third_party is until excluded.
    assert python_registered_classes(repo_root=repo, registry="HOOKS") == [
        "CheckpointHook", "EMAHook", "LoggerHook", "Vendored",
    ]  # fmt: skip
    assert python_registered_classes(repo_root=repo, registry="HOOKS", exclude_dirs=["third_party"]) == [
        "CheckpointHook", "EMAHook", "LoggerHook",
    ]  # fmt: skip
    assert python_registered_classes(repo_root=repo, registry="HOOKS", root="pkg", names="registered") == [
        "CheckpointHook", "EMA", "ExpMomentumEMA", "Logger",
    ]  # fmt: skip


def test_registered_classes_call_forms_at_module_level_only(repo: Path) -> None:
    # Gen is registered inside a function, so it does not count.
    assert python_registered_classes(repo_root=repo, registry="MODELS") == ["Big", "Conv2d", "Net"]
    assert python_registered_classes(repo_root=repo, registry="MODELS", names="registered") == ["Alias", "Big", "Net"]
    with pytest.raises(OracleError):
        python_registered_classes(repo_root=repo, registry="MODELS", names="both")
    with pytest.raises(OracleError):
        python_registered_classes(repo_root=repo, registry="MODELS", root="nope")


def test_subclasses_direct_transitive_and_dotted(repo: Path) -> None:
    assert python_subclasses(repo_root=repo, base="Hook", transitive=False) == ["CheckpointHook", "LoggerHook", "PlainHook"]
    assert python_subclasses(repo_root=repo, base="Hook") == ["CheckpointHook", "EMAHook", "LoggerHook", "PlainHook"]
    assert python_subclasses(repo_root=repo, base="Module") == ["Big", "Gen", "Net"]
    assert python_subclasses(repo_root=repo, base="nn.Module", transitive=False) == ["Net"]
    assert python_subclasses(repo_root=repo, base="torch.nn.Module") == []


def test_function_defaults_literals_and_source_text(repo: Path) -> None:
    assert python_function_defaults(repo_root=repo, path="pkg/hooks.py", qualname="CheckpointHook") == {
        "interval": -1,
        "by_epoch": True,
        "save_optimizer": True,
        "out_dir": None,
        "rule": ["greater", "less"],
        "file_client_args": "dict(backend='disk')",
    }
    assert python_function_defaults(repo_root=repo, path="pkg/models.py", qualname="Net.Inner.method") == {
        "b": 2.5,
        "c": "x",
    }
    assert python_function_defaults(repo_root=repo, path="pkg/models.py", qualname="helper") == {"y": "os.sep"}


def test_function_params_order_and_self(repo: Path) -> None:
    assert python_function_params(repo_root=repo, path="pkg/hooks.py", qualname="CheckpointHook.__init__") == [
        "interval", "by_epoch", "save_optimizer", "out_dir", "*args", "rule", "file_client_args", "**kwargs",
    ]  # fmt: skip
    assert python_function_params(repo_root=repo, path="pkg/models.py", qualname="Net.Inner.method") == ["a", "b", "c"]
    assert python_function_params(repo_root=repo, path="pkg/hooks.py", qualname="LoggerHook.make") == ["cls_arg", "x"]
    # `self` is only dropped for methods.
    assert python_function_params(repo_root=repo, path="pkg/models.py", qualname="helper") == ["self", "y"]


@pytest.mark.parametrize(
    ("path", "qualname"),
    [("pkg/hooks.py", "CheckpointHook.nope"), ("pkg/hooks.py", "PlainHook"), ("pkg/broken.py", "Broken"), ("x.py", "f")],
)
def test_function_oracles_missing_target(repo: Path, path: str, qualname: str) -> None:
    with pytest.raises(OracleError):
        python_function_defaults(repo_root=repo, path=path, qualname=qualname)


def test_decorated_functions(repo: Path) -> None:
    assert python_decorated_functions(repo_root=repo, decorator="master_only") == ["pkg/hooks.py:CheckpointHook.save"]
    assert python_decorated_functions(repo_root=repo, decorator="torch.no_grad") == ["pkg/models.py:Net.Inner.method"]
    assert python_decorated_functions(repo_root=repo, decorator="no_grad") == []
    assert python_decorated_functions(repo_root=repo, decorator="staticmethod", root="pkg") == [
        "pkg/hooks.py:LoggerHook.make"
    ]


def test_import_users_absolute_relative_and_from_pkg(repo: Path) -> None:
    assert python_import_users(repo_root=repo, module="pkg.models") == ["pkg/sub/a.py", "pkg/sub/b.py"]
    assert python_import_users(repo_root=repo, module="pkg.registry") == [
        "pkg/__init__.py", "pkg/hooks.py", "pkg/models.py", "pkg/sub/a.py",
    ]  # fmt: skip
    # Imports inside functions count for users.
    assert python_import_users(repo_root=repo, module="pkg.hooks") == ["pkg/__init__.py", "pkg/sub/b.py"]
    assert python_import_users(repo_root=repo, module="pkg") == [
        "pkg/__init__.py", "pkg/hooks.py", "pkg/sub/a.py", "pkg/sub/b.py",
    ]  # fmt: skip
    assert python_import_users(repo_root=repo, module="pkg", include_submodules=True) == [
        "pkg/__init__.py", "pkg/hooks.py", "pkg/models.py", "pkg/sub/a.py", "pkg/sub/b.py",
    ]  # fmt: skip
    assert python_import_users(repo_root=repo, module="torch.nn") == ["pkg/models.py"]
    assert python_import_users(repo_root=repo, module="torch") == []
    assert python_import_users(repo_root=repo, module="torch", include_submodules=True) == ["pkg/models.py"]


CYCLE_FILES = {
    "src/cyc/__init__.py": "",
    "src/cyc/a.py": "from cyc import b\n",
    "src/cyc/b.py": "from . import c\n",
    "src/cyc/c.py": "import cyc.a\n",
    "src/cyc/d.py": "from cyc.e import X\n",
    "src/cyc/e.py": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from cyc.d import Y
        else:
            import os


        def f():
            from cyc import d
    """,
    "src/cyc/f.py": """
        try:
            from cyc.g import Z
        except ImportError:
            pass
    """,
    "src/cyc/g.py": """
        class K:
            from cyc import f
    """,
    "src/cyc/bad.py": "from cyc import a\ndef (:\n",
}


def test_import_cycles(tmp_path: Path) -> None:
    write_tree(tmp_path, CYCLE_FILES)
    assert python_import_cycles(repo_root=tmp_path, package="cyc", root="src") == [
        ["cyc.a", "cyc.b", "cyc.c"],
        ["cyc.f", "cyc.g"],
    ]
    assert python_import_cycles(repo_root=tmp_path, package="cyc", root="src", exclude_dirs=["src/cyc/g.py", "f.py"]) == [
        ["cyc.a", "cyc.b", "cyc.c"],
        ["cyc.f", "cyc.g"],
    ]  # exclude_dirs names directories, never files
    with pytest.raises(OracleError):
        python_import_cycles(repo_root=tmp_path, package="cyc")  # not under the repo root itself


def test_exclude_dirs_by_name_or_path_and_symlink_escape(repo: Path, tmp_path: Path) -> None:
    assert python_import_users(repo_root=repo, module="pkg.models", exclude_dirs=["pkg/sub"]) == []
    assert python_import_users(repo_root=repo, module="pkg.models", exclude_dirs=["sub/"]) == []
    assert python_import_users(repo_root=repo, module="pkg.models", exclude_dirs=["other/sub"]) == [
        "pkg/sub/a.py", "pkg/sub/b.py",
    ]  # fmt: skip
    write_tree(tmp_path, {"outside.py": "X = 1\n"})
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "link.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(OracleError):
        python_module_constant(repo_root=inner, path="link.py", name="X")
    with pytest.raises(OracleError):
        python_module_constant(repo_root=inner, path="../outside.py", name="X")


TRAIN = """
    import argparse
    import os


    def parse_args():
        parser = argparse.ArgumentParser()
        parser.add_argument('config')
        parser.add_argument('--work-dir', help='x')
        parser.add_argument('--resume', action='store_true')
        parser.add_argument('--no-validate', action='store_false', dest='validate')
        parser.add_argument('-v', '--verbose', action='count')
        parser.add_argument('--lr', type=float, default=0.01)
        parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
        parser.add_argument('--sep', default=os.sep)
        group = parser.add_mutually_exclusive_group()
        group.add_argument('-q', action='store_true')
        parser.add_argument('--lr', default=0.5)
        parser.add_argument('--cfg-options', nargs='+', default=[1, (2, 3)])
        return parser.parse_args()


    def other():
        p = argparse.ArgumentParser()
        p.add_argument('--port', type=int, default=29500)
"""


def test_argparse_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"tools/train.py": TRAIN})
    everything = python_argparse_defaults(repo_root=tmp_path, path="tools/train.py")
    assert everything == {
        "config": None,
        "work_dir": None,
        "resume": False,
        "validate": True,
        "verbose": None,
        "lr": 0.01,  # the first --lr wins, as in argparse
        "launcher": "none",
        "sep": "os.sep",
        "q": False,
        "cfg_options": [1, [2, 3]],
        "port": 29500,
    }
    assert python_argparse_defaults(repo_root=tmp_path, path="tools/train.py", function="other") == {"port": 29500}
    assert "port" not in python_argparse_defaults(repo_root=tmp_path, path="tools/train.py", function="parse_args")
    with pytest.raises(OracleError):
        python_argparse_defaults(repo_root=tmp_path, path="tools/train.py", function="main")


CFG = """
    import dataclasses
    import os
    from dataclasses import dataclass, field
    from typing import ClassVar


    @dataclass
    class Opts:
        name: str
        lr: float = 1e-3
        tags: list = field(default_factory=list)
        mode: str = field(default='train', repr=False)
        shape: tuple = (1, 2)
        kind: ClassVar[str] = 'x'
        path: str = os.path.join('a', 'b')
        nofield: int = field(init=False)


    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: int = 2


    class NotDC:
        y: int = 1


    MAX_LEN = 512
    NAMES = ('a', 'b')
    NAMES = ['c']
    COMPUTED = MAX_LEN * 2
    COUNT = 1
    COUNT += 1
    A, B = 1, 'two'
    if os.name == 'nt':
        MAX_LEN = 1
"""


def test_dataclass_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"cfg.py": CFG})
    assert dataclass_defaults(repo_root=tmp_path, path="cfg.py", class_name="Opts") == {
        "lr": 0.001,
        "tags": "list",
        "mode": "train",
        "shape": [1, 2],
        "path": "os.path.join('a', 'b')",
    }
    assert dataclass_defaults(repo_root=tmp_path, path="cfg.py", class_name="Frozen") == {"x": 2}
    for missing in ("NotDC", "Nope"):
        with pytest.raises(OracleError):
            dataclass_defaults(repo_root=tmp_path, path="cfg.py", class_name=missing)


def test_module_constant(tmp_path: Path) -> None:
    write_tree(tmp_path, {"cfg.py": CFG})
    get = lambda name: python_module_constant(repo_root=tmp_path, path="cfg.py", name=name)  # noqa: E731
    assert get("MAX_LEN") == 512  # the assignment under `if` is ignored
    assert get("NAMES") == ["c"]
    assert get("B") == "two"
    for bad in ("COMPUTED", "COUNT", "MISSING"):
        with pytest.raises(OracleError):
            get(bad)


def test_module_constant_refuses_a_value_modified_after_its_assignment(tmp_path: Path) -> None:
    # opencompass summarizer groups: `groups = []` then `groups.append({...})` at top level; the
    # module's value is not the `[]` written in the assignment, as with `groups += [...]`.
    write_tree(tmp_path, {"groups.py": "groups = []\ngroups.append({'name': 'x'})\n"
                                       "table = {}\nfor k in 'ab':\n    table[k] = 1\n"
                                       "kept = [1]\nkept.copy()\ncopied = list(kept)\n"
                                       "named = [{'name': 'a'}]\nfor g in named:\n    g['name'] = 'x-' + g['name']\n"})
    for name in ("groups", "table", "named"):
        with pytest.raises(OracleError, match="modified after"):
            python_module_constant(repo_root=tmp_path, path="groups.py", name=name)
    assert python_module_constant(repo_root=tmp_path, path="groups.py", name="kept") == [1]


def test_all_exports(repo: Path) -> None:
    assert python_all_exports(repo_root=repo, path="pkg/__init__.py") == ["CheckpointHook", "extra", "registry"]
    with pytest.raises(OracleError):
        python_all_exports(repo_root=repo, path="pkg/hooks.py")


def test_definitions_count(repo: Path) -> None:
    # hooks.py 5 + models.py 4 (Inner is nested) + other.py 1; broken.py and .git are skipped.
    assert python_definitions_count(repo_root=repo) == 10
    assert python_definitions_count(repo_root=repo, name_regex=".*Hook") == 5
    assert python_definitions_count(repo_root=repo, exclude_dirs=["third_party"], name_regex="Vendored") == 0
    # hooks.py: __init__, save, make; models.py: method, later, helper; b.py: g.
    assert python_definitions_count(repo_root=repo, kind="function") == 7
    with pytest.raises(OracleError):
        python_definitions_count(repo_root=repo, kind="module")


def test_grep_counts_lines_like_grep(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.py": "foo\nfoo bar foo\nbaz\n",
            "sub/b.py": "xfoo",
            "sub/c.txt": "foo\n",
            "bin.py": b"foo\x00foo\n",
            ".git/x.py": "foo\n",
            "excluded/d.py": "foo\n",
        },
    )
    assert grep_count(repo_root=tmp_path, pattern="foo") == 4
    assert grep_count(repo_root=tmp_path, pattern="foo", exclude_dirs=["excluded"]) == 3
    assert grep_count(repo_root=tmp_path, pattern="foo", glob="**/*.{py,txt}") == 5
    assert grep_count(repo_root=tmp_path, pattern="^foo", regex=True) == 3
    assert grep_count(repo_root=tmp_path, pattern="^foo") == 0
    assert grep_files(repo_root=tmp_path, pattern="foo", glob="*.py") == ["a.py"]
    assert grep_files(repo_root=tmp_path, pattern="foo") == ["a.py", "excluded/d.py", "sub/b.py"]
    with pytest.raises(OracleError):
        grep_count(repo_root=tmp_path, pattern="(", regex=True)


def test_grep_sees_what_the_ast_skips(repo: Path) -> None:
    # hooks.py 3 + other.py 1 + the unparseable broken.py 1: the naive distractor differs.
    assert grep_count(repo_root=repo, pattern="@HOOKS.register_module") == 5


def test_docstring_number(repo: Path) -> None:
    num = lambda **kw: docstring_number(repo_root=repo, path="pkg/hooks.py", **kw)  # noqa: E731
    assert [num(index=i) for i in range(5)] == [3, 20, 1000, -1, None]
    assert num(index=-1) == -1
    assert num(qualname="CheckpointHook") == 5
    assert num(qualname="CheckpointHook.save") is None
    with pytest.raises(OracleError):
        num(qualname="Nope")
