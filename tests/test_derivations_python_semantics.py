"""The second derivations of the Python-value oracles (derivations/python_semantics.py): on small
fixture repositories each gives the hand-derived answer, the same as its oracle's, while running
the code (in a child process) where the oracle reads the AST."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from derivations import python_semantics as second
from evaluator.scoring import oracle_registry as registry
from evaluator.scoring.oracle_api import OracleError


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    return tmp_path


def _both(oracle_name: str, at: Path, **args: Any) -> tuple[Any, Any]:
    """(oracle's answer, second derivation's answer) for the oracle `oracle_name`."""
    oracle = registry.resolve(oracle_name)
    derivation = registry.derivation_for(oracle)
    assert derivation is not None and derivation.fn.__module__ == "derivations.python_semantics"
    return oracle.fn(repo_root=at, **args), derivation.fn(repo_root=at, **args)


HOOK = '''
import os
from torch import nn  # not installed: the derivation never imports it

class Hook(nn.Module):
    def __init__(self, interval=1, by_epoch: bool = True, *args, out_dir=os.sep,
                 keys=('loss', -1), cfg=dict(type='SGD', lr=0.1), **kwargs):
        pass

    @staticmethod
    def build(cls, a, /, b=None, *, c=[1, 2]) -> "Hook":
        pass
'''


def test_function_defaults_and_params_come_from_the_compiled_signature(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/hook.py": HOOK})
    want = {"interval": 1, "by_epoch": True, "out_dir": "os.sep", "keys": ["loss", -1], "cfg": "dict(type='SGD', lr=0.1)"}
    assert _both("python_function_defaults", root, path="pkg/hook.py", qualname="Hook") == (want, want)
    params = ["interval", "by_epoch", "*args", "out_dir", "keys", "cfg", "**kwargs"]
    assert _both("python_function_params", root, path="pkg/hook.py", qualname="Hook.__init__") == (params, params)
    # a static method's first parameter named cls is still left out, as the oracle defines
    assert _both("python_function_params", root, path="pkg/hook.py", qualname="Hook.build") == (["a", "b", "c"],) * 2
    assert _both("python_function_defaults", root, path="pkg/hook.py", qualname="Hook.build") == ({"b": None, "c": [1, 2]},) * 2


def test_function_derivation_fails_on_a_missing_definition(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/hook.py": HOOK})
    with pytest.raises(OracleError, match="no definition named 'Hook.missing'"):
        second.function_defaults(repo_root=root, path="pkg/hook.py", qualname="Hook.missing")


def test_module_constant_is_the_value_after_running_the_top_level(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/version.py": '''
        """Version."""
        import sys
        __version__ = '0.1.0'
        if sys.version_info > (3,):
            __version__ = 'ignored: inside if'
        short_version = __version__
        __version__ = '1.2.3'
        MAJOR, MINOR = 1, 2
        COMPUTED = '.'.join(map(str, (MAJOR, MINOR)))
        counter = 1
        counter += 1
        groups = []
        for k in ['a', 'b']:
            groups.append(k)
        kept = [1]
        kept.copy()
        named = [{'name': 'a'}]
        for g in named:
            g['name'] = 'x-' + g['name']
    '''})
    assert _both("python_module_constant", root, path="pkg/version.py", name="__version__") == ("1.2.3", "1.2.3")
    assert _both("python_module_constant", root, path="pkg/version.py", name="MINOR") == (2, 2)
    assert _both("python_module_constant", root, path="pkg/version.py", name="kept") == ([1], [1])
    for name in ("COMPUTED", "counter", "missing", "groups", "named"):
        with pytest.raises(OracleError):
            second.module_constant(repo_root=root, path="pkg/version.py", name=name)


def test_call_assignments_are_names_bound_to_a_fresh_call(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/registry.py": '''
        from mmengine.registry import Registry
        import mmengine
        MODELS = Registry('model')
        HOOKS: Registry = mmengine.Registry('hook', parent=MODELS)
        ALIAS = MODELS
        MAYBE = Registry('x') if MODELS else None
        OTHER = make_registry('other')
        if True:
            NESTED = Registry('nested')
    '''})
    assert _both("python_call_assignments", root, path="pkg/registry.py", callee="Registry") == (["HOOKS", "MODELS"],) * 2


def test_docstring_number_reads_the_compiled_docstring(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/root.py": '''
        """Defines 20 root registries (see conv2d, v3 and 0.5), 1,000 times; offset -3."""

        class Registry:
            """Holds 7 kinds."""

            def get(self):
                """Returns 42."""
                return "99 is not a docstring"
    '''})
    assert _both("docstring_number", root, path="pkg/root.py") == (20, 20)
    assert _both("docstring_number", root, path="pkg/root.py", index=1) == (1000, 1000)
    assert _both("docstring_number", root, path="pkg/root.py", index=-1) == (-3, -3)
    assert _both("docstring_number", root, path="pkg/root.py", qualname="Registry") == (7, 7)
    assert _both("docstring_number", root, path="pkg/root.py", qualname="Registry.get") == (42, 42)
    assert _both("docstring_number", root, path="pkg/root.py", qualname="Registry.get", index=1) == (None, None)


@pytest.mark.parametrize("text, numbers", [
    ("20 registries, conv2d, v3, 0.5 and 1.", [20, 1]),
    ("1,000 and 12,345,678 but 1,0000 and 1,000.5", [1000, 12345678, 1, 0, 1]),
    ("-1 and a-2 and x -3", [-1, 2, -3]),
])
def test_integer_scanner_agrees_with_the_oracles_definition(text: str, numbers: list[int], tmp_path: Path) -> None:
    root = _repo(tmp_path, {"m.py": f'"""{text}"""\n'})
    got = [second.docstring_integer(repo_root=root, path="m.py", index=i) for i in range(len(numbers))]
    assert got == numbers
    assert [registry.resolve("docstring_number").fn(repo_root=root, path="m.py", index=i) for i in range(len(numbers))] == numbers


def test_dataclass_defaults_come_from_dataclasses_fields(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"pkg/config.py": '''
        from dataclasses import dataclass, field
        from typing import ClassVar, Optional
        import torch

        @dataclass(frozen=True)
        class TrainConfig:
            work_dir: str = './work_dirs'
            lr: float = 1e-2
            dtype: object = torch.float16
            seed: Optional[int] = None
            hooks: list = field(default_factory=list)
            steps: tuple = field(default=(8, 11))
            name: str = field()
            kind: ClassVar[str] = 'train'
            depth: int

            def to_dict(self):
                return {}
    '''})
    want = {"work_dir": "./work_dirs", "lr": 0.01, "dtype": "torch.float16", "seed": None, "hooks": "list", "steps": [8, 11]}
    assert _both("dataclass_defaults", root, path="pkg/config.py", class_name="TrainConfig") == (want, want)


def test_argparse_defaults_come_from_a_real_parser(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"tools/train.py": '''
        import argparse

        def parse_args():
            parser = argparse.ArgumentParser()
            parser.add_argument('config')
            parser.add_argument('--work-dir', '-w', default='out')
            parser.add_argument('-n', '--num-gpus', type=int, default=1)
            parser.add_argument('--amp', action='store_true')
            parser.add_argument('--no-val', dest='validate', action='store_false')
            parser.add_argument('--opts', nargs='+', action=DictAction)
            parser.add_argument('--amp', default='second: ignored')
            parser.add_argument('--seed', default=argparse.SUPPRESS)
            return parser.parse_args()

        def other():
            p = argparse.ArgumentParser()
            p.add_argument('--other', default=3)
    '''})
    want = {"config": None, "work_dir": "out", "num_gpus": 1, "amp": False, "validate": True, "opts": None,
            "seed": "argparse.SUPPRESS"}
    assert _both("python_argparse_defaults", root, path="tools/train.py", function="parse_args") == (want, want)
    whole = {**want, "other": 3}
    assert _both("python_argparse_defaults", root, path="tools/train.py") == (whole, whole)


CONFIG = '''
_base_ = ['./base.py']
from mmengine.config import read_base
with read_base():
    from .datasets import gsm8k_datasets
steps = [8, 11]
model = dict(type=ResNet, depth=50, init=dict(type='Pretrained', **dict(prefix='backbone')))
train = dict(lr=0.1, hooks=[dict(type='StepLr', step=steps)], max_epochs=-12)
datasets = [dict(abbr='gsm8k', path=f'data/{model}')]
'''


def test_config_value_is_read_from_the_executed_config(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"configs/a.py": CONFIG})
    cases = {"model.type": "ResNet", "model.init.prefix": "backbone", "train.hooks[0].step": [8, 11],
             "train.max_epochs": -12, "_base_": ["./base.py"], "datasets[0].abbr": "gsm8k"}
    for query, want in cases.items():
        assert _both("python_config_value", root, path="configs/a.py", query=query) == (want, want), query
    with pytest.raises(OracleError):
        second.config_value(repo_root=root, path="configs/a.py", query="gsm8k_datasets")  # imported: unknown


def test_configs_with_value_searches_every_evaluated_dict(tmp_path: Path) -> None:
    root = _repo(tmp_path, {
        "configs/a.py": CONFIG,
        "configs/sub/loop.py": "datasets = []\nfor n in ['x']:\n    datasets.append(dict(abbr='gsm8k', n=n))\n",
        "configs/sub/other.py": "datasets = [dict(abbr='gsm8k_0shot')]  # gsm8k\n",
        "configs/sub/broken.py": "abbr = 'gsm8k'\nthis is not python\n",
        "configs/skip/c.py": "x = dict(abbr='gsm8k')\n",
    })
    want = ["configs/a.py", "configs/sub/loop.py"]
    args = {"root": "configs", "key": "abbr", "value": "gsm8k", "exclude_dirs": ["skip"]}
    assert _both("python_configs_with_value", root, **args) == (want, want)
    assert _both("python_configs_with_value", root, **{**args, "glob": "sub/*.py"}) == (want[1:], want[1:])


TESTS = '''
import pytest
CASES = [(1, 2), (3, 4), (5, 6)]

@pytest.mark.parametrize('a, b', CASES)
@pytest.mark.parametrize('flag', [True, False])
def test_pairs(a, b, flag):
    pass

def test_plain():
    pass

@pytest.mark.parametrize('x', [])
def test_empty(x):
    pass

@pytest.mark.parametrize('device', ['cpu', 'cuda'])
class TestModel:
    @pytest.mark.parametrize('size', [1, 2])
    def test_forward(self, device, size):
        pass

    def helper(self):
        pass
'''


def test_pytest_param_count_is_what_pytest_collects(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"tests/test_things.py": TESTS})
    assert _both("pytest_param_count", root, path="tests/test_things.py") == (12, 12)
    assert _both("pytest_param_count", root, path="tests/test_things.py", function="TestModel.test_forward") == (4, 4)
    assert _both("pytest_param_count", root, path="tests/test_things.py", function="test_empty") == (1, 1)
    assert not list(root.rglob("__pycache__")) and not (root / ".pytest_cache").exists()  # nothing written


def test_pytest_param_count_stubs_modules_that_are_not_installed(tmp_path: Path) -> None:
    text = TESTS + "import torch\nfrom lmdeploy_not_installed import pipeline\nfrom torch import nn\n\n" \
        "class Net(nn.Module):\n    pass\n\n@torch.no_grad()\ndef test_no_grad():\n    pass\n"
    root = _repo(tmp_path, {"tests/test_gpu.py": text})
    assert _both("pytest_param_count", root, path="tests/test_gpu.py") == (13, 13)


def test_repository_code_never_runs_in_the_evaluator(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = _repo(tmp_path, {"cfg.py": f"import os\nopen({str(marker)!r}, 'w').write('x')\nvalue = 1\n",
                            "mod.py": f"open({str(marker)!r}, 'w').write('x')\nVALUE = 2\n"})
    assert second.config_value(repo_root=root, path="cfg.py", query="value") == 1
    assert second.module_constant(repo_root=root, path="mod.py", name="VALUE") == 2
    assert not marker.exists()  # `open` is a stub in the child too: the file was never written


def test_a_path_outside_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("X = 1\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link.py").symlink_to(tmp_path / "outside.py")
    for path in ("../outside.py", "/etc/passwd", "link.py"):
        with pytest.raises(OracleError):
            second.module_constant(repo_root=root, path=path, name="X")


def test_a_config_that_never_finishes_fails_alone(tmp_path: Path) -> None:
    from derivations._stubrun import stub_run

    files = [["x = dict(abbr='a')\n", "while True:\n    pass\n"], ["y = dict(abbr='b')\n"]]
    first, second_file = stub_run({"op": "config", "files": files, "file_seconds": 1})["results"]
    assert any("TimeoutError" in e for e in first["errors"]) and first["values"] == {"x": {"abbr": "a"}}
    assert second_file["values"] == {"y": {"abbr": "b"}} and not second_file["errors"]


def test_a_test_module_that_hangs_fails_the_derivation_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from derivations import _stubrun

    monkeypatch.setattr(_stubrun, "TIMEOUT", 3)
    root = _repo(tmp_path, {"tests/test_slow.py": "import time\ntime.sleep(600)\n\ndef test_x():\n    pass\n"})
    with pytest.raises(OracleError, match="did not finish within 3s"):
        second.pytest_param_count(repo_root=root, path="tests/test_slow.py")
