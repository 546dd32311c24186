"""Running repository code for the derivations: always in a child process, with a timeout and
resource limits, never in the evaluator (the checkout is pristine but its code is untrusted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from evaluator.scoring.oracle_api import OracleError

WORKER = Path(__file__).with_name("_stub_worker.py")
TIMEOUT = 120  # seconds for one child; collection of a large test module stays well under it
MEMORY = 4 << 30  # bytes of address space a child may use (it sets the limit on itself)


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
    return {**keep, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "AGENTGYM_CHILD_MEMORY": str(MEMORY)}


def child(argv: list[str], *, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    try:
        # no preexec_fn: the evaluator computes oracles in threads, where forking to run Python is unsafe
        return subprocess.run([sys.executable, "-E", "-s", "-B", *argv], input=stdin, capture_output=True, text=True,
                              cwd=cwd, env=_env(), timeout=TIMEOUT, start_new_session=True, errors="replace")
    except subprocess.TimeoutExpired:
        raise OracleError(f"the child process did not finish within {TIMEOUT}s") from None


def stub_run(request: dict[str, Any]) -> dict[str, Any]:
    """The worker's JSON reply to `request` (see derivations/_stub_worker.py)."""
    with tempfile.TemporaryDirectory(prefix="agentgym-stub-") as scratch:
        done = child([str(WORKER)], cwd=Path(scratch), stdin=json.dumps(request))
    try:
        reply = json.loads(done.stdout)
    except ValueError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OracleError(f"the stub worker failed ({request['op']}): {tail[:300]}") from None
    if isinstance(reply, dict) and reply.get("error"):
        raise OracleError(str(reply["error"])[:300])
    return reply


def pytest_items(repo_root: Path, path: str, *, stub_missing: bool) -> list[str] | str:
    """Node ids `pytest --collect-only -q` lists for `path` (run from the repository root,
    writing nothing into it), or the reason collection failed. With `stub_missing`, modules that
    cannot be imported are replaced by permissive stubs first (torch, lmdeploy, ... absent)."""
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", ".", path]
    # -B (the child runs with -E, which ignores PYTHONDONTWRITEBYTECODE): no __pycache__ in the checkout
    argv = [str(WORKER.with_name("_pytest_stubbed.py")), *([] if stub_missing else ["--no-stubs"]), *args]
    done = child(argv, cwd=repo_root)
    lines = done.stdout.splitlines()
    if done.returncode not in (0, 5):
        errors = [ln for ln in lines if ln.startswith("E ") or "Error" in ln]
        return (errors or lines[-1:] or ["pytest failed"])[0][:300]
    return [ln.strip() for ln in lines if "::" in ln and not ln.startswith(" ")]
