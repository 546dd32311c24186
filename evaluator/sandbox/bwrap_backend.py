"""The bubblewrap backend object: probes what this machine allows (once), checks it at preflight,
and opens one BwrapSandbox (bwrap.py) per task. Registered as `bwrap` in sandbox/__init__.py."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from evaluator.sandbox import overlay as ovl
from evaluator.sandbox.base import SandboxName, SandboxPaths, SandboxUnavailable
from evaluator.sandbox.bwrap import SYSTEM_DIRS, BwrapMode, BwrapSandbox, ResidentPython, setpriv_path, under_any
from evaluator.sandbox.bwrap_host import StagedEtc, pool_ids, sandbox_ids
from evaluator.sandbox.ceilings import Support
from evaluator.sandbox.local import parse_toolset, toolset_script
from evaluator.tasks.specs import Limits

MODE_VAR = "AGENTGYM_BWRAP_MODE"
FIX = (
    "install it with `apt-get install bubblewrap`; on Ubuntu 24.04 / GitHub ubuntu-latest also run "
    "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`."
)


def _python_prefix() -> Path | None:
    """Prefix of the `python3` on the evaluator's PATH, when /usr does not already hold it."""
    exe = shutil.which("python3")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, timeout=60
        )
        prefix = Path(done.stdout.strip()).resolve()
    except (OSError, subprocess.SubprocessError):
        return None
    if not done.stdout.strip() or under_any(str(prefix), SYSTEM_DIRS) or str(prefix) == "/":
        return None
    binary = prefix / "bin" / "python3"
    if not binary.exists():
        return None
    if os.geteuid() == 0:  # bwrap binds it as root; the sandbox uid needs world r-x on it
        return prefix if prefix.stat().st_mode & 0o005 == 0o005 else None
    return prefix if os.access(binary, os.X_OK) else None


class BwrapBackend:
    name: SandboxName = "bwrap"
    isolated = True
    readonly_root = True

    def __init__(self, mode: BwrapMode | None = None) -> None:
        """`mode` None reads AGENTGYM_BWRAP_MODE (default resident)."""
        self.mode: BwrapMode = mode or ("per-command" if os.environ.get(MODE_VAR) == "per-command" else "resident")
        self._toolset: dict[str, str] | None = None
        self._prefix: Path | None = None
        self._prefix_known = False
        self._etc: StagedEtc | None = None
        self._resident: ResidentPython | None = None
        self._support: Support | None = None

    def support(self) -> Support:
        """Which per-task ceilings this machine allows (probed once)."""
        if self._support is None:
            self._support = Support.probe()
        return self._support

    def ceilings(self) -> dict[str, object]:
        """For run.json: which limits are in force, and whether they are per task."""
        return self.support().record()

    def ceiling_warning(self) -> str | None:
        return self.support().warning()

    def python_prefix(self) -> Path | None:
        if not self._prefix_known:
            self._prefix, self._prefix_known = _python_prefix(), True
        return self._prefix

    def etc_dir(self) -> StagedEtc:
        if self._etc is None:
            self._etc = StagedEtc()
        return self._etc

    def preflight(self) -> None:
        if os.environ.get(MODE_VAR, "resident") not in ("resident", "per-command"):
            raise SandboxUnavailable(f"{MODE_VAR} must be `resident` or `per-command`, not {os.environ[MODE_VAR]!r}.")
        if shutil.which("bwrap") is None:
            raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {FIX}")
        if sandbox_ids() is not None and not Path(setpriv_path()).exists():
            raise SandboxUnavailable("setpriv is missing (needed to drop root): `apt-get install util-linux`.")
        try:
            done = self._scratch_run("true")
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailable(f"bwrap could not create a test sandbox ({exc}); {FIX}") from None
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no error message"])[-1]
            raise SandboxUnavailable(f"bwrap cannot create a sandbox here ({why}); {FIX}")
        ovl.check_choice(overlay_backend=True)

    def overlay_workspace(self) -> bool:
        """Change tasks get an overlay working copy (SandboxPaths.overlay), not a copy."""
        return ovl.wanted(overlay_backend=True)

    def open(self, paths: SandboxPaths, *, limits: Limits, env: dict[str, str]) -> BwrapSandbox:
        if self._resident is None:
            self._resident = ResidentPython(self.python_prefix(), self.mode)
        return BwrapSandbox(
            paths, limits=limits, env=env, python_prefix=self.python_prefix(), etc_dir=self.etc_dir(),
            resident=self._resident, support=self.support(),
        )

    def toolset(self) -> dict[str, str]:
        if self._toolset is None:
            try:
                self._toolset = parse_toolset(self._scratch_run(toolset_script()).stdout)
            except (OSError, subprocess.SubprocessError) as exc:
                raise SandboxUnavailable(f"bwrap cannot run ({exc}); {FIX}") from None
        return self._toolset

    def settings(self) -> dict[str, Any]:
        """How this backend runs, for run.json: the mode, the uid pool (from the environment) and
        what change tasks' working copies are (each result says it again, as made)."""
        ids = pool_ids()
        return {"mode": self.mode, "uid_pool": {"first": ids[0][0], "size": len(ids)} if ids else None,
                "workspace": "overlay" if self.overlay_workspace() else "copy"}

    def _scratch_run(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run one command in a throwaway sandbox (for preflight and toolset)."""
        with tempfile.TemporaryDirectory(prefix="agentgym-bwrap-") as d:
            paths = SandboxPaths(work_root=Path(d, "w"), tmp_dir=Path(d, "t"), home_dir=Path(d, "h"))
            for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
                p.mkdir()
            # No cgroup or tmpfs for a throwaway, but the same seccomp filter as every sandbox.
            support = dataclasses.replace(self.support(), cgroup=None, scratch_tmpfs=False)
            box = BwrapSandbox(
                paths, limits=Limits(), env={}, python_prefix=self.python_prefix(), etc_dir=self.etc_dir(),
                support=support,
            )
            try:
                return box.run_sync(command)
            finally:
                box._lease.release()
