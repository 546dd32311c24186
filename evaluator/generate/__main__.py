"""`python -m evaluator.generate`: generate a validated task set for one registered repository.

Examples:
  python -m evaluator.generate --repo mmengine --max-tasks 80
  python -m evaluator.generate --repo mmengine --peers opencompass,internlm --out tasks/l1-generated/mmengine
  python -m evaluator.generate --repo demo --review                 # print for a human check, write nothing
  python -m evaluator.generate --repo demo --ref v0.2 --out DIR     # re-pin: report survived/changed/... ids
  python -m evaluator.generate --repo demo --kind change --max-tasks 5   # change tasks by bug injection

Exit codes: 0 tasks written (or reviewed); 1 no candidate survived the checks; 2 usage or config error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evaluator.cli import common as cli
from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks.catalog import load_repos
from evaluator.config.errors import ConfigError
from evaluator.config.paths import CHECKOUT as PROJECT_ROOT, REPOS_DIR
from evaluator.generate import output, repin
from evaluator.generate.worth import Peer
from evaluator.generate.checks import Checker
from evaluator.generate.pipeline import QUOTA, generate
from evaluator.generate.sampler import Sampler
from evaluator.generate.templates import ALL, EASY_NAMES, PARAMETRIC, Context, Template
from evaluator.tasks.clone_cache import RepoCache, default_cache_dir

GROUPS = {"easy": EASY_NAMES, "parametric": [t.name for t in PARAMETRIC], "all": list(ALL)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluator.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", required=True, help="Repo id in the registry (required).")
    p.add_argument("--repos-config", type=Path, default=REPOS_DIR, help="Folder of <id>.yaml repo files (default: built-in repos/).")
    p.add_argument("--out", type=Path, help="Output folder (default: tasks/generated/<repo>/, ignored by git; with --review: none).")
    p.add_argument("--max-tasks", type=int, default=60, help="Most tasks to emit (default 60).")
    p.add_argument("--seed", type=int, default=0, help="Sampler seed (default 0).")
    p.add_argument("--templates", default="all",
                   help=f"Comma-separated template names or groups easy/parametric/all. Known: {', '.join(ALL)}.")
    p.add_argument("--ref", help="Commit, tag or branch overriding the repo file's ref (re-pin) (default: the repo file's ref).")
    p.add_argument("--review", action="store_true", help="Print each task's question, answer and distractors (default off).")
    p.add_argument("--peers", default="", help="Comma-separated repo ids of the same task set: a fixed question whose "
                   "answer is the same in --repo and every peer is dropped for --repo (default: none).")
    p.add_argument("--no-set-rules", action="store_true", help="Skip the set rules (fixed questions screened, at most 2 "
                   "tasks of a template per file, at most a third one-pipeline): for the original AgentGym easy tasks "
                   "(default: rules on).")
    p.add_argument("--cache-dir", type=Path, help="Clone and oracle cache (default: $AGENTGYM_CACHE or ~/.cache/agentgym).")
    p.add_argument("--kind", choices=["answer", "change"], default="answer",
                   help="`answer` (L1 questions, default) or `change` (L2 tasks by bug injection).")
    g = p.add_argument_group("--kind change")
    g.add_argument("--tests", default="tests", help="Comma-separated test files or folders to run (default: tests).")
    g.add_argument("--task-set", default="l2", help="Tasks go to tasks/<task set>/<repo>/ unless --out (default l2).")
    g.add_argument("--sandbox", default="bwrap", help="Backend that runs the tests (bwrap or local; default bwrap).")
    g.add_argument("--max-trials", type=int, default=200, help="Most mutations to try (default 200).")
    g.add_argument("--test-timeout", type=float, default=600, help="Limit of one test run, seconds (default 600).")
    g.add_argument("--hidden-tests", type=Path, default=None, help="Folder of test files of your own, laid out as "
                   "repository paths: written into every test run and listed in each task's hidden_tests (default: none).")
    g.add_argument("--show-hidden", default="", help="Comma-separated repository paths of --hidden-tests files the "
                   "model's working copy starts with too (`visible: true`), e.g. a conftest the tests need (default: none).")
    return p


def pick_templates(spec: str) -> list[Template]:
    names: list[str] = []
    for part in (s.strip() for s in spec.split(",") if s.strip()):
        if part not in GROUPS and part not in ALL:
            raise ConfigError(f"unknown template {part!r}; known: {', '.join([*GROUPS, *ALL])}")
        names += [n for n in GROUPS.get(part, [part]) if n not in names]
    if not names:
        raise ConfigError("--templates names no template")
    return [ALL[n] for n in ALL if n in names]  # registry order, whatever order was typed


def review(accepted: list[Any]) -> None:
    for a in sorted(accepted, key=lambda a: a.task_id):
        out = a.task["outputs"][0]
        print(f"\n=== {a.task_id}  [{a.candidate.template}, {a.task['difficulty']}: {a.task['difficulty_reason']}]")
        print(a.task["instruction"])
        print(f"  expected ({out['comparator']}): {json.dumps(a.answer)[:400]}")
        for d in out.get("distractors", []):
            print(f"  distractor {d['fn']} {json.dumps(d['args'])[:120]} - {d['why']}")


def run(ns: argparse.Namespace) -> int:
    if ns.max_tasks < 1:
        raise ConfigError("--max-tasks must be at least 1")
    if ns.kind == "change":
        from evaluator.generate.inject_cli import run_change

        return run_change(ns)
    templates = pick_templates(ns.templates)
    repos = load_repos(ns.repos_config)
    if ns.repo not in repos:
        raise ConfigError(f"unknown repo id {ns.repo!r}; known ids in {ns.repos_config}: {', '.join(sorted(repos)) or 'none'}")
    spec = repos[ns.repo].model_copy(update={"ref": ns.ref}) if ns.ref else repos[ns.repo]
    cache_root = ns.cache_dir or default_cache_dir()
    repo_cache = RepoCache(cache_root)
    mirror = repo_cache.mirror(spec)
    commit = repo_cache.resolve(spec, mirror)
    root = repo_cache.pristine(spec, mirror, commit)
    facts = oracles.FactCache(cache_root / "oracles")
    ctx = Context(repo_id=spec.id, root=root, commit=commit, sampler=Sampler(ns.seed), cache=facts)
    peers = _peers(ns.peers, repos, repo_cache, spec.id)
    res = generate(ctx, Checker(ctx, spec, drop_naive=not ns.no_set_rules), templates, max_tasks=ns.max_tasks,
                   seed=ns.seed, progress=lambda msg: print(msg, file=sys.stderr), peers=peers, rules=not ns.no_set_rules)
    out_dir = ns.out if ns.out or ns.review else PROJECT_ROOT / "tasks" / "generated" / spec.id
    new = {a.task_id: repin.expected(a.task, root, commit, facts) for a in sorted(res.accepted, key=lambda a: a.task_id)}
    diff = None
    if ns.ref and out_dir is not None:
        previous = output.existing_tasks(out_dir, spec.id)
        recorded = _recorded_answers(out_dir / output.REPORT)
        old = repin.old_answers(previous, spec, repo_cache, mirror, facts, recorded)
        diff = output.repin_diff(old, new) if previous else None
    if ns.review:
        review(res.accepted)
    if out_dir is not None:
        output.write_tasks(out_dir, spec.id, res)
        meta = {"repo": spec.id, "url": spec.url, "ref": spec.ref, "commit": commit, "seed": ns.seed,
                "max_tasks": ns.max_tasks, "quota": QUOTA, "templates": [t.name for t in templates], "peers": [p.repo_id for p in peers], "set_rules": not ns.no_set_rules}
        output.write_report(out_dir, meta, res, new, diff)
    _summary(res, out_dir, commit, diff)
    return 0 if res.accepted else 1


def _peers(text: str, repos: dict[str, Any], cache: RepoCache, me: str) -> list[Peer]:
    ids = [r.strip() for r in text.split(",") if r.strip() and r.strip() != me]
    unknown = [r for r in ids if r not in repos]
    if unknown:
        raise ConfigError(f"--peers: unknown repo id {unknown[0]!r}; known ids: {', '.join(sorted(repos))}")
    out = []
    for rid in ids:
        mirror = cache.mirror(repos[rid])
        commit = cache.resolve(repos[rid], mirror)
        out.append(Peer(repo_id=rid, root=cache.pristine(repos[rid], mirror, commit), commit=commit))
    return out


def _recorded_answers(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("answers", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def _summary(res: Any, out_dir: Path | None, commit: str, diff: dict[str, list[str]] | None) -> None:
    per: dict[str, int] = {}
    for a in res.accepted:
        per[a.candidate.template] = per.get(a.candidate.template, 0) + 1
    where = f" to {out_dir}" if out_dir is not None else " (review only, nothing written)"
    print(f"\n{len(res.accepted)} tasks from {len(per)} templates at {commit[:12]}{where}")
    for name, n in per.items():
        print(f"  {name}: {n}")
    for name, why in res.dropped_templates.items():
        print(f"  template {name} dropped for this repo: {why}")
    one = sum(1 for a in res.accepted if a.candidate.one_pipeline)
    if any(a.candidate.one_pipeline is not None for a in res.accepted):
        print(f"one-pipeline: {one}/{len(res.accepted)} ({one / len(res.accepted):.0%}; at most a third)")
    print("dropped by reason:" if res.drops else "dropped: none")
    for reason, n in output.drop_summary(res).items():
        print(f"  {reason}: {n}")
    if diff is not None:
        print("re-pin: " + ", ".join(f"{k} {len(v)}" for k, v in diff.items()))
        for k in ("changed", "disappeared"):
            for tid in diff[k]:
                print(f"  {k}: {tid}")


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:
        return run(ns)
    except (ConfigError, oracles.OracleError) as exc:
        return cli.fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
