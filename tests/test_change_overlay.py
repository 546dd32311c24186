"""The overlay working copy of change tasks (issue 17 item 2): chosen where the host can mount it,
a copy otherwise (or when AGENTGYM_WORKSPACE=copy), recorded truthfully, graded through the same
overlay, and read back on the host only through the safe readback."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, load_results, run_cli, sandbox_flag
from evaluator.config.settings import Selection
from evaluator.execution.change_trial import prepare_change
from evaluator.readback import host_reads
from evaluator.sandbox import get_backend
from evaluator.sandbox import overlay as ovl
from evaluator.sandbox.base import Overlay
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.gaming import attempts
from evaluator.tasks.plan import Job, build_plan
from evaluator.tasks.specs import Limits, ReadLimits
from evaluator.tasks.validation import WEIGHTS_FILE

L2_ARGS = ["--repos", "demo", "--task-set", "l2"]


def overlay_backend() -> Any:
    """The bwrap backend when it mounts overlay working copies here (root); skip, or fail under CI=true as root."""
    backend = get_backend(sandbox_flag())
    if not getattr(backend, "overlay_workspace", lambda: False)():
        why = ovl.unavailable() if sandbox_flag() == "bwrap" else "the local backend has no overlay"
        (pytest.fail if os.environ.get("CI") == "true" and os.geteuid() == 0 else pytest.skip)(f"no overlay: {why}")
    return backend


def demo_jobs(tmp: Path) -> dict[str, Job]:
    plan = build_plan(Selection(repos=["demo"], task_set="l2", tasks_dir=ROOT / "tasks", repos_config=ROOT / "repos",
                                cache_dir=tmp / "cache"), epochs=1, prompt_version="v1", weights=WEIGHTS_FILE)
    return {j.task.id: j for j in plan.jobs}


def test_a_bad_workspace_choice_is_a_usage_error_in_one_sentence(tmp_path: Path) -> None:
    proc = run_cli("evaluator.run", *L2_ARGS, "--model", "builtin/nop", "--cache-dir", str(tmp_path / "cache"),
                   "--sandbox", sandbox_flag(), "--quiet", cwd=tmp_path, env={"AGENTGYM_WORKSPACE": "sometimes"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "AGENTGYM_WORKSPACE must be `auto`, `copy` or `overlay`, not 'sometimes'." in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_forcing_the_copy_still_resolves_and_records_copy(tmp_path: Path) -> None:
    from test_change_tasks import run_l2

    overlay_backend()  # else `auto` gives a copy too, and this would prove nothing
    results = load_results(run_l2(tmp_path, "builtin/oracle", env={"AGENTGYM_WORKSPACE": "copy"}), "demo")
    assert len(results) >= 8 and all(r["success"] for r in results.values()), results
    assert {r["change"]["workspace"] for r in results.values()} == {"copy"}


def mounted(backend: Any, job: Job, work: Path) -> tuple[Path, Overlay]:
    """The task's overlay as prepare_change makes it, mounted at the working copy's host path."""
    paths, made, _ = prepare_change(job, work, job.mirror.parent.parent)
    assert made == "overlay" and paths.overlay is not None
    ovl.mount(paths.overlay, paths.work_root)
    return paths.work_root, paths.overlay


@pytest.mark.slow
def test_gaming_attempts_fail_and_gold_resolves_through_an_overlay(tmp_path: Path) -> None:
    """Each edit is made in the merged view; the grader (a fresh sandbox mounting the same overlay) sees it."""
    backend = overlay_backend()
    job = demo_jobs(tmp_path)["demo_change_001"]
    gold = (job.task.change.gold_patch.diff or "").encode()
    edits = {"gold": lambda tree: subprocess.run(["git", "apply", "-"], cwd=tree, input=gold, check=True),
             **attempts(job.task.change)}
    for i, (name, edit) in enumerate(edits.items()):
        tree, overlay = mounted(backend, job, tmp_path / f"w{i}")
        try:
            edit(tree)
        finally:
            ovl.unmount(tree)
        grader = Grader(backend, job.mirror, job.commit, job.task.change, Limits())
        result, patch = asyncio.run(grader.grade(tree, tmp_path / f"g{i}", "overlay", overlay=overlay))
        assert result.workspace == "overlay" and not os.path.ismount(tree)
        if name == "gold":
            assert result.resolved and patch.strip() and result.files_touched, (result.note, result.tests[:3])
        else:
            assert not result.resolved and result.fail_to_pass_passed == 0, (name, result.note)
    assert (job.mirror.parent.parent / "overlay").stat().st_mode & 0o777 == 0o700


HOSTILE = ("mkdir -p eval_artifacts && echo kept > eval_artifacts/note.txt && mkfifo eval_artifacts/fifo && "
           "ln -s /etc/shadow eval_artifacts/shadow && head -c 3000000 /dev/zero > eval_artifacts/big && "
           "ln -s /etc eval_artifacts/etc && rm README.md && chmod 000 eval_artifacts/note.txt; echo done")


@pytest.mark.parametrize("mode", ["resident", "per-command"])
def test_what_a_model_leaves_in_the_upper_dir_is_read_safely(tmp_path: Path, mode: str) -> None:
    """A FIFO, links out of the workspace, a big file and a deletion (a whiteout) in the upper dir:
    the host copies only the small regular file, blocks on nothing, and the layers stay as they were
    (in both bwrap modes: one sandbox per task, or one per command)."""
    backend = type(overlay_backend())(mode)
    job = demo_jobs(tmp_path)["demo_change_002"]
    paths, made, env = prepare_change(job, tmp_path / "work", tmp_path / "cache")
    assert made == "overlay" and paths.overlay is not None
    box = backend.open(paths, limits=Limits(), env=env)

    async def go() -> Any:
        try:
            return await box.exec(HOSTILE, cwd=box.root, timeout_s=60)
        finally:
            await box.close()

    done = asyncio.run(go())
    assert done.stdout.strip() == "done", done.stderr
    upper = paths.overlay.upper
    assert not os.path.ismount(paths.work_root) and not any(paths.work_root.iterdir())
    whiteout = os.lstat(upper / "README.md")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0  # the deletion, as overlayfs records it
    assert (paths.overlay.lowers[-1] / "README.md").is_file()  # the shared layer is untouched
    copied = host_reads.copy_artifacts(upper, "eval_artifacts", tmp_path / "out", ReadLimits(), lambda s: s)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["note.txt"]
    assert (tmp_path / "out" / "note.txt").read_text() == "kept\n"
    left = {a.path: a.reason for a in copied.left_out}
    assert set(left) == {"fifo", "shadow", "big", "etc"}, left
    whole = host_reads.copy_artifacts(upper.parent, upper.name, tmp_path / "all", ReadLimits(), lambda s: s)
    assert "not a regular file" in {a.path: a.reason for a in whole.left_out}["README.md"]
    assert (tmp_path / "all" / "eval_artifacts" / "note.txt").exists() and not (tmp_path / "all" / "README.md").exists()
    ovl.remove_tree(tmp_path / "work")
    assert not (tmp_path / "work").exists()


UNPRIVILEGED_RUN = """
import json, os, subprocess, sys
from pathlib import Path
base, root = Path(sys.argv[1]), sys.argv[2]
(base / "bin").mkdir()  # /usr/bin without fuse-overlayfs and fusermount3
for tool in os.listdir("/usr/bin"):
    if tool not in ("fuse-overlayfs", "fusermount3"):
        (base / "bin" / tool).symlink_to(Path("/usr/bin", tool))
