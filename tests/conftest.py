"""Shared fixtures: a small fixture git repo with hand-counted facts, task files in the
original AgentGym format, the CLI as a subprocess, and the scripted OpenAI server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

FIXTURE_FILES = {
    "README.md": "\n\n# Fixture Project\n\nA tiny project for tests.\n",
    "LICENSE": "MIT\n",
    "src/app.py": "import os\n\n\ndef main(x=1, y='a'):\n    return x\n",
    "src/util.py": "def helper():\n    return 'pytest pytest'\n",
    "docs/guide.md": "# Guide\nUse pytest.\n",
    "docs/api.md": "# API\n",
    "config.yaml": "name: fixture\n",
    "ci.yml": "on: push\n",
}
# Counted by hand from FIXTURE_FILES:
FACTS = {"py_files": 2, "md_files": 3, "top_level": 6, "yaml_files": 2, "docs_entries": 2,
         "readme_first": "# Fixture Project", "has_license": True, "pytest_tokens": 3}

POLICY = {"allowed": ["ls", "pwd", "cd", "cat", "head", "tail", "wc", "grep", "rg", "sed", "find", "python", "python3"],
          "prohibited": ["rm", "sudo", "curl", "wget", "ssh", "scp", "dd", "chmod", "chown"],
          "write_paths_allowed": ["eval_artifacts/", "/tmp/"]}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> str:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return git(path, "rev-parse", "HEAD")


def original_task(task_id: str, key: str, otype: str, fn: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A task in the original AgentGym format (every field it has, none of ours)."""
    return {"id": task_id, "repo": "fixture", "difficulty": "easy", "initial_working_dir": ".",
            "instruction": f"Find {key}. Write to eval_artifacts/answer.json: {{\"{key}\": <{otype}>}} .",
            "command_policy": POLICY, "outputs": [{"key": key, "type": otype, "oracle": {"fn": fn, "args": args}}],
            "max_commands": 12, "timeout_seconds": 180, **extra}


FIXTURE_TASKS = [
    original_task("fx_001", "py_files", "int", "glob_count", {"glob": "**/*.py", "exclude_dirs": [".git"]}),
    original_task("fx_002", "md_files", "int", "glob_count", {"glob": "**/*.md", "exclude_dirs": [".git"]}),
    original_task("fx_003", "top_level", "int", "top_level_entry_count", {"exclude": [".git", "eval_artifacts"], "exclude_hidden": True}),
    original_task("fx_004", "yaml_files", "int", "glob_count", {"glob": "**/*.{yml,yaml}", "exclude_dirs": [".git"]}),
    original_task("fx_005", "readme_first", "str", "readme_first_nonempty_line", {"path": "README.md"}),
    original_task("fx_006", "has_license", "json", "has_license_file", {"paths": ["LICENSE", "LICENSE.md"]}),
]


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path | str]:
    """A fixture repo, a repos-config dir pointing at it, a tasks dir, a cache and a runs root."""
    commit = make_repo(tmp_path / "src_repo", FIXTURE_FILES)
    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(tmp_path / "src_repo"), "ref": commit}))
    tasks = tmp_path / "tasks" / "l1" / "fixture"
    tasks.mkdir(parents=True)
    for t in FIXTURE_TASKS:
        (tasks / f"{t['id']}.yaml").write_text(yaml.safe_dump(t, sort_keys=False))
    return {"root": tmp_path, "repos": repos, "tasks": tmp_path / "tasks", "commit": commit,
            "cache": tmp_path / "cache", "runs": tmp_path / "runs", "src": tmp_path / "src_repo"}


def sandbox_flag() -> str:
    """bwrap when it works here; tests that need it fail (not skip) under CI=true."""
    if os.environ.get("AGENTGYM_TEST_SANDBOX"):  # e.g. local, to debug without bwrap
        return os.environ["AGENTGYM_TEST_SANDBOX"]
    if shutil.which("bwrap"):
        return "bwrap"
    if os.environ.get("CI") == "true":
        pytest.fail("bwrap is required under CI=true")
    return "local"


def run_cli(module: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MODEL_NAME", "BASE_URL"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd or ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def fixture_args(ws: dict[str, Any], *extra: str) -> list[str]:
    return ["--repos-config", str(ws["repos"]), "--tasks-dir", str(ws["tasks"]), "--cache-dir", str(ws["cache"]),
            "--runs-root", str(ws["runs"]), "--sandbox", sandbox_flag(), "--quiet", *extra]


def only_run_dir(runs: Path) -> Path:
    dirs = [p for p in runs.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def load_results(run_dir: Path, repo: str) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in (run_dir / "results" / repo).glob("*.json") if p.name != "index.json"}


def user_task_id(messages: list[dict[str, Any]]) -> str:
    text = next(m["content"] for m in messages if m["role"] == "user")
    return text.split("Task: ", 1)[1].split("\n", 1)[0].strip()


def turn(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if m["role"] == "assistant")


_BWRAP: list = []


def bwrap_backend():  # noqa: ANN201 - BwrapBackend, imported lazily
    """One preflighted bwrap backend per test session; skip when unusable, but fail under CI=true."""
    from evaluator.sandbox import SandboxUnavailable
    from evaluator.sandbox.bwrap_backend import BwrapBackend

    if not _BWRAP:
        backend = BwrapBackend()
        try:
            backend.preflight()
        except SandboxUnavailable as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(f"bwrap must work under CI: {exc}")
            pytest.skip(f"bwrap unavailable: {exc}")
        _BWRAP.append(backend)
    return _BWRAP[0]
