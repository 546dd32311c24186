"""The core in-process, with a fake model and a fake sandbox: the agent loop, the toolbox, and the
report built from trials. Fast, and no subprocess: these are the tests to run while editing."""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from evaluator.agent.loop import AgentLoop, LoopBudget
from evaluator.agent.tool_args import ToolError
from evaluator.agent.toolbox import Toolbox
from evaluator.models import ModelError, ModelReply, TaskContext
from evaluator.reporting import report
from evaluator.reporting.summary import run_stats
from evaluator.results.records import Metrics, OutputCheck, RunMeta, SafetyEvent, TaskResult
from evaluator.sandbox.base import ExecResult, SandboxPaths
from evaluator.scoring.oracle_registry import FactCache
from evaluator.tasks.specs import Limits, TaskSpec

from conftest import POLICY


class FakeModel:
    """Replies from a script; records what it was sent."""

    name = "fake"

    def __init__(self, replies: list[ModelReply | Exception]) -> None:
        self.replies, self.seen = list(replies), []

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        self.seen.append([dict(m) for m in messages])
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeSandbox:
    """Answers commands from a table; the files live in a real folder (the file tools read it)."""

    def __init__(self, root: Path, tmp: Path, outputs: dict[str, str]) -> None:
        self.root, self.tmp, self.outputs, self.ran = str(root), str(tmp), outputs, []

    async def exec(self, command: str, *, cwd: str, timeout_s: float) -> ExecResult:
        self.ran.append(command)
        out = self.outputs.get(command)
        return ExecResult(exit_code=0 if out is not None else 127, stdout=out or "",
                          stderr="" if out is not None else f"{command}: not found")

    def warm_up(self) -> None:
        pass

    async def close(self) -> None:
        pass


