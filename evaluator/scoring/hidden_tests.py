"""Grade a change task: the model's working copy -> a patch -> a pristine checkout -> hidden tests.

Nothing here runs model-written code or model-controlled git on the host:
1. extract (fresh sandbox): git, with the harness's own git dir and index, stages the model's
   working copy and writes `git diff --binary` against the pinned commit (the model's .git,
   hooks and config play no part);
2. test (another fresh sandbox, the task's ceilings): the patch is applied to a pristine
   checkout, touched test and test-config files are put back, the hidden tests are copied in
   over whatever is there, and pytest runs with `--junitxml` and the guard plugin (with the
   repository's environment, read-only and its python first on PATH, when the repo has one);
3. the host reads the patch, the JUnit XML and the guard record with O_NOFOLLOW and size caps.
"""
from __future__ import annotations

import fnmatch
import hashlib
import math
import subprocess
from pathlib import Path, PurePosixPath

from evaluator.results.change_records import ChangeResult, TestGroup, Workspace
from evaluator.sandbox import SandboxBackend, SandboxPaths
from evaluator.sandbox.base import EnvMount, Overlay
from evaluator.sandbox.overlay import remove_tree
from evaluator.scoring import junit
from evaluator.tasks.change_spec import ChangeSpec
from evaluator.tasks.injection import injected_tree, write_files
from evaluator.tasks.specs import Limits

MAX_PATCH_BYTES = 5_000_000
GUARD_SOURCE = Path(__file__).with_name("pytest_guard.py")
# Files that decide how pytest runs, or run code before any test: never taken from the model.
CONFIG_NAMES = {"conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "sitecustomize.py",
                "usercustomize.py", "setup.py", ".pytest.ini", "noxfile.py"}
# Node ids relative to the repository root (the cwd), as tasks list them, even when the pytest.ini
# sits in a subfolder (opencompass's tests/pytest.ini would make them relative to tests/).
ROOTDIR_ARG = "--rootdir=."
TEST_GLOBS = ("test_*.py", "*_test.py", "*.pth")
TEST_DIRS = {"tests", "test", "testing"}
# python3 -I leaves the script's folder and the cwd off sys.path; put them back, then pytest's site.
# With a repository environment that has its own pytest, the harness's site stays out (`site` None).
RUNNER_SOURCE = """import os, sys
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.getcwd()]
site = {site!r}
if site:
    sys.path.append(site)
import pytest
raise SystemExit(pytest.main(sys.argv[1:]))
"""


def protected(path: str, hidden: set[str]) -> bool:
    """A test or test-configuration path: the model's version of it never reaches the hidden test run."""
    p = PurePosixPath(path)
    return (path in hidden or p.name in CONFIG_NAMES or any(fnmatch.fnmatch(p.name, g) for g in TEST_GLOBS)
            or any(part in TEST_DIRS for part in p.parts[:-1]))


def test_site() -> Path:
    """The site-packages holding the harness's pytest, mounted read-only for the hidden test run."""
    import pytest  # a runtime dependency, imported only when a change task runs

    return Path(pytest.__file__).resolve().parent.parent


def _split_z(data: bytes | None) -> list[bytes]:
    return [x for x in (data or b"").split(b"\0") if x]


def _shown(name: bytes) -> str:
    """A path as results show it: any bytes that are not UTF-8 become U+FFFD (results are JSON text)."""
    return name.decode("utf-8", "replace")


def _numstat(data: bytes | None) -> tuple[int, int]:
    added = removed = 0
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        a, _, rest = line.partition("\t")
        r = rest.partition("\t")[0]
        added += int(a) if a.isdigit() else 0
        removed += int(r) if r.isdigit() else 0
    return added, removed


