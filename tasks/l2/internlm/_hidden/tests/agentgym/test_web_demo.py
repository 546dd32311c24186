"""postprocess, combine_history, on_btn_click, prepare_generation_config (chat/web_demo.py)."""
import pytest

import chat.web_demo as web_demo
from _fakes import Widgets


def _user(text):
    return {"role": "user", "content": text}


def _robot(text):
    return {"role": "robot", "content": text}


@pytest.fixture
def st(monkeypatch):
    fake = Widgets()
    monkeypatch.setattr(web_demo, "st", fake)
    return fake


def test_postprocess_math_delimiters():
    out = web_demo.postprocess(r"a \(x\) b \[y\] c", add_prefix=False)
    assert out == "a $x$ b $$y$$ c"


def test_postprocess_prefixes():
    assert web_demo.postprocess("t") == ":blue[[Normal Response]]\n\nt"
    assert web_demo.postprocess("t", deepthink=True) == ":red[[Deep Thinking]]\n\nt"
    assert web_demo.postprocess("t", add_prefix=False, deepthink=True) == "t"


def test_postprocess_prefix_and_delimiters():
    assert web_demo.postprocess(r"\[1+1\]") == ":blue[[Normal Response]]\n\n$$1+1$$"


def test_combine_history_empty(st):
    st.session_state.update(messages=[], deepthink_messages=[])
    prompt = web_demo.combine_history("hello")
    assert prompt.startswith("<s><|im_start|>system\nYou are InternLM")
    assert "expert mathematician" not in prompt
    assert prompt.endswith("<|im_end|>\n" + web_demo.cur_query_prompt.format(user="hello"))
    assert prompt.count("<|im_start|>user\n") == 1


def test_combine_history_turns(st):
    st.session_state.update(messages=[_user("hi"), _robot("hello!")], deepthink_messages=[_user("hi"), _robot(None)])
    prompt = web_demo.combine_history("next")
    body = prompt.split("<|im_end|>\n", 1)[1]
    assert body == ("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello!<|im_end|>\n"
                    + web_demo.cur_query_prompt.format(user="next"))


def test_combine_history_falls_back_to_other_mode(st):
    st.session_state.update(messages=[_user("hi"), _robot(None)], deepthink_messages=[_user("hi"), _robot("deep")])
    assert "<|im_start|>assistant\ndeep<|im_end|>" in web_demo.combine_history("next")
    st.session_state.update(messages=[_user("hi"), _robot("plain")], deepthink_messages=[_user("hi"), _robot(None)])
    assert "<|im_start|>assistant\nplain<|im_end|>" in web_demo.combine_history("next", deepthink=True)


def test_combine_history_deepthink_prefers_deep_answers(st):
    st.session_state.update(messages=[_user("q"), _robot("PLAIN")], deepthink_messages=[_user("q"), _robot("DEEP")])
    deep = web_demo.combine_history("next", deepthink=True)
    assert "expert mathematician" in deep and "\\boxed{}" in deep
    assert "assistant\nDEEP<|im_end|>" in deep and "PLAIN" not in deep
    normal = web_demo.combine_history("next")
    assert "assistant\nPLAIN<|im_end|>" in normal and "DEEP" not in normal


def test_combine_history_start_and_stop(st):
    msgs = [_user("q1"), _robot("a1"), _user("q2"), _robot("a2")]
    st.session_state.update(messages=msgs, deepthink_messages=[dict(m) for m in msgs])
    first = web_demo.combine_history("x", stop=2)
    assert "q1" in first and "a1" in first and "q2" not in first
    negative = web_demo.combine_history("x", stop=-2)
    assert negative == first
    last = web_demo.combine_history("x", start=2)
    assert "q2" in last and "a2" in last and "q1" not in last
    assert web_demo.combine_history("x", stop=0) == web_demo.combine_history("x", start=4)


def test_combine_history_rejects_unknown_role(st):
    st.session_state.update(messages=[{"role": "system", "content": "s"}], deepthink_messages=[_user("u")])
    with pytest.raises(RuntimeError):
        web_demo.combine_history("x")


def test_on_btn_click_clears_both_histories(st):
    st.session_state.update(messages=[_user("a")], deepthink_messages=[_user("a")], other=1)
    web_demo.on_btn_click()
    assert dict(st.session_state) == {"other": 1}


def test_prepare_generation_config_defaults(st):
    cfg = web_demo.prepare_generation_config()
    assert cfg == web_demo.GenerationConfig(max_length=32768, top_p=0.8, temperature=0.7)
    assert st.session_state["inference_mode"] == "Normal Response"
    labels = [(kind, label) for kind, label, _, _ in st.calls]
    assert labels == [("slider", "Max Length"), ("slider", "Top P"), ("slider", "Temperature"),
                      ("radio", "Inference Mode"), ("button", "Clear Chat History")]
    assert st.calls[-1][3] == {"on_click": web_demo.on_btn_click}
    assert st.calls[0][3] == {"min_value": 8, "max_value": 32768, "value": 32768}


def test_prepare_generation_config_user_choices(st):
    st.answers = {"Max Length": 100, "Top P": 0.5, "Temperature": 0.0, "Inference Mode": "Deep Thinking"}
    cfg = web_demo.prepare_generation_config()
    assert (cfg.max_length, cfg.top_p, cfg.temperature) == (100, 0.5, 0.0)
    assert (cfg.do_sample, cfg.repetition_penalty) == (True, 1.005)
    assert st.session_state["inference_mode"] == "Deep Thinking"
