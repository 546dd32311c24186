#!/usr/bin/env python3
"""Build `repos/demo.bundle` from `repos/_demo_src/`, deterministically.

    python tools/build_demo_bundle.py           # build the bundle, pin its sha in repos/demo.yaml
    python tools/build_demo_bundle.py --check   # rebuild in a temp dir; exit 1 if the sha differs

The commits are written with git plumbing (hash-object, mktree, commit-tree) into a bare
repository, so no work tree, index, hook, attribute, autocrlf or filemode setting is
involved. Every input of the commit shas is fixed here: file bytes (CRLF normalized to
LF in text files), file mode (100644), path order, author, committer, dates, time zone and messages.
The same source tree therefore gives the same sha on any machine and git version.

History has two commits: the 0.3.0 release (the tree with FOLLOW_UP_ONLY left out and
FIRST_COMMIT_EDITS applied) and the 0.3.1 follow-up (the source tree as it is). The
pinned ref is the second one.

Exit codes: 0 built (or, with --check, reproducible); 1 with --check when the sha differs;
2 git is not installed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "repos" / "_demo_src"
BUNDLE = ROOT / "repos" / "demo.bundle"
REPO_YAML = ROOT / "repos" / "demo.yaml"
BRANCH = "main"

IDENTITY = {
    "GIT_AUTHOR_NAME": "tinytrain maintainers",
    "GIT_AUTHOR_EMAIL": "maintainers@tinytrain.invalid",
    "GIT_COMMITTER_NAME": "tinytrain maintainers",
    "GIT_COMMITTER_EMAIL": "maintainers@tinytrain.invalid",
}
COMMITS = [
    ("2024-03-01T12:00:00+0000", "Release 0.3.0\n\nRegistries, hooks, metrics, models and the train/eval tools.\n"),
    ("2024-03-15T09:30:00+0000", "Release 0.3.1: nightly workflow\n\nAdd a scheduled CI run and the changelog entry.\n"),
]

# Paths that only exist from the second commit on.
FOLLOW_UP_ONLY = {".github/workflows/nightly.yml"}
# (old, new) text replacements that turn the current file into its first-commit version.
FIRST_COMMIT_EDITS = {
    "tinytrain/version.py": [('__version__ = "0.3.1"', '__version__ = "0.3.0"')],
    "docs/changelog.md": [
        (
            "## 0.3.1\n\n"
            "- Nightly workflow that runs the tests against the newest dependencies.\n"
            "- `tools/eval.py --metrics` accepts several metric names.\n\n",
            "",
        )
    ],
}

SKIP_DIRS = {"__pycache__", ".pytest_cache", ".benchmarks", ".mypy_cache", ".ruff_cache", "work_dirs", ".git"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
SKIP_NAMES = {".DS_Store", "Thumbs.db"}
BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def git_env(home: Path) -> dict[str, str]:
    """An environment with no user or system git config, fixed identity, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "TZ": "UTC",
        }
    )
    return env


