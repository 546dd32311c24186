"""Change tasks (L2): the task format, grading by hidden tests in fresh sandboxes, and its defences."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, load_results, only_run_dir, run_cli, sandbox_flag
from evaluator.config.errors import ConfigError
from evaluator.scoring import hidden_tests, junit
from evaluator.scoring.hidden_tests import Grader, protected
from evaluator.sandbox import get_backend
from evaluator.tasks.catalog import load_repos, load_tasks
from evaluator.tasks.clone_cache import RepoCache, checkout
from evaluator.tasks.gaming import attempts
from evaluator.tasks.specs import Limits, TaskSpec

L2_ARGS = ["--repos", "demo", "--task-set", "l2"]


def demo_change_tasks() -> dict[str, TaskSpec]:
    return {t.id: t for t, _ in load_tasks(ROOT / "tasks", task_set="l2", repos=["demo"], pattern=None)}


# --- the task format ------------------------------------------------------------------------------
def write_task(folder: Path, data: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{data['id']}.yaml").write_text(yaml.safe_dump(data))


def change_task(**change: Any) -> dict[str, Any]:
    block = {"fail_to_pass": ["tests/test_a.py::test_x"], "hidden_tests": [{"path": "tests/test_a.py", "source": "_h/test_a.py"}]}
    return {"id": "c1", "repo": "demo", "kind": "change", "instruction": "Fix it.", "change": {**block, **change}}


def test_change_task_loads_with_its_hidden_files_inline(tmp_path: Path) -> None:
    (tmp_path / "l2" / "_h").mkdir(parents=True)
    (tmp_path / "l2" / "_h" / "test_a.py").write_text("def test_x():\n    assert False\n")
    (tmp_path / "l2" / "fix.diff").write_text("diff --git a/x b/x\n")
    write_task(tmp_path / "l2", change_task(gold_patch={"file": "fix.diff"}))
    [(task, _)] = load_tasks(tmp_path, task_set="l2", repos=None, pattern=None)
    assert task.kind == "change" and task.outputs == []
    assert task.change.hidden_tests[0].content == "def test_x():\n    assert False\n"
    assert task.change.gold_patch.diff == "diff --git a/x b/x\n"


@pytest.mark.parametrize("change,data,needle", [
    ({"hidden_tests": [{"path": "tests/test_a.py", "source": "../../etc/passwd"}]}, {}, "inside the task's folder"),
    ({"fail_to_pass": ["not a node id"]}, {}, "not a pytest node id"),
    ({"pass_to_pass": ["tests/test_a.py::test_x"]}, {}, "in both fail_to_pass and pass_to_pass"),
    ({"hidden_tests": [{"path": "/abs/test.py", "content": "x"}]}, {}, "relative path inside the repository"),
    ({}, {"outputs": [{"key": "k", "oracle": {"fn": "glob_count"}}]}, "no `outputs`"),
    ({}, {"kind": "answer"}, "not a `change` block"),
])
def test_bad_change_tasks_name_the_file_and_the_problem(tmp_path: Path, change: dict[str, Any], data: dict[str, Any], needle: str) -> None:
    (tmp_path / "l2" / "_h").mkdir(parents=True)
    (tmp_path / "l2" / "_h" / "test_a.py").write_text("def test_x(): pass\n")
    write_task(tmp_path / "l2", {**change_task(**change), **data})
    with pytest.raises(ConfigError) as err:
        load_tasks(tmp_path, task_set="l2", repos=None, pattern=None)
    assert "c1.yaml" in str(err.value) and needle in str(err.value)


def test_a_change_task_without_its_change_block_is_refused(tmp_path: Path) -> None:
    data = change_task()
    del data["change"]
    write_task(tmp_path / "l2", data)
    with pytest.raises(ConfigError, match="needs a `change` block"):
        load_tasks(tmp_path, task_set="l2", repos=None, pattern=None)


# --- pieces of grading ----------------------------------------------------------------------------
@pytest.mark.parametrize("path,reset", [
    ("pkg/mod.py", False), ("conftest.py", True), ("pkg/conftest.py", True), ("pytest.ini", True),
    ("pyproject.toml", True), ("setup.cfg", True), ("tox.ini", True), ("sitecustomize.py", True),
    ("pkg/x.pth", True), ("tests/helpers.py", True), ("pkg/test_mod.py", True), ("pkg/mod_test.py", True),
    ("hidden/path.py", True), ("pkg/testing_utils.py", False),
])
def test_test_and_config_files_are_protected(path: str, reset: bool) -> None:
    assert protected(path, {"hidden/path.py"}) is reset


def test_junit_addresses_and_outcomes() -> None:
    assert junit.junit_address("tests/a/test_b.py::TestC::test_d[x-1]") == ("tests.a.test_b.TestC", "test_d[x-1]")
    xml = (b'<testsuites><testsuite><testcase classname="tests.test_a" name="ok"/>'
           b'<testcase classname="tests.test_a" name="bad"><failure/></testcase>'
           b'<testcase classname="tests.test_a" name="td"/><testcase classname="tests.test_a" name="td"><error/></testcase>'
           b'<testcase classname="tests.test_a" name="sk"><skipped/></testcase></testsuite></testsuites>')
    ids = ["ok", "bad", "td", "sk", "gone"]
    groups: dict[str, Any] = {f"tests/test_a.py::{n}": "fail_to_pass" for n in ids}
    guard = json.dumps({"changed": [], "finished": True, "outcomes": {f"tests/test_a.py::{n}": "passed" for n in ids}}).encode()
    got, why = junit.outcomes(groups, xml, guard)
    assert why is None and [t.outcome for t in got] == ["passed", "failed", "error", "skipped", "missing"]
    # The hooks saw a failure the XML does not show: the XML loses.
    lying = json.dumps({"changed": [], "finished": True, "outcomes": {"tests/test_a.py::ok": "failed"}}).encode()
    assert junit.outcomes(groups, xml, lying)[0][0].outcome == "failed"
    tampered = json.dumps({"changed": ["_pytest.python:Function.runtest"], "finished": True, "outcomes": {}}).encode()
    got, why = junit.outcomes(groups, xml, tampered)
    assert all(t.outcome == "missing" for t in got) and "Function.runtest" in (why or "")
    assert "no guard record" in (junit.outcomes(groups, xml, None)[1] or "")


def test_read_capped_refuses_links_and_big_files(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 10)
    (tmp_path / "link").symlink_to(tmp_path / "f")
    assert junit.read_capped(tmp_path / "f", 10) == b"x" * 10
    assert junit.read_capped(tmp_path / "f", 9) is None
    assert junit.read_capped(tmp_path / "link", 100) is None
    assert junit.read_capped(tmp_path, 100) is None


# --- grading in the sandbox -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_place(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    backend = get_backend(sandbox_flag())
    backend.preflight()
    cache = RepoCache(tmp_path_factory.mktemp("cache"))
    spec = load_repos(ROOT / "repos")["demo"]
    mirror = cache.mirror(spec)
    return {"backend": backend, "mirror": mirror, "commit": cache.resolve(spec, mirror)}


def grade(place: dict[str, Any], task: TaskSpec, tmp: Path, edit: Any) -> Any:
    tree = tmp / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    checkout(place["mirror"], place["commit"], tree)
    edit(tree)
    grader = Grader(place["backend"], place["mirror"], place["commit"], task.change, Limits())
    return asyncio.run(grader.grade(tree, tmp / "grade", "copy"))


@pytest.mark.slow
def test_every_gaming_attempt_fails(demo_place: dict[str, Any], tmp_path: Path) -> None:
    task = demo_change_tasks()["demo_change_001"]
    for name, edit in attempts(task.change).items():
        result, _ = grade(demo_place, task, tmp_path, edit)
        assert not result.resolved and result.fail_to_pass_passed == 0, (name, result.note, result.tests[:3])
        if "conftest" in name or "test files" in name or ".pth" in name:
            assert result.files_reset, name  # put back, not merely unlucky


def test_the_defences_are_what_stops_gaming(demo_place: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the reset a conftest hook passes every test; without the guard so does patching pytest."""
    task = demo_change_tasks()["demo_change_001"]
    tries = attempts(task.change)
    hook = tries["a conftest hook that reports every test passed"]
    patched = tries["monkeypatching pytest internals"]
    with monkeypatch.context() as m:
        m.setattr(hidden_tests, "protected", lambda path, hidden: False)
        assert grade(demo_place, task, tmp_path, hook)[0].resolved
    with monkeypatch.context() as m:
        m.setattr(junit, "read_guard", lambda data: (json.loads(data)["outcomes"], None))
        assert grade(demo_place, task, tmp_path, patched)[0].resolved
    result, patch = grade(demo_place, task, tmp_path, patched)
    assert not result.resolved and "Function.runtest" in (result.note or "") and b"runtest" in patch


