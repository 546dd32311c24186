"""Bug injection (change tasks with `change.inject`): exact recipes, stale recipes, hidden history, and
`python -m evaluator.generate --kind change` end to end on the demo (validate, oracle, nop)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, load_results, only_run_dir, run_cli, sandbox_flag
from test_change_overlay import overlay_backend
from evaluator.config.settings import Selection
from evaluator.execution.change_trial import prepare_change
from evaluator.sandbox import get_backend
from evaluator.tasks.change_spec import Injection
from evaluator.tasks.injection import inject_source, read_at, source_hash, unified_diff
from evaluator.tasks.mutations import MutationError, Source, find_function, function_text
from evaluator.tasks.plan import build_plan
from evaluator.tasks.specs import Limits
from evaluator.tasks.validation import WEIGHTS_FILE

FIXTURE = '''"""Module doc."""
import os  # a comment


def clamp(values, low=0, high=10, strict=False):
    """Clamp each value.

    Returns a list.
    """
    out = []   # keep   this   spacing
    for i in range(0, len(values)):
        v = values[i]
        if v < low:
            v = low  # floor
        elif v > high:
            v = high
        out.append(max(v, low) if strict else v)
    scale = high - low  # width
    return out[0:len(out)]
'''
SHA = source_hash(function_text(Source(FIXTURE), find_function(Source(FIXTURE), "clamp")))
BODY_START = FIXTURE.index("    out = []")


def recipe(kind: str, occurrence: int = 0, sha: str = SHA, function: str = "clamp") -> Injection:
    return Injection(file="m.py", function=function, mutation=kind, occurrence=occurrence,  # type: ignore[arg-type]
                     source_sha256=sha)


def once(old: str, new: str) -> str:
    assert FIXTURE.count(old) == 1, old
    return FIXTURE.replace(old, new)


@pytest.mark.parametrize(("kind", "occurrence", "expected"), [
    ("compare_op", 0, once("if v < low:", "if v <= low:")),
    ("compare_op", 1, once("elif v > high:", "elif v >= high:")),
    ("arith_op", 0, once("high - low", "high + low")),
    ("off_by_one", 0, once("range(0, len", "range(1, len")),
    ("off_by_one", 1, once("out[0:len", "out[1:len")),
    ("drop_branch", 0, once("            v = low  # floor\n", "            pass\n")),
    ("drop_branch", 1, once("        elif v > high:\n            v = high\n", "")),
    ("swap_args", 0, once("range(0, len(values))", "range(len(values), 0)")),
    ("swap_args", 1, once("max(v, low)", "max(low, v)")),
    ("wrong_default", 0, once("low=0,", "low=1,")),
    ("wrong_default", 2, once("strict=False", "strict=True")),
    ("remove_body", 0, FIXTURE[:BODY_START] + "    raise NotImplementedError\n"),
])
def test_a_recipe_changes_only_its_tokens(kind: str, occurrence: int, expected: str) -> None:
    """Comments, spacing and every other line stay byte for byte; the gold patch undoes it exactly."""
    out = inject_source(FIXTURE, recipe(kind, occurrence))
    assert out == expected
    tree = Path(__import__("tempfile").mkdtemp(prefix="agentgym-inj-"))
    try:
        subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
        (tree / "m.py").write_text(out)
        subprocess.run(["git", "apply", "-"], cwd=tree, input=unified_diff("m.py", out, FIXTURE).encode(), check=True)
        assert (tree / "m.py").read_text() == FIXTURE
    finally:
        shutil.rmtree(tree)


@pytest.mark.parametrize(("inj", "needle"), [
    (recipe("compare_op", sha="0" * 16), "stale recipe"),
    (recipe("compare_op", occurrence=7), "no compare_op candidate #7 (the function has 2)"),
    (recipe("compare_op", function="clamp2"), "no function 'clamp2'"),
])
def test_a_stale_recipe_fails_clearly(inj: Injection, needle: str) -> None:
    with pytest.raises(MutationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        inject_source(FIXTURE, inj)
    edited = FIXTURE.replace("v = low  # floor", "v = low + 0  # floor")  # the function changed upstream
    with pytest.raises(MutationError, match="stale recipe"):
        inject_source(edited, recipe("compare_op"))


# --- on the demo repository -----------------------------------------------------------------------
def write_injected(tasks: Path, cache: Path, **over: Any) -> None:
    """One injected demo task (TopKAccuracy's `in` test flipped) with its recipe made from the source."""
    from evaluator.tasks.catalog import load_repos
    from evaluator.tasks.clone_cache import RepoCache

    spec = load_repos(ROOT / "repos")["demo"]
    rc = RepoCache(cache)
    mirror = rc.mirror(spec)
    src = Source(read_at(mirror, rc.resolve(spec, mirror), "tinytrain/metrics/accuracy.py"))
    sha = source_hash(function_text(src, find_function(src, "TopKAccuracy.compute")))[:16]
    inject = {"file": "tinytrain/metrics/accuracy.py", "function": "TopKAccuracy.compute", "mutation": "compare_op",
              "occurrence": 0, "source_sha256": sha, **over}
    task = {"id": "inj_1", "repo": "demo", "kind": "change", "instruction": "Tests fail; fix the cause.",
            "change": {"inject": inject, "fail_to_pass": ["tests/test_classification_metrics.py::test_f1_perfect"]}}
    (tasks / "l2" / "demo").mkdir(parents=True, exist_ok=True)
    (tasks / "l2" / "demo" / "inj_1.yaml").write_text(yaml.safe_dump(task))


@pytest.mark.parametrize(("over", "needle"), [
    ({"source_sha256": "abcdef0123456789"}, "stale recipe"),
    ({"occurrence": 9}, "no compare_op candidate #9"),
    ({"file": "tests/test_build_registry.py"}, "is a test or test-configuration file"),
])
def test_validate_refuses_a_recipe_that_does_not_apply_in_one_sentence(tmp_path: Path, over: dict[str, Any],
                                                                       needle: str) -> None:
    write_injected(tmp_path / "tasks", tmp_path / "cache", **over)
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", "local")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "inj_1.yaml: field `change.inject`" in proc.stderr and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_task_with_both_a_recipe_and_a_gold_patch_is_refused(tmp_path: Path) -> None:
    write_injected(tmp_path / "tasks", tmp_path / "cache")
    path = tmp_path / "tasks" / "l2" / "demo" / "inj_1.yaml"
    data = yaml.safe_load(path.read_text())
    data["change"]["gold_patch"] = {"diff": "diff --git a/x b/x\n"}
    path.write_text(yaml.safe_dump(data))
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", "local")
    assert proc.returncode == 2 and "leave out `gold_patch`" in proc.stderr, proc.stderr


@pytest.mark.parametrize("workspace", ["copy", "overlay"])
def test_the_workspace_git_shows_no_trace_of_the_original(tmp_path: Path, workspace: str) -> None:
    """In the sandbox: clean status, one commit, the bug in HEAD, the original blob nowhere, no mirror;
    for the overlay also with the pristine checkout's own (mirror-linked) .git under it."""
    write_injected(tmp_path / "tasks", tmp_path / "cache")
    plan = build_plan(Selection(repos=["demo"], task_set="l2", tasks_dir=tmp_path / "tasks",
                                repos_config=ROOT / "repos", cache_dir=tmp_path / "cache"),
                      epochs=1, prompt_version="v1", weights=WEIGHTS_FILE)
    job = plan.jobs[0]
    rel = "tinytrain/metrics/accuracy.py"
    original = read_at(job.mirror, job.commit, rel)
    assert job.injected[rel] != original and "not in" in job.injected[rel]
    backend = overlay_backend() if workspace == "overlay" else get_backend(sandbox_flag())
    layers = tmp_path / "cache" if workspace == "overlay" else None
    paths, made, env = prepare_change(job, tmp_path / "work", layers)
    assert made == workspace and job.mirror not in paths.ro_binds
    original_blob = subprocess.run(["git", "hash-object", "--stdin"], input=original.encode(), capture_output=True,
                                   check=True).stdout.decode().strip()
    box = backend.open(paths, limits=Limits(), env=env)
    script = ("git status --porcelain; echo ===; git rev-list --all --count; echo ===; git log --all -p; echo ===; "
              "git diff HEAD; echo ===; git cat-file --batch-all-objects --batch-check='%(objectname)'; echo ===; "
              f"ls .git/objects/info; git --git-dir={job.mirror} log -1 >/dev/null 2>&1 || echo no-mirror; echo ===; "
              f"git fsck --no-dangling 2>&1; echo ===; echo '# edit' >> {rel}; git diff --stat")

    async def go() -> Any:
        try:
            return await box.exec(script, cwd=box.root, timeout_s=60)
        finally:
            await box.close()

    done = asyncio.run(go())
    status, commits, log, diff, objects, rest, fsck, edited = done.stdout.split("===\n")
    assert fsck == "" and f"{rel} | 1 +" in edited  # a complete repository; the model's own edit shows
    assert status == "" and commits.strip() == "1" and diff == "", done.stdout[:2000]
    changed = [line for line in original.splitlines() if line not in job.injected[rel].splitlines()]
    assert changed and not any(line in log for line in changed)  # the bug's line only as injected
    assert [line for line in job.injected[rel].splitlines() if line not in original.splitlines()][0] in log
    assert original_blob not in objects.split() and "alternates" not in rest
    if sandbox_flag() == "bwrap":
        assert "no-mirror" in rest  # the mirror, which holds the original, is not mounted


def test_generate_change_refuses_bad_input_in_one_sentence(tmp_path: Path) -> None:
    proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--tests", "no/such/dir",
                   "--sandbox", "local", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "no test files (test_*.py, *_test.py) under no/such/dir" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


# --- generate -> validate -> run ------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("gen")
    outs = []
    for n in (1, 2):  # twice with the same seed: the same files
        out = base / f"tasks{n}" / "l2" / "demo"
        proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--max-tasks", "3", "--seed", "0",
                       "--sandbox", sandbox_flag(), "--cache-dir", str(base / "cache"), "--out", str(out), timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outs.append(out)
    return {"base": base, "tasks": base / "tasks1", "out": outs[0], "again": outs[1], "stdout": proc.stdout}


@pytest.mark.slow
def test_generate_writes_recipes_of_different_kinds_and_no_source(generated: dict[str, Any]) -> None:
    files = sorted(generated["out"].glob("demo_inj_*.yaml"))
    assert len(files) == 3
    assert [f.read_bytes() for f in files] == [generated["again"].joinpath(f.name).read_bytes() for f in files]
    tasks = [yaml.safe_load(f.read_text()) for f in files]
    assert len({t["change"]["inject"]["mutation"] for t in tasks}) == 3
    for t in tasks:
        change, inj = t["change"], t["change"]["inject"]
        assert change["fail_to_pass"] and change["pass_to_pass"] and "gold_patch" not in change
        assert not set(change["fail_to_pass"]) & set(change["pass_to_pass"])
        assert inj["mutation"] not in t["instruction"] and inj["mutation"] not in t["id"]
        source = (ROOT / "repos" / "_demo_src" / inj["file"]).read_text()
        code = {l.strip() for l in source.splitlines() if len(l.strip()) > 12 and not l.strip().startswith("#")}
        text = yaml.safe_dump(t)
        assert not [l for l in code if l in text]  # a recipe, not the repository's code


@pytest.mark.slow
def test_generated_tasks_validate(generated: dict[str, Any]) -> None:
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(generated["tasks"]),
                   "--cache-dir", str(generated["base"] / "cache"), "--sandbox", sandbox_flag(), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3/3 tasks valid" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", [sandbox_flag(), "local"])
