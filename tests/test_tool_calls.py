"""Whatever an endpoint sends as an assistant message, the loop keeps a message that is valid to
send back (every kept call well-formed) and accounts for every entry: run, answered, or noted."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.agent.tool_calls import split_reply

TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
FUNCTION = st.fixed_dictionaries({}, optional={"name": st.sampled_from(["run_command", "list_dir", ""]) | JSON,
                                               "arguments": st.just('{"path": "."}') | JSON})
CALL = st.fixed_dictionaries({}, optional={"id": TEXT | JSON, "type": JSON, "function": FUNCTION | JSON}) | JSON
MESSAGE = st.fixed_dictionaries({}, optional={"content": JSON, "reasoning_content": JSON,
                                              "tool_calls": st.lists(CALL, max_size=4) | JSON})


@settings(max_examples=300, deadline=None)
@given(raw=MESSAGE, turn=st.integers(0, 50))
def test_any_reply_keeps_a_valid_history_and_accounts_for_every_call(raw: dict[str, Any], turn: int) -> None:
    message, calls, problems = split_reply(raw, turn)
    json.dumps(message)  # can be sent back
    assert message["role"] == "assistant" and (message["content"] is None or isinstance(message["content"], str))
    kept = message.get("tool_calls", [])
    assert [c.message for c in calls] == kept
    for c in kept:
        assert isinstance(c["id"], str) and c["id"] and c["type"] == "function"
        assert isinstance(c["function"]["name"], str) and isinstance(c["function"]["arguments"], str)
    entries = raw.get("tool_calls")
    if isinstance(entries, list) and entries:
        assert len(calls) + len(problems) == len(entries)
    elif entries:
        assert calls == [] and len(problems) == 1
    else:
        assert calls == [] and problems == []
