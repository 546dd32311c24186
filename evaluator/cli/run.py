"""`python -m evaluator.run`: evaluate a model on a task set.

Exit codes:
  0    every task ran (whatever the model scored)
  1    some task ended with an infrastructure error (api_error, sandbox_error or harness_error)
  2    usage, config or preflight error, a clone or a repository environment that cannot be built (nothing was run)
  130  interrupted by SIGINT, 143 by SIGTERM: a partial report was written; resume with --resume
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from evaluator.cli import common as cli
from evaluator.config.errors import ConfigError
from evaluator.config.model_options import add_model_option_flags, parse_headers, restore_headers, secret_header
from evaluator.config.settings import RunConfig, add_selection_flags, api_key_from, run_config_from
from evaluator.models import BUILTIN_MODELS, Model, PreflightError, factory
from evaluator.tasks.plan import Plan, build_plan
from evaluator.results.records import INFRA_FAILURES, RepoEnvRecord, RunMeta
from evaluator.sandbox import SandboxUnavailable, get_backend
from evaluator.execution.session import Session, new_run_dir, resume_command, run_meta
from evaluator.results.rundir import Redactor, RunDir
from evaluator.results.runlock import RunLock
from evaluator.sandbox.sweep import sweep_stale_tmp


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluator.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_flags(p)
    p.add_argument("--runs-root", type=Path, default=Path("runs"), help="Where run directories are created (default: ./runs).")
    m = p.add_argument_group("model (flags beat MODEL_NAME, BASE_URL, OPENAI_API_KEY, ... from the environment or .env)")
    m.add_argument("--model", help="Model id, or builtin/oracle | builtin/nop (env MODEL_NAME or OPENAI_MODEL; no default).")
    m.add_argument("--base-url", help="OpenAI-compatible base URL with http:// or https://, with or without /v1 "
                   "(env BASE_URL or OPENAI_BASE_URL; default https://api.openai.com/v1).")
    m.add_argument("--api-key", help="API key (env OPENAI_API_KEY; default none); optional for local servers.")
    m.add_argument("--temperature", type=cli.number(float, 0, high=2), help="Sampling temperature, 0 to 2 (env OPENAI_TEMPERATURE; default 0).")
    m.add_argument("--max-output-tokens", type=cli.number(int, 1), help="Max tokens per reply (env OPENAI_MAX_OUTPUT_TOKENS; default 4096).")
    m.add_argument("--include-reasoning-content", action="store_true",
                   help="Send reasoning_content back to providers that require it (it is always kept in transcripts; default off).")
    m.add_argument("--extra-body", help="JSON object merged into every request body, e.g. '{\"top_p\": 0.9}' (default none).")
    add_model_option_flags(m)
    m.add_argument("--request-timeout", type=cli.number(float, 0, above=True), default=300.0,
                   help="Seconds per model request, more than 0 (default 300).")
    m.add_argument("--max-attempts", type=cli.number(int, 1), default=10, help="Attempts per model request on 429/5xx/timeouts (default 10).")
    m.add_argument("--max-inflight", type=cli.number(int, 1), help="Cap on in-flight model requests per endpoint (default: --concurrency).")
    r = p.add_argument_group("execution")
    r.add_argument("--concurrency", type=cli.number(int, 1), default=4, help="Tasks in flight at once (default 4).")
    r.add_argument("--epochs", type=cli.number(int, 1), default=1, help="Run every task K times (default 1).")
    r.add_argument("--sandbox", default="bwrap",
                   help="bwrap (default): isolated; local: plain subprocess, weaker, flagged in the report; "
                        "or your own backend as a dotted path package.module:Backend.")
    r.add_argument("--policy", choices=["enforce", "record"], default="enforce",
                   help="enforce (default): refuse policy violations; record: run them in the sandbox and record them.")
    r.add_argument("--tool", action="append", default=[], metavar="REF",
                   help="Give our loop's model one more tool: a dotted path package.module:TOOL to an "
                        "evaluator.agent.toolbox.Tool (repeatable; default: the four built-in tools only).")
    r.add_argument("--agent", default="builtin",
                   help="builtin (default): our own tool loop; or an external coding agent run in the sandbox "
                        "through the model proxy: mini-swe-agent, opencode, codex, claude-code, qwen-code, "
                        "or your own adapter as a dotted path package.module:Class (docs/agents.md).")
    r.add_argument("--closed-book", action="store_true", help="No tools: the model answers from the instruction alone (default off).")
    r.add_argument("--max-task-seconds", type=cli.number(int, 1), default=1800, help="Global cap on any task's timeout_seconds (default 1800).")
    r.add_argument("--max-format-errors", type=cli.number(int, 1), default=5,
                   help="End a task after this many consecutive malformed tool calls (default 5).")
    r.add_argument("--shard", metavar="I/N", help="Run only slice I of N (deterministic, balanced); merge with evaluator.merge (default: all tasks).")
    r.add_argument("--resume", type=Path, metavar="RUN_DIR", help="Continue an interrupted run with its own config (default: start a new run).")
    r.add_argument("--retry-failed", type=Path, metavar="RUN_DIR",
                   help="Re-run only tasks that failed with api_error, sandbox_error or harness_error in RUN_DIR (default: none).")
    r.add_argument("--dry-run", action="store_true", help="Load and validate everything, print the plan; no model calls (default off).")
    r.add_argument("--quiet", action="store_true", help="No progress bar, tables or retry notes; infrastructure failures are still printed (default off).")
    return p


def make_model(cfg: RunConfig, *, quiet: bool = False) -> Model:
    return factory.make_model(cfg, quiet=quiet)


def check_agent(cfg: RunConfig) -> None:
    """An external agent: known, compatible with the run's flags, and installed (once, cached)."""
    if cfg.closed_book:
        raise ConfigError("--closed-book runs our own loop without tools; it cannot be combined with --agent")
    if cfg.model in BUILTIN_MODELS:
        raise ConfigError(f"--agent {cfg.agent} needs a model endpoint (--model and --base-url), not {cfg.model}")
    from evaluator.coding_agents.trial import agent_run

    agent_run(cfg)