path = f"{os.path.dirname(sys.executable)}:{base}/bin"
def run(env):
    return subprocess.run([sys.executable, "-m", "evaluator.run", "--repos", "demo", "--task-set", "l2",
                           "--tasks", "demo_change_002", "--model", "builtin/oracle", "--cache-dir", str(base / "cache"),
                           "--repos-config", root + "/repos", "--tasks-dir", root + "/tasks",
                           "--sandbox", "bwrap", "--quiet"], cwd=base, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, **env})
auto = run({})
results = [json.loads(p.read_text()) for p in base.glob("runs/*/results/demo/demo_change_002.json")]
forced = run({"AGENTGYM_WORKSPACE": "overlay"})
print(json.dumps({"uid": os.geteuid(), "auto": [auto.returncode, auto.stderr[-2000:]],
                  "results": [[r["success"], r["change"]["workspace"]] for r in results],
                  "forced": [forced.returncode, forced.stderr.strip()]}))
"""


@pytest.mark.slow
def test_an_unprivileged_evaluator_without_fuse_overlayfs_falls_back_to_the_copy_and_says_so() -> None:
    """As uid 65534 (allowed to run setuid helpers) with fuse-overlayfs hidden from PATH, the host cannot
    mount an overlay the file tools see: `auto` gives a copy that resolves and is recorded as one;
    `overlay` asked for is refused at preflight in one sentence that names what to install."""
    from evaluator.scoring.hidden_tests import test_site
    from test_sandbox_redteam_unit import as_nobody

    done, base = as_nobody(UNPRIVILEGED_RUN, str(ROOT), path=(test_site(),), timeout=400, setuid=True)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["uid"] == 65534 and out["auto"][0] == 0, out
        assert out["results"] == [[True, "copy"]], out
        assert out["forced"][0] == 2 and out["forced"][1] == (
            "error: AGENTGYM_WORKSPACE=overlay, but fuse-overlayfs and fusermount3 are not on PATH (without root the "
            "overlay needs them: install fuse-overlayfs, e.g. `apt-get install fuse-overlayfs`); use `auto` or `copy`."
        ), out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_where_the_overlay_cannot_be_mounted_the_task_gets_a_copy_and_says_so(tmp_path: Path) -> None:
    """The run folder on an overlayfs (as in a container), or a `:` in its path: overlayfs refuses,
    so the task's working copy is a copy, recorded as one, and nothing stays mounted."""
    overlay_backend()
    jobs = demo_jobs(tmp_path)
    job = jobs["demo_change_002"]
    stacked = tmp_path / "stacked"
    for d in ("low", "up", "wk", "m"):
        (stacked / d).mkdir(parents=True)
    ovl.mount(Overlay(lowers=[stacked / "low"], upper=stacked / "up", work=stacked / "wk"), stacked / "m")
    try:
        for work in (stacked / "m" / "work", tmp_path / "odd:name" / "work"):
            paths, made, _ = prepare_change(job, work, tmp_path / "cache")
            assert made == "copy" and paths.overlay is None, work
            assert (paths.work_root / "README.md").is_file() and not os.path.ismount(paths.work_root)
            assert not (work / "upper").exists() and not (work / "ovl-work").exists()
    finally:
        ovl.unmount(stacked / "m")
    paths, made, _ = prepare_change(job, tmp_path / "plain" / "work", tmp_path / "cache")
    assert made == "overlay" and not os.path.ismount(paths.work_root)  # the same job, where it can be


