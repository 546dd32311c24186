"""The text-format tool-call parser: the documented format reads back exactly, anything else
is prose or one TextFormatError, never another exception."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.models.text_tools import TextFormatError, parse_actions, render_actions, to_text_messages

FENCE_BITS = ["```", "````", "```bash", "```tool", "```json", "```sh", "```python", "\n", "{", "}", '"tool"', ":",
              '"arguments"', "[", "]", "null", " ", "\\", '"', "`", "write_file", "\r\n", "\x00", "é"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FENCE_BITS), st.text(max_size=12)), max_size=40).map("".join))
def test_any_reply_parses_or_raises_only_the_format_error(text: str) -> None:
    try:
        actions = parse_actions(text)
    except TextFormatError as exc:
        assert str(exc)
        return
    for name, args in actions:
        assert isinstance(name, str) and name and isinstance(args, dict)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                           max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["run_command", "read_file", "write_file", "list_dir"]),
                          st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3)), min_size=1, max_size=4),
       st.text(max_size=40).filter(lambda t: "`" not in t))
def test_rendered_calls_read_back_exactly(calls: list[tuple[str, dict]], prose: str) -> None:
    native = [{"id": str(i), "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
              for i, (n, a) in enumerate(calls)]
    assert parse_actions(prose + "\n" + render_actions(native) + "\n" + prose) == calls


def test_bash_block_keeps_the_command_as_written() -> None:
    text = "Let me look.\n\n```bash\ngrep -rn 'x' src | head -n 3\ncat <<EOF\na\nEOF\n```\n"
    assert parse_actions(text) == [("run_command", {"command": "grep -rn 'x' src | head -n 3\ncat <<EOF\na\nEOF"})]


def test_prose_blocks_and_json_snippets_are_not_actions() -> None:
    text = '```python\nprint(1)\n```\nThe answer:\n```json\n{"count": 3}\n```\nDone.'
    assert parse_actions(text) == []


@pytest.mark.parametrize("text, why", [
    ("```bash\nls\n", "is not closed"),
    ("```bash\n   \n```", "is empty"),
    ("```tool\n{\"tool\": \"list_dir\",}\n```", "not valid JSON"),
    ("```tool\n[1, 2]\n```", 'with a "tool" name'),
    ('```tool\n{"tool": "list_dir", "arguments": "."}\n```', '"arguments" must be a JSON object'),
    ('```json\n{"tool": 5}\n```', 'with a "tool" name'),
])
def test_unreadable_action_blocks_say_why(text: str, why: str) -> None:
    with pytest.raises(TextFormatError, match=why):
        parse_actions(text)


def test_history_is_text_for_the_model() -> None:
    tools = [{"type": "function", "function": {"name": "list_dir", "description": "List.", "parameters": {
        "type": "object", "properties": {"path": {"type": "string", "description": "Dir."}}, "required": []}}}]
    history = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
               {"role": "assistant", "content": "```tool\n{}\n```", "tool_calls": [
                   {"id": "a", "type": "function", "function": {"name": "list_dir", "arguments": "{}"}},
                   {"id": "b", "type": "function", "function": {"name": "run_command", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "a", "content": "x/"}, {"role": "tool", "tool_call_id": "b", "content": "ok"}]
    out = to_text_messages(history, tools)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert "## list_dir" in out[0]["content"] and "- path (string, optional): Dir." in out[0]["content"]
    assert "tool_calls" not in out[2]
    assert out[3]["content"] == "[result of list_dir]\nx/\n\n[result of run_command]\nok"
