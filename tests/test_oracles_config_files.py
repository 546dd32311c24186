"""Fixture-repo tests for oracles.config_files (and the modules it re-exports)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from evaluator.scoring.oracle_registry import OracleError
from oracles.config_files import (
    pyproject_dependencies,
    pytest_param_count,
    python_config_value,
    python_configs_with_value,
    requirements_list,
    setup_py_install_requires,
    toml_query,
    workflow_cron_schedules,
    workflows_with_cron,
    yaml_query,
)

CI = """
    name: CI
    on:
      push:
        branches: [main]
      schedule:
        - cron: '0 0 * * 0'
        - cron: "30 5 * * 1-5"
    jobs:
      build:
        runs-on: ubuntu-latest
        strategy:
          matrix:
            python-version: ['3.8', '3.10']
            flag: yes
        steps:
          - uses: actions/checkout@v4
          - name: Install
            run: pip install .
          - name: Test
            env:
              "a.b": 1
              2: two
            run: pytest
        released: 2024-01-02
"""

FILES: dict[str, str] = {
    ".github/workflows/ci.yml": CI,
    ".github/workflows/docs.yaml": "on: [push]\njobs: {}\n",
    ".github/workflows/nightly.yaml": "'on':\n  schedule:\n  - cron: '0 3 * * *'\n  workflow_dispatch:\n",
    ".github/workflows/broken.yml": "on: [\n  schedule\n",
    ".github/workflows/sub/deep.yml": "on:\n  schedule:\n    - cron: '1 1 * * *'\n",
    ".github/workflows/notes.txt": "on:\n  schedule:\n    - cron: '1 1 * * *'\n",
    "pyproject.toml": """
        [project]
        name = "demo"
        dependencies = ["Requests[socks]>=2.0", "typing_extensions; python_version<'3.8'", "Zope.Interface", "pkg @ https://x/pkg.whl"]

        [project.optional-dependencies]
        test = ["pytest>=7", "PyTest_Cov"]

        [tool.black]
        line-length = 100

        [tool."a.b"]
        x = 1979-05-27

        [[tool.items]]
        name = "first"
    """,
    "poetry/pyproject.toml": """
        [tool.poetry.dependencies]
        python = "^3.8"
        Django = "^4"

        [tool.poetry.extras]
        pg = ["psycopg2"]
    """,
    "requirements.txt": """
        # comment
        -r requirements/runtime.txt
        --requirement=requirements/tests.txt
        numpy>=1.20  # inline comment
        Pillow ; sys_platform == 'win32'
        --index-url https://pypi.org/simple

        -e git+https://github.com/a/b.git#egg=My_Pkg
        -e .
        https://example.com/x-1.0.tar.gz
        opencv-python-headless==4.*
        mmcv[full]>=2.0.0rc4,<2.2.0
    """,
    # pip's rules, one per line: an -e VCS URL counts by #egg= (opencompass runtime.txt line 34),
    # -c constrains without installing, a per-line --hash, a marker, name @ url, a wheel URL.
    "pip/requirements.txt": """
        -e git+https://github.com/Isaac-JL-Chen/rouge_chinese.git@master#egg=rouge_chinese
        -c constraints.txt
        six==1.16 --hash=sha256:abc
        faiss_gpu==1.7.2; python_version < "3.10"
        Torch_Vision @ https://x/torch_vision-0.1.tar.gz
        https://x/Flash_Attn-2.0-cp310-cp310-linux_x86_64.whl
        -rinc.txt
    """,
    "pip/constraints.txt": "numpy<2\n",
    "pip/inc.txt": "-r requirements.txt\nrich[jupyter]>=13\n",
    "pip/unnamed.txt": "-e git+https://github.com/a/b.git\n",
    "pip/invalid.txt": "ok\nnot a requirement!\n",
    "requirements/runtime.txt": "addict\nnumpy\n",
    "requirements/tests.txt": "-r tests.txt\npytest \\\n  >=7\ncoverage\n",
    "requirements/lite.txt": "addict\n",
    "bad_requirements.txt": "six\n-r nope.txt\n",
    "setup.py": """
        import os
        from setuptools import setup


        def parse_requirements(fname='requirements/runtime.txt', with_version=True):
            return []


        if int(os.getenv('LITE', '0')) == 1:
            install_requires = parse_requirements('requirements/lite.txt')
        else:
            install_requires = parse_requirements()

        setup(name='demo', install_requires=install_requires)
    """,
    "pkg2/setup.py": """
        import setuptools
        REQS = ['torch>=2', 'Numpy']
        setuptools.setup(install_requires=REQS + ['rich'])
    """,
    "pkg3/setup.py": "from x import get_reqs\nfrom setuptools import setup\nsetup(install_requires=get_reqs())\n",
    "pkg4/setup.py": "from setuptools import setup\nsetup(name='x')\n",
    "pkg5/setup.py": "print('no setup here')\n",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("repo"), FILES)


def test_fixture_really_has_the_on_true_trap(repo: Path) -> None:
    assert True in yaml.safe_load((repo / ".github/workflows/ci.yml").read_text())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("on.schedule[0].cron", "0 0 * * 0"),
        ("jobs.build.strategy.matrix.python-version", ["3.8", "3.10"]),
        ("jobs.build.strategy.matrix.python-version[1]", "3.10"),
        ("jobs.build.steps[2].name", "Test"),
        ("jobs.build.steps.1.name", "Install"),
        ('jobs.build.steps[-1].env["a.b"]', 1),
        ("jobs.build.steps[2].env.2", "two"),
        ("jobs.build.strategy.matrix.flag", "yes"),  # YAML 1.2: `yes` is a string
        ("jobs.build.released", "2024-01-02"),
        ("on.push", {"branches": ["main"]}),
    ],
)
def test_yaml_query(repo: Path, query: str, expected: object) -> None:
    assert yaml_query(repo_root=repo, path=".github/workflows/ci.yml", query=query) == expected


@pytest.mark.parametrize("query", ["jobs.deploy", "jobs..build", "jobs.build.steps[7]", "name.x", ""])
def test_yaml_query_missing_or_bad(repo: Path, query: str) -> None:
    with pytest.raises(OracleError):
        yaml_query(repo_root=repo, path=".github/workflows/ci.yml", query=query)


def test_toml_query(repo: Path) -> None:
    assert toml_query(repo_root=repo, path="pyproject.toml", query="tool.black.line-length") == 100
    assert toml_query(repo_root=repo, path="pyproject.toml", query='tool["a.b"].x') == "1979-05-27"
    assert toml_query(repo_root=repo, path="pyproject.toml", query="tool.items[0].name") == "first"
    with pytest.raises(OracleError):
        toml_query(repo_root=repo, path="pyproject.toml", query="tool.isort")
    with pytest.raises(OracleError):
        toml_query(repo_root=repo, path="missing.toml", query="a")


def test_requirements_list_follows_includes(repo: Path) -> None:
    assert requirements_list(repo_root=repo, path="requirements.txt") == [
        "addict", "coverage", "demo", "mmcv", "my-pkg", "numpy", "opencv-python-headless", "pillow", "pytest", "x",
    ]  # fmt: skip
    assert requirements_list(repo_root=repo, path="requirements/tests.txt") == ["coverage", "pytest"]
    with pytest.raises(OracleError):
        requirements_list(repo_root=repo, path="bad_requirements.txt")


def test_requirements_list_follows_pips_rules(repo: Path) -> None:
    everything = ["faiss-gpu", "flash-attn", "rich", "rouge-chinese", "six", "torch-vision"]
    assert requirements_list(repo_root=repo, path="pip/requirements.txt") == everything
    # With a Python version, a requirement whose marker is false there is left out, as pip does.
    assert requirements_list(repo_root=repo, path="pip/requirements.txt", python_version="3.11") == [
        n for n in everything if n != "faiss-gpu"
    ]
    assert requirements_list(repo_root=repo, path="pip/requirements.txt", python_version="3.8") == everything


@pytest.mark.parametrize(("path", "says"), [("pip/unnamed.txt", "line 1"), ("pip/invalid.txt", "line 2")])
def test_requirements_list_refuses_what_it_cannot_name(repo: Path, path: str, says: str) -> None:
    with pytest.raises(OracleError, match=says):
        requirements_list(repo_root=repo, path=path)


def test_pyproject_dependencies(repo: Path) -> None:
    assert pyproject_dependencies(repo_root=repo) == ["pkg", "requests", "typing-extensions", "zope-interface"]
    assert pyproject_dependencies(repo_root=repo, extra="test") == ["pytest", "pytest-cov"]
    assert pyproject_dependencies(repo_root=repo, path="poetry/pyproject.toml") == ["django"]
    assert pyproject_dependencies(repo_root=repo, path="poetry/pyproject.toml", extra="pg") == ["psycopg2"]
    with pytest.raises(OracleError):
        pyproject_dependencies(repo_root=repo, extra="docs")


def test_setup_py_install_requires(repo: Path) -> None:
    # The else branch (env var unset) binds last: parse_requirements() reads its default file.
    assert setup_py_install_requires(repo_root=repo) == ["addict", "numpy"]
    assert setup_py_install_requires(repo_root=repo, path="pkg2/setup.py") == ["numpy", "rich", "torch"]
    assert setup_py_install_requires(repo_root=repo, path="pkg4/setup.py") == []
    for path in ("pkg3/setup.py", "pkg5/setup.py"):
        with pytest.raises(OracleError):
            setup_py_install_requires(repo_root=repo, path=path)


def test_workflows_with_cron(repo: Path) -> None:
    # broken.yml is skipped, sub/ and .txt files are not workflows.
    assert workflows_with_cron(repo_root=repo) == [".github/workflows/ci.yml", ".github/workflows/nightly.yaml"]
    assert workflow_cron_schedules(repo_root=repo, path=".github/workflows/ci.yml") == ["0 0 * * 0", "30 5 * * 1-5"]
    assert workflow_cron_schedules(repo_root=repo, path=".github/workflows/docs.yaml") == []
    with pytest.raises(OracleError):
        workflows_with_cron(repo_root=repo, dir=".gitlab")


TESTS = """
    import pytest

    CASES = [(1, 2), (3, 4), (5, 6)]


    def helper():
        pass


    def test_plain():
        pass


    @pytest.mark.parametrize('x', [1, 2, 3])
    @pytest.mark.parametrize('y', ('a', 'b'))
    def test_grid(x, y):
        pass


    @pytest.mark.parametrize('a,b', CASES)
    def test_named(a, b):
        pass


    @pytest.mark.parametrize('x', [])
    def test_empty(x):
        pass


    @pytest.mark.parametrize('x', [pytest.param(1, id='one'), 2])
    class TestCls:
        def test_m(self, x):
            pass

        @pytest.mark.parametrize(argnames='y', argvalues=[0, 1, 2])
        def test_n(self, x, y):
            pass

        def helper(self):
            pass


    class TestWithInit:
        def __init__(self):
            pass

        def test_never(self):
            pass


    class Other:
        def test_not_collected(self):
            pass


    def test_plain():
        pass
