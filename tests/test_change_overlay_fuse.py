"""The overlay working copy for an unprivileged evaluator (issue 17 item 2): fuse-overlayfs mounted by
uid 65534, seen by the file tools on the host and by bwrap's user-namespace sandbox alike, graded
through, read back safely, swept after a kill; without fuse-overlayfs, the copy (and `overlay`
refused in one sentence).

The evaluator runs as uid 65534 in a mount namespace made by unshare(1) (as_nobody(setuid=True)):
bwrap's no_new_privs would keep the setuid fusermount3 from mounting. Without fuse-overlayfs these
tests skip, but fail under CI=true (tools/install.sh installs it)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from test_change_overlay import HOSTILE
from test_sandbox_redteam_unit import IN_CI, as_nobody

PRELUDE = """
import asyncio, json, os, stat, subprocess, sys
from pathlib import Path
from evaluator.config.settings import Selection
from evaluator.sandbox import fuse_overlay, overlay as ovl
from evaluator.tasks.plan import build_plan
from evaluator.tasks.validation import WEIGHTS_FILE
base, root = Path(sys.argv[1]), Path(sys.argv[2])
out = {"uid": os.geteuid(), "unavailable": ovl.unavailable()}
if out["unavailable"]:
    print(json.dumps(out)); sys.exit(0)
def jobs(tasks_dir):
    plan = build_plan(Selection(repos=["demo"], task_set="l2", tasks_dir=tasks_dir, repos_config=root / "repos",
                                cache_dir=base / "cache"), epochs=1, prompt_version="v1", weights=WEIGHTS_FILE)
    return {j.task.id: j for j in plan.jobs}
def ours():
    return sorted(p for p in fuse_overlay.mount_points() if p.startswith(str(base)))
"""

SANDBOXES = PRELUDE + """
from evaluator.execution.change_trial import prepare_change
from evaluator.readback import host_reads
from evaluator.sandbox.bwrap_backend import BwrapBackend
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.specs import Limits, ReadLimits
hostile, git_script = sys.argv[3], sys.argv[4]
def run(backend, paths, env, script):
    box = backend.open(paths, limits=Limits(), env=env)
    async def go():
        try:
            return await box.exec(script, cwd=box.root, timeout_s=120)
        finally:
            await box.close()
    return asyncio.run(go())
demo = jobs(root / "tasks")
for mode in ("resident", "per-command"):  # the sandbox reads (README) and writes (HOSTILE) through the mount
    backend = BwrapBackend(mode)
    backend.preflight()
    paths, made, env = prepare_change(demo["demo_change_002"], base / f"w-{mode}", base / "cache")
    done = run(backend, paths, env, "id -u; head -1 README.md; " + hostile + "; grep ' /workspace ' /proc/self/mountinfo")
    up, low = paths.overlay.upper, paths.overlay.lowers[-1]
    wo = os.lstat(up / "README.md")
    copied = host_reads.copy_artifacts(up, "eval_artifacts", base / f"out-{mode}", ReadLimits(), lambda s: s,
                                       skip=fuse_overlay.own_marker)  # as change_trial reads it back
    out[mode] = {"made": made, "stdout": done.stdout, "stderr": done.stderr[-1000:], "ours": ours(),
                 "empty": not any(paths.work_root.iterdir()), "whiteout": [stat.S_ISCHR(wo.st_mode), wo.st_rdev],
                 "lower": [(low / "README.md").is_file(), oct((low / "README.md").stat().st_mode & 0o777)],
                 "copied": sorted(os.listdir(base / f"out-{mode}")) if (base / f"out-{mode}").exists() else [],
                 "left": {a.path: a.reason for a in copied.left_out},
                 "markers": sorted(n for n in os.listdir(up / "eval_artifacts") if n.startswith(".wh."))}
    ovl.remove_tree(base / f"w-{mode}")
job = demo["demo_change_001"]  # the gold patch applied in the sandbox, graded through a fresh mount
paths, made, env = prepare_change(job, base / "gold", base / "cache")
(paths.tmp_dir / "gold.diff").write_text(job.task.change.gold_patch.diff)
applied = run(backend, paths, env, "git apply /tmp/gold.diff && git status --porcelain")
grader = Grader(backend, job.mirror, job.commit, job.task.change, Limits())
result, patch = asyncio.run(grader.grade(paths.work_root, base / "grade", made, overlay=paths.overlay))
out["gold"] = {"made": made, "applied": applied.stdout, "resolved": result.resolved, "workspace": result.workspace,
               "touched": result.files_touched, "note": result.note, "ours": ours()}
inj = jobs(base / "tasks")["inj_1"]  # the injected layer's .git hides the checkout's below it
rel = "tinytrain/metrics/accuracy.py"
paths, made, env = prepare_change(inj, base / "inj", base / "cache")
done = run(backend, paths, env, git_script.replace("REL", rel).replace("MIRROR", str(inj.mirror)))
original = subprocess.run(["git", "--git-dir", str(inj.mirror), "show", f"{inj.commit}:{rel}"], capture_output=True,
                          text=True, check=True).stdout
