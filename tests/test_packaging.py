"""AgentGym installs as a package: the wheel carries the code, its data and the built-in tasks,
and `agentgym run` works from an install outside any checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_package() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    tree = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("evaluator/**/__init__.py")} | {"oracles", "derivations"}
    assert tree <= listed, f"pyproject.toml misses packages: {sorted(tree - listed)}"
    assert listed - tree == {"agentgym_tasks", "agentgym_repos"}


def test_locks_pin_every_dependency_exactly() -> None:
    for lock in ("requirements.txt", "requirements-dev.txt"):
        reqs = [line.split(";")[0].strip() for line in (ROOT / lock).read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
        assert reqs and all("==" in r for r in reqs), f"{lock} has unpinned lines"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = (ROOT / "requirements.txt").read_text().lower()
    for dep in deps:
        name = dep.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        assert f"\n{name}==" in locked, f"{name} is declared but not locked in requirements.txt"


def test_installed_package_runs_the_demo_outside_a_checkout(tmp_path: Path) -> None:
    wheels, target, cwd = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    cwd.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # Built from a copy: setuptools leaves build/ and *.egg-info/ in the tree it builds.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "runs", "build", "node_modules", ".npm",
                                                              "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis"))
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(wheels.glob("agentgym-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True)
    assert (target / "agentgym_tasks" / "l1" / "demo").is_dir() and (target / "agentgym_repos" / "demo.bundle").is_file()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(target)}
    proc = subprocess.run([str(target / "bin" / "agentgym"), "run", "--repos", "demo", "--model", "builtin/oracle",
                           "--sandbox", "local", "--quiet"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "20/20 trials, 20 passed" in proc.stdout  # the demo suite, image tasks included
    assert list(cwd.glob("runs/*/results/REPORT.md")), "the report is written under the caller's folder"
    l2 = target / "agentgym_tasks" / "l2" / "demo"  # change tasks carry their gold patches and hidden tests
    assert list(l2.glob("*.diff")) and list(l2.glob("_hidden/*/test_*.py"))
    proc = subprocess.run([str(target / "bin" / "agentgym"), "run", "--repos", "demo", "--task-set", "l2", "--tasks",
                           "demo_change_001", "--model", "builtin/oracle", "--sandbox", "local", "--quiet"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "1/1 trials, 1 passed" in proc.stdout, proc.stderr + proc.stdout
    docs = subprocess.run([str(target / "bin" / "agentgym"), "schemadoc", "--check"], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert docs.returncode == 2 and "no docs/ folder" in docs.stderr  # not "out of date" for pages that are not there
    unknown = subprocess.run([str(target / "bin" / "agentgym"), "frobnicate"], cwd=cwd, env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in unknown.stderr