async def agent_preflight(cfg: RunConfig) -> None:
    from evaluator.coding_agents.upstream import preflight
    from evaluator.coding_agents.trial import agent_run

    run = agent_run(cfg)
    problem = await preflight(run.upstream, run.agent.wire, cfg.model)
    if problem:
        raise PreflightError(problem)


def _meta(run_dir: Path) -> RunMeta:
    if not run_dir.exists():
        raise ConfigError(f"{run_dir} does not exist; pass a run directory, e.g. one listed by `ls runs/`")
    if not (run_dir / "run.json").is_file():
        raise ConfigError(f"{run_dir} is not a run directory (it has no run.json); pass the folder the run printed "
                          "after 'Report:' without its results/REPORT.md, e.g. runs/<model>-<time>")
    try:
        return RunMeta.read(run_dir)
    except (OSError, ValueError):
        raise ConfigError(f"{run_dir}/run.json is not readable as a run record") from None


def config_for(ns: argparse.Namespace) -> tuple[RunConfig, Path | None, set[str]]:
    """The config, the existing run dir (resume/retry) and the job keys to redo."""
    existing = ns.resume or ns.retry_failed
    if existing is None:
        return run_config_from(ns), None, set()
    recorded = _meta(existing).config
    headers = restore_headers(recorded.get("headers") or {}, parse_headers(ns.header))
    cfg = RunConfig.model_validate({**recorded, "api_key": None, "headers": headers})
    key = api_key_from(ns)  # never stored in run.json: pass it again
    if key:
        cfg = cfg.model_copy(update={"api_key": key})
    redo: set[str] = set()
    if ns.retry_failed:
        for p in sorted((existing / "trials").glob("*/*/epoch-*.json")):
            t = json.loads(p.read_text(encoding="utf-8"))
            if t.get("failure_reason") in INFRA_FAILURES:
                redo.add(f"{t['repo_id']}/{t['task_id']}#{t['epoch']}")
    return cfg, existing, redo


def print_plan(cfg: RunConfig, plan: Plan) -> None:
    print(f"model {cfg.model} · agent {cfg.agent} · sandbox {cfg.sandbox} · policy {cfg.policy} · epochs {cfg.epochs} · "
          f"task set {cfg.selection.task_set} ({plan.task_set_hash})")
    for pin in plan.repos.values():
        print(f"repo {pin.id}: {pin.url} @ {pin.commit}{'' if pin.pinned else f' (ref {pin.ref})'}")
    for job in plan.jobs:
        t = job.task
        what = (f"change f2p={len(t.change.fail_to_pass)} p2p={len(t.change.pass_to_pass)}" if t.change
                else f"outputs={','.join(o.key for o in t.outputs)}")
        print(f"  {t.repo}/{t.id} [{t.difficulty}] epoch {job.epoch} {what} "
              f"max_commands={t.max_commands} hash={job.task_hash}")
    print(f"{len(plan.jobs)} trials planned (dry run: no model calls)")


