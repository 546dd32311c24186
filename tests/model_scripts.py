"""Scripted models that solve the demo suite over HTTP, for the model-API tests.

The right answers come from the oracles (as builtin/oracle gets them); the scripts only
differ in how they speak: Chat Completions or Responses, native tool calls or text blocks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import user_task_id
from evaluator.config.paths import REPOS_DIR, TASKS_DIR, WEIGHTS_FILE
from evaluator.config.settings import Selection
from evaluator.models import TaskContext
from evaluator.models.builtin import solution
from evaluator.models.text_tools import render_actions
from evaluator.scoring.oracle_registry import FactCache
from evaluator.tasks.plan import build_plan
from evaluator.testing.scripted_responses import FunctionCall, input_messages, response_body, responses_turn
from evaluator.testing.scripted_server import Reply, completion, tool_call


def demo_solutions(cache_dir: Path, repo: str = "demo") -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """task id -> (answer.json content, files to write), for every task of the repo."""
    sel = Selection(repos=[repo], tasks_dir=TASKS_DIR, repos_config=REPOS_DIR, cache_dir=cache_dir)
    plan = build_plan(sel, epochs=1, prompt_version="v1", weights=WEIGHTS_FILE)
    facts = FactCache(plan.cache_dir / "oracles")
    return {job.task.id: solution(TaskContext(task=job.task, repo_root=job.pristine, commit=job.commit, cache=facts))
            for job in plan.jobs}


def writes(answer: dict[str, Any], files: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    out = [("write_file", {"path": "eval_artifacts/answer.json", "content": json.dumps(answer)})] if answer or not files else []
    return out + [("write_file", {"path": p, "content": t}) for p, t in sorted(files.items())]


def plan_for(task: str, turn: int, sols: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """The calls a correct model makes at `turn`; None when it is done."""
    if turn == 0:
        return [("list_dir", {"path": "."})]
    if turn == 1:
        return writes(*sols[task])
    return None


def chat_solver(sols: dict[str, Any], *, text: bool = False):  # noqa: ANN201
    def script(body: dict[str, Any], _: int) -> Reply:
        messages = body["messages"]
        turn = sum(1 for m in messages if m["role"] == "assistant")
        calls = plan_for(user_task_id(messages), turn, sols)
        if calls is None:
            return completion("The answer is written.")
        native = [tool_call(name, args, f"c{turn}_{i}") for i, (name, args) in enumerate(calls)]
        if text:
            return completion("I will do this:\n\n" + render_actions(native))
        return completion(tool_calls=native)
    return script


def responses_solver(sols: dict[str, Any]):  # noqa: ANN201
    """Reasons before every batch of calls (reasoning items the server must see again)."""
    def script(body: dict[str, Any], _: int) -> Reply:
        turn = responses_turn(body)
        task = user_task_id(input_messages(body))
        calls = plan_for(task, turn, sols)
        if calls is None:
            return Reply(body=response_body("The answer is written.", reasoning_tokens=3))
        fcs = [FunctionCall(name=n, arguments=a, call_id=f"{task}-{turn}-{i}") for i, (n, a) in enumerate(calls)]
        return Reply(body=response_body(None, fcs, reasoning=f"plan for {task} turn {turn}", reasoning_tokens=7))
    return script
