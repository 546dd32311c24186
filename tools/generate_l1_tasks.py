"""Thin wrapper for the original AgentGym docs/01 workflow: the 10 easy L1 tasks for a local repo.

  python tools/generate_l1_tasks.py --repo-id myrepo --repo-root ~/src/myrepo [--out DIR] [--repos-config DIR]

Registers the repo (writes `<repos-config>/<id>.yaml` with url = --repo-root and ref = its HEAD
sha; a temp folder when --repos-config is not given) and runs `python -m evaluator.generate`
with `--templates easy --no-set-rules`. An existing `<id>.yaml` for the same --repo-root is used as it is
(its ref, comments and description are kept); one for another repository is never replaced
without --force.

Exit codes (the generator's): 0 tasks written; 1 no candidate survived the checks;
2 usage or config error (nothing written).
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
from evaluator.config.errors import ConfigError  # noqa: E402
from evaluator.generate.__main__ import main as generate_main  # noqa: E402


def head_sha(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError):
        return None
    return out.stdout.strip()


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python tools/generate_l1_tasks.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo-id", required=True, help="Id for the repository: the repo file's name and the tasks' `repo:` (required).")
    ap.add_argument("--repo-root", default=".", type=Path, help="The local git checkout to generate tasks for (default: .).")
    ap.add_argument("--out", type=Path, help="Task folder (default: tasks/generated/<repo-id>/, ignored by git).")
    ap.add_argument("--repos-config", type=Path, help="Where <repo-id>.yaml is read or written (default: a temp folder).")
    ap.add_argument("--force", action="store_true",
                    help="Replace an existing <repo-id>.yaml that points elsewhere with --repo-root at its HEAD (default off).")
    ap.add_argument("--cache-dir", type=Path, help="Clone and oracle cache (default: $AGENTGYM_CACHE or ~/.cache/agentgym).")
    return ap


def register(config: Path, repo_id: str, root: Path, sha: str, force: bool) -> None:
    """Write <id>.yaml unless one for this repository is there already (docs/01 has users write it)."""
    path = config / f"{repo_id}.yaml"
    if path.exists() and not force:
        try:
            old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            old = {}
        url = str(old.get("url", "")) if isinstance(old, dict) else ""
        target = Path(url) if Path(url).is_absolute() else config / url
        if url and "://" not in url and target.resolve() == root:
            print(f"using the existing {path} (url {url}, ref {old.get('ref')})", file=sys.stderr)
            return
        raise ConfigError(f"{path} already exists and points at {url or 'something else'}, not {root}; "
                          "pass --force to replace it, or choose another --repo-id")
    config.mkdir(parents=True, exist_ok=True)
    repo = {"id": repo_id, "url": str(root), "ref": sha, "initial_working_dir": "."}
    path.write_text(yaml.safe_dump(repo, sort_keys=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    root = ns.repo_root.resolve()
    sha = head_sha(root)
    if sha is None:
        return cli.fail(f"{root} is not a git repository with at least one commit")
    with tempfile.TemporaryDirectory(prefix="agentgym-repos-") as tmp:
        config = ns.repos_config or Path(tmp)
        try:
            register(config, ns.repo_id, root, sha, ns.force)
        except ConfigError as exc:
            return cli.fail(str(exc))
        args = ["--repo", ns.repo_id, "--repos-config", str(config), "--templates", "easy", "--max-tasks", "10",
                "--no-set-rules"]  # the original ten kinds, each a pipeline: the set rules would drop them
        args += ["--out", str(ns.out)] if ns.out else []
        args += ["--cache-dir", str(ns.cache_dir)] if ns.cache_dir else []
        return generate_main(args)


if __name__ == "__main__":
    sys.exit(main())
