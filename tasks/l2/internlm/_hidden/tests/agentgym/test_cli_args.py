"""parse_args of agent/streaming_inference.py and agent/pal_inference.py, and init_agent's backend check."""
import pytest

import agent.pal_inference as pal
import agent.streaming_inference as si


def _si_args(monkeypatch, *argv):
    monkeypatch.setattr("sys.argv", ["streaming_inference.py", *argv])
    return si.parse_args()


def _pal_args(monkeypatch, *argv):
    monkeypatch.setattr("sys.argv", ["pal_inference.py", *argv])
    return pal.parse_args()


def test_streaming_defaults(monkeypatch):
    args = _si_args(monkeypatch, "--output_path", "out.jsonl")
    assert vars(args) == {
        "backend": "lmdeploy", "model_path": "internlm/internlm2-chat-7b", "output_path": "out.jsonl",
        "batch_size": 100, "max_turn": 5, "tp": 1, "temperature": 0.1, "top_p": 0.8, "top_k": 40,
        "stop_words": ["<|action_end|>", "<|im_end|>"], "max_new_tokens": 512, "do_infer": True,
        "do_eval": False, "overwrite": False,
    }


def test_streaming_output_path_is_required(monkeypatch):
    with pytest.raises(SystemExit):
        _si_args(monkeypatch)


def test_streaming_backend_choices(monkeypatch):
    assert _si_args(monkeypatch, "--output_path", "o", "--backend", "hf").backend == "hf"
    with pytest.raises(SystemExit):
        _si_args(monkeypatch, "--output_path", "o", "--backend", "vllm")


def test_streaming_flags(monkeypatch):
    args = _si_args(monkeypatch, "--output_path", "o", "--no-do_infer", "--do_eval", "--overwrite",
                    "--stop_words", "X", "--tp", "2", "--top_k", "5", "--temperature", "0.5")
    assert args.do_infer is False and args.do_eval is True and args.overwrite is True
    assert args.stop_words == ["<|action_end|>", "<|im_end|>", "X"]
    assert (args.tp, args.top_k, args.temperature) == (2, 5, 0.5)


def test_streaming_stop_words_default_not_shared(monkeypatch):
    _si_args(monkeypatch, "--output_path", "o", "--stop_words", "X")
    assert _si_args(monkeypatch, "--output_path", "o").stop_words == ["<|action_end|>", "<|im_end|>"]


def test_init_agent_rejects_unknown_backend():
    with pytest.raises(NotImplementedError):
        si.init_agent("vllm", max_turn=3, model_path="m", tp=1)


def test_pal_defaults(monkeypatch):
    args = _pal_args(monkeypatch, "model-dir", "out")
    assert vars(args) == {
        "model": "model-dir", "out_dir": "out", "dataset": "gsm8k", "max_length": 2048, "top_p": 0.8,
        "eoh": "", "eoa": "", "eos": "", "temperature": 1.0, "time_out": 100, "verbose": False,
        "append": False,
    }


def test_pal_options(monkeypatch):
    args = _pal_args(monkeypatch, "m", "o", "-t", "0.2", "-v", "-a", "--eoh", "<eoh>", "--max_length", "10",
                     "--time_out", "2.5")
    assert (args.temperature, args.verbose, args.append, args.eoh) == (0.2, True, True, "<eoh>")
    assert (args.max_length, args.time_out) == (10, 2.5)


def test_pal_positionals_required(monkeypatch):
    with pytest.raises(SystemExit):
        _pal_args(monkeypatch, "only-model")


def test_pal_load_data_rejects_other_datasets():
    class Args:
        dataset = "math"

    with pytest.raises(NotImplementedError):
        pal.load_data(Args())