UNPRIVILEGED_REMOVE = """
import os, sys
from pathlib import Path
from evaluator.sandbox.overlay import remove_tree
base = Path(sys.argv[1])
top = base / "ovl-work"
(top / "work" / "inner").mkdir(parents=True)
(top / "work" / "inner" / "f").write_text("x")
os.chmod(top / "work" / "inner", 0)
os.chmod(top / "work", 0)
remove_tree(top)
print(os.geteuid(), top.exists())
"""


def test_an_unprivileged_owner_removes_dirs_of_mode_000() -> None:
    """What overlayfs leaves in its work dir (dirs of mode 000) goes with the task as uid 65534 too."""
    from test_sandbox_redteam_unit import as_nobody

    done, base = as_nobody(UNPRIVILEGED_REMOVE)
    try:
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == ["65534", "False"], done.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_layer_is_built_once_and_only_its_own_killed_build_is_cleared(tmp_path: Path) -> None:
    from evaluator.tasks.overlay_layers import layers

    job = demo_jobs(tmp_path)["demo_change_002"]
    root = tmp_path / "cache" / "overlay"
    root.mkdir(parents=True)
    mine = root / f".build-demo-{job.commit}.killed"
    other = root / f".build-demo-{job.commit}-inj-0123456789abcdef.running"  # another layer's, under its own lock
    mine.mkdir()
    other.mkdir()
    [base] = layers(tmp_path / "cache", "demo", job.mirror, job.commit, {})
    assert base == root / f"demo-{job.commit}" and not mine.exists() and other.exists()
    assert root.stat().st_mode & 0o777 == 0o700  # the layers are world-writable: nobody else may enter
    assert (base / "README.md").stat().st_mode & 0o666 == 0o666 and (base / ".git").is_dir()
    inode = base.stat().st_ino
    assert layers(tmp_path / "cache", "demo", job.mirror, job.commit, {}) == [base] and base.stat().st_ino == inode
