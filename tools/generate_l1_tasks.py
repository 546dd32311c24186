"""Thin wrapper for the original AgentGym docs/01 workflow: the 10 easy L1 tasks for a local repo.

  python tools/generate_l1_tasks.py --repo-id myrepo --repo-root ~/src/myrepo [--out DIR] [--repos-config DIR]

Registers the repo (writes `<repos-config>/<id>.yaml` with url = --repo-root and ref = its HEAD
sha; a temp folder when --repos-config is not given) and runs `python -m evaluator.generate`
with `--templates easy`. Exit codes are the generator's: 0 ok, 1 no valid task, 2 bad input.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.cli import common as cli  # noqa: E402
from evaluator.generate.__main__ import main as generate_main  # noqa: E402


def head_sha(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError):
        return None
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo-id", required=True)
    ap.add_argument("--repo-root", default=".", type=Path)
    ap.add_argument("--out", type=Path, help="Task folder (default: tasks/generated/<repo-id>/).")
    ap.add_argument("--repos-config", type=Path, help="Where to write <repo-id>.yaml (default: a temp folder).")
    ap.add_argument("--cache-dir", type=Path)
    ns = ap.parse_args(argv)
    root = ns.repo_root.resolve()
    sha = head_sha(root)
    if sha is None:
        return cli.fail(f"{root} is not a git repository with at least one commit")
    with tempfile.TemporaryDirectory(prefix="agentgym-repos-") as tmp:
        config = ns.repos_config or Path(tmp)
        config.mkdir(parents=True, exist_ok=True)
        repo = {"id": ns.repo_id, "url": str(root), "ref": sha, "initial_working_dir": "."}
        (config / f"{ns.repo_id}.yaml").write_text(yaml.safe_dump(repo, sort_keys=False), encoding="utf-8")
        args = ["--repo", ns.repo_id, "--repos-config", str(config), "--templates", "easy", "--max-tasks", "10"]
        args += ["--out", str(ns.out)] if ns.out else []
        args += ["--cache-dir", str(ns.cache_dir)] if ns.cache_dir else []
        return generate_main(args)


if __name__ == "__main__":
    sys.exit(main())