def claim_new_run_dir(cfg: RunConfig) -> Path:
    """A fresh run directory, created exclusively so two runs started in the same second never share one."""
    cli.check_writable(cfg.runs_root)
    while True:
        path = new_run_dir(cfg.runs_root, cfg.model if cfg.agent == "builtin" else f"{cfg.agent}-{cfg.model}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


async def main_async(ns: argparse.Namespace) -> int:
    existing = ns.resume or ns.retry_failed
    lock = None
    if existing is not None and not ns.dry_run and (existing / "run.json").is_file():
        lock = RunLock(existing).acquire()  # before reading its trials: a second writer stops here
    try:
        return await _main_locked(ns, lock)
    finally:
        if lock is not None:
            lock.release()


async def _main_locked(ns: argparse.Namespace, lock: RunLock | None) -> int:
    cfg, existing, redo = config_for(ns)
    model = make_model(cfg, quiet=ns.quiet)
    if cfg.extra_tools:  # a misspelt or unimportable tool is a usage error before any task runs
        from evaluator.agent.toolbox import TOOLS

        for ref in cfg.extra_tools:
            TOOLS.get(ref)
    if cfg.agent != "builtin":  # an unknown name is a usage error before anything else is done
        from evaluator.coding_agents.trial import load_agent

        load_agent(cfg.agent)
    plan = await asyncio.to_thread(build_plan, cfg.selection, epochs=cfg.epochs, prompt_version=cfg.prompt_version,
                                   weights=cfg.weights, shard=cfg.shard)
    if existing is not None:
        old = _meta(existing)
        if old.task_set_hash != plan.task_set_hash:
            raise ConfigError(f"the tasks, oracles, prompt or weights changed since {existing} started "
                              f"(task set hash {old.task_set_hash} -> {plan.task_set_hash}); start a new run")
    if ns.dry_run:
        print_plan(cfg, plan)
        return 0
    sweep_stale_tmp()
    backend = get_backend(cfg.sandbox)
    backend.preflight()
    if cfg.agent != "builtin":
        if not backend.isolated:  # the agent's model traffic must have no way out but the proxy
            raise ConfigError(f"--agent {cfg.agent} runs only in an isolated sandbox (--sandbox bwrap), "
                              f"not {cfg.sandbox}")
        await asyncio.to_thread(check_agent, cfg)
    if warning := backend.ceiling_warning():
        print(f"warning: {warning}", file=sys.stderr)
    if cfg.agent == "builtin":
        await model.preflight()
    else:  # the agent's own wire protocol (Responses, Anthropic Messages) may not be Chat Completions
        await agent_preflight(cfg)
    envs = await _repo_envs(plan, existing, ns.quiet)
    # Absolute: sandboxes are started from / and must not depend on the caller's cwd.
    run_dir = (existing or claim_new_run_dir(cfg)).resolve()
    cli.check_writable(run_dir)
    own = RunLock(run_dir).acquire() if lock is None else None
    try:
        key = cfg.api_key.get_secret_value() if cfg.api_key else ""
        run = RunDir(run_dir, Redactor([key, *(v for k, v in cfg.headers.items() if secret_header(k))]))
        meta = _meta(run_dir) if existing else run_meta(cfg, plan, run, backend, envs)
        session = Session(cfg, plan, run, model, backend, quiet=ns.quiet, resume_command=resume_command(run_dir))
        try:
            return await session.execute(meta, redo)
        finally:
            await model.aclose()
    finally:
        if own is not None:
            own.release()


async def _repo_envs(plan: Plan, existing: Path | None, quiet: bool) -> dict[str, RepoEnvRecord]:
    """Build the repos' environments (once per recipe, cached) before any task runs; a resumed run
    must find the recipes it started with."""
    from evaluator.tasks import env_cache

    if existing is not None:  # checked before building: a refused resume should not wait for pip
        recipes = {j.task.repo: j.repo.env for j in plan.jobs if j.repo.env is not None}
        for rid, old in _meta(existing).repo_envs.items():
            now = env_cache.recipe_hash_of(rid, recipes[rid]) if rid in recipes else None
            if now != old.recipe_hash:
                raise ConfigError(f"the environment recipe of repo {rid!r} changed since {existing} started "
                                  f"({old.recipe_hash[:12]} -> {(now or 'none')[:12]}); start a new run")
    try:
        envs = await asyncio.to_thread(env_cache.prepare_envs, plan, quiet=quiet)
    except asyncio.CancelledError:
        env_cache.cancel_builds()
        raise
    return {rid: env.record() for rid, env in envs.items()}


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    errors = (ConfigError, PreflightError, SandboxUnavailable)
    return cli.run_async(lambda: main_async(ns), errors)


if __name__ == "__main__":
    sys.exit(main())