def test_oracle_resolves_generated_tasks_and_nop_fails_them(generated: dict[str, Any], tmp_path: Path, sandbox: str) -> None:
    runs = {}
    for model in ("builtin/oracle", "builtin/nop"):
        where = tmp_path / model.split("/")[1]
        where.mkdir()
        proc = run_cli("evaluator.run", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(generated["tasks"]),
                       "--model", model, "--cache-dir", str(generated["base"] / "cache"), "--sandbox", sandbox,
                       "--quiet", cwd=where)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs[model] = only_run_dir(where / "runs")
    oracle, nop = (load_results(runs[m], "demo") for m in ("builtin/oracle", "builtin/nop"))
    assert len(oracle) == 3 and all(r["success"] for r in oracle.values()), oracle
    assert len(nop) == 3 and not any(r["success"] for r in nop.values())
    for task_id, r in oracle.items():  # had the patch been taken against the pinned commit it would be empty
        task = yaml.safe_load((generated["out"] / f"{task_id}.yaml").read_text())
        assert r["change"]["files_touched"] == [task["change"]["inject"]["file"]] and r["change"]["patch_bytes"] > 0
        patch = (runs["builtin/oracle"] / "artifacts" / "demo" / task_id / "patch.diff").read_text()
        assert patch.startswith("diff --git")
    assert {r["failure_reason"] for r in nop.values()} == {"no_change"}
