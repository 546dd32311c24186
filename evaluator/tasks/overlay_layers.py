"""The read-only lower layers of a change task's overlay working copy, built once into the cache.

- base: one checkout per (repo, commit), like the pristine one; for the kernel route (root) with
  world-writable modes (sandbox/overlay.py `open_up`: the leased sandbox uid must be able to change
  any file through the overlay, and it does not own the cache's files; under fuse-overlayfs the
  sandbox runs as the evaluator, who owns them). Its `.git` borrows the mirror's objects exactly as
  a copy's does.
- injected: one per (repo, commit, injected files): the mutated files and a fresh `.git` holding
  one commit of the injected tree (tasks/injection.py `reinit_git`), that `.git` marked opaque
  (the marker the route honours, overlay.py `mark_opaque`) so the base's mirror-linked `.git`
  below it is not visible at all.

Layers live under `<cache>/overlay/` (root's kernel route) or `<cache>/overlay-fuse/` (an
unprivileged evaluator's fuse-overlayfs), mode 0700: only the evaluator that mounts them enters.
They are built in a temp dir and renamed into place under a file lock, as the environments of
env_cache.py are. Nothing ever writes into a layer after that: a task's changes land in its own
upper dir.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from evaluator.results.atomic import file_lock
from evaluator.sandbox import overlay as ovl
from evaluator.sandbox.base import Overlay
from evaluator.sandbox.overlay import mark_opaque, open_up, remove_tree
from evaluator.tasks.clone_cache import checkout
from evaluator.tasks.injection import reinit_git, write_files


def layers(cache_root: Path, repo_id: str, mirror: Path, commit: str, injected: dict[str, str]) -> list[Path]:
    """The lower layers for a task, topmost first."""
    base = _once(cache_root, f"{repo_id}-{commit}", lambda tmp: _build_base(mirror, commit, tmp))
    if not injected:
        return [base]
    key = hashlib.sha256(json.dumps(injected, sort_keys=True).encode()).hexdigest()[:16]
    top = _once(cache_root, f"{repo_id}-{commit}-inj-{key}", lambda tmp: _build_injected(mirror, commit, injected, tmp))
    return [top, base]


_MOUNTED_ON: set[tuple[int, int]] = set()  # (run folder's, cache's) filesystems an overlay was mounted on


def task_overlay(cache_root: Path, repo_id: str, mirror: Path, commit: str, injected: dict[str, str],
                 work: Path) -> Overlay | None:
    """One task's overlay: the cached layers, and `work`/upper and `work`/ovl-work made empty, with
    `work`/repo its mount point. The first overlay on each pair of filesystems (the run folder's,
    the cache's) is mounted once and unmounted, to be sure it can be (the probe tried /tmp; either
    may be on a filesystem overlayfs refuses, such as an overlayfs in a container); None: the task
    gets a copy."""
    try:
        overlay = Overlay(lowers=layers(cache_root, repo_id, mirror, commit, injected), upper=work / "upper",
                          work=work / "ovl-work")
        if not ovl.mountable(overlay):  # a `,` or `:` in a path
            return None
        for d in (work / "repo", overlay.upper, overlay.work):
            d.mkdir(mode=0o755)
        devices = (os.stat(work).st_dev, os.stat(cache_root).st_dev)
        if devices not in _MOUNTED_ON:
            ovl.mount(overlay, work / "repo")
            ovl.unmount(work / "repo")
            _MOUNTED_ON.add(devices)
        return overlay
    except OSError:
        for name in ("repo", "upper", "ovl-work"):
            remove_tree(work / name)
        return None


def _root(cache_root: Path) -> Path:
    root = cache_root / ovl.layers_folder()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # the kernel route's layers are world-writable: nobody else may reach them
    return root


def _once(cache_root: Path, name: str, build: Callable[[Path], None]) -> Path:
    root = _root(cache_root)
    dest = root / name
    if dest.is_dir():
        return dest
    with file_lock(cache_root / "locks" / f"{root.name}-{name}.lock"):
        if dest.is_dir():
            return dest
        # A killed build of this layer (we hold its lock); the `.` keeps another layer's name that
        # starts with this one (`<repo>-<commit>-inj-…`) out of the glob.
        for stale in root.glob(f".build-{name}.*"):
            remove_tree(stale)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{name}.", dir=root))
        try:
            build(tmp)
            if ovl.route() == "kernel":
                open_up(tmp / "layer")
            os.rename(tmp / "layer", dest)  # atomic: the layer appears whole or not at all
        finally:
            remove_tree(tmp)
    return dest


def _build_base(mirror: Path, commit: str, tmp: Path) -> None:
    checkout(mirror, commit, tmp / "layer")


def _build_injected(mirror: Path, commit: str, injected: dict[str, str], tmp: Path) -> None:
    full, layer = tmp / "full", tmp / "layer"
    checkout(mirror, commit, full)
    write_files(full, injected)
    reinit_git(full, mirror, sorted(injected))
    layer.mkdir()
    os.rename(full / ".git", layer / ".git")
    mark_opaque(layer / ".git")
    for rel in injected:
        (layer / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(full / rel, layer / rel)
