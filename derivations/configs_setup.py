"""`install_requires` of a setup.py, found by running it (for `derivations.configs`).

The oracle reads setup.py's AST and follows a few supported shapes. Here setup.py really runs, in a
child Python, in a throw-away copy of the repository (so nothing it writes reaches the shared
checkout), with `setuptools.setup` and `distutils.core.setup` replaced by a function that records
its keyword arguments and stops the script: whatever code computes `install_requires` (a helper
that parses a requirements file, string concatenation, conditionals on an unset environment
variable) runs as the project wrote it. The environment is minimal (no user variables), so
`os.getenv(...)` branches take their defaults; where setuptools no longer ships `pkg_resources`,
a stand-in answers as a clean environment would (no distribution installed), as on a first install.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evaluator.scoring.oracle_api import OracleError

TIMEOUT_S = 120

# Runs inside the child: argv = [out.json, setup.py's file name].
_CAPTURE = r"""
import json, runpy, sys
out, script = sys.argv[1], sys.argv[2]
class _Called(BaseException):
    pass
def _record(*args, **kwargs):
    reqs = kwargs.get("install_requires") or []
    if isinstance(reqs, str):
        reqs = reqs.splitlines()
    with open(out, "w") as f:
        json.dump({"install_requires": [str(r) for r in reqs]}, f)
    raise _Called
try:
    import pkg_resources
except ImportError:  # setuptools >= 81 dropped it; many setup.py files still import it
    import types
    pkg_resources = types.ModuleType("pkg_resources")
    class DistributionNotFound(Exception):
        pass
    def get_distribution(name):
        raise DistributionNotFound(name)  # a clean environment: nothing is installed yet
    pkg_resources.DistributionNotFound = DistributionNotFound
    pkg_resources.VersionConflict = type("VersionConflict", (Exception,), {})
    pkg_resources.get_distribution = pkg_resources.require = get_distribution
    pkg_resources.iter_entry_points = lambda *a, **k: iter(())
    sys.modules["pkg_resources"] = pkg_resources
import setuptools
setuptools.setup = _record
try:
    import distutils.core
    distutils.core.setup = _record
except ImportError:
    pass
sys.argv = [script, "egg_info"]
try:
    runpy.run_path(script, run_name="__main__")
except _Called:
    pass
"""


def _copy(repo_root: Path, dest: Path) -> None:
    shutil.copytree(repo_root, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))


def run_install_requires(repo_root: Path, setup_py: Path) -> list[str]:
    """The `install_requires` strings setup.py passes to `setup()`; OracleError when it cannot run
    or never calls setup()."""
    with tempfile.TemporaryDirectory(prefix="agentgym-setup-") as tmp:
        copy = Path(tmp) / "repo"
        _copy(repo_root, copy)
        where = copy / setup_py.resolve().relative_to(repo_root.resolve())
        out = Path(tmp) / "captured.json"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
        try:
            proc = subprocess.run([sys.executable, "-c", _CAPTURE, str(out), where.name], cwd=where.parent, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise OracleError(f"running {setup_py.name} took more than {TIMEOUT_S} s") from None
        if not out.exists():
            last = (proc.stderr.strip().splitlines() or ["it never called setup()"])[-1]
            raise OracleError(f"running {setup_py.name} gave no setup() call: {last[:200]}")
        return list(json.loads(out.read_text())["install_requires"])
