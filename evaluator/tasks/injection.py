"""Injected bugs (a change task's `inject:` recipe): apply, compute the gold patch, hide the original from git.

A recipe names a file, a function, a mutation kind and which candidate (evaluator/tasks/mutations.py),
plus a hash of the function's source, so a task file carries no line of the target repository. The
harness applies it to the pristine source at the pinned commit when it plans a run; the gold patch is
the reverse edit. A recipe that no longer matches the source fails the plan with one sentence.

The model's working copy must not reveal the original: its `.git` is replaced by a fresh repository
holding one commit of the injected tree (no alternates to the mirror, no history), so `git log -p`
and `git diff` show nothing of the bug, and `git diff` still shows the model's own change.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from evaluator.tasks.change_spec import ChangeSpec, GoldPatch, Injection
from evaluator.tasks.mutations import MutationError, Source, apply, candidates, find_function, function_text

_GIT_ID = ["-c", "user.name=agentgym", "-c", "user.email=agentgym@localhost", "-c", "commit.gpgsign=false",
           "-c", "core.hooksPath=/dev/null"]


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inject_source(text: str, inj: Injection) -> str:
    """The file's text with the recipe's mutation applied (MutationError says why it cannot be)."""
    where = f"{inj.file}::{inj.function}"
    src = Source(text)
    fn = find_function(src, inj.function)
    if not source_hash(function_text(src, fn)).startswith(inj.source_sha256):
        raise MutationError(f"{where}: the function's source is not the one the recipe was made for (stale recipe)")
    found = candidates(src, fn, inj.mutation)
    if inj.occurrence >= len(found):
        raise MutationError(f"{where}: no {inj.mutation} candidate #{inj.occurrence} (the function has {len(found)})")
    out = apply(text, found[inj.occurrence])
    try:
        Source(out)
    except MutationError as exc:
        raise MutationError(f"{where}: the mutation does not give valid Python ({exc})") from None
    return out


def unified_diff(path: str, old: str, new: str) -> str:
    """A `git apply`-able diff turning `old` into `new`."""
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]
    body = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), n=3))[2:]
    for line in body:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def read_at(mirror: Path, commit: str, path: str) -> str:
    done = subprocess.run(["git", f"--git-dir={mirror}", "show", f"{commit}:{path}"], capture_output=True)
    if done.returncode != 0:
        raise MutationError(f"{path}: not a file at commit {commit[:12]}")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise MutationError(f"{path}: not UTF-8 text") from None


def resolve(change: ChangeSpec, mirror: Path, commit: str) -> tuple[ChangeSpec, dict[str, str]]:
    """(the spec with its computed gold patch, {path: injected text}); unchanged when nothing is injected."""
    inj = change.inject
    if inj is None:
        return change, {}
    original = read_at(mirror, commit, inj.file)
    injected = inject_source(original, inj)
    gold = GoldPatch(diff=unified_diff(inj.file, injected, original))
    return change.model_copy(update={"gold_patch": gold}), {inj.file: injected}


def write_files(tree: Path, files: dict[str, str]) -> None:
    """Harness-computed text into a harness-made checkout (before any model or test code runs there)."""
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)  # hidden tests may add folders
        (tree / rel).write_bytes(text.encode("utf-8"))


def reinit_git(tree: Path, mirror: Path, changed: list[str]) -> None:
    """Replace the checkout's repository with one fresh commit of its current tree: no history, no
    alternates into the mirror, nothing from which the original source can be read back.

    Cheaper than `git init && git add -A && git commit` (which hashes every file again): the
    checkout's index (stat data included) is kept, only the `changed` files are hashed, and the
    commit's objects are copied out of the mirror into one pack (`pack-objects --revs`: only what
    the new commit reaches, so no object of the original file); then the mirror link is dropped.
    """
    git_dir = tree / ".git"
    index = (git_dir / "index").read_bytes()
    shutil.rmtree(git_dir)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}

    def git(*args: str, data: str | None = None) -> str:
        return subprocess.run(["git", *_GIT_ID, *args], cwd=tree, env=env, input=data, text=True, check=True,
                              capture_output=True).stdout.strip()

    git("init", "-q")
    (git_dir / "index").write_bytes(index)
    alternates = git_dir / "objects" / "info" / "alternates"
    alternates.write_text(f"{mirror / 'objects'}\n")
    if changed:
        git("update-index", "--add", "--", *changed)
    commit = git("commit-tree", "-m", "task start", git("write-tree"))
    git("update-ref", "HEAD", commit)
    git("pack-objects", "-q", "--revs", str(git_dir / "objects" / "pack" / "pack"), data=commit + "\n")
    alternates.unlink()
    for loose in (git_dir / "objects").iterdir():
        if len(loose.name) == 2:  # now in the pack
            shutil.rmtree(loose)


def injected_tree(git_dir: Path, commit: str, files: dict[str, str], index: Path) -> str:
    """The tree id of `commit` with `files` replaced, written into `git_dir` (which borrows the mirror's objects)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}

    def git(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=data, env=env, check=True,
                              capture_output=True).stdout.decode().strip()

    git("read-tree", commit)
    for rel, text in files.items():
        mode = git("ls-tree", commit, "--", rel).split(" ", 1)[0] or "100644"
        blob = git("hash-object", "-w", "--stdin", data=text.encode("utf-8"))
        git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{rel}")  # --add: a visible hidden file may be new
    return git("write-tree")
