"""Install an agent's pinned package once, into a cache outside every sandbox.

~/.cache/agentgym/agents/<name>-<version>[-py3.X]/ (or $AGENTGYM_AGENTS_CACHE/...): a PyPI
package goes to `site/` (pip --target, run with PYTHONPATH inside the sandbox, where the same
python3 runs); an npm package to `node_modules/` (npm --prefix). The install is made in a
temporary folder and renamed into place, under a file lock, so concurrent runs install once
and a killed install leaves nothing half-done behind.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from evaluator.coding_agents.base import CodingAgent, Package
from evaluator.config.errors import ConfigError

MARKER = ".agentgym-installed"
INSTALL_TIMEOUT_S = 900


def cache_root() -> Path:
    env = os.environ.get("AGENTGYM_AGENTS_CACHE")
    if env:
        return Path(env).absolute()
    base = os.environ.get("AGENTGYM_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "agentgym").absolute() / "agents"


def install_dir(agent: CodingAgent, root: Path | None = None) -> Path:
    pkg = agent.package
    tag = f"-py{sys.version_info.major}.{sys.version_info.minor}" if pkg.source == "pypi" else ""
    return (root or cache_root()) / f"{agent.name}-{pkg.version}{tag}"


def _command(pkg: Package, target: Path) -> list[str]:
    if pkg.source == "pypi":
        return [sys.executable, "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check",
                "--no-warn-script-location", "--target", str(target / "site"), f"{pkg.name}=={pkg.version}"]
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError(f"{pkg.name} is an npm package, and npm is not installed (apt-get install npm)")
    return [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--loglevel=error",
            f"{pkg.name}@{pkg.version}"]


def _world_readable(top: Path) -> None:
    """The sandbox runs as another uid: it must read and execute what was installed."""
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                mode = os.stat(p).st_mode
                os.chmod(p, mode | 0o444 | (0o111 if mode & 0o111 or os.path.isdir(p) else 0))
    os.chmod(top, 0o755)


def ensure_installed(agent: CodingAgent, root: Path | None = None) -> Path:
    """The agent's install folder, installed now if need be; ConfigError (one sentence) if it cannot be."""
    final = install_dir(agent, root)
    if (final / MARKER).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / MARKER).exists():  # another run installed it while we waited
            return final
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _install(agent, tmp)
            if final.exists():  # a folder without the marker: an install that did not finish
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _install(agent: CodingAgent, tmp: Path) -> None:
    pkg = agent.package
    try:
        done = subprocess.run(_command(pkg, tmp), capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                              cwd=tmp, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"installing {pkg.name} {pkg.version} for --agent {agent.name} failed: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1][:300]
        raise ConfigError(f"installing {pkg.name} {pkg.version} from {pkg.source} for --agent {agent.name} "
                          f"failed: {last}")
    _world_readable(tmp)
    problem = agent.check_installed(tmp)
    if problem:
        hint = f" ({agent.requirement})" if agent.requirement and agent.requirement not in problem else ""
        raise ConfigError(f"{pkg.name} {pkg.version} installed but cannot run here: {problem}{hint}")
    (tmp / MARKER).write_text(f"{pkg.source} {pkg.name} {pkg.version}\n")
