"""The `--kind change` branch of `python -m evaluator.generate` (bug injection, see inject.py)."""
from __future__ import annotations

import argparse
from collections import Counter

from evaluator.config.errors import ConfigError
from evaluator.config.paths import CHECKOUT as PROJECT_ROOT
from evaluator.generate.inject import generate_change, read_hidden
from evaluator.sandbox import SandboxUnavailable, get_backend
from evaluator.tasks.catalog import load_repos
from evaluator.tasks.clone_cache import RepoCache, default_cache_dir
from evaluator.tasks.mutations import MutationError


def run_change(ns: argparse.Namespace) -> int:
    if ns.review or ns.ref:
        raise ConfigError("--review and --ref are for --kind answer")
    if ns.max_trials < 1 or ns.test_timeout <= 0:
        raise ConfigError("--max-trials must be at least 1 and --test-timeout positive")
    repos = load_repos(ns.repos_config)
    if ns.repo not in repos:
        raise ConfigError(f"unknown repo id {ns.repo!r}; known ids in {ns.repos_config}: {', '.join(sorted(repos)) or 'none'}")
    selection = [s.strip() for s in ns.tests.split(",") if s.strip()]
    if not selection:
        raise ConfigError("--tests names no test file or folder")
    try:
        backend = get_backend(ns.sandbox)
        backend.preflight()
    except SandboxUnavailable as exc:
        raise ConfigError(f"sandbox {ns.sandbox!r}: {exc}") from None
    spec = repos[ns.repo]
    out_dir = ns.out or PROJECT_ROOT / "tasks" / ns.task_set / spec.id
    if ns.hidden_tests is not None and not ns.hidden_tests.resolve().is_relative_to(out_dir.resolve()):
        raise ConfigError(f"--hidden-tests {ns.hidden_tests} must be a folder inside the output folder {out_dir} "
                          "(each task names its hidden tests relative to its own file)")
    shown = frozenset(s.strip() for s in ns.show_hidden.split(",") if s.strip())
    if shown and ns.hidden_tests is None:
        raise ConfigError("--show-hidden names files of --hidden-tests, which is not given")
    if ns.hidden_tests is not None:
        try:
            files = read_hidden(ns.hidden_tests)  # before any clone or build: a bad folder is a usage error
        except MutationError as exc:
            raise ConfigError(str(exc)) from None
        if shown - set(files):
            raise ConfigError(f"--show-hidden: not in {ns.hidden_tests}: {', '.join(sorted(shown - set(files)))}")
    cache = RepoCache(ns.cache_dir or default_cache_dir())
    mirror = cache.mirror(spec)
    commit = cache.resolve(spec, mirror)
    root = cache.pristine(spec, mirror, commit)
    env = None
    if spec.env is not None:  # the repo's own test dependencies, as the tasks will be graded with
        from evaluator.tasks.env_cache import ensure_envs

        built = ensure_envs(ns.cache_dir or default_cache_dir(), {spec.id: (commit, spec.env)}, quiet=False)
        env = built[spec.id].mount()
    try:
        res = generate_change(backend=backend, mirror=mirror, commit=commit, root=root, repo=spec.id,
                              selection=selection, out_dir=out_dir, max_tasks=ns.max_tasks,
                              max_trials=ns.max_trials, seed=ns.seed, timeout_s=ns.test_timeout, env=env,
                              hidden_dir=ns.hidden_tests, shown=shown)
    except MutationError as exc:
        raise ConfigError(str(exc)) from None
    kept = Counter(k.candidate.kind for k in res.kept)
    print(f"\n{len(res.kept)} change tasks at {commit[:12]} to {out_dir} "
          f"({sum(res.tried.values())} mutations tried)")
    for kind, n in sorted(res.tried.items()):
        print(f"  {kind}: kept {kept.get(kind, 0)} of {n}")
    print("dropped by reason:" if res.drops else "dropped: none")
    for reason, n in sorted(res.drops.items()):
        print(f"  {reason}: {n}")
    return 0 if res.kept else 1
