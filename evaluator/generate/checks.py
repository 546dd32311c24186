"""Per-candidate checks: the oracle answers, the answer is worth asking, distractors are real,
and `evaluator.validate`'s Validator accepts the task. Each failure is a Drop with a reason."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evaluator.scoring import oracle_registry as oracles
from evaluator.generate.model import Accepted, Candidate, Drop, canonical
from evaluator.generate.templates.base import DEFAULT_POLICY, Context
from evaluator.tasks.plan import Job
from evaluator.tasks.specs import RepoSpec, TaskSpec
from evaluator.tasks.validation import Validator

DROP_ORACLE = "oracle error"
DROP_TRIVIAL = "trivial answer"
DROP_LARGE = "answer too large"
DROP_DUPLICATE = "duplicate question"
DROP_QUOTA = "template quota"
DROP_INVALID = "validation failed"
DROP_SPEC = "invalid task spec"
DROP_TEMPLATE = "template error"
DROP_UNUSED = "max tasks reached"
DROP_NAIVE = "naive pipeline answers it"
DROP_SAME_FILE = "same file"
DROP_ONE_PIPELINE = "one-pipeline cap"
DROP_SAME_ACROSS = "same answer in every repo"
NAIVE_FNS = ("grep_count", "grep_files")  # distractors that are one grep pipeline, not a misreading
MAX_ANSWER_CHARS = 2500  # beyond this a model mostly tests its patience, not its reading
LEVELS = ["easy", "medium", "hard"]


def trivial(value: Any) -> bool:
    """Guessable without looking: empty, zero, null, or an object whose values are all null."""
    if isinstance(value, bool):
        return False
    if value in (None, "", 0, [], {}):
        return True
    return isinstance(value, dict) and all(v is None for v in value.values())


def size_of(value: Any) -> int:
    return len(value) if isinstance(value, (list, dict)) else 1


def difficulty(c: Candidate, answer: Any) -> tuple[str, str]:
    """The template's estimate, one level harder for a big answer (> 10 items or > 6 keys)."""
    n = size_of(answer)
    big = isinstance(answer, list) and n > 10 or isinstance(answer, dict) and n > 6
    level = LEVELS[min(LEVELS.index(c.difficulty) + big, 2)]
    return level, c.reason + (f"; answer has {n} items" if isinstance(answer, (list, dict)) else "")


class Checker:
    def __init__(self, ctx: Context, repo: RepoSpec, *, drop_naive: bool = True) -> None:
        self.ctx = ctx
        self.repo = repo
        self.drop_naive = drop_naive  # off only for the original AgentGym easy tasks (--no-set-rules)
        self.validator = Validator(ctx.cache)
        self.seen: dict[str, str] = {}  # oracle call or instruction -> task id that claimed it

    def _fact(self, fn: str, args: dict[str, Any]) -> Any:
        return oracles.fact(fn, args, repo_root=self.ctx.root, commit=self.ctx.commit, cache=self.ctx.cache)

    def duplicate(self, c: Candidate, task_id: str) -> Drop | None:
        for k in (c.oracle_key, c.instruction):
            if k in self.seen:
                return Drop(template=c.template, task_id=task_id, reason=DROP_DUPLICATE, detail=f"same as {self.seen[k]}")
        return None

    def check(self, c: Candidate, provenance: dict[str, Any]) -> Accepted | Drop:
        task_id = c.task_id(self.ctx.repo_id)
        drop = self.duplicate(c, task_id)
        if drop:
            return drop

        def fail(reason: str, detail: str = "") -> Drop:
            return Drop(template=c.template, task_id=task_id, reason=reason, detail=detail[:300])

        answer: Any = True
        if c.type != "oracle_bool":
            try:
                answer = self._fact(c.fn, c.args)
            except oracles.OracleError as exc:
                return fail(DROP_ORACLE, str(exc))
            if trivial(answer):
                return fail(DROP_TRIVIAL, f"answer {canonical(answer)[:80]}")
            if len(canonical(answer)) > MAX_ANSWER_CHARS:
                return fail(DROP_LARGE, f"{len(canonical(answer))} characters")
        distractors = []
        for d in c.distractors:
            if d.optional:  # a naive shortcut that happens to be right (or breaks) is no trap here
                try:
                    same = self._fact(d.fn, d.args) == answer
                except oracles.OracleError:
                    continue
                if same and d.fn in NAIVE_FNS and self.drop_naive:  # one grep already gives the exact answer: not worth asking
                    return fail(DROP_NAIVE, f"{d.fn} {canonical(d.args)[:120]} gives it")
                if same:
                    continue
            distractors.append({"fn": d.fn, "args": d.args, "why": d.why})
        level, reason = difficulty(c, answer)
        data = build_task(c, task_id, self.ctx.repo_id, level, reason, distractors, provenance)
        try:
            task = TaskSpec.model_validate(data)
        except ValidationError as exc:
            return fail(DROP_SPEC, str(exc.errors()[0]["msg"]))
        job = Job(task=task, task_path=Path(f"{task_id}.yaml"), repo=self.repo, commit=self.ctx.commit,
                  mirror=self.ctx.root, pristine=self.ctx.root, task_hash="generated")
        verdict = self.validator.check(job)
        if not verdict.ok:
            return fail(DROP_INVALID, "; ".join(verdict.problems))
        self.seen.setdefault(c.oracle_key, task_id)
        self.seen.setdefault(c.instruction, task_id)
        return Accepted(candidate=c, task_id=task_id, task=data, answer=answer)


def build_task(c: Candidate, task_id: str, repo_id: str, level: str, reason: str,
               distractors: list[dict[str, Any]], provenance: dict[str, Any]) -> dict[str, Any]:
    """The task file's content, keys in the order they are written (never sorted)."""
    output: dict[str, Any] = {"key": c.key, "type": c.type, "oracle": {"fn": c.fn, "args": c.args},
                              "comparator": c.comparator, "weight": 1.0}
    if distractors:
        output["distractors"] = distractors
    label = {} if c.one_pipeline is None else {"one_pipeline": c.one_pipeline}
    return {
        "id": task_id, "repo": repo_id, "difficulty": level, "difficulty_reason": reason, **label, "initial_working_dir": ".",
        "instruction": c.instruction, "command_policy": DEFAULT_POLICY, "outputs": [output],
        "max_commands": c.max_commands + (8 if level == "hard" else 4 if level == "medium" else 0),
        "timeout_seconds": c.timeout_seconds + (120 if level == "hard" else 0),
        "tags": ["generated", c.template, *c.tags], "provenance": provenance,
    }