out["inj"] = {"made": made, "stdout": done.stdout, "stderr": done.stderr[-1000:], "original": original,
              "injected": inj.injected[rel], "mirror_bound": inj.mirror in paths.ro_binds,
              "blob": subprocess.run(["git", "hash-object", "--stdin"], input=original, capture_output=True, text=True,
                                     check=True).stdout.strip()}
layers = base / "cache" / ovl.layers_folder()
out["layers"] = [layers.name, oct(layers.stat().st_mode & 0o777), (base / "cache" / "overlay").exists()]
out["ours"] = ours()
print(json.dumps(out))
"""

GIT_SCRIPT = ("git status --porcelain; echo ===; git rev-list --all --count; echo ===; git log --all -p; echo ===; "
              "git cat-file --batch-all-objects --batch-check='%(objectname)'; echo ===; ls -a .git; "
              "git --git-dir=MIRROR log -1 >/dev/null 2>&1 || echo no-mirror; echo ===; "
              "git fsck --no-dangling 2>&1; echo ===; echo '# edit' >> REL; git diff --stat")


def need_fuse(out: dict[str, Any]) -> None:
    """The evaluator found fuse-overlayfs usable (else skip, or fail under CI=true)."""
    assert out["uid"] == 65534, out
    if out["unavailable"]:
        (pytest.fail if IN_CI else pytest.skip)(f"no fuse-overlayfs overlay here: {out['unavailable']}")


def injected_task(base: Path) -> None:
    from test_injection import write_injected

    write_injected(base / "tasks", base / "cache")  # as root, before as_nobody hands `base` to uid 65534


def test_an_unprivileged_evaluator_works_through_fuse_overlayfs() -> None:
    """As uid 65534: the bwrap sandbox (its own user namespace) reads and writes through the FUSE mount in
    both modes; the hostile upper dir is read back safely; the gold patch applied in the sandbox resolves
    through the grader's own mount; an injected bug's .git shows no trace of the original; the layers
    keep the evaluator's modes in a 0700 folder of their own; nothing stays mounted."""
    from evaluator.scoring.hidden_tests import test_site

    done, base = as_nobody(SANDBOXES, str(ROOT), HOSTILE, GIT_SCRIPT, path=(test_site(),), prepare=injected_task,
                           timeout=600, setuid=True)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        need_fuse(out)
        for mode in ("resident", "per-command"):
            r = out[mode]
            uid, readme, done, mountinfo = r["stdout"].splitlines()
            assert r["made"] == "overlay" and uid == "65534" and readme.startswith("#") and done == "done", r
            # what the sandbox sees of the mount: fuse-overlayfs, no host path of a layer or the upper dir
            assert " - fuse.fuse-overlayfs " in mountinfo and "agentgym-unpriv" not in mountinfo, mountinfo
            assert r["ours"] == [] and r["empty"], r  # unmounted at close; the mount point is an empty dir again
            assert r["whiteout"] == [True, 0], r  # fuse-overlayfs records a deletion as overlayfs does
            assert r["lower"] == [True, "0o644"], r  # the shared layer: untouched, and not opened up
            # note.txt is mode 000 (the model's chmod): its non-root owner cannot read it, so it is left out too
            assert r["copied"] == [] and set(r["left"]) == {"note.txt", "fifo", "shadow", "big", "etc"}, r
            assert r["markers"] == [".wh..opq", ".wh..wh..opq"], r  # fuse-overlayfs's own, not listed as left out
        gold = out["gold"]
        assert gold["made"] == "overlay" and gold["workspace"] == "overlay" and gold["resolved"], gold
        assert gold["applied"].strip() and gold["touched"] and gold["ours"] == [], gold
        inj = out["inj"]
        assert inj["made"] == "overlay" and not inj["mirror_bound"], inj
        status, commits, log, objects, rest, fsck, edited = inj["stdout"].split("===\n")
        assert status == "" and commits.strip() == "1" and fsck == "", inj["stdout"][:2000]
        assert "tinytrain/metrics/accuracy.py | 1 +" in edited, edited
        changed = [line for line in inj["original"].splitlines() if line not in inj["injected"].splitlines()]
        assert changed and not any(line in log for line in changed)
        assert inj["blob"] not in objects.split() and "no-mirror" in rest and ".wh..wh..opq" not in rest, rest
        assert out["layers"] == ["overlay-fuse", "0o700", False] and out["ours"] == [], out
    finally:
        shutil.rmtree(base, ignore_errors=True)