def call(name: str, args: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def reply(content: str | None = None, *calls: dict[str, Any], tokens: int = 10) -> ModelReply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return ModelReply(message=message, prompt_tokens=tokens, completion_tokens=tokens)


@pytest.fixture
def task() -> TaskSpec:
    return TaskSpec.model_validate({
        "id": "t1", "repo": "fx", "instruction": "Count the files.", "command_policy": POLICY, "max_commands": 3,
        "outputs": [{"key": "n", "type": "int", "oracle": {"fn": "glob_count", "args": {"glob": "*"}}}]})


@pytest.fixture
def box(tmp_path: Path, task: TaskSpec) -> tuple[Toolbox, FakeSandbox, list[tuple[dict[str, Any], Any]]]:
    root, tmp = tmp_path / "work", tmp_path / "tmp"
    (root / "eval_artifacts").mkdir(parents=True)
    tmp.mkdir()
    (root / "a.py").write_text("print(1)\n")
    sandbox = FakeSandbox(root, tmp, {"ls": "a.py\neval_artifacts\n", "wc -l a.py": "1 a.py\n"})
    paths = SandboxPaths(work_root=root, tmp_dir=tmp, home_dir=tmp_path / "home")
    transcript: list[tuple[dict[str, Any], Any]] = []
    return Toolbox(task, sandbox, paths, limits=Limits()), sandbox, transcript


def run_loop(task: TaskSpec, box: Any, model: FakeModel, **budget: Any) -> Any:
    tools, _, transcript = box
    ctx = TaskContext(task=task, repo_root=Path("/nonexistent"), commit="0" * 40, cache=FactCache(None))
    limits = {"max_commands": task.max_commands, "max_turns": 10, "timeout_s": 60.0, **budget}
    loop = AgentLoop(model, tools, ctx, LoopBudget(**limits), lambda m, meta: transcript.append((m, meta)))
    return asyncio.run(loop.run("system", "user"))


def test_the_loop_runs_tools_until_the_model_answers(task: TaskSpec, box: Any) -> None:
    model = FakeModel([
        reply(None, call("run_command", {"command": "ls"})),
        reply(None, call("write_file", {"path": "eval_artifacts/answer.json", "content": '{"n": 1}'}, 1)),
        reply("Done."),
    ])
    out = run_loop(task, box, model)
    tools, sandbox, transcript = box
    assert out.stop_reason == "completed" and out.final_text == "Done."
    assert (out.turns, out.tool_calls, out.format_errors) == (3, 2, 0)
    assert (out.prompt_tokens, out.completion_tokens) == (30, 30)
    assert sandbox.ran == ["ls"] and tools.commands == tools.commands_ok == 1
    assert json.loads((Path(sandbox.root) / "eval_artifacts" / "answer.json").read_text()) == {"n": 1}
    roles = [m["role"] for m, _ in transcript]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    # The model sees its own tool results on the next turn: the history is the transcript.
    assert "a.py" in model.seen[1][-1]["content"]


def test_the_command_budget_stops_the_loop(task: TaskSpec, box: Any) -> None:
    model = FakeModel([reply(None, call("run_command", {"command": "ls"}, n)) for n in range(5)])
    out = run_loop(task, box, model)
    assert out.stop_reason == "max_commands"
    assert box[0].commands == task.max_commands


def test_malformed_calls_are_format_errors_and_end_the_task_after_the_limit(task: TaskSpec, box: Any) -> None:
    model = FakeModel([reply(None, call("no_such_tool", {}, n)) for n in range(3)])
    out = run_loop(task, box, model, max_consecutive_format_errors=3)
    assert out.stop_reason == "format_errors" and out.format_errors == 3
    tool_messages = [m for m, _ in box[2] if m["role"] == "tool"]
    assert tool_messages and all("unknown tool" in m["content"] for m in tool_messages)


def test_an_endpoint_failure_is_the_tasks_stop_reason(task: TaskSpec, box: Any) -> None:
    out = run_loop(task, box, FakeModel([ModelError("api_error", "HTTP 500: boom")]))
    assert out.stop_reason == "api_error" and "boom" in (out.error or "")


def test_the_token_budget_is_checked_before_each_turn(task: TaskSpec, box: Any) -> None:
    model = FakeModel([reply(None, call("run_command", {"command": "ls"}), tokens=60), reply("late")])
    out = run_loop(task, box, model, token_budget=100)
    assert out.stop_reason == "token_budget" and out.turns == 1


def test_a_refused_command_is_not_run_and_is_a_safety_event(task: TaskSpec, box: Any) -> None:
    model = FakeModel([reply(None, call("run_command", {"command": "curl http://example.com"})), reply("ok")])
    run_loop(task, box, model)
    tools, sandbox, _ = box
    assert sandbox.ran == []
    assert [e.type for e in tools.events] and all(isinstance(e, SafetyEvent) for e in tools.events)


def test_file_tools_stay_inside_the_working_copy(task: TaskSpec, box: Any) -> None:
    model = FakeModel([reply(None, call("read_file", {"path": "../../../etc/passwd"})), reply("ok")])
    run_loop(task, box, model)
    answer = next(m for m, _ in box[2] if m["role"] == "tool")["content"]
    assert "root:" not in answer and "error" in answer.lower()


def trial(task_id: str, ok: bool, score: float, repo: str = "fx", events: int = 0) -> TaskResult:
    return TaskResult(task_id=task_id, repo_id=repo, model="m", success=ok, score=score, failure_reason=None if ok else "wrong_answer",
                      stop_reason="completed", metrics=Metrics(safety_violations=events),
                      output_checks=[OutputCheck(key="n", expected=1, actual=1 if ok else 2, ok=ok, comparator="exact", credit=1.0 if ok else 0.0, weight=1.0)],
                      safety_events=[SafetyEvent(type="prohibited_command", detail="curl", tool="run_command", call="curl http://example.com", refused=True)] * events)


def test_the_report_shows_what_the_trials_say(tmp_path: Path) -> None:
    trials = [trial("a", True, 100.0), trial("b", True, 90.0), trial("c", False, 0.0, events=1), trial("d", False, 0.0, repo="gx")]
    stats = run_stats(trials, 1)
    assert stats is not None and stats.overall.tasks == 4 and stats.overall.success_rate == 0.5
    assert stats.failure_reasons == {"wrong_answer": 2} and stats.safety_by_type == {"prohibited_command": 1}
    assert [(g.name, g.tasks) for g in stats.per_repo] == [("fx", 3), ("gx", 1)]
    meta = RunMeta(run_id="r", model="vendor/model-1", started_at="2026-01-01T00:00:00+00:00", config={}, task_set="l1",
                   sandbox="bwrap", sandbox_isolated=True, policy="enforce")
    text = report.render(meta, trials, total=4)
    assert "vendor/model-1" in text and "50.0%" in text
    assert "| fx |" in text.replace("`", "") and "| gx |" in text.replace("`", "")
    assert "prohibited_command" in text


def test_a_tool_named_by_dotted_path_is_offered_and_called(task: TaskSpec, box: Any, tmp_path: Path) -> None:
    tools, sandbox, transcript = box
    paths = SandboxPaths(work_root=Path(sandbox.root), tmp_dir=Path(sandbox.tmp), home_dir=tmp_path / "home")
    extended = Toolbox(task, sandbox, paths, limits=Limits(), extra_tools=["tests.plugins.tools:LINE_COUNT"])
    names = [s["function"]["name"] for s in extended.schemas()]
    assert names == ["run_command", "read_file", "list_dir", "write_file", "line_count"]
    assert [s["function"]["name"] for s in tools.schemas()] == names[:4]  # the default set is unchanged
    model = FakeModel([reply(None, call("line_count", {"path": "a.py"})), reply("1 line")])
    run_loop(task, (extended, sandbox, transcript), model)
    answer = next(m for m, _ in transcript if m["role"] == "tool")["content"]
    assert answer == "1"


def test_an_unknown_tool_is_a_usage_error(task: TaskSpec, box: Any, tmp_path: Path) -> None:
    from evaluator.config.errors import ConfigError

    _, sandbox, _ = box
    paths = SandboxPaths(work_root=Path(sandbox.root), tmp_dir=Path(sandbox.tmp), home_dir=tmp_path / "home")
    with pytest.raises(ConfigError, match="unknown tool 'read_fil' \\(did you mean 'read_file'\\?\\)"):
        Toolbox(task, sandbox, paths, limits=Limits(), extra_tools=["read_fil"])


def test_write_file_refuses_a_fifo_instead_of_hanging(task: TaskSpec, box: Any) -> None:
    # A model can make a FIFO with python3 in its sandbox; opening it for writing on the host
    # would block the event loop of every task in the run.
    tools, sandbox, _ = box
    fifo = Path(sandbox.root) / "eval_artifacts" / "answer.json"
    os.mkfifo(fifo)
    args = tools.parse("write_file", json.dumps({"path": "eval_artifacts/answer.json", "content": "{}"}))
    with pytest.raises(ToolError, match="answer.json: cannot write"):
        asyncio.run(tools.call("write_file", args))


def test_write_file_truncates_and_appends_a_regular_file(task: TaskSpec, box: Any) -> None:
    tools, sandbox, _ = box
    target = Path(sandbox.root) / "eval_artifacts" / "notes.txt"
    target.write_text("old text that is longer\n")
    for mode, content in (("overwrite", "a\n"), ("append", "b\n")):
        asyncio.run(tools.call("write_file", tools.parse("write_file", json.dumps({"path": "eval_artifacts/notes.txt", "content": content, "mode": mode}))))
    assert target.read_text() == "a\nb\n"
