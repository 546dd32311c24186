"""weight_load and save_conifg (tools/convert2llama.py): InternLM2 checkpoints to Llama style."""
import json
import os
import pickle
import sys
import types

import numpy as np
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
    with pytest.raises(ImportError, match="safetensors"):
        convert.weight_load("m.safetensors", is_safetensors=True)


class Tensor(np.ndarray):
    """A numpy array with the one torch.Tensor method the conversion calls."""

    def clone(self):
        return self.copy()


def _fake_torch():
    def split(v, sizes, dim):
        return np.split(v, np.cumsum(sizes)[:-1], axis=dim)

    def save(obj, path):
        with open(path, "wb") as f:
            pickle.dump({k: np.asarray(v) for k, v in obj.items()}, f)

    def load(path, **kwargs):
        with open(path, "rb") as f:
            return {k: v.view(Tensor) for k, v in pickle.load(f).items()}

    return fake_module(split=split, save=save, load=load)


class Tokenizer:
    saved = []

    def __init__(self, src):
        self.src = src
        self.init_kwargs = {"auto_map": {"AutoTokenizer": "x"}, "add_bos_token": True}

    @classmethod
    def from_pretrained(cls, src):
        return cls(src)

    def save_pretrained(self, tgt):
        Tokenizer.saved.append((self.src, tgt, dict(self.init_kwargs)))


def _model_config(**over):
    values = dict(hidden_size=8, num_attention_heads=4, num_key_value_heads=2, bias=False,
                  model_type="internlm2", auto_map={})
    values.update(over)
    cfg = Config(**values)
    for k, v in values.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture
def checkpoint(tmp_path, monkeypatch, llama):
    """An InternLM2-style checkpoint of two shards (8 hidden units, 4 heads, 2 key/value heads)."""
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    src.mkdir()
    fake_torch = _fake_torch()
    monkeypatch.setattr(convert, "torch", fake_torch)
    # einops picks a backend by looking for torch in sys.modules; without it, it treats Tensor as numpy.
    monkeypatch.delitem(sys.modules, "torch")
    cfg = _model_config()
    monkeypatch.setattr(convert, "AutoConfig", fake_module(from_pretrained=lambda path, trust_remote_code: cfg))
    Tokenizer.saved = []
    monkeypatch.setattr(convert, "LlamaTokenizer", Tokenizer)
    wqkv = np.arange(16 * 8, dtype=float).reshape(16, 8)
    shard1 = {"model.layers.0.attention.wqkv.weight": wqkv, "model.layers.0.attention.wo.weight": np.ones((8, 8)),
              "model.layers.0.attention_norm.weight": np.full(8, 2.0), "model.tok_embeddings.weight": np.zeros((3, 8))}
    shard2 = {"model.layers.0.feed_forward.w1.weight": np.full((4, 8), 1.0),
              "model.layers.0.feed_forward.w2.weight": np.full((8, 4), 2.0),
              "model.layers.0.feed_forward.w3.weight": np.full((4, 8), 3.0),
              "model.layers.0.ffn_norm.weight": np.full(8, 4.0), "model.norm.weight": np.full(8, 5.0),
              "output.weight": np.full((3, 8), 6.0)}
    fake_torch.save(shard1, src / "pytorch_model-00001-of-00002.bin")
    fake_torch.save(shard2, src / "pytorch_model-00002-of-00002.bin")
    (src / "config.json").write_text("{}")
    (src / "tokenizer.model").write_text("")
    return src, tgt, wqkv


def _load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def test_convert_splits_wqkv_per_key_value_head(checkpoint):
    src, tgt, wqkv = checkpoint
    convert.convert(str(src), str(tgt))
    out = _load(tgt / "pytorch_model-00001-of-00002.bin")
    # Each key/value head holds 2 query heads, then its key head, then its value head (2 rows each).
    np.testing.assert_array_equal(out["model.layers.0.self_attn.q_proj.weight"],
                                  np.concatenate([wqkv[0:4], wqkv[8:12]]))
    np.testing.assert_array_equal(out["model.layers.0.self_attn.k_proj.weight"],
                                  np.concatenate([wqkv[4:6], wqkv[12:14]]))
    np.testing.assert_array_equal(out["model.layers.0.self_attn.v_proj.weight"],
                                  np.concatenate([wqkv[6:8], wqkv[14:16]]))