SWEEP = PRELUDE + """
import signal, time
from evaluator.sandbox.base import Overlay
from evaluator.sandbox.ceilings import sweep_mounts
MOUNT = '''
import sys, time
from pathlib import Path
from evaluator.sandbox import overlay as ovl
from evaluator.sandbox.base import Overlay
t = Path(sys.argv[1])
ovl.mount(Overlay(lowers=[t / "low"], upper=t / "up", work=t / "wk"), t / "m")
print("mounted", flush=True)
time.sleep(600)
'''
def daemon_of(m):  # the fuse-overlayfs serving this mount point (by pid, found by its own command line)
    for p in Path("/proc").iterdir():
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"fuse-overlayfs") and str(m).encode() in cmd:
            return int(p.name)
for case in ("evaluator", "daemon"):
    t = base / case
    for d in ("low", "up", "wk", "m"):
        (t / d).mkdir(parents=True)
    (t / "low" / "a").write_text("a")
    child = subprocess.Popen([sys.executable, "-c", MOUNT, str(t)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "mounted"
    child.kill(); child.wait()  # killed outright: no unmount, the journal still says "+"
    if case == "daemon":
        os.kill(daemon_of(t / "m"), signal.SIGKILL)
        time.sleep(0.5)
    before = [fuse_overlay.mounted(t / "m"), os.path.ismount(t / "m")]
    sweep_mounts()
    out[case] = {"before": before, "after": fuse_overlay.mounted(t / "m"), "daemon": daemon_of(t / "m")}
out["ours"] = ours()
print(json.dumps(out))
"""


def test_a_killed_unprivileged_evaluators_fuse_mounts_are_swept() -> None:
    """Killed with its mount held (the daemon lives on), or with the daemon killed too (a dead
    mount, which os.path.ismount does not see): the next evaluator's sweep unmounts both."""
    from evaluator.scoring.hidden_tests import test_site

    done, base = as_nobody(SWEEP, str(ROOT), path=(test_site(),), setuid=True, timeout=120)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        need_fuse(out)
        assert out["evaluator"] == {"before": [True, True], "after": False, "daemon": None}, out
        assert out["daemon"] == {"before": [True, False], "after": False, "daemon": None}, out
        assert out["ours"] == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


CLI_RUN = PRELUDE + """
def run(model, env):
    where = base / model.split("/")[1]
    where.mkdir()
    done = subprocess.run([sys.executable, "-m", "evaluator.run", "--repos", "demo", "--task-set", "l2",
                           "--tasks", "demo_change_001,demo_change_002", "--model", model, "--cache-dir", str(base / "cache"),
                           "--repos-config", str(root / "repos"), "--tasks-dir", str(root / "tasks"),
                           "--sandbox", "bwrap", "--quiet"], cwd=where, capture_output=True, text=True,
                          env={**os.environ, **env})
    results = [json.loads(p.read_text()) for p in sorted(where.glob("runs/*/results/demo/demo_change_*.json"))]
    meta = [json.loads(p.read_text()) for p in where.glob("runs/*/run.json")]
    return {"rc": done.returncode, "stderr": done.stderr[-2000:],
            "results": [[r["task_id"], r["success"], r["change"]["workspace"], r["change"]["resolved"]] for r in results],
            "recorded": [m["sandbox_settings"]["workspace"] for m in meta]}
out["oracle"] = run("builtin/oracle", {"AGENTGYM_WORKSPACE": "overlay"})
out["nop"] = run("builtin/nop", {})
out["ours"] = ours()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_oracle_resolves_and_nop_fails_through_fuse_overlayfs_as_uid_65534() -> None:
    """The CLI as uid 65534 with fuse-overlayfs: `overlay` is accepted, recorded per result and in run.json;
    builtin/oracle resolves, builtin/nop does not; nothing stays mounted."""
    from evaluator.scoring.hidden_tests import test_site

    done, base = as_nobody(CLI_RUN, str(ROOT), path=(test_site(),), setuid=True, timeout=900)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        need_fuse(out)
        oracle, nop = out["oracle"], out["nop"]
        assert oracle["rc"] == 0 and nop["rc"] == 0, (oracle["stderr"], nop["stderr"])
        assert oracle["results"] == [["demo_change_001", True, "overlay", True], ["demo_change_002", True, "overlay", True]]
        assert nop["results"] == [["demo_change_001", False, "overlay", False], ["demo_change_002", False, "overlay", False]]
        assert oracle["recorded"] == nop["recorded"] == ["overlay"] and out["ours"] == [], out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_where_fusermount3_cannot_gain_root_the_reason_is_named() -> None:
    """Under no_new_privs (here: bwrap's, as in some containers) the setuid fusermount3 cannot mount: the
    evaluator finds the overlay unavailable, and the reason given says why."""
    done, base = as_nobody(PRELUDE + "print(json.dumps(out))", str(ROOT), path=(_site(),))
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["uid"] == 65534 and out["unavailable"] == (
            "fuse-overlayfs cannot mount an overlay here (fuse-overlayfs: cannot mount: Operation not permitted; "
            "this process has no_new_privs set (as in bwrap or some containers), so the setuid fusermount3 cannot "
            "mount)"), out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _site() -> Path:
    from evaluator.scoring.hidden_tests import test_site

    return test_site()
