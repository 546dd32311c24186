"""The cross-file oracles (oracles/cross_file.py) and their second derivations (derivations/cross_file.py),
on fixture repositories whose answers were worked out by hand (issue 16 items 3 and 6)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

import derivations.cross_file as second
import derivations.cross_file_configs as second_configs
from evaluator.scoring.oracle_api import OracleError
from oracles import cross_file as first
from oracles import cross_file_configs as first_configs

BOTH = pytest.mark.parametrize("side", ["oracle", "derivation"])
FNS: dict[str, dict[str, Callable[..., Any]]] = {
    "oracle": {"calls": first.python_call_sites, "origin": first.python_name_origin,
               "config": first_configs.python_config_inherited_value},
    "derivation": {"calls": second.call_sites, "origin": second.name_origin, "config": second_configs.config_inherited_value},
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


CALLS = {
    "pkg/__init__.py": "from .core import build\n",
    "pkg/core.py": (
        "def build(cfg):\n"                       # 1 definition: not a call
        "    return cfg\n"
        "x = build(1)  # build( in a comment\n"   # 3 call
        "s = 'build(2)'\n"                        # 4 string: not a call
        "f = f'{{build(0)}} {build(3)!r:>{w}}'\n"  # 5 inside an f-string field: a call ({{ is a brace)
        "y = [build\n"                            # 6 call written over two lines: line of the name
        "     (4), build(build(5))]\n"            # 7 two calls on one line: one entry
        "fns = map(build, [1])\n"                 # 8 passed as a value: not a call
        "g = f\"\"\"\n{'x'}\n{ build(6) }\"\"\"\n"        # 11 a field on the third line of an f-string
    ),
    "pkg/sub/use.py": (
        "import pkg.core as core\n"
        "class build:\n"                          # 2 a class named build: not a call
        "    pass\n"
        "@core.build(1)\n"                        # 4 decorator with parentheses: a call
        "def g(): return core.\\\n"               # 5
        "    build(2)\n"                          # 6 attribute name on the continuation line
        "@build\n"                                # 7 bare decorator: not a call
        "def h(): return self.rebuild(1)\n"       # 8 another name ending in build: not a call
    ),
    "pkg/configs/c.py": "build(9)\n",
    "pkg/broken.py": "build(1\n",                 # does not parse: skipped
    "tests/test_core.py": "from pkg.core import build\n\ndef test_build():\n    assert build(1) == 1\n",
}


@BOTH
def test_call_sites_by_line_follow_the_definition(tmp_path: Path, side: str) -> None:
    root = write(tmp_path, CALLS)
    got = FNS[side]["calls"](repo_root=root, function="build", root="pkg", exclude_dirs=["configs"])
    assert got == ["pkg/core.py:3", "pkg/core.py:5", "pkg/core.py:6", "pkg/core.py:7", "pkg/core.py:11",
                   "pkg/sub/use.py:4", "pkg/sub/use.py:6"]


@BOTH
def test_call_sites_by_file_and_exclusions(tmp_path: Path, side: str) -> None:
    root = write(tmp_path, CALLS)
    calls = FNS[side]["calls"]
    assert calls(repo_root=root, function="build", by="file") == [
        "pkg/configs/c.py", "pkg/core.py", "pkg/sub/use.py", "tests/test_core.py"]
    assert calls(repo_root=root, function="build", by="file", exclude_dirs=["pkg/configs", "tests"]) == [
        "pkg/core.py", "pkg/sub/use.py"]
    assert calls(repo_root=root, function="build", root="tests", by="file") == ["tests/test_core.py"]
    assert calls(repo_root=root, function="nothing_calls_this") == []


def test_call_sites_refuse_bad_arguments(tmp_path: Path) -> None:
    root = write(tmp_path, CALLS)
    with pytest.raises(OracleError, match="plain Python name"):
        first.python_call_sites(repo_root=root, function="core.build")
    with pytest.raises(OracleError, match="by must be"):
        first.python_call_sites(repo_root=root, function="build", by="count")


ORIGIN = {
    "lib/__init__.py": (
        "from .models import *\n"
        "from .registry import MODELS as REGISTRY\n"
        "from . import utils\n"
        "'''\nclass Net: a docstring line at column 0 is not a definition\n'''\n"
        "import lib.helpers.io as io_mod\n"
        "from .late import Net\n"         # the last binding of Net wins over the star import
    ),
    "lib/models/__init__.py": "from .nets import *\nfrom .heads import (\n    Head,  # the head\n    Tail as Tail2,\n)\n",
    "lib/models/nets.py": "class Net:\n    pass\nclass Backbone:\n    def Head(self): pass\n",
    "lib/models/heads.py": "if True:\n    class Head: pass\nclass Tail: pass\nHead = Tail\n",
    "lib/late.py": "from lib.models.nets import Net\n",
    "lib/registry.py": "MODELS = dict()\n",
    "lib/utils.py": "X = 1\n",
    "lib/helpers/__init__.py": "",
    "lib/helpers/io.py": "",
    "lib/ext.py": "from numpy import array\n",
}


@BOTH
@pytest.mark.parametrize(("module", "name", "expected"), [
    ("lib", "Net", "lib/models/nets.py"),            # through lib/late.py, not the star import
    ("lib", "Backbone", "lib/models/nets.py"),       # star import, then star import again
    ("lib", "Head", "lib/models/heads.py"),          # the column-0 `Head = Tail` binds it there
    ("lib.models", "Tail2", "lib/models/heads.py"),  # `Tail as Tail2` inside a parenthesised list
    ("lib", "REGISTRY", "lib/registry.py"),
    ("lib", "utils", "lib/utils.py"),                # `from . import utils`: a submodule
    ("lib", "io_mod", "lib/helpers/io.py"),          # `import x.y as name`
    ("lib", "helpers", "lib/helpers/__init__.py"),   # not bound in lib/__init__.py: the subpackage
])
def test_name_origin(tmp_path: Path, side: str, module: str, name: str, expected: str) -> None:
    assert FNS[side]["origin"](repo_root=write(tmp_path, ORIGIN), module=module, name=name) == expected


@BOTH
@pytest.mark.parametrize(("module", "name"), [("lib.ext", "array"), ("lib", "Missing"), ("nope", "X")])
def test_name_origin_errors(tmp_path: Path, side: str, module: str, name: str) -> None:
    with pytest.raises(OracleError):
        FNS[side]["origin"](repo_root=write(tmp_path, ORIGIN), module=module, name=name)


CONFIGS = {
    "cfg/base/model.py": "model = dict(type='ResNet', depth=50, head=dict(num_classes=1000, loss='CE'))\nlr = 0.1\n",
    "cfg/base/sched.yaml": "optimizer:\n  type: SGD\n  lr: 0.1\n  momentum: 0.9\nepochs: [10, 20]\n",
    "cfg/mid.py": "_base_ = ['base/model.py', './base/sched.yaml']\nmodel = dict(head=dict(num_classes=10))\nepochs = [5]\n",
    "cfg/final.py": (
        "_base_ = './mid.py'\n"
        "depth = 101\n"
        "model = dict(depth=depth, backbone=dict(frozen=-1))\n"
        "optimizer = dict(_delete_=True, type='AdamW', lr=1e-3)\n"
    ),
    "cfg/clash.py": "_base_ = ['base/model.py', 'mid.py']\n",
    "cfg/bad_type.py": "_base_ = 'base/model.py'\nlr = dict(value=1)\n",
    "cfg/cycle_a.py": "_base_ = 'cycle_b.py'\n",
    "cfg/cycle_b.py": "_base_ = 'cycle_a.py'\n",
    "cfg/refs.py": (
        "_base_ = 'base/model.py'\n"
        "model = dict(depth=_base_.model['depth'] + 1)\n"        # arithmetic: kept as source text
        "head = {{_base_.model.head}}\n"                         # mmengine substitutes before parsing
        "classes = [_base_.model.head.num_classes, _base_.lr]\n"
        "name = 'run_{{ fileBasenameNoExtension }}{{fileExtname}}'\n"
    ),
    "cfg/mutates.py": "_base_ = 'base/model.py'\n_base_.model['depth'] = 18\n",
    "cfg/env.py": "_base_ = 'base/model.py'\nroot = '{{$HOME}}/data'\n",
    "cfg/dirname.py": "_base_ = 'base/model.py'\nroot = '{{ fileDirname }}/data'\n",
    "cfg/outside.py": "_base_ = '../../x.py'\n",
}


@BOTH
@pytest.mark.parametrize(("path", "query", "expected"), [
    ("cfg/final.py", "model", {"type": "ResNet", "depth": 101, "head": {"num_classes": 10, "loss": "CE"},
                               "backbone": {"frozen": -1}}),
    ("cfg/final.py", "model.head.loss", "CE"),           # kept from two levels up
    ("cfg/final.py", "optimizer", {"type": "AdamW", "lr": 0.001}),  # _delete_ replaced the YAML dict
    ("cfg/final.py", "epochs", [5]),                      # lists replace, never merge
    ("cfg/final.py", "lr", 0.1),
    ("cfg/mid.py", "optimizer.momentum", 0.9),
    ("cfg/refs.py", "model.depth", "_base_.model['depth'] + 1"),
    ("cfg/refs.py", "head", {"num_classes": 1000, "loss": "CE"}),
    ("cfg/refs.py", "classes", [1000, 0.1]),
    ("cfg/refs.py", "name", "run_refs.py"),
])
def test_config_inherited_value(tmp_path: Path, side: str, path: str, query: str, expected: Any) -> None:
    assert FNS[side]["config"](repo_root=write(tmp_path, CONFIGS), path=path, query=query) == expected


@BOTH
@pytest.mark.parametrize(("path", "query"), [
    ("cfg/clash.py", "model"), ("cfg/bad_type.py", "lr"), ("cfg/cycle_a.py", "x"), ("cfg/mutates.py", "model"),
    ("cfg/env.py", "root"), ("cfg/dirname.py", "root"), ("cfg/outside.py", "x"), ("cfg/final.py", "model.neck"),
])
def test_config_inherited_value_errors(tmp_path: Path, side: str, path: str, query: str) -> None:
    with pytest.raises(OracleError):
        FNS[side]["config"](repo_root=write(tmp_path, CONFIGS), path=path, query=query)


@BOTH
def test_name_origin_diamond_of_star_imports_is_not_a_cycle(tmp_path: Path, side: str) -> None:
    root = write(tmp_path, {"d/__init__.py": "from .a import *\nfrom .b import *\n", "d/a.py": "from .c import *\n",
                            "d/b.py": "from .c import *\nclass B: pass\n", "d/c.py": "class C: pass\n"})
    # last star import first: d/b.py, which binds no C itself, star-imports d/c.py
    assert FNS[side]["origin"](repo_root=root, module="d", name="C") == "d/c.py"
    assert FNS[side]["origin"](repo_root=root, module="d", name="B") == "d/b.py"
    with pytest.raises(OracleError):
        FNS[side]["origin"](repo_root=root, module="d", name="Z")
