"""Second derivations of the config and answer-file oracles (derivations/configs.py).

Each fixture's answer was worked out by hand; the second derivation must give it, and so must the
oracle (the two agreeing on the same fixture is what `validate` relies on).
"""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from derivations import configs as second
from evaluator.scoring import oracle_registry as oracles
from evaluator.scoring.oracle_api import OracleError
from oracles import answer_checks, config_files, markdown_tables, repo_facts


def _repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def _agree(name: str, want: object, **args: object) -> None:
    """The second derivation and the oracle both give the hand-derived `want`."""
    oracle = oracles.resolve(name)
    derivation = oracles.derivation_for(oracle)
    assert derivation is not None and derivation.fn.__module__ == "derivations.configs"
    assert derivation.fn(**args) == want, f"second derivation of {name}"
    assert oracle.fn(**args) == want, f"oracle {name}"


# --- requirements: pip's rules (issue 16: -e ...#egg=, -r includes, markers, extras, URLs) ----------

REQUIREMENTS = {
    "requirements.txt": r"""
        # runtime first
        -r requirements/runtime.txt
        --requirement=requirements/tests.txt
        -c constraints.txt
        --index-url https://example.org/simple
        numpy>=1.20 ; python_version >= "3.9"
        Foo_Bar[extra1,extra2]==1.0  # extras and a comment
        backports.zoneinfo; python_version < "3.9"
        requests \
            >=2.0
        pkg @ https://example.org/pkg-1.0.tar.gz
        https://example.org/wheels/Some_Wheel-2.0-py3-none-any.whl
        git+https://github.com/x/y.git#egg=from_url
        -e git+https://github.com/Isaac-JL-Chen/rouge_chinese.git@master#egg=rouge_chinese
        -e .
        hashed==1.0 --hash=sha256:0123abcd
        """,
    "requirements/runtime.txt": "torch>=2\n-r ../requirements.txt\n",  # an include cycle ends
    "requirements/tests.txt": "pytest\n",
    "constraints.txt": "constrained-only==1\n",
    "pyproject.toml": '[project]\nname = "Demo.Project"\nversion = "1"\n',
}
ALL = ["backports-zoneinfo", "demo-project", "foo-bar", "from-url", "hashed", "numpy", "pkg", "pytest", "requests",
       "rouge-chinese", "some-wheel", "torch"]


def test_requirements_list_follows_pips_rules(tmp_path: Path) -> None:
    _agree("requirements_list", ALL, repo_root=_repo(tmp_path, REQUIREMENTS), path="requirements.txt")


@pytest.mark.parametrize("python_version, left_out", [("3.8", "numpy"), ("3.12", "backports-zoneinfo")])
def test_requirements_list_evaluates_markers_for_a_python(tmp_path: Path, python_version: str, left_out: str) -> None:
    want = [n for n in ALL if n != left_out]
    _agree("requirements_list", want, repo_root=_repo(tmp_path, REQUIREMENTS), path="requirements.txt",
           python_version=python_version)


def test_a_whole_line_comment_ending_in_a_backslash_joins_nothing(tmp_path: Path) -> None:
    # pip only joins a continuation onto a line that is not a comment: `pinned` is installed.
    repo = _repo(tmp_path, {"r.txt": "# pinned below \\\npinned==1\nfoo # a comment \\\nbar==2\n"})
    _agree("requirements_list", ["foo", "pinned"], repo_root=repo, path="r.txt")


def test_an_editable_local_path_is_relative_to_the_repository_root(tmp_path: Path) -> None:
    # `pip install -r requirements/dev.txt` run from the root installs the root project for `-e .`.
    repo = _repo(tmp_path, {**REQUIREMENTS, "requirements/dev.txt": "-e .[dev]\nblack\n"})
    _agree("requirements_list", ["black", "demo-project"], repo_root=repo, path="requirements/dev.txt")


@pytest.mark.parametrize("line", [
    "-e git+https://github.com/x/y.git@main",      # no #egg=: only a build would tell the name
    "-r missing.txt",
    "https://example.org/archive/master",
    "two words",
])
def test_requirements_list_refuses_what_it_cannot_name(tmp_path: Path, line: str) -> None:
    repo = _repo(tmp_path, {"requirements.txt": f"ok\n{line}\n"})
    for fn in (second.requirements_list, config_files.requirements_list):
        with pytest.raises(OracleError):
            fn(repo_root=repo, path="requirements.txt")


