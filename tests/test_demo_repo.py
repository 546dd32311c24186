"""The bundled `demo` repository (tinytrain) and its task suite `tasks/l1/demo`.

Checks that the bundle clones at the pinned ref, that the build is reproducible, that every
task loads, and - the one place literal answers are allowed - that each oracle, run on a
checkout of the bundle, returns the value counted by hand from `repos/_demo_src/`.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator.scoring import comparators
from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks.specs import RepoSpec, TaskSpec

ROOT = Path(__file__).resolve().parent.parent
REPOS = ROOT / "repos"
TASKS_DIR = ROOT / "tasks" / "l1" / "demo"
TASK_FILES = sorted(TASKS_DIR.glob("*.yaml"))

# ---------------------------------------------------------------------------------------------
# Expected values, counted by hand from repos/_demo_src (the pinned, second commit).
# ---------------------------------------------------------------------------------------------
HOOK_CLASSES = ["CheckpointHook", "LoggerHook", "LrSchedulerHook", "StepLrHook", "TextLoggerHook"]
REGISTRY_IMPORTERS = [  # `from .registry` / `from ..registry` / `from tinytrain.registry`
    "tinytrain/__init__.py", "tinytrain/datasets.py", "tinytrain/hooks/checkpoint.py",
    "tinytrain/hooks/logger.py", "tinytrain/hooks/lr_scheduler.py", "tinytrain/metrics/accuracy.py",
    "tinytrain/metrics/f1.py", "tinytrain/models/mlp.py", "tinytrain/models/resnet.py",
    "tinytrain/runner.py", "tools/eval.py",
]  # fmt: skip

EXPECTED: dict[tuple[str, str], Any] = {
    # 29 = conftest 1 + configs 3 + tests 3 + tinytrain/*.py 7 + hooks 5 + metrics 4 + models 4 + tools 2
    ("demo_task_001", "py_files"): 29,
    ("demo_task_001", "test_files"): 3,
    ("demo_task_003", "hook_classes"): HOOK_CLASSES,
    ("demo_task_003", "hook_names"): ["CheckpointHook", "LoggerHook", "LrSchedulerHook", "StepLrHook", "TextLogger"],
    ("demo_task_004", "num_registries"): 4,  # HOOKS, METRICS, MODELS, DATASETS (the docstring says 3)
    ("demo_task_004", "model_classes"): ["MLP", "TinyResNet"],
    ("demo_task_005", "version"): "0.3.1",
    ("demo_task_005", "readme_first_line"): "# tinytrain",
    ("demo_task_006", "train_defaults"): {
        "config": None, "work_dir": "./work_dirs", "epochs": 12, "lr": 0.01, "batch_size": 32,
        "seed": None, "resume": False, "launcher": "none",
    },
    ("demo_task_006", "eval_defaults"): {
        "config": None, "checkpoint": None, "out": None, "metrics": ["Accuracy"], "batch_size": 64,
    },
    ("demo_task_007", "lr"): 0.1,
    ("demo_task_007", "max_epochs"): 100,
    ("demo_task_007", "depth"): 18,
    ("demo_task_007", "lr_steps"): [50, 75],
    ("demo_task_008", "importers"): REGISTRY_IMPORTERS,
    ("demo_task_009", "requirements"): ["coverage", "numpy", "pytest", "pytest-cov", "pyyaml", "tqdm"],
    ("demo_task_009", "tests_extra"): ["pytest", "pytest-cov"],
    ("demo_task_009", "requires_python"): ">=3.8",
    ("demo_task_010", "scheduled_workflows"): [".github/workflows/nightly.yml"],
    ("demo_task_010", "cron"): ["30 2 * * 1-5"],
    ("demo_task_010", "ci_python_versions"): ["3.8", "3.10", "3.12"],
    ("demo_task_011", "total_items"): 12,  # 3 + 3*2 + 1 + 2
    ("demo_task_011", "topk_items"): 6,
    ("demo_task_012", "mlp_configs"): ["configs/mlp_csv.py", "configs/mlp_toy.py"],
    ("demo_task_012", "resnet_abbr"): "resnet18-cifar",
    ("demo_task_013", "metric_subclasses"): ["Accuracy", "F1Score", "MacroF1Score", "TopKAccuracy"],
    ("demo_task_013", "metric_names"): ["Accuracy", "F1Score", "MacroF1Score", "TopK"],
    ("demo_task_014", "checkpoint_defaults"): {
        "interval": 1, "by_epoch": True, "save_last": True, "max_keep_ckpts": -1, "out_dir": None,
    },
    ("demo_task_014", "steplr_params"): ["step", "gamma", "**kwargs"],
    ("demo_task_015", "import_cycles"): [["tinytrain.config", "tinytrain.utils"]],
    ("demo_task_016", "train_config_defaults"): {
        "work_dir": "./work_dirs", "max_epochs": 12, "batch_size": 32, "lr": 0.01, "seed": None,
        "val_interval": 1, "resume": False, "hooks": "list", "metrics": "list",
    },
    # the figures, as tools/build_demo_figures.py draws them
    ("demo_task_017", "figure_size"): {"width": 733, "height": 419},
    ("demo_task_018", "palette_colors"): [["orange", "blue"], ["magenta", "green"]],
    ("demo_task_019", "status_shape"): "triangle",
    ("demo_task_020", "bar_count"): 11,
}  # fmt: skip

# The wrong answers the trap distractors must produce, also counted by hand.
EXPECTED_DISTRACTORS: dict[tuple[str, str], list[Any]] = {
    ("demo_task_001", "py_files"): [20],
    ("demo_task_003", "hook_classes"): [
        ["CheckpointHook", "CosineLrHook", "Hook", "LoggerHook", "LrSchedulerHook", "StepLrHook", "TextLoggerHook"],
        ["CheckpointHook", "CosineLrHook", "LoggerHook", "LrSchedulerHook", "StepLrHook", "TextLoggerHook"],
    ],
    ("demo_task_003", "hook_names"): [HOOK_CLASSES],
    ("demo_task_004", "num_registries"): [3, 7],  # docstring; 4 + __repr__ + 2 lines in tests
    ("demo_task_004", "model_classes"): [["BaseModel", "BasicBlock", "MLP", "TinyResNet"]],
    ("demo_task_007", "lr"): [0.05],
    ("demo_task_008", "importers"): [sorted(REGISTRY_IMPORTERS + ["tinytrain/registry.py", "tests/test_build_registry.py"])],
    ("demo_task_009", "requirements"): [["numpy", "pyyaml", "tqdm"]],
    ("demo_task_010", "scheduled_workflows"): [[".github/workflows/docs.yml", ".github/workflows/nightly.yml"]],
    ("demo_task_011", "total_items"): [4],
    ("demo_task_011", "topk_items"): [4],
    ("demo_task_012", "mlp_configs"): [["configs/mlp_csv.py", "configs/mlp_toy.py", "configs/resnet_cifar.py"]],
    ("demo_task_013", "metric_subclasses"): [["Accuracy", "F1Score"]],
    ("demo_task_013", "metric_names"): [
        ["Accuracy", "F1Score", "MacroF1Score", "TopKAccuracy"],
        ["Accuracy", "BaseMetric", "F1Score", "MacroF1Score", "TopKAccuracy"],
    ],
    ("demo_task_014", "steplr_params"): [["base_lr", "warmup_iters", "warmup_ratio"]],
}  # fmt: skip

# demo_task_002: 12 visible top-level entries (LICENSE README.md configs conftest.py docs
# mkdocs.yml pyproject.toml requirements requirements.txt tests tinytrain tools), a LICENSE.
ANSWER_MD = "repo_id: demo\ntop_level_entries: 12\nhas_license: true\n"


# ---------------------------------------------------------------------------------------------
# Helpers and fixtures
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def load_task(path: Path) -> TaskSpec:
    return TaskSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def pinned_ref() -> str:
    return yaml.safe_load((REPOS / "demo.yaml").read_text(encoding="utf-8"))["ref"]


def all_outputs() -> list[tuple[str, str]]:
    return [(load_task(p).id, o.key) for p in TASK_FILES for o in load_task(p).outputs if o.type != "oracle_bool"]


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("demo") / "demo"
    git("-c", "core.autocrlf=false", "clone", "-q", str(REPOS / "demo.bundle"), str(dest))
    return dest


# ---------------------------------------------------------------------------------------------
# The bundle and its build
# ---------------------------------------------------------------------------------------------
def test_repo_yaml_is_valid() -> None:
    data = yaml.safe_load((REPOS / "demo.yaml").read_text(encoding="utf-8"))
    spec = RepoSpec.model_validate(data)
    assert spec.id == "demo" and spec.url == "demo.bundle" and spec.initial_working_dir == "."
    assert re.fullmatch(r"[0-9a-f]{40}", spec.ref)
    assert (REPOS / spec.url).is_file()


def test_bundle_clones_at_pinned_ref(checkout: Path) -> None:
    ref = pinned_ref()
    assert git("rev-parse", "HEAD", cwd=checkout) == ref
    assert git("rev-parse", "refs/remotes/origin/main", cwd=checkout) == ref
    assert git("symbolic-ref", "--short", "HEAD", cwd=checkout) == "main"
    assert git("rev-list", "--count", "HEAD", cwd=checkout) == "2"
    assert git("status", "--porcelain", cwd=checkout) == ""


def test_bundle_tree_is_the_source_tree(checkout: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_demo_bundle
    finally:
        sys.path.remove(str(ROOT / "tools"))
    source = build_demo_bundle.source_files(build_demo_bundle.SRC)
    tracked = git("ls-files", cwd=checkout).splitlines()
    assert sorted(tracked) == sorted(source)
    for rel, data in source.items():
        assert (checkout / rel).read_bytes() == data, rel
    assert 25 <= len(tracked) <= 50  # small: source files plus the four figures of the image tasks
    modes = {line.split()[0] for line in git("ls-files", "-s", cwd=checkout).splitlines()}
    assert modes == {"100644"}


def test_build_is_reproducible() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_demo_bundle.py"), "--check"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == pinned_ref()


def test_demo_python_is_valid_and_its_tests_pass(checkout: Path) -> None:
    for path in checkout.rglob("*.py"):
        ast.parse(path.read_bytes(), filename=str(path))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider", "tests"],
        cwd=checkout, capture_output=True, text=True, timeout=120, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "26 passed" in proc.stdout


# ---------------------------------------------------------------------------------------------
# The task files
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", TASK_FILES, ids=[p.stem for p in TASK_FILES])
def test_task_file_loads(path: Path) -> None:
    task = load_task(path)
    assert task.id == path.stem and task.repo == "demo"
    assert task.difficulty_reason and "eval_artifacts/answer" in task.instruction
    assert all(o.comparator in comparators.COMPARATORS for o in task.outputs)


def test_task_suite_coverage() -> None:
    tasks = [load_task(p) for p in TASK_FILES]
    assert len(tasks) >= 10
    assert len({t.id for t in tasks}) == len(tasks)
    outputs = [o for t in tasks for o in t.outputs]
    fact_outputs = [o for o in outputs if o.type != "oracle_bool"]
    assert {o.comparator for o in fact_outputs} == set(comparators.COMPARATORS)
    checkers = [o for o in outputs if o.type == "oracle_bool"]
    assert [o.oracle.fn for o in checkers] == ["answer_md_kv_matches"]
    assert {t.difficulty for t in tasks} == {"easy", "medium", "hard"}
    assert sum(1 for t in tasks if len(t.outputs) > 1 and len({o.weight for o in t.outputs}) > 1) >= 3
    assert sum(1 for t in tasks if any(o.distractors for o in t.outputs)) >= 3


def test_task_references_resolve() -> None:
    from evaluator.tasks.catalog import check_task_refs

    for path in TASK_FILES:
        task = load_task(path)
        for out in task.outputs:
            for call in [out.oracle, *out.distractors]:
                oracles.resolve(call.fn)
        check_task_refs(task, path)


def test_expectation_table_covers_every_output() -> None:
    assert set(EXPECTED) == set(all_outputs())
    assert set(EXPECTED_DISTRACTORS) == {
        (load_task(p).id, o.key) for p in TASK_FILES for o in load_task(p).outputs if o.distractors
    }


# ---------------------------------------------------------------------------------------------
# Oracles against the hand counts
# ---------------------------------------------------------------------------------------------
def _outputs_by_key() -> dict[tuple[str, str], Any]:
    return {(load_task(p).id, o.key): o for p in TASK_FILES for o in load_task(p).outputs}


@pytest.mark.parametrize("task_id,key", sorted(EXPECTED), ids=[f"{t}:{k}" for t, k in sorted(EXPECTED)])
def test_oracle_matches_hand_count(checkout: Path, task_id: str, key: str) -> None:
    out = _outputs_by_key()[(task_id, key)]
    oracle = oracles.resolve(out.oracle.fn)
    value = oracle.fn(repo_root=checkout, **out.oracle.args)
    hand = EXPECTED[(task_id, key)]
    assert json.loads(json.dumps(value)) == hand
    # the hand-counted answer passes the task's own comparator and has the declared type
    credit, ok = comparators.compare(out.comparator, hand, value, out.comparator_args)
    assert ok and credit == 1.0
    from evaluator.scoring.score import type_error

    assert type_error(out, hand) is None


@pytest.mark.parametrize(
    "task_id,key", sorted(EXPECTED_DISTRACTORS), ids=[f"{t}:{k}" for t, k in sorted(EXPECTED_DISTRACTORS)]
)
def test_distractors_are_wrong_answers(checkout: Path, task_id: str, key: str) -> None:
    out = _outputs_by_key()[(task_id, key)]
    expected = oracles.resolve(out.oracle.fn).fn(repo_root=checkout, **out.oracle.args)
    got = [oracles.resolve(d.fn).fn(repo_root=checkout, **d.args) for d in out.distractors]
    assert got == EXPECTED_DISTRACTORS[(task_id, key)]
    for value in got:
        assert not comparators.compare(out.comparator, value, expected, out.comparator_args)[1], value


def test_regex_oracle_value_only_matches_the_version(checkout: Path) -> None:
    # `.` in "0.3.1" matches any character; the comparator still pins the answer down enough.
    out = _outputs_by_key()[("demo_task_005", "version")]
    pattern = oracles.resolve(out.oracle.fn).fn(repo_root=checkout, **out.oracle.args)
    assert comparators.compare("regex", " 0.3.1\n", pattern, out.comparator_args)[1]
    assert not comparators.compare("regex", "0.3.0", pattern, out.comparator_args)[1]
    assert not comparators.compare("regex", "v0.3.1", pattern, out.comparator_args)[1]


def test_answer_md_checker(checkout: Path, tmp_path: Path) -> None:
    out = _outputs_by_key()[("demo_task_002", "answer_md")]
    checker = oracles.resolve(out.oracle.fn)
    assert checker.kind == "checker" and checker.solve is not None
    answer_dir = tmp_path / "work"
    (answer_dir / "eval_artifacts").mkdir(parents=True)
    answer = answer_dir / "eval_artifacts" / "answer.md"

    answer.write_text(ANSWER_MD)
    assert checker.fn(repo_root=checkout, answer_dir=answer_dir, **out.oracle.args) is True
    answer.write_text(ANSWER_MD.replace("12", "13"))  # counted the hidden .gitignore/.github
    assert checker.fn(repo_root=checkout, answer_dir=answer_dir, **out.oracle.args) is False
    solved = checker.solve(repo_root=checkout, **out.oracle.args)
    assert solved == {"eval_artifacts/answer.md": ANSWER_MD}