class Grader:
    def __init__(self, backend: SandboxBackend, mirror: Path, commit: str, change: ChangeSpec, limits: Limits,
                 injected: dict[str, str] | None = None, *, env: EnvMount | None = None,
                 base_layer: Path | None = None) -> None:
        self.backend, self.mirror, self.commit, self.change = backend, mirror, commit, change
        self.limits = limits
        self.injected = injected or {}  # an injected bug: the model's change is relative to this text
        self.env = env  # the repository's environment: the tests run with its python (first on PATH)
        # The cached checkout of the pinned commit (tasks/overlay_layers.py): the test tree is then an
        # overlay on it instead of a fresh checkout per grading (which costs seconds on a large repo).
        self.base_layer = base_layer

    async def grade(self, model_tree: Path, work: Path, workspace: Workspace, *,
                    overlay: Overlay | None = None) -> tuple[ChangeResult, bytes]:
        """The graded result and the patch bytes (for artifacts/<repo>/<task>/patch.diff).
        `overlay`: the working copy is this overlay, mounted at `model_tree` by the backend."""
        result = ChangeResult(workspace=workspace)
        patch, names, numstat = await self._extract(model_tree, work / "extract", overlay)
        if patch is None:
            result.note = f"the change is larger than {MAX_PATCH_BYTES} bytes (or git could not stage it)"
            return self._tally(result, self.groups()), b""
        result.patch_bytes, result.patch_sha256 = len(patch), hashlib.sha256(patch).hexdigest()
        result.lines_added, result.lines_removed = _numstat(numstat)
        hidden = {h.path for h in self.change.hidden_tests}
        touched = _split_z(names)
        reset = [p for p in touched if protected(_shown(p), hidden)]
        result.files_touched, result.files_reset = [_shown(p) for p in touched], [_shown(p) for p in reset]
        await self._run_tests(work / "test", patch, reset, result)
        return result, patch

    def groups(self) -> dict[str, TestGroup]:
        groups: dict[str, TestGroup] = {n: "fail_to_pass" for n in self.change.fail_to_pass}
        groups.update({n: "pass_to_pass" for n in self.change.pass_to_pass})
        return groups

    def _sandbox_dirs(self, top: Path) -> dict[str, Path]:
        remove_tree(top)  # an overlay's work dir in it may hold mode-000 dirs
        dirs = {n: top / n for n in ("tmp", "home", "in")}
        for d in dirs.values():
            d.mkdir(parents=True)
        return dirs

    async def _extract(self, tree: Path, top: Path,
                       overlay: Overlay | None) -> tuple[bytes | None, bytes | None, bytes | None]:
        dirs = self._sandbox_dirs(top)
        git_dir = dirs["tmp"] / "base.git"  # ours: objects borrowed from the mirror, index in /tmp
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True, capture_output=True)
        (git_dir / "objects" / "info" / "alternates").write_text(f"{self.mirror / 'objects'}\n")
        base = self.commit
        if self.injected:  # the tree the model started from: the pinned commit with the bug in
            base = injected_tree(git_dir, self.commit, self.injected, dirs["tmp"] / "base.index")
        paths = SandboxPaths(work_root=tree, tmp_dir=dirs["tmp"], home_dir=dirs["home"], ro_binds=[self.mirror],
                             overlay=overlay)
        box = self.backend.open(paths, limits=self.limits, env={})
        t = box.tmp
        git = f"git -c core.autocrlf=false -c core.hooksPath=/dev/null -c core.fsmonitor=false --git-dir={t}/base.git --work-tree=."
        diff = f"{git} diff --cached --no-renames --no-ext-diff --no-textconv --no-color {base}"
        script = (f"set -e; export GIT_INDEX_FILE={t}/model.index; {git} read-tree {base}; {git} add -A -- .; "
                  f"{diff} --binary --full-index > {t}/patch.diff; {diff} --numstat > {t}/numstat; "
                  f"{diff} --name-only -z > {t}/names")
        # The outputs are read before close: the sandbox's /tmp may be a per-task tmpfs that goes
        # with it (its processes are all gone once the command has returned).
        try:
            done = await box.exec(script, cwd=box.root, timeout_s=max(60.0, self.limits.command_timeout_s))
            if done.exit_code != 0:
                return None, None, None
            read = junit.read_capped
            return (read(dirs["tmp"] / "patch.diff", MAX_PATCH_BYTES), read(dirs["tmp"] / "names", MAX_PATCH_BYTES),
                    read(dirs["tmp"] / "numstat", MAX_PATCH_BYTES))
        finally:
            await box.close()

    def _stage_inputs(self, inp: Path, patch: bytes, reset: list[bytes]) -> None:
        """Everything the test sandbox reads, written by the host into a folder only the host wrote."""
        (inp / "patch.diff").write_bytes(patch)
        (inp / "reset.lst").write_bytes(b"".join(p + b"\0" for p in reset))  # exact bytes: names need not be UTF-8
        (inp / "hidden.lst").write_bytes(b"".join(h.path.encode() + b"\0" for h in self.change.hidden_tests))
        for h in self.change.hidden_tests:
            dest = inp / "hidden" / h.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(h.content or "", encoding="utf-8")
        (inp / "agentgym_guard.py").write_bytes(GUARD_SOURCE.read_bytes())
        site = None if self.env is not None and self.env.has_pytest else str(test_site())
        (inp / "run_pytest.py").write_text(RUNNER_SOURCE.format(site=site), encoding="utf-8")

    def _place_script(self, inp: str) -> str:
        """Apply the patch, put back the reset files, copy the hidden tests in (inside the sandbox)."""
        return (
            f"set -e; if [ -s {inp}/patch.diff ]; then git apply --binary --whitespace=nowarn {inp}/patch.diff; fi\n"
            f"while IFS= read -r -d '' p; do rm -rf -- \"$p\"; "
            f"if git cat-file -e HEAD:\"$p\" 2>/dev/null; then git checkout -q HEAD -- \"$p\"; fi; done < {inp}/reset.lst\n"
            f"while IFS= read -r -d '' p; do mkdir -p -- \"$(dirname -- \"$p\")\"; rm -rf -- \"$p\"; "
            f"cp -- \"{inp}/hidden/$p\" \"$p\"; done < {inp}/hidden.lst\n"
        )

    async def _run_tests(self, top: Path, patch: bytes, reset: list[bytes], result: ChangeResult) -> None:
        from evaluator.tasks.clone_cache import checkout

        dirs = self._sandbox_dirs(top)
        self._stage_inputs(dirs["in"], patch, reset)
        repo, overlay = top / "repo", self._test_overlay(top)
        if overlay is None:
            checkout(self.mirror, self.commit, repo)
            write_files(repo, self.injected)
        paths = SandboxPaths(work_root=repo, tmp_dir=dirs["tmp"], home_dir=dirs["home"],
                             ro_binds=[self.mirror, dirs["in"], test_site()], env=self.env, overlay=overlay)
        timeout = float(self.change.test_timeout_s)
        limits = self.limits.model_copy(update={"cpu_seconds": max(self.limits.cpu_seconds, math.ceil(timeout))})
        box = self.backend.open(paths, limits=limits, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        inp, tmp = str(dirs["in"]), box.tmp
        files = sorted({n.split("::")[0] for n in [*self.change.fail_to_pass, *self.change.pass_to_pass]})
        run = (f"AGENTGYM_GUARD_OUT={tmp}/guard.json python3 -I -B {inp}/run_pytest.py -p agentgym_guard "
               f"-p no:cacheprovider {ROOTDIR_ARG} --junitxml={tmp}/junit.xml -o junit_logging=no -q -- "
               + " ".join(files))
        try:
            placed = await box.exec(self._place_script(inp), cwd=box.root, timeout_s=120)
            if placed.exit_code != 0:
                result.note = "the patch does not apply to a pristine checkout: " + placed.stderr.strip()[-300:]
            else:
                done = await box.exec(run, cwd=box.root, timeout_s=timeout)
                result.test_exit_code, result.test_timed_out = done.exit_code, done.timed_out
                # Read before close, as in _extract.
                xml = junit.read_capped(dirs["tmp"] / "junit.xml", junit.MAX_XML_BYTES)
                guard = junit.read_capped(dirs["tmp"] / "guard.json", junit.MAX_XML_BYTES)
        finally:
            await box.close()
            if overlay is not None:
                remove_tree(overlay.work)
        groups = self.groups()
        if result.note is None:
            result.tests, result.note = junit.outcomes(groups, xml, guard)
        self._tally(result, groups)

    def _test_overlay(self, top: Path) -> Overlay | None:
        """The pristine test tree as an overlay on the base layer: the injected bug, if any, is
        written into the empty upper dir, where it hides the base's file."""
        if self.base_layer is None:
            return None
        overlay = Overlay(lowers=[self.base_layer], upper=top / "upper", work=top / "ovl-work")
        for d in (top / "repo", overlay.upper, overlay.work):
            d.mkdir()
        write_files(overlay.upper, self.injected)  # the sandbox hands the upper dir to its uid
        return overlay

    @staticmethod
    def _tally(result: ChangeResult, groups: dict[str, TestGroup]) -> ChangeResult:
        if not result.tests:
            result.tests = junit.outcomes(groups, None, None)[0] if groups else []
        for group in ("fail_to_pass", "pass_to_pass"):
            mine = [t for t in result.tests if t.group == group]
            setattr(result, f"{group}_total", len(mine))
            setattr(result, f"{group}_passed", sum(t.outcome == "passed" for t in mine))
        result.resolved = (result.fail_to_pass_total > 0 and result.fail_to_pass_passed == result.fail_to_pass_total
                           and result.pass_to_pass_passed == result.pass_to_pass_total)
        return result