# --- pyproject, setup.py, TOML --------------------------------------------------------------------

PYPROJECT = """
    [project]
    name = "demo"
    requires-python = ">=3.10"
    dependencies = ["PyYAML>=6", "typing_extensions; python_version < '3.11'", "Zope.Interface[test]"]
    [project.optional-dependencies]
    tests = ["pytest>=7", "hypothesis"]
    [tool.demo]
    released = 1979-05-27T07:32:00Z
    matrix = [{py = "3.10"}, {py = "3.12"}]
    "dotted.key" = 3
"""


def test_pyproject_dependencies(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"pyproject.toml": PYPROJECT})
    _agree("pyproject_dependencies", ["pyyaml", "typing-extensions", "zope-interface"], repo_root=repo)
    _agree("pyproject_dependencies", ["hypothesis", "pytest"], repo_root=repo, extra="tests")


def test_poetry_dependencies(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"pyproject.toml": """
        [tool.poetry.dependencies]
        python = "^3.10"
        Requests = "^2"
        [tool.poetry.extras]
        fast = ["ujson"]
        """})
    _agree("pyproject_dependencies", ["requests"], repo_root=repo)
    _agree("pyproject_dependencies", ["ujson"], repo_root=repo, extra="fast")


@pytest.mark.parametrize("query, want", [
    ("project.requires-python", ">=3.10"),
    ("tool.demo.released", "1979-05-27T07:32:00+00:00"),
    ("tool.demo.matrix[-1].py", "3.12"),
    ("tool.demo.matrix.0", {"py": "3.10"}),
    ('tool.demo["dotted.key"]', 3),
])
def test_toml_query(tmp_path: Path, query: str, want: object) -> None:
    _agree("toml_query", want, repo_root=_repo(tmp_path, {"pyproject.toml": PYPROJECT}), path="pyproject.toml",
           query=query)


SETUP_PY = """
    import os
    from setuptools import setup

    def read_requirements(fname="requirements/runtime.txt"):
        with open(fname) as f:
            return [line.split("#egg=")[-1].strip() for line in f if line.strip() and not line.startswith("#")]

    if os.getenv("LITE"):
        install_requires = ["tiny"]
    else:
        install_requires = read_requirements() + ["Extra_Pkg>=1; python_version < '3.12'"]
    setup(name="demo", install_requires=install_requires)
"""


def test_setup_py_install_requires_runs_the_projects_own_code(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"setup.py": SETUP_PY, "requirements/runtime.txt":
                            "numpy>=1\n-e git+https://x.org/r.git#egg=rouge_chinese\n"})
    _agree("setup_py_install_requires", ["extra-pkg", "numpy", "rouge-chinese"], repo_root=repo)
    assert not list(repo.rglob("*.egg-info")) and not list(repo.rglob("__pycache__")), "setup.py ran in a copy"


def test_setup_py_that_never_calls_setup_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"setup.py": "print('hello')\n"})
    with pytest.raises(OracleError, match="setup"):
        second.setup_py_install_requires(repo_root=repo)


# --- YAML and workflows ----------------------------------------------------------------------------

CI = """
    name: CI
    on:
      push: {branches: [main]}
      schedule:
        - cron: '0 0 * * 0'
        - cron: "30 5 * * 1-5"
    defaults: &defaults {runs-on: ubuntu-latest, timeout: 010}
    jobs:
      build:
        <<: *defaults
        flag: yes
        strategy: {matrix: {python-version: ['3.8', 3.10, 1_000]}}
        steps:
          - {uses: actions/checkout@v4}
          - {name: Test, run: pytest, env: {"a.b": 1, 2: two}}
      docs: {runs-on: macos-latest, steps: [{name: Build}]}
    released: 2024-01-02
"""
WORKFLOWS = {
    ".github/workflows/ci.yml": CI,
    ".github/workflows/docs.yaml": "on: [push]\njobs: {}\n",
    ".github/workflows/nightly.yaml": "'on':\n  schedule:\n  - cron: '0 3 * * *'\n",
    ".github/workflows/broken.yml": "on: [\n  schedule\n",
    ".github/workflows/commented.yml": "on:\n  push:\n#  schedule:\n#    - cron: '1 1 * * *'\n",
    ".github/workflows/sub/deep.yml": "on:\n  schedule:\n    - cron: '1 1 * * *'\n",
}