def test_convert_renames_every_weight(checkpoint):
    src, tgt, _ = checkpoint
    convert.convert(str(src), str(tgt))
    first = _load(tgt / "pytorch_model-00001-of-00002.bin")
    second = _load(tgt / "pytorch_model-00002-of-00002.bin")
    assert sorted(first) == sorted([
        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
        "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
        "model.layers.0.input_layernorm.weight", "model.embed_tokens.weight"])
    assert {k: float(v.flat[0]) for k, v in second.items()} == {
        "model.layers.0.mlp.gate_proj.weight": 1.0, "model.layers.0.mlp.down_proj.weight": 2.0,
        "model.layers.0.mlp.up_proj.weight": 3.0, "model.layers.0.post_attention_layernorm.weight": 4.0,
        "model.norm.weight": 5.0, "lm_head.weight": 6.0}
    assert sorted(p.name for p in tgt.iterdir() if p.suffix == ".bin") == [
        "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]


def test_convert_rewrites_the_index(checkpoint):
    src, tgt, _ = checkpoint
    (src / "pytorch_model.bin.index.json").write_text(json.dumps(
        {"metadata": {"total_size": 123}, "weight_map": {"model.layers.0.attention.wqkv.weight": "x.bin"}}))
    convert.convert(str(src), str(tgt))
    index = json.loads((tgt / "pytorch_model.bin.index.json").read_text())
    assert index["metadata"] == {"total_size": 123}
    assert index["weight_map"]["model.layers.0.self_attn.k_proj.weight"] == "pytorch_model-00001-of-00002.bin"
    assert index["weight_map"]["lm_head.weight"] == "pytorch_model-00002-of-00002.bin"
    assert len(index["weight_map"]) == 12


def test_convert_without_index(checkpoint):
    src, tgt, _ = checkpoint
    convert.convert(str(src), str(tgt))
    assert not list(tgt.glob("*.json"))


def test_convert_saves_tokenizer_and_config(checkpoint, llama):
    src, tgt, _ = checkpoint
    convert.convert(str(src), str(tgt))
    assert Tokenizer.saved == [(str(src), str(tgt), {"add_bos_token": True})]
    (made,) = llama.made
    assert made.saved_to == str(tgt)
    assert made.kwargs["attention_bias"] is False and "model_type" not in made.kwargs


def test_convert_safetensors_shards(checkpoint, monkeypatch):
    src, tgt, wqkv = checkpoint
    for p in src.glob("*.bin"):
        p.rename(p.with_suffix(".safetensors"))
    (src / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {}}))
    saved = {}

    class Handle:
        def __init__(self, path):
            self.states = _load(path)

        def keys(self):
            return list(self.states)

        def get_tensor(self, key):
            return self.states[key].view(Tensor)

    def save_file(states, path, metadata):
        saved[os.path.basename(path)] = (sorted(states), metadata)

    monkeypatch.setitem(sys.modules, "safetensors", fake_module(safe_open=lambda fp, framework: Handle(fp)))
    monkeypatch.setitem(sys.modules, "safetensors.torch", fake_module(save_file=save_file))
    convert.convert(str(src), str(tgt))
    assert sorted(saved) == ["pytorch_model-00001-of-00002.safetensors", "pytorch_model-00002-of-00002.safetensors"]
    keys, metadata = saved["pytorch_model-00001-of-00002.safetensors"]
    assert metadata == {"format": "pt"} and "model.layers.0.self_attn.v_proj.weight" in keys
    index = json.loads((tgt / "model.safetensors.index.json").read_text())
    assert index["weight_map"]["model.embed_tokens.weight"] == "pytorch_model-00001-of-00002.safetensors"


def test_convert_refuses_bias(checkpoint, monkeypatch):
    src, tgt, _ = checkpoint
    cfg = _model_config(bias=True)
    monkeypatch.setattr(convert, "AutoConfig", fake_module(from_pretrained=lambda path, trust_remote_code: cfg))
    with pytest.raises(AssertionError, match="bias"):
        convert.convert(str(src), str(tgt))