def git(args: list[str], *, env: dict[str, str], git_dir: Path | None = None, stdin: bytes | None = None) -> str:
    cmd = ["git", "-c", "core.autocrlf=false", "-c", "core.fileMode=false", "-c", "commit.gpgSign=false"]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir)]
    proc = subprocess.run(cmd + args, input=stdin, env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode().strip()


def source_files(src: Path) -> dict[str, bytes]:
    """{posix relative path: normalized bytes} of the source tree, in sorted path order."""
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            if name in SKIP_NAMES or name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(root, name)
            if path.is_symlink() or not path.is_file():
                raise SystemExit(f"{path}: only regular files may be in the demo source")
            data = path.read_bytes()
            # Text is normalized; binary files (the figures) are taken byte for byte.
            files[path.relative_to(src).as_posix()] = data if b"\0" in data[:8192] or name.endswith(BINARY_SUFFIXES) else data.replace(b"\r\n", b"\n")
    return dict(sorted(files.items()))


def first_commit_files(files: dict[str, bytes]) -> dict[str, bytes]:
    out = {p: b for p, b in files.items() if p not in FOLLOW_UP_ONLY}
    for path, edits in FIRST_COMMIT_EDITS.items():
        text = out[path].decode("utf-8")
        for old, new in edits:
            if old not in text:
                raise SystemExit(f"{path}: first-commit edit no longer applies (missing {old[:40]!r})")
            text = text.replace(old, new, 1)
        out[path] = text.encode("utf-8")
    return out


def write_tree(files: dict[str, bytes], *, env: dict[str, str], git_dir: Path) -> str:
    """Write blobs and (bottom-up) tree objects; return the root tree sha."""
    dirs: dict[str, list[str]] = {"": []}
    for path, data in files.items():
        blob = git(["hash-object", "-w", "--no-filters", "--stdin"], env=env, git_dir=git_dir, stdin=data)
        parent, _, name = path.rpartition("/")
        dirs.setdefault(parent, []).append(f"100644 blob {blob}\t{name}")
        while parent:  # make sure every ancestor directory has an entry list
            grand = parent.rpartition("/")[0]
            dirs.setdefault(grand, [])
            parent = grand
    trees: dict[str, str] = {}
    for d in sorted(dirs, key=lambda p: (-p.count("/") if p else 1, p)):
        if d == "":
            continue
        trees[d] = _mktree(dirs[d] + _subtrees(d, trees), env=env, git_dir=git_dir)
    return _mktree(dirs[""] + _subtrees("", trees), env=env, git_dir=git_dir)


def _subtrees(parent: str, trees: dict[str, str]) -> list[str]:
    out = []
    for d, sha in trees.items():
        head, _, name = d.rpartition("/")
        if head == parent:
            out.append(f"040000 tree {sha}\t{name}")
    return out


def _mktree(entries: list[str], *, env: dict[str, str], git_dir: Path) -> str:
    return git(["mktree"], env=env, git_dir=git_dir, stdin=("\n".join(entries) + "\n").encode())


def build(out_bundle: Path, work: Path) -> str:
    """Build the demo history in `work`, write the bundle to `out_bundle`, return the pinned sha."""
    env = git_env(work)
    git_dir = work / "demo.git"
    git(["-c", f"init.defaultBranch={BRANCH}", "init", "-q", "--bare", "--template=", str(git_dir)], env=env)
    files = source_files(SRC)
    parent: str | None = None
    for (date, message), tree_files in zip(COMMITS, [first_commit_files(files), files]):
        tree = write_tree(tree_files, env=env, git_dir=git_dir)
        commit_env = dict(env, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        args = ["commit-tree", tree, "--no-gpg-sign", "-F", "-"] + (["-p", parent] if parent else [])
        parent = git(args, env=commit_env, git_dir=git_dir, stdin=message.encode())
    assert parent is not None
    git(["update-ref", f"refs/heads/{BRANCH}", parent], env=env, git_dir=git_dir)
    git(["symbolic-ref", "HEAD", f"refs/heads/{BRANCH}"], env=env, git_dir=git_dir)
    git(["bundle", "create", "-q", str(out_bundle), "HEAD", BRANCH], env=env, git_dir=git_dir)
    return parent


def pinned_ref() -> str | None:
    if not REPO_YAML.is_file():
        return None
    m = re.search(r"^ref:\s*['\"]?([0-9a-f]{40})['\"]?\s*$", REPO_YAML.read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else None


def write_repo_yaml(sha: str) -> None:
    if REPO_YAML.is_file():
        text = REPO_YAML.read_text(encoding="utf-8")
        new, n = re.subn(r"^ref:.*$", f"ref: {sha}", text, count=1, flags=re.M)
        if n == 1:
            REPO_YAML.write_text(new, encoding="utf-8")
            return
    REPO_YAML.write_text(
        "id: demo\n"
        "url: demo.bundle\n"
        f"ref: {sha}\n"
        'initial_working_dir: "."\n'
        "description: tinytrain, a small training/eval toolkit bundled for the offline demo "
        "(built from repos/_demo_src by tools/build_demo_bundle.py)\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/build_demo_bundle.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="Rebuild in a temp dir and compare with repos/demo.yaml; write nothing (default off: build and pin).")
    args = parser.parse_args(argv)
    if shutil.which("git") is None:
        print("git is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="demo-bundle-") as tmp:
        work = Path(tmp)
        if args.check:
            sha = build(work / "demo.bundle", work)
            want = pinned_ref()
            print(sha)
            if sha != want:
                print(f"demo bundle is not reproducible: built {sha}, repos/demo.yaml pins {want}", file=sys.stderr)
                return 1
            return 0
        sha = build(work / "demo.bundle", work)
        shutil.copyfile(work / "demo.bundle", BUNDLE)
    write_repo_yaml(sha)
    print(sha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
