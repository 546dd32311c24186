"""`python -m evaluator.validate`: prove every selected task is valid by machine.

For each task: the oracle's answer (through each answer checker's `solve()`) succeeds; an
empty answer (builtin/nop) fails; every distractor differs from the truth and fails; a
superset answer fails; each mutation of the expected answer that exceeds the comparator's
tolerance fails; the answer is not trivial; an answer decided by a tie-break (the oracle's
`ties` lists several) needs a tie rule in the instruction and a comparator that accepts every
tied answer (evaluator/tasks/ties.py); per repository, at most a third of the labelled tasks are
one-pipeline (evaluator/tasks/pipeline_share.py); a second derivation of every oracle's answer,
sharing no code with the oracle (`derivations/`), passes the task's comparator
(evaluator/tasks/second_derivation.py).

Exit codes: 0 every task is valid; 1 some task is too weak or broken (listed); 2 usage or config error.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evaluator.cli import common as cli
from evaluator.scoring import oracle_registry as oracles, score as scoring
from evaluator.config.errors import ConfigError
from evaluator.config.paths import WEIGHTS_FILE
from evaluator.config.settings import add_selection_flags, selection_from
from evaluator.tasks import pipeline_share, second_derivation, ties
from evaluator.models import TaskContext
from evaluator.models.builtin import solution
from evaluator.tasks.image_checks import IMAGE_TAG, answer_in_text
from evaluator.sandbox import SandboxUnavailable, get_backend
from evaluator.tasks.change_validation import ChangeValidator
from evaluator.tasks.plan import Job, build_plan
from evaluator.tasks.specs import OutputSpec
from evaluator.tasks.clone_cache import default_cache_dir


class TaskVerdict(BaseModel):
    task_id: str
    repo_id: str
    ok: bool
    problems: list[str] = Field(default_factory=list)
    checks: int = 0


def mutations(value: Any, spec: OutputSpec) -> list[tuple[str, Any]]:
    """Wrong answers just outside the comparator's tolerance."""
    opts = spec.comparator_args
    if isinstance(value, bool):
        return [("flipped", not value)]
    if isinstance(value, (int, float)):
        step = max(1.0, 2 * float(opts.get("abs_tol", 0)) + 1, 2 * float(opts.get("rel_tol", 0)) * abs(value) + 1)
        step = int(step) if isinstance(value, int) and float(step).is_integer() else step
        return [("plus", value + step), ("minus", value - step)]
    if isinstance(value, str):
        return [("changed", value + "x"), ("emptied", "")] if value else [("changed", "x")]
    if isinstance(value, list):
        out: list[tuple[str, Any]] = [("added", value + [_extra(value)])]
        if value:
            out.append(("dropped", value[:-1]))
        return out
    if isinstance(value, dict) and value:
        first = sorted(value)[0]
        changed = copy.deepcopy(value)
        changed[first] = mutations(value[first], spec)[0][1] if mutations(value[first], spec) else "__changed__"
        return [("key dropped", {k: v for k, v in value.items() if k != first}), ("value changed", changed)]
    return []


def _extra(items: list[Any]) -> Any:
    sample = items[0] if items else "x"
    return (sample + "_extra") if isinstance(sample, str) else (sample + 1000 if isinstance(sample, (int, float)) else "extra")


def _trivial(value: Any) -> bool:
    return value in (None, "", 0, [], {}) and not isinstance(value, bool)


