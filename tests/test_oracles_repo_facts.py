"""Fixture-repo tests for oracles.repo_facts (small trees written into tmp_path)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evaluator.scoring.oracle_registry import OracleError, registered
from oracles.markdown_tables import markdown_table_column, markdown_table_row_count
from oracles.repo_facts import (
    glob_files,
    ini_value,
    python_call_assignments,
    python_class_attribute_map,
    python_class_methods,
    python_imported_names,
    python_registered_functions,
    yaml_values,
)

FILES = {
    "pkg/__init__.py": """
        from .a import Alpha, Beta as B
        from .b import *
        import os
        try:
            from .c import Gamma
        except ImportError:
            pass
        from typing import Any
    """,
    "pkg/registry.py": """
        '''Defines 2 registries.'''
        import mm
        POST = Registry('post')
        MODELS: Registry = mm.Registry('model')
        A = B = Registry('x')
        NOT = Other('y')
        if True:
            HIDDEN = Registry('h')
        def f():
            INNER = Registry('i')
    """,
    "pkg/post.py": """
        @POST.register_module('first-capital')
        def first_capital(text):
            return text
        @POST.register_module(name=['a', 'b'])
        def multi(text):
            return text
        @POST.register_module
        def plain(text):
            return text
        @POST.register_module()
        class NotAFunction:
            pass
        def helper():
            @POST.register_module('nested')
            def inner(x):
                return x
        @OTHER.register_module('other')
        def other(text):
            return text
    """,
    "pkg/hooks.py": """
        class Hook:
            priority = 'NORMAL'
            def before_run(self): ...
            def after_run(self): ...
            def _before_epoch(self): ...
            def before_train(self): ...
        class Ckpt(Hook):
            priority: str = 'VERY_LOW'
            priority = 'LOW'
        class Plain(Hook):
            def __init__(self):
                self.priority = 'HIGH'
    """,
    "docs/cards.md": """
        # Card

        | Model | Score |
        | ----- | :---: |
        | **A** | **1.5** |
        | B | 2 \\| 3 |

        ```
        | x | y |
        | - | - |
        | fenced | no |
        ```

        | Benchmark | M |
        |---|---|
        | MMLU | 70 |
    """,
    "cfg/pre-commit.yaml": """
        on: push
        repos:
          - repo: https://a
            rev: v1
            hooks:
              - id: flake8
              - id: isort
          - repo: https://b
            hooks:
              - id: yapf
    """,
    "setup.cfg": """
        [isort]
        line_length = 79
        known = a,
            b
    """,
    "sonar.properties": """
        sonar.projectKey=X
        sonar.python.version=3.8,3.9
    """,
    "data/x.txt": "x\n",
    "data/sub/y.txt": "y\n",
}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("ignored\n")
    return tmp_path


def test_all_registered() -> None:
    names = set(registered())
    for name in ("glob_files", "ini_value", "markdown_table_column", "markdown_table_row_count", "python_call_assignments",
                 "python_class_attribute_map", "python_class_methods", "python_imported_names",
                 "python_registered_functions", "yaml_values"):
        assert name in names


def test_glob_files(repo: Path) -> None:
    assert glob_files(repo_root=repo, glob="**/*.txt") == ["data/sub/y.txt", "data/x.txt"]
    assert glob_files(repo_root=repo, glob="data/*.txt") == ["data/x.txt"]
    assert glob_files(repo_root=repo, glob="**/*.txt", exclude_dirs=["sub"]) == ["data/x.txt"]


def test_registered_functions(repo: Path) -> None:
    assert python_registered_functions(repo_root=repo, registry="POST") == ["first_capital", "inner", "multi", "plain"]
    assert python_registered_functions(repo_root=repo, registry="POST", names="registered") == [
        "a", "b", "first-capital", "nested", "plain"]
    with pytest.raises(OracleError):
        python_registered_functions(repo_root=repo, registry="POST", names="class")


def test_imported_names(repo: Path) -> None:
    assert python_imported_names(repo_root=repo, path="pkg/__init__.py") == ["Alpha", "Any", "B", "Gamma"]
    assert python_imported_names(repo_root=repo, path="pkg/__init__.py", relative_only=True) == ["Alpha", "B", "Gamma"]


def test_call_assignments(repo: Path) -> None:
    assert python_call_assignments(repo_root=repo, path="pkg/registry.py", callee="Registry") == ["A", "B", "MODELS", "POST"]
    assert python_call_assignments(repo_root=repo, path="pkg/registry.py", callee="Other") == ["NOT"]


def test_class_attribute_map_and_methods(repo: Path) -> None:
    assert python_class_attribute_map(repo_root=repo, attr="priority", root="pkg") == {"Ckpt": "LOW", "Hook": "NORMAL"}
    assert python_class_methods(repo_root=repo, path="pkg/hooks.py", class_name="Hook") == [
        "before_run", "after_run", "_before_epoch", "before_train"]
    assert python_class_methods(repo_root=repo, path="pkg/hooks.py", class_name="Hook", prefix="before_") == [
        "before_run", "before_train"]
    with pytest.raises(OracleError):
        python_class_methods(repo_root=repo, path="pkg/hooks.py", class_name="Missing")


def test_markdown_tables(repo: Path) -> None:
    assert markdown_table_row_count(repo_root=repo, path="docs/cards.md") == 2
    assert markdown_table_row_count(repo_root=repo, path="docs/cards.md", table=1) == 1
    assert markdown_table_column(repo_root=repo, path="docs/cards.md", column="Score") == ["1.5", "2 | 3"]
    assert markdown_table_column(repo_root=repo, path="docs/cards.md", column="Model", strip_emphasis=False) == ["**A**", "B"]
    assert markdown_table_column(repo_root=repo, path="docs/cards.md", column="M", table=-1) == ["70"]
    with pytest.raises(OracleError):
        markdown_table_column(repo_root=repo, path="docs/cards.md", column="Nope")
    with pytest.raises(OracleError):
        markdown_table_row_count(repo_root=repo, path="docs/cards.md", table=2)


def test_yaml_values(repo: Path) -> None:
    assert yaml_values(repo_root=repo, path="cfg/pre-commit.yaml", query="repos.*.hooks.*.id") == ["flake8", "isort", "yapf"]
    assert yaml_values(repo_root=repo, path="cfg/pre-commit.yaml", query="repos.*.rev") == ["v1"]
    assert yaml_values(repo_root=repo, path="cfg/pre-commit.yaml", query="repos.1.repo") == ["https://b"]
    assert yaml_values(repo_root=repo, path="cfg/pre-commit.yaml", query="on") == ["push"]
    assert yaml_values(repo_root=repo, path="cfg/pre-commit.yaml", query="missing.*") == []


def test_ini_value(repo: Path) -> None:
    assert ini_value(repo_root=repo, path="setup.cfg", section="isort", key="line_length") == "79"
    assert ini_value(repo_root=repo, path="setup.cfg", section="isort", key="known") == "a,\nb"
    assert ini_value(repo_root=repo, path="sonar.properties", section="", key="sonar.python.version") == "3.8,3.9"
    with pytest.raises(OracleError):
        ini_value(repo_root=repo, path="setup.cfg", section="yapf", key="x")
    with pytest.raises(OracleError):
        ini_value(repo_root=repo, path="setup.cfg", section="isort", key="nope")
