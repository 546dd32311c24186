"""Issue 20 item 8, as an unprivileged user: the sweep of staged /etc folders left by killed runs
removes only this user's folders of dead owners, and copes with folders and processes it may
not touch (kill(pid, 0) on another user's process is EPERM, not "dead")."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"
SCRIPT = "import sys; from pathlib import Path; from evaluator.sandbox.sweep import sweep_stale_tmp; " \
         "print(sorted(p.name for p in sweep_stale_tmp(Path(sys.argv[1]))))"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_as_an_unprivileged_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start the sweep as another user (already unprivileged here)")
    for tool in ("bwrap", "setpriv"):
        if shutil.which(tool) is None:
            (pytest.fail if IN_CI else pytest.skip)(f"{tool} missing")
    base = Path(tempfile.mkdtemp(prefix="agentgym-sweep-"))
    try:
        base.chmod(0o1777)  # like /tmp
        dead = dead_pid()
        mine, roots, live_root = (base / f"agentgym-etc-{dead}-mine", base / f"agentgym-etc-{dead}-root",
                                  base / "agentgym-etc-1-init")
        for d in (mine, roots, live_root):
            d.mkdir()
            (d / "passwd").write_text("x\n")
        for d in (mine, live_root):
            for p in (d, d / "passwd"):
                os.chown(p, 65534, 65534)
        prefix = Path(sys.base_prefix).resolve()
        # The interpreter lives under /root, which uid 65534 cannot enter: show it only what it needs.
        outer = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/root", "--die-with-parent"]
        for keep in (prefix,):
            if str(keep).startswith("/root/"):
                parts = keep.parts[1:-1]
                for i in range(1, len(parts)):
                    outer += ["--perms", "0755", "--dir", "/" + "/".join(parts[: i + 1])]
                outer += ["--ro-bind", str(keep), str(keep)]
        env = {"PATH": f"{prefix}/bin:/usr/bin:/bin", "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "HOME": str(base)}
        cmd = outer + ["--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       f"{prefix}/bin/python3", "-c", SCRIPT, str(base)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd="/")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"['{mine.name}']"
        assert not mine.exists() and roots.exists() and live_root.exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)
