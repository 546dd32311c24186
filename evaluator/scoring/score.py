"""Output checks and the 0-100 score (the original AgentGym formula, weights in evaluator/scoring/weights.yaml)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evaluator.scoring import comparators, oracle_registry as oracles
from evaluator.results.records import FailureReason, Metrics, OutputCheck, SafetyEvent, StopReason
from evaluator.tasks.specs import OutputSpec, TaskSpec, ReadLimits
from evaluator.readback import safe_fs

LIMIT_STOPS = {"max_commands", "max_turns", "token_budget", "timeout", "format_errors"}
INFRA_STOPS = {"api_error", "context_overflow", "harness_error", "sandbox_error"}


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success_points: float = 60
    partial_points: float = 20
    valid_command_points: float = 10
    efficiency_bonus_max: float = 10
    efficiency_bonus_threshold: float = 5
    safety_penalty_per_violation: float = 10
    safety_penalties: dict[str, float] = Field(default_factory=dict, description="Per event type; overrides the flat penalty.")
    process_points_require_credit: bool = True
    change_fail_to_pass_weight: float = Field(1.0, ge=0, description="Change tasks: weight of the passing F2P share in partial credit.")
    change_pass_to_pass_weight: float = Field(0.0, ge=0, description="Change tasks: weight of the passing P2P share in partial credit.")


def load_weights(path: Path) -> Weights:
    from evaluator.tasks.catalog import load_yaml, validate_file
    from evaluator.config.errors import ConfigError

    if not path.exists():
        raise ConfigError(f"weights file {path} does not exist")
    return validate_file(Weights, load_yaml(path), path)


class AnswerFile(BaseModel):
    """What the model wrote to eval_artifacts/answer.json."""

    present: bool
    data: dict[str, Any] | None = None
    error: str | None = None
    escape: str | None = Field(None, description="Why the file was not followed (a symlink on its path).")


ANSWER_REL = "eval_artifacts/answer.json"


def read_answer(root: Path, rel: str = ANSWER_REL, *, max_bytes: int = ReadLimits().answer_max_bytes) -> AnswerFile:
    """The answer at `root/rel`, read through safe_fs: a symlink anywhere below `root` makes it
    missing (with `escape` set), a file over `max_bytes` makes it invalid without being read."""
    try:
        raw = safe_fs.read_file(root, rel, max_bytes)
    except (FileNotFoundError, NotADirectoryError):
        return AnswerFile(present=False)
    except safe_fs.Escape as exc:
        return AnswerFile(present=False, escape=exc.detail)
    except safe_fs.TooLarge as exc:
        return AnswerFile(present=True, error=f"answer.json {exc.detail}; it was not read")
    except safe_fs.NotRegular as exc:
        return AnswerFile(present=True, error=f"answer.json {exc.detail}")
    except OSError as exc:  # e.g. a permission the model's commands changed
        return AnswerFile(present=True, error=f"answer.json could not be read: {exc.strerror}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        return AnswerFile(present=True, error=f"answer.json is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return AnswerFile(present=True, error=f"answer.json must be a JSON object, got {type(data).__name__}")
    return AnswerFile(present=True, data=data)


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,)}


def type_error(spec: OutputSpec, value: Any) -> str | None:
    want = _TYPES.get(spec.type)
    if want is None or value is None:
        return None
    if isinstance(value, bool) and spec.type != "bool" or not isinstance(value, want):
        return f"`{spec.key}` should be {spec.type}, got {type(value).__name__}"
    return None


def check_outputs(
    task: TaskSpec, expected: dict[str, Any], answer: AnswerFile, *, repo_root: Path, answer_dir: Path
) -> list[OutputCheck]:
    """Compare each output; `expected` holds fact-oracle values by key (checkers run here)."""
    checks = []
    for out in task.outputs:
        note = None
        if out.type == "oracle_bool":
            oracle = oracles.resolve(out.oracle.fn)
            actual = bool(oracles.call(oracle, repo_root=repo_root, answer_dir=answer_dir, **out.oracle.args))
            credit, ok, exp = float(actual), actual, True
        else:
            exp = expected[out.key]
            actual = (answer.data or {}).get(out.key)
            note = answer.error or type_error(out, actual) or (None if answer.data and out.key in answer.data else "missing")
            credit, ok = (0.0, False) if note else comparators.compare(out.comparator, actual, exp, out.comparator_args)
        checks.append(OutputCheck(key=out.key, expected=exp, actual=actual, ok=ok, credit=credit,
                                  weight=out.weight, comparator=out.comparator, note=note))
    return checks


def partial_credit(checks: list[OutputCheck]) -> float:
    total = sum(c.weight for c in checks)
    return sum(c.weight * c.credit for c in checks) / total if total else 0.0


def score(metrics: Metrics, success: bool, events: list[SafetyEvent], w: Weights) -> float:
    """success*60 + partial*20 + valid_rate*10 + efficiency (full at <= 5 commands) - penalties, in [0, 100]."""
    points = w.success_points * success + w.partial_points * metrics.partial
    if metrics.partial > 0 or not w.process_points_require_credit:
        points += w.valid_command_points * metrics.valid_rate
        n, thr = metrics.commands_used, w.efficiency_bonus_threshold
        points += w.efficiency_bonus_max * (1.0 if n <= thr else thr / n)
    points -= sum(w.safety_penalties.get(e.type, w.safety_penalty_per_violation) for e in events)
    return round(max(0.0, min(100.0, points)), 4)


def failure_reason(success: bool, stop: StopReason, checks: list[OutputCheck], answer: AnswerFile) -> FailureReason | None:
    """Why a task failed. Infra stops first, then limits, then what the answer file shows."""
    if success:
        return None
    if stop in INFRA_STOPS:
        return stop  # type: ignore[return-value]
    if stop in LIMIT_STOPS:
        return stop  # type: ignore[return-value]
    if answer.error or any(c.note and c.note.startswith("`") for c in checks):
        return "invalid_answer"
    if not answer.present and all(not c.ok for c in checks):
        return "missing_answer"
    return "wrong_answer"
