"""The benchmark's per-task set-up measure: making one task's working copy and opening + closing
its sandbox, for each kind of working copy the harness makes.

Run on its own: `python -m evaluator.benchmark.setup_time --files 3500 --n 3 --sandbox bwrap`
(prints the JSON `python -m evaluator.bench` puts under `setup_s_per_task`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluator.sandbox import SandboxPaths, get_backend
from evaluator.tasks.specs import Limits

INJECTED = {"pkg0/mod0.py": "def f0(x=1):\n    return x\n"}  # one file rewritten, as a recipe does


def setup_time(base: Path, files: int, sandbox: str, n: int) -> dict[str, float]:
    """Mean seconds per task for: the shared read-only checkout most tasks get, the full copy for
    tasks that may write elsewhere (change tasks where there is no overlay), the copy of a change
    task with an injected bug (one file rewritten, the copy's git re-initialised as one fresh
    commit), and, where the backend mounts overlays, the overlay working copy of a change task
    (empty upper and work dirs; the mount is made when the sandbox opens) and the same with an
    injected bug. The overlay's layers are built once per commit (and per injected bug): that
    one-time cost is given apart (`*_layer_build`), the per-task rows use the built layers."""
    from evaluator.benchmark.repo import make_repo
    from evaluator.tasks.clone_cache import RepoCache
    from evaluator.tasks.specs import RepoSpec

    commit = make_repo(base / "big", files)
    cache = RepoCache(base / "setup-cache")
    mirror = cache.mirror(RepoSpec(id="big", url=str(base / "big"), ref=commit))
    backend = get_backend(sandbox)  # type: ignore[arg-type]
    cache.shared_base("big", mirror, commit, "eval_artifacts")  # made once per commit, then reused
    out: dict[str, float] = {}
    overlay = bool(getattr(backend, "overlay_workspace", lambda: False)())
    if overlay:
        out.update(_layer_builds(cache.root, mirror, commit))
    modes = (["shared_readonly"] if backend.readonly_root else []) + ["full_copy", "injected_copy"]
    for mode in modes + (["overlay", "injected_overlay"] if overlay else []):
        t0 = time.perf_counter()
        for i in range(n):
            paths = _prepare(mode, base / f"setup-{mode}-{i}", cache, mirror, commit)
            asyncio.run(backend.open(paths, limits=Limits(), env={}).close())
        out[mode] = round((time.perf_counter() - t0) / n, 4)
    return out


def _layer_builds(cache_root: Path, mirror: Path, commit: str) -> dict[str, float]:
    from evaluator.tasks.overlay_layers import layers

    t0 = time.perf_counter()
    layers(cache_root, "big", mirror, commit, {})
    t1 = time.perf_counter()
    layers(cache_root, "big", mirror, commit, INJECTED)
    t2 = time.perf_counter()
    return {"overlay_layer_build": round(t1 - t0, 4), "injected_layer_build": round(t2 - t1, 4)}


def _prepare(mode: str, w: Path, cache: Any, mirror: Path, commit: str) -> SandboxPaths:
    """What execution/change_trial.py prepare_change (or trial.py for the read-only mode) does."""
    from evaluator.tasks.clone_cache import checkout
    from evaluator.tasks.injection import reinit_git, write_files
    from evaluator.tasks.overlay_layers import task_overlay

    injected = mode.startswith("injected")
    # an injected bug's working copy has its own fresh .git: the mirror is not mounted
    common: dict[str, Any] = dict(tmp_dir=w / "tmp", home_dir=w / "home", ro_binds=[] if injected else [mirror])
    if mode in ("full_copy", "injected_copy"):
        paths = SandboxPaths(work_root=w / "repo", **common)
        checkout(mirror, commit, paths.work_root)
        if injected:
            write_files(paths.work_root, INJECTED)
            reinit_git(paths.work_root, mirror, sorted(INJECTED))
    elif mode in ("overlay", "injected_overlay"):
        w.mkdir(parents=True)
        ov = task_overlay(cache.root, "big", mirror, commit, INJECTED if injected else {}, w)
        assert ov is not None, "the overlay could not be mounted in the benchmark's folder"
        paths = SandboxPaths(work_root=w / "repo", overlay=ov, **common)
    else:
        root = cache.shared_base("big", mirror, commit, "eval_artifacts")
        (w / "answer" / "eval_artifacts").mkdir(parents=True)
        paths = SandboxPaths(work_root=root, readonly_root=True,
                             writable={"eval_artifacts": w / "answer" / "eval_artifacts"}, **common)
    paths.tmp_dir.mkdir(parents=True)
    paths.home_dir.mkdir()
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m evaluator.benchmark.setup_time", description=__doc__)
    p.add_argument("--files", type=int, default=3500, help="Files in the generated repo (default 3500).")
    p.add_argument("--n", type=int, default=3, help="Tasks set up per kind of working copy (default 3).")
    p.add_argument("--sandbox", default="bwrap", help="Sandbox backend (default bwrap).")
    ns = p.parse_args(argv)
    get_backend(ns.sandbox).preflight()
    with tempfile.TemporaryDirectory(prefix="agentgym-setup-") as tmp:
        seconds = setup_time(Path(tmp), ns.files, ns.sandbox, ns.n)
    print(json.dumps({"files": ns.files, "seconds": seconds}, indent=2))


if __name__ == "__main__":
    main()