@pytest.mark.parametrize("query, want", [
    ("on.schedule[1].cron", "30 5 * * 1-5"),
    ("jobs.build.runs-on", "ubuntu-latest"),          # through the << merge key
    ("jobs.build.timeout", 8),                         # YAML 1.1 octal
    ("jobs.build.flag", "yes"),                        # YAML 1.2 booleans: yes is a string
    ("jobs.build.strategy.matrix.python-version", ["3.8", 3.1, 1000]),
    ('jobs.build.steps[1].env["a.b"]', 1),
    ("jobs.build.steps.1.env.2", "two"),
    ("released", "2024-01-02"),
])
def test_yaml_query(tmp_path: Path, query: str, want: object) -> None:
    _agree("yaml_query", want, repo_root=_repo(tmp_path, WORKFLOWS), path=".github/workflows/ci.yml", query=query)


@pytest.mark.parametrize("query", ["jobs.nope", "jobs..build", "on.schedule[9]", "[x]"])
def test_yaml_query_refuses_a_missing_step_or_a_bad_query(tmp_path: Path, query: str) -> None:
    repo = _repo(tmp_path, WORKFLOWS)
    for fn in (second.yaml_query, config_files.yaml_query):
        with pytest.raises(OracleError):
            fn(repo_root=repo, path=".github/workflows/ci.yml", query=query)


@pytest.mark.parametrize("query, want", [
    ("jobs.*.runs-on", ["ubuntu-latest", "macos-latest"]),
    ("jobs.*.steps.*.name", ["Test", "Build"]),
    ("on.schedule.*.cron", ["0 0 * * 0", "30 5 * * 1-5"]),
    ("jobs.build.steps.0.uses", ["actions/checkout@v4"]),
    ("jobs.*.nothing", []),
])
def test_yaml_values(tmp_path: Path, query: str, want: object) -> None:
    _agree("yaml_values", want, repo_root=_repo(tmp_path, WORKFLOWS), path=".github/workflows/ci.yml", query=query)


def test_workflow_schedules(tmp_path: Path) -> None:
    repo = _repo(tmp_path, WORKFLOWS)
    _agree("workflows_with_cron", [".github/workflows/ci.yml", ".github/workflows/nightly.yaml"], repo_root=repo)
    _agree("workflow_cron_schedules", ["0 0 * * 0", "30 5 * * 1-5"], repo_root=repo, path=".github/workflows/ci.yml")
    _agree("workflow_cron_schedules", [], repo_root=repo, path=".github/workflows/commented.yml")


# --- INI and Markdown ------------------------------------------------------------------------------

SETUP_CFG = """
    [DEFAULT]
    shared = from-default
    [isort]
    line_length = 79
    Known_Third_Party: numpy,torch
    [flake8]
    # a comment line
    exclude =
        build,

        docs
    [isort]
    multi_line_output = 0
"""


@pytest.mark.parametrize("section, key, want", [
    ("isort", "line_length", "79"),
    ("isort", "known_third_party", "numpy,torch"),       # keys are case-insensitive
    ("isort", "multi_line_output", "0"),                 # a repeated section merges
    ("flake8", "exclude", "build,\n\ndocs"),             # continuation lines, inner blank kept
    ("flake8", "shared", "from-default"),                # [DEFAULT] reaches every section
])
def test_ini_value(tmp_path: Path, section: str, key: str, want: str) -> None:
    _agree("ini_value", want, repo_root=_repo(tmp_path, {"setup.cfg": SETUP_CFG}), path="setup.cfg",
           section=section, key=key)


def test_ini_value_of_a_properties_file_and_the_missing_cases(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"sonar.properties": "sonar.projectKey=demo\nsonar.python.version = 3.10\n",
                            "setup.cfg": SETUP_CFG})
    _agree("ini_value", "3.10", repo_root=repo, path="sonar.properties", section="", key="sonar.python.version")
    for section, key in (("nope", "x"), ("isort", "nope"), ("DEFAULT", "shared")):
        for fn in (second.ini_value, repo_facts.ini_value):
            with pytest.raises(OracleError):
                fn(repo_root=repo, path="setup.cfg", section=section, key=key)


