"""weight_load and save_conifg (tools/convert2llama.py): InternLM2 checkpoints to Llama style."""
import sys
import types

import pytest

import tools.convert2llama as convert
from _fakes import fake_module


class Config:
    def __init__(self, **values):
        self.values = values

    def to_dict(self):
        return dict(self.values)


class LlamaConfig:
    made = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.saved_to = None
        LlamaConfig.made.append(self)

    def save_pretrained(self, tgt):
        self.saved_to = tgt


@pytest.fixture
def llama(monkeypatch):
    LlamaConfig.made = []
    monkeypatch.setattr(convert, "LlamaConfig", LlamaConfig)
    return LlamaConfig


def test_save_config_renames_bias_and_sets_architecture(llama, tmp_path):
    convert.save_conifg(Config(hidden_size=8, bias=False, architectures=["InternLM2ForCausalLM"]), str(tmp_path))
    (made,) = llama.made
    assert made.kwargs == {"hidden_size": 8, "attention_bias": False, "architectures": ["LlamaForCausalLM"]}
    assert made.saved_to == str(tmp_path)


def test_save_config_drops_internlm_only_keys(llama):
    cfg = Config(_name_or_path="p", auto_map={}, transformers_version="4", model_type="internlm2",
                 tokenizer_class="T", attn_implementation="eager", bias=True, rope_theta=10000)
    convert.save_conifg(cfg, "out")
    assert llama.made[0].kwargs == {"rope_theta": 10000, "attention_bias": True,
                                    "architectures": ["LlamaForCausalLM"]}


def test_save_config_needs_bias(llama):
    with pytest.raises(KeyError):
        convert.save_conifg(Config(hidden_size=8), "out")


def test_weight_load_uses_torch_load(monkeypatch):
    calls = []
    monkeypatch.setattr(convert, "torch", fake_module(load=lambda fp, **kw: calls.append((fp, kw)) or {"w": 1}))
    assert convert.weight_load("model.bin", map_location="cpu") == {"w": 1}
    assert convert.weight_load("b.bin", is_safetensors=False) == {"w": 1}
    assert calls == [("model.bin", {"map_location": "cpu"}), ("b.bin", {})]


def test_weight_load_safetensors(monkeypatch):
    opened = []

    class Handle:
        def keys(self):
            return ["a", "b"]

        def get_tensor(self, key):
            return key.upper()

    def safe_open(fp, framework):
        opened.append((fp, framework))
        return Handle()

    monkeypatch.setitem(sys.modules, "safetensors", types.SimpleNamespace(safe_open=safe_open))
    assert convert.weight_load("m.safetensors", is_safetensors=True) == {"a": "A", "b": "B"}
    assert opened == [("m.safetensors", "pt")]


def test_weight_load_safetensors_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match="install the `safetensors` package"):
        convert.weight_load("m.safetensors", is_safetensors=True)