"""


def test_pytest_param_count(tmp_path: Path) -> None:
    write_tree(tmp_path, {"tests/test_demo.py": TESTS, "tests/test_dyn.py": DYN})
    count = lambda **kw: pytest_param_count(repo_root=tmp_path, path="tests/test_demo.py", **kw)  # noqa: E731
    # plain 1 (redefined, still one) + grid 3*2 + named 3 + empty 1 + TestCls.test_m 2 + TestCls.test_n 2*3
    assert count() == 19
    assert count(function="test_grid") == 6
    assert count(function="TestCls.test_n") == 6
    assert count(function="test_plain") == 1
    for bad in ("helper", "nope", "TestWithInit.test_never"):
        with pytest.raises(OracleError):
            count(function=bad)
    with pytest.raises(OracleError, match="test_dyn"):
        pytest_param_count(repo_root=tmp_path, path="tests/test_dyn.py")


DYN = """
    import pytest

    @pytest.mark.parametrize('x', make_cases())
    def test_dyn(x):
        pass
"""

MODEL_CFG = """
    _base_ = ['./base.py']
    from mmengine.config import read_base
    with read_base():
        from .datasets.gsm8k import gsm8k_datasets

    lr = 0.01
    norm = dict(type='BN', requires_grad=True)
    model = dict(
        type='ResNet',
        depth=50,
        norm_cfg=norm,
        stages=(1, 2, 3),
        head=dict(type=Head, loss={'name': 'ce', 'weight': -1.0}),
        layers=[dict(i=0), dict(i=1, **norm)],
        lr=lr * 2,
    )
    train_cfg = dict(max_epochs=12, val_interval=1)
    datasets = [dict(abbr='gsm8k', n=1)]
    mixed = [*gsm8k_datasets]