CARD = """
    # Model card

    ```
    | not | a table |
    | --- | ------- |
    | in  | fence   |
    ```

    | Model | **Score** | Link |
    |:------|----------:|------|
    | A-7B  | **71.6**  | [a](x) |
    | B\\|C | `62.0`    |
    | D     | *50*      | d |
    not a row

    | single |
    | --- |
    | one |
"""


def test_markdown_tables(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"card.md": CARD})
    _agree("markdown_table_row_count", 3, repo_root=repo, path="card.md")
    _agree("markdown_table_row_count", 1, repo_root=repo, path="card.md", table=-1)
    _agree("markdown_table_column", ["A-7B", "B|C", "D"], repo_root=repo, path="card.md", column="Model")
    _agree("markdown_table_column", ["71.6", "62.0", "50"], repo_root=repo, path="card.md", column="Score")
    _agree("markdown_table_column", ["**71.6**", "`62.0`", "*50*"], repo_root=repo, path="card.md", column="Score",
           strip_emphasis=False)
    _agree("markdown_table_column", ["[a](x)", "", "d"], repo_root=repo, path="card.md", column="Link")
    for fn in (second.markdown_table_row_count, markdown_tables.markdown_table_row_count):
        with pytest.raises(OracleError):
            fn(repo_root=repo, path="card.md", table=2)


# --- answer checkers: accept the solver's files, refuse a damaged copy ------------------------------

def _check_both(name: str, repo: Path, answer_dir: Path, want: bool, **args: object) -> None:
    oracle = oracles.resolve(name)
    assert oracles.derivation_for(oracle).fn(repo_root=repo, answer_dir=answer_dir, **args) is want
    assert oracle.fn(repo_root=repo, answer_dir=answer_dir, **args) is want


def test_answer_md_kv_matches(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"LICENSE": "MIT\n", "README.md": "x\n", "pkg/a.py": "", ".hidden": "",
                                     "eval_artifacts/keep": ""})
    args = {"path": "eval_artifacts/answer.md", "repo_id": "demo", "exclude_top_level": [".git", "eval_artifacts"]}
    good = "# Answer\nrepo_id: demo\nTop_Level_Entries:  3\nhas_license: yes\n"  # LICENSE, README.md, pkg
    for text, want in ((good, True), (good.replace("3", "4"), False), (good.replace("yes", "no"), False),
                       ("\n".join(good.splitlines()[:-1]) + "\n", False)):
        answers = _repo(tmp_path / f"a{len(text)}{want}", {"eval_artifacts/answer.md": text})
        _check_both("answer_md_kv_matches", repo, answers, want, **args)


def test_answer_md_contains_and_links_are_not_followed(tmp_path: Path) -> None:
    answers = _repo(tmp_path / "ans", {"out/answer.md": "alpha\nbeta – γ\n", "outside.md": "alpha\nbeta – γ\n"})
    args = {"must_contain": ["alpha", "beta – γ"]}
    _check_both("answer_md_contains", tmp_path, answers, True, path="out/answer.md", **args)
    _check_both("answer_md_contains", tmp_path, answers, False, path="out/answer.md", must_contain=["alpha", "delta"])
    os.symlink(answers / "outside.md", answers / "out" / "link.md")
    _check_both("answer_md_contains", tmp_path, answers, False, path="out/link.md", **args)
    _check_both("answer_md_contains", tmp_path, answers, False, path="out/missing.md", **args)


def test_the_solvers_answer_passes_the_second_derivation(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"LICENSE.md": "x", "a": "", "b/c": ""})
    args = {"path": "eval_artifacts/answer.md", "repo_id": "r1", "exclude_top_level": [".git"], "exclude_hidden": True}
    files = answer_checks.answer_md_kv_matches.__oracle__.solve(repo_root=repo, **args)
    answers = _repo(tmp_path / "ans", files)
    assert second.answer_md_kv_matches(repo_root=repo, answer_dir=answers, **args) is True