class Validator:
    def __init__(self, cache: oracles.FactCache, changes: ChangeValidator | None = None) -> None:
        self.cache = cache
        self.changes = changes

    def check(self, job: Job) -> TaskVerdict:
        task = job.task
        if task.kind == "change":
            if self.changes is None:
                raise ConfigError("change tasks need a sandbox to validate in (--sandbox)")
            problems, runs = self.changes.check(job)
            return TaskVerdict(task_id=task.id, repo_id=task.repo, ok=not problems, problems=problems, checks=runs)
        v = TaskVerdict(task_id=task.id, repo_id=task.repo, ok=True)
        ctx = TaskContext(task=task, repo_root=job.pristine, commit=job.commit, cache=self.cache)
        try:
            answer, files = solution(ctx)
        except oracles.OracleError as exc:
            return TaskVerdict(task_id=task.id, repo_id=task.repo, ok=False, problems=[f"oracle failed: {exc}"])
        expected = dict(answer)

        def succeeds(candidate: dict[str, Any] | None, extra_files: dict[str, str]) -> bool:
            v.checks += 1
            with tempfile.TemporaryDirectory() as d:
                root = Path(d)
                (root / "eval_artifacts").mkdir()
                if candidate is not None:
                    (root / "eval_artifacts" / "answer.json").write_text(json.dumps(candidate))
                for rel, text in extra_files.items():
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / rel).write_text(text)
                got = scoring.read_answer(root)
                checks = scoring.check_outputs(task, expected, got, repo_root=job.pristine, answer_dir=root)
                return bool(checks) and all(c.ok for c in checks)

        if not succeeds(answer if answer else None, files):
            v.problems.append("builtin/oracle's answer does not succeed")
        if succeeds(None, {}):
            v.problems.append("builtin/nop (no answer) succeeds")
        for out in task.outputs:
            if out.type == "oracle_bool":
                mine = oracles.resolve(out.oracle.fn).solve(repo_root=job.pristine, **out.oracle.args)  # type: ignore[misc]
                for rel, text in mine.items():  # the checker must notice a damaged file
                    broken = "\n".join(text.splitlines()[:-1]) + "\n"
                    if succeeds(answer or None, {**files, rel: broken}):
                        v.problems.append(f"`{out.key}`: {rel} without its last line still passes {out.oracle.fn}")
                    v.problems += second_derivation.checker_problems(out, job.pristine, mine, {**mine, rel: broken})
                continue
            truth = expected[out.key]
            if _trivial(truth):
                v.problems.append(f"`{out.key}`: the answer {truth!r} is trivial")
            found = answer_in_text(job.pristine, truth) if IMAGE_TAG in task.tags else None
            if found:
                v.problems.append(f"`{out.key}`: image task, but the answer {found[0]!r} is written in {found[1]}")
            try:
                tied = ties.tied_answers(out, job.pristine)
            except oracles.OracleError as exc:
                v.problems.append(f"`{out.key}`: tie check failed: {exc}")
                tied = []
            v.problems += ties.tie_problems(task, out, tied, lambda alt, k=out.key: succeeds({**answer, k: alt}, files))
            v.problems += second_derivation.fact_problems(out, truth, job.pristine,
                                                          lambda alt, k=out.key: succeeds({**answer, k: alt}, files))
            wrongs: list[tuple[str, Any]] = []
            for d in out.distractors:
                try:
                    value = oracles.fact(d.fn, d.args, repo_root=job.pristine, commit=job.commit, cache=self.cache)
                except oracles.OracleError as exc:
                    v.problems.append(f"`{out.key}`: distractor {d.fn} failed: {exc}")
                    continue
                if value == truth:
                    v.problems.append(f"`{out.key}`: distractor {d.fn} equals the truth at this commit")
                wrongs.append((f"distractor {d.fn}", value))
            if isinstance(truth, list):
                extra = sorted({json.dumps(x) for _, w in wrongs if isinstance(w, list) for x in w} - {json.dumps(x) for x in truth})
                superset = truth + [json.loads(x) for x in extra] if extra else truth + [_extra(truth)]
                wrongs.append(("superset", superset))
            wrongs += [(f"mutation ({name})", value) for name, value in mutations(truth, out)]
            for name, value in wrongs:
                if value != truth and succeeds({**answer, out.key: value}, files):
                    v.problems.append(f"`{out.key}`: {name} answer {json.dumps(value)[:80]} scores as success")
        v.ok = not v.problems
        return v


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluator.validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_flags(p)
    p.add_argument("--json", type=Path, help="Also write the verdicts as JSON to this file (default: none).")
    p.add_argument("--sandbox", default="bwrap", help="Backend that grades change tasks (bwrap or local; default bwrap).")
    return p


def validate(ns: argparse.Namespace) -> int:
    sel = selection_from(ns)
    plan = build_plan(sel, epochs=1, prompt_version="v1", weights=WEIGHTS_FILE)
    changes = None
    if any(job.task.kind == "change" for job in plan.jobs):
        backend = get_backend(ns.sandbox)
        backend.preflight()
        from evaluator.tasks.env_cache import prepare_envs

        prepare_envs(plan, quiet=False)  # the repos' environments, built once and cached, as a run does
        wants = getattr(backend, "overlay_workspace", None)  # grade through overlays exactly when a run would
        changes = ChangeValidator(backend, sel.cache_dir or default_cache_dir() if wants is not None and wants() else None)
    validator = Validator(oracles.FactCache((sel.cache_dir or default_cache_dir()) / "oracles"), changes)
    verdicts = [validator.check(job) for job in plan.jobs]
    bad = [v for v in verdicts if not v.ok]
    for v in verdicts:
        print(f"{'ok  ' if v.ok else 'FAIL'} {v.repo_id}/{v.task_id} ({v.checks} checks)")
        for p in v.problems:
            print(f"       - {p}")
    print(f"{len(verdicts) - len(bad)}/{len(verdicts)} tasks valid" + (f"; too weak or broken: {', '.join(v.task_id for v in bad)}" if bad else ""))
    share_lines, over_cap = pipeline_share.share_report([job.task for job in plan.jobs])
    for line in share_lines:
        print(line)
    if ns.json:
        ns.json.write_text(json.dumps([v.model_dump() for v in verdicts], indent=2) + "\n")
    return 1 if bad or over_cap else 0


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:
        return validate(ns)
    except (ConfigError, oracles.OracleError, SandboxUnavailable) as exc:
        return cli.fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
