"""generate, prepare_generation_config and on_btn_click (long_context/doc_chat_demo.py)."""
import pytest

import long_context.doc_chat_demo as doc_chat
from _fakes import Widgets, fake_module


@pytest.fixture
def st(monkeypatch):
    fake = Widgets()
    monkeypatch.setattr(doc_chat, "st", fake)
    return fake


class Client:
    def __init__(self):
        self.requests = []
        self.chat = fake_module(completions=fake_module(create=self._create))

    def _create(self, **kwargs):
        self.requests.append(kwargs)
        return iter(["chunk"])


def test_generate_streams_with_config(st):
    st.session_state["model_name"] = "internlm2_5-7b"
    client = Client()
    messages = [{"role": "user", "content": "hi"}]
    cfg = doc_chat.GenerationConfig(max_tokens=10, top_p=0.5, temperature=0.3, repetition_penalty=1.1)
    stream = doc_chat.generate(client, messages, cfg)
    assert list(stream) == ["chunk"]
    assert client.requests == [{
        "model": "internlm2_5-7b", "messages": messages, "stream": True, "temperature": 0.3, "top_p": 0.5,
        "max_tokens": 10, "frequency_penalty": 1.1,
    }]


def test_generate_default_config(st):
    st.session_state["model_name"] = "m"
    client = Client()
    doc_chat.generate(client, [], doc_chat.GenerationConfig())
    req = client.requests[0]
    assert (req["max_tokens"], req["top_p"], req["temperature"], req["frequency_penalty"]) == (1024, 1.0, 0.1, 1.005)


def test_prepare_generation_config_defaults(st):
    cfg = doc_chat.prepare_generation_config()
    assert cfg == doc_chat.GenerationConfig(max_tokens=1024, top_p=1.0, temperature=0.05, repetition_penalty=1.02)
    assert [label for _, label, _, _ in st.calls] == ["Max Tokens", "Top P", "Temperature", "Repetition Penalty",
                                                     "Clear Chat History"]
    assert st.calls[0][3] == {"min_value": 100, "max_value": 4096, "value": 1024}
    assert st.calls[-1][3] == {"on_click": doc_chat.on_btn_click}


def test_prepare_generation_config_user_choices(st):
    st.answers = {"Max Tokens": 200, "Top P": 0.9, "Temperature": 0.5, "Repetition Penalty": 1.1}
    cfg = doc_chat.prepare_generation_config()
    assert (cfg.max_tokens, cfg.top_p, cfg.temperature, cfg.repetition_penalty) == (200, 0.9, 0.5, 1.1)


def test_on_btn_click_forgets_chat_and_file(st):
    st.session_state.update(messages=[{"role": "user", "content": "x"}], file_content_found=True,
                            file_content_used=True, file_name="a.md")
    doc_chat.on_btn_click()
    assert "messages" not in st.session_state
    assert st.session_state.file_content_found is False
    assert st.session_state.file_content_used is False
    assert st.session_state.file_name == "a.md"