def test_gold_patch_result_records_every_test_and_the_patch(demo_place: dict[str, Any], tmp_path: Path) -> None:
    import subprocess

    task = demo_change_tasks()["demo_change_002"]
    gold = (task.change.gold_patch.diff or "").encode()
    result, patch = grade(demo_place, task, tmp_path,
                          lambda tree: subprocess.run(["git", "apply", "-"], cwd=tree, input=gold, check=True))
    assert result.resolved and result.note is None, result
    assert result.files_touched == ["tinytrain/hooks/checkpoint.py"] and result.files_reset == []
    assert (result.lines_added, result.lines_removed) == (5, 0) and result.patch_bytes == len(patch)
    assert {t.nodeid for t in result.tests} == set(task.change.fail_to_pass) | set(task.change.pass_to_pass)
    assert b"def after_run" in patch


# --- end to end -----------------------------------------------------------------------------------
def run_l2(tmp_path: Path, model: str, env: dict[str, str] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    proc = run_cli("evaluator.run", *L2_ARGS, "--model", model, "--cache-dir", str(tmp_path / "cache"),
                   "--sandbox", sandbox_flag(), "--quiet", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return only_run_dir(tmp_path / "runs")


@pytest.mark.slow
def test_oracle_resolves_every_demo_change_task_and_nop_none(tmp_path: Path) -> None:
    run = run_l2(tmp_path / "oracle", "builtin/oracle")
    results = load_results(run, "demo")
    assert len(results) >= 8 and all(r["success"] and r["score"] == 100 for r in results.values()), \
        {k: (r["failure_reason"], r["change"]["note"]) for k, r in results.items()}
    made = "overlay" if getattr(get_backend(sandbox_flag()), "overlay_workspace", lambda: False)() else "copy"
    for task_id, r in results.items():
        assert r["kind"] == "change" and r["change"]["workspace"] == made
        patch = (run / "artifacts" / "demo" / task_id / "patch.diff").read_text()
        assert patch.startswith("diff --git") and r["change"]["patch_bytes"] == len(patch.encode())
    lines = [json.loads(x)["message"] for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]
    assert sum(m["role"] == "harness" and m["content"].startswith("diff --git") for m in lines) == len(results)
    nop = load_results(run_l2(tmp_path / "nop", "builtin/nop"), "demo")
    assert len(nop) == len(results) and not any(r["success"] for r in nop.values())
    assert {r["failure_reason"] for r in nop.values()} == {"no_change"} and all(r["score"] == 0 for r in nop.values())
    assert {r["change"]["workspace"] for r in nop.values()} == {made}


@pytest.mark.slow
def test_validate_proves_a_demo_change_task(tmp_path: Path) -> None:
    proc = run_cli("evaluator.validate", *L2_ARGS, "--tasks", "demo_change_005", "--cache-dir", str(tmp_path / "cache"),
                   "--sandbox", sandbox_flag(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   demo/demo_change_005" in proc.stdout and "1/1 tasks valid" in proc.stdout


@pytest.mark.slow
def test_validate_rejects_a_gold_patch_that_does_not_fix(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks" / "l2" / "demo"
    shutil.copytree(ROOT / "tasks" / "l2" / "demo", tasks)
    shutil.copy(tasks / "demo_change_008.diff", tasks / "demo_change_001.diff")  # fixes another bug
    proc = run_cli("evaluator.validate", *L2_ARGS, "--tasks", "demo_change_001", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(), timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gold patch run 1 does not resolve" in proc.stdout and "0/1 tasks valid" in proc.stdout


# --- reports --------------------------------------------------------------------------------------
def fake_trial(task_id: str, kind: str, success: bool, **change: Any) -> Any:
    from evaluator.results.change_records import ChangeResult
    from evaluator.results.records import Metrics, TaskResult

    block = ChangeResult(workspace="copy", **change) if kind == "change" else None
    return TaskResult(task_id=task_id, repo_id="demo", model="m", kind=kind, success=success, score=100.0 * success,
                      stop_reason="completed", metrics=Metrics(), output_checks=[], change=block,
                      failure_reason=None if success else ("tests_failed" if kind == "change" else "wrong_answer"))


def test_report_keeps_l1_and_l2_apart_and_has_an_l2_section() -> None:
    from evaluator.reporting.report import render
    from evaluator.results.records import RunMeta

    trials = [fake_trial("a1", "answer", True), fake_trial("a2", "answer", True),
              fake_trial("c1", "change", True, patch_bytes=100, lines_added=3, fail_to_pass_passed=2, fail_to_pass_total=2,
                         pass_to_pass_passed=5, pass_to_pass_total=5, resolved=True, files_touched=["x.py"]),
              fake_trial("c2", "change", False, patch_bytes=300, lines_added=9, lines_removed=1, fail_to_pass_passed=1,
                         fail_to_pass_total=4, pass_to_pass_passed=4, pass_to_pass_total=5, files_touched=["x.py", "y.py"],
                         files_reset=["tests/conftest.py"])]
    meta = RunMeta(run_id="r", model="m", started_at="2026-01-01T00:00:00+00:00", config={}, task_set="l2",
                   sandbox="bwrap", sandbox_isolated=True, policy="enforce")
    text = render(meta, trials)
    assert "| L1 answer | 2 | 100.0% |" in text and "| L2 change | 2 | 50.0% |" in text
    l2 = text.split("### L2: change tasks", 1)[1].split("###", 1)[0]
    assert "| 2 | 2 | 50.0% |" in l2 and "| 50.0% | 90.0% |" in l2  # F2P 3/6, P2P 9/10
    assert "median 200.0 bytes" in l2 and "median 6.5 lines" in l2 and "put back in 1 trials" in l2


UNPRIVILEGED_GRADE = """
import asyncio, json, subprocess, sys
from pathlib import Path
from evaluator.sandbox import get_backend
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.catalog import load_repos, load_tasks
from evaluator.tasks.clone_cache import RepoCache, checkout
from evaluator.tasks.gaming import attempts
from evaluator.tasks.specs import Limits
import os
base, root = Path(sys.argv[1]), Path(sys.argv[2])
backend = get_backend("bwrap")
backend.preflight()
cache = RepoCache(base / "cache")
spec = load_repos(root / "repos")["demo"]
mirror = cache.mirror(spec)
commit = cache.resolve(spec, mirror)
task = next(t for t, _ in load_tasks(root / "tasks", task_set="l2", repos=["demo"], pattern="demo_change_002"))
grader = Grader(backend, mirror, commit, task.change, Limits())
out = {"uid": os.geteuid()}
edits = {"gold": lambda tree: subprocess.run(["git", "apply", "-"], cwd=tree, input=task.change.gold_patch.diff.encode(), check=True),
         "hook": attempts(task.change)["a conftest hook that reports every test passed"]}
for name, edit in edits.items():
    tree = base / name
    checkout(mirror, commit, tree)
    edit(tree)
    result, _ = asyncio.run(grader.grade(tree, base / f"grade-{name}", "copy"))
    out[name] = [result.resolved, result.fail_to_pass_passed, result.pass_to_pass_passed, result.files_reset, result.note]
print(json.dumps(out))
"""


def test_grading_as_an_unprivileged_evaluator() -> None:
    """The evaluator as uid 65534 (bwrap in a user namespace): gold resolves, a conftest hook does not."""
    from test_sandbox_redteam_unit import as_nobody

    done, base = as_nobody(UNPRIVILEGED_GRADE, str(ROOT), path=(hidden_tests.test_site(),), timeout=300)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["uid"] == 65534
        assert out["gold"][:3] == [True, 2, 28], out
        assert out["hook"][0] is False and out["hook"][1] == 0 and out["hook"][3] == ["conftest.py"], out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_binary_changes_survive_and_odd_working_copies_fail_cleanly(demo_place: dict[str, Any], tmp_path: Path) -> None:
    """A binary file rides along in the patch; an oversized or unreadable change is a failed task, not a crash."""
    import subprocess

    task = demo_change_tasks()["demo_change_002"]
    gold = (task.change.gold_patch.diff or "").encode()

    def gold_and_binary(tree: Path) -> None:
        subprocess.run(["git", "apply", "-"], cwd=tree, input=gold, check=True)
        (tree / "tinytrain" / "weights.bin").write_bytes(bytes(range(256)) * 4)
        Path(os.fsdecode(bytes(tree / "tests") + b"/test_\xff.py")).write_text("def test_x():\n    assert 0\n")

    result, patch = grade(demo_place, task, tmp_path, gold_and_binary)
    assert result.resolved and b"GIT binary patch" in patch and "tinytrain/weights.bin" in result.files_touched
    assert result.files_reset == ["tests/test_\ufffd.py"]  # not UTF-8, still put back
    json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")  # storable as results
    huge, _ = grade(demo_place, task, tmp_path, lambda tree: (tree / "blob.txt").write_text("x\n" * 3_000_000))
    assert not huge.resolved and "larger than" in (huge.note or "") and huge.fail_to_pass_total == 2

    def unreadable(tree: Path) -> None:
        secret = tree / "tinytrain" / "locked.py"
        secret.write_text("x = 1\n")
        secret.chmod(0)

    locked, _ = grade(demo_place, task, tmp_path, unreadable)
    assert not locked.resolved and locked.note and locked.fail_to_pass_passed == 0