"""

CONFIGS = {
    "configs/model.py": MODEL_CFG,
    "configs/datasets/gsm8k.py": "gsm8k_datasets = [dict(abbr='gsm8k', type=GSM8K)]\n",
    "configs/datasets/math.py": "math_datasets = [dict(abbr='math', n=1.0)]\n",
    "configs/datasets/bool.py": "x = dict(abbr='gsm8k_v2', n=True)\n",
    "configs/datasets/old/gsm8k_old.py": "d = {'abbr': 'gsm8k'}\n",
    "configs/broken.py": "d = dict(abbr='gsm8k'\n",
    "configs/loop.py": "ds = []\nfor n in ['a', 'b']:\n    ds.append(dict(abbr=f'x_{n}', path='data/loop'))\n",
    "configs/func.py": "def make():\n    return dict(path='data/loop')\n",
    "configs/notes.txt": "abbr='gsm8k'\n",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("model.depth", 50),
        ("model.norm_cfg.type", "BN"),
        ("model.stages", [1, 2, 3]),
        ("model.head.type", "Head"),
        ("model.head.loss.weight", -1.0),
        ("model.layers[1]", {"i": 1, "type": "BN", "requires_grad": True}),
        ("model.lr", "lr * 2"),
        ("train_cfg.max_epochs", 12),
        ("_base_", ["./base.py"]),
        ("mixed", "[*gsm8k_datasets]"),
        ("datasets[0].abbr", "gsm8k"),
    ],
)
def test_python_config_value(tmp_path: Path, query: str, expected: object) -> None:
    write_tree(tmp_path, CONFIGS)
    assert python_config_value(repo_root=tmp_path, path="configs/model.py", query=query) == expected


def test_python_config_value_missing(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFIGS)
    for query in ("optimizer", "model.nope", "gsm8k_datasets"):
        with pytest.raises(OracleError):
            python_config_value(repo_root=tmp_path, path="configs/model.py", query=query)


def test_python_config_value_forgets_a_value_changed_in_place(tmp_path: Path) -> None:
    # opencompass mathbench_2024.py renames its groups in a loop after the literal; cmmlu configs
    # fill `cmmlu_datasets = []` by appends. The literal is no longer the config's value.
    write_tree(tmp_path, {"groups.py": "groups = [{'name': 'a'}]\nfor g in groups:\n    g['name'] = 'x-' + g['name']\n"
                                       "ds = []\nfor n in 'ab':\n    ds.append(dict(abbr=n))\nkept = dict(a=1)\n"})
    for query in ("groups[0].name", "ds"):
        with pytest.raises(OracleError):
            python_config_value(repo_root=tmp_path, path="groups.py", query=query)
    assert python_config_value(repo_root=tmp_path, path="groups.py", query="kept.a") == 1


def test_python_configs_with_value(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFIGS)
    find = lambda **kw: python_configs_with_value(repo_root=tmp_path, root="configs", **kw)  # noqa: E731
    assert find(key="abbr", value="gsm8k") == [
        "configs/datasets/gsm8k.py", "configs/datasets/old/gsm8k_old.py", "configs/model.py",
    ]  # fmt: skip
    assert find(key="abbr", value="gsm8k", exclude_dirs=["old"]) == ["configs/datasets/gsm8k.py", "configs/model.py"]
    assert find(key="abbr", value="gsm8k", glob="datasets/*.py") == ["configs/datasets/gsm8k.py"]
    # 1 == 1.0, but True is not 1.
    assert find(key="n", value=1) == ["configs/datasets/math.py", "configs/model.py"]
    assert find(key="n", value=True) == ["configs/datasets/bool.py"]
    assert find(key="type", value="GSM8K") == ["configs/datasets/gsm8k.py"]  # non-literal -> source text
    # A dict written in a module-level loop counts; one inside a function does not.
    assert find(key="path", value="data/loop") == ["configs/loop.py"]
    with pytest.raises(OracleError):
        python_configs_with_value(repo_root=tmp_path, root="nope", key="abbr", value="x")
