"""Property-based fuzzing of the tools: for any argument value a tool answers or raises
`ToolError` (a format error for the model), and the transcript writer stores whatever the
tools return. Plus the command cap and the off-loop policy check.

Commands run in a real bwrap sandbox (skips without it, fails under CI=true), under an
allow-list so that fuzzed text mostly meets the policy; `echo …` commands really run.
"""
from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import bwrap_backend
from evaluator.sandbox.policy import rules as policy
from evaluator.sandbox import SandboxPaths
from evaluator.tasks.specs import Limits, TaskSpec
from evaluator.agent.tool_args import MAX_COMMAND_BYTES, ToolError
from evaluator.agent.toolbox import Toolbox
from evaluator.results.rundir import RunDir, TranscriptStream

ODD = b"odd\xff\xfe.txt"
TASK = TaskSpec.model_validate({
    "id": "fz_001", "repo": "fixture", "instruction": "x",
    "command_policy": {"allowed": ["echo", "ls", "cat"], "prohibited": ["rm"],
                       "write_paths_allowed": ["eval_artifacts/", "/tmp/"]},
    "outputs": [{"key": "k", "type": "int", "oracle": {"fn": "glob_count", "args": {"glob": "*"}}}]})


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("fuzz")
    paths = SandboxPaths(work_root=root / "work", tmp_dir=root / "tmp", home_dir=root / "home")
    for p in (paths.work_root / "eval_artifacts", paths.work_root / "src", paths.tmp_dir, paths.home_dir):
        p.mkdir(parents=True)
    (paths.work_root / "README.md").write_text("hello\n")
    (paths.work_root / "src" / "a.py").write_text("print(1)\n")
    (paths.work_root / "bin.dat").write_bytes(b"\x00\x01\x02")
    with open(os.fsencode(paths.work_root / "src") + b"/" + ODD, "w") as f:
        f.write("x")
    (paths.work_root / "out").symlink_to(root)  # a link leading out of the working copy
    sandbox = bwrap_backend().open(paths, limits=Limits(command_timeout_s=5), env={})
    run = RunDir(root / "run")
    yield Toolbox(TASK, sandbox, paths, limits=Limits(command_timeout_s=5)), TranscriptStream(run, "fixture", "fz_001", 0, "a"), run
    asyncio.run(sandbox.close())
    run.close()


def answer(tb: Toolbox, name: Any, raw: Any) -> str | None:
    """The tool's answer, None for a ToolError; anything else raised fails the property."""
    async def go() -> str | None:
        try:
            args = tb.parse(name, raw)
            shown, _ = await tb.call(name, args)
            return shown
        except ToolError as exc:
            assert str(exc)  # one sentence for the model
            return None
    return asyncio.run(go())


# Text with everything a JSON string can carry: NUL, controls, lone surrogates, astral chars.
NASTY = st.text(st.characters(exclude_categories=()), max_size=40)
HUGE = st.sampled_from(["a;" * 40_000, "x" * (MAX_COMMAND_BYTES + 1), "é" * 40_000, "../" * 3000, "\x00" * 5000])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | NASTY,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY, inner, max_size=4),
                    max_leaves=12)
PATHS = st.sampled_from([".", "src", "src/a.py", "README.md", "bin.dat", "out", "out/x", "/tmp", "/etc/passwd",
                         "eval_artifacts/a.txt", "../x", "/proc/self/environ", "src/" + os.fsdecode(ODD), ""])
VALUE = st.one_of(JSON, NASTY, HUGE, PATHS, st.integers(min_value=-(2**70), max_value=2**70))
# Per field: a plausible value (so that tools really run) or any value at all.
COMMANDS = st.sampled_from(["ls", "ls src", "cat README.md", "cat out/x", "echo hi > eval_artifacts/e.txt"]) | NASTY.map(
    lambda t: "echo " + t)
