"""Where AgentGym finds its files: its own package data, and the built-in tasks and repos.

In a checkout the built-in `tasks/` and `repos/` sit next to `evaluator/`; an installed package
(`pip install .`) carries them as the data packages `agentgym_tasks` and `agentgym_repos`, so the
harness never assumes it runs from a checkout."""
from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CHECKOUT = PACKAGE_DIR.parent


def _data_dir(name: str, package: str) -> Path:
    local = CHECKOUT / name
    if local.is_dir():
        return local
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return local  # neither: the loaders report the missing folder in one sentence


TASKS_DIR = _data_dir("tasks", "agentgym_tasks")
REPOS_DIR = _data_dir("repos", "agentgym_repos")
WEIGHTS_FILE = PACKAGE_DIR / "scoring" / "weights.yaml"
PROMPTS_DIR = PACKAGE_DIR / "agent" / "prompts"