FIELDS = {
    "run_command": {"command": COMMANDS, "cwd": PATHS, "timeout_seconds": st.integers(-3, 30)},
    "read_file": {"path": PATHS, "max_bytes": st.integers(-3, 10**6)},
    "list_dir": {"path": PATHS},
    "write_file": {"path": PATHS | NASTY.map(lambda t: "eval_artifacts/" + t), "content": NASTY,
                   "mode": st.sampled_from(["overwrite", "append", "truncate"])},
}


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[Any, Any]:
    """(name, arguments) as an endpoint could send them: mostly a known tool with a JSON string."""
    known = draw(st.integers(0, 9)) > 0
    name = draw(st.sampled_from(sorted(FIELDS)) if known else st.just("teleport") | JSON)
    fields = FIELDS.get(name, {}) if isinstance(name, str) else {}
    args = {k: draw(VALUE if draw(st.integers(0, 3)) == 0 else v) for k, v in fields.items() if draw(st.integers(0, 9))}
    args.update(draw(st.dictionaries(NASTY, VALUE, max_size=2)))
    shape = draw(st.sampled_from(["string"] * 6 + ["object", "raw"]))
    raw = {"string": lambda: json.dumps(args), "object": lambda: args, "raw": lambda: draw(VALUE)}[shape]()
    return name, raw


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                          HealthCheck.function_scoped_fixture])


@FUZZ
@given(call=tool_calls())
def test_any_tool_call_is_answered_or_a_tool_error(toolbox: Any, call: tuple[Any, Any]) -> None:
    tb, stream, run = toolbox
    name, raw = call
    out = answer(tb, name, raw)
    assert out is None or isinstance(out, str)
    event(f"{name if isinstance(name, str) and name in FIELDS else 'other'}: {'tool error' if out is None else 'answered'}")
    content = "error: refused" if out is None else out
    # whatever came back (and whatever was sent) is stored as one line of valid UTF-8 JSON
    stream({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": name, "arguments": raw}}]})
    stream({"role": "tool", "tool_call_id": "c", "content": content})
    last = (run.path / "transcripts" / "fixture.jsonl").read_bytes().decode("utf-8").splitlines()[-1]
    assert json.loads(last)["message"]["role"] == "tool"


@FUZZ
@given(message=JSON)
def test_the_transcript_writer_stores_any_message(toolbox: Any, message: Any) -> None:
    _, stream, run = toolbox
    stream({"role": "tool", "content": message})
    last = (run.path / "transcripts" / "fixture.jsonl").read_bytes().decode("utf-8").splitlines()[-1]
    assert "content" in json.loads(last)["message"]


def test_list_dir_shows_a_name_that_is_not_utf8_escaped(toolbox: Any) -> None:
    tb, _, _ = toolbox
    assert "odd\\xff\\xfe.txt" in answer(tb, "list_dir", '{"path": "src"}')


def test_a_1mb_command_is_a_tool_error_naming_the_cap(toolbox: Any) -> None:
    tb, _, _ = toolbox
    with pytest.raises(ToolError, match="limited to 64 KiB"):
        tb.parse("run_command", json.dumps({"command": "a;" * 500_000}))


def test_the_policy_check_of_a_command_at_the_cap_is_bounded_and_off_the_loop(toolbox: Any) -> None:
    tb, _, _ = toolbox
    command = ("a;" * MAX_COMMAND_BYTES)[:MAX_COMMAND_BYTES]
    args = tb.parse("run_command", json.dumps({"command": command}))
    findings, risky = policy.assess(args.command, allowed=["echo"], prohibited=[])  # returns: linear, capped input
    assert findings and findings[0].word == "a" and risky == []

    async def race() -> int:
        done, ticks = asyncio.Event(), 0

        async def check() -> None:
            await tb._assess(command)
            done.set()

        task = asyncio.create_task(check())
        while not done.is_set():  # another task's steps: they go on while the check runs
            ticks += 1
            await asyncio.sleep(0.001)
        await task
        return ticks

    assert asyncio.run(race()) > 1
